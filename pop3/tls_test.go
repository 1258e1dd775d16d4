package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox"
)

func TestSTLS(t *testing.T) {
	st := newStore(t, msg1)
	w := dialWire(t, startServer(t, &Server{Store: st, TLSConfig: testcert.ServerTLS()}))
	w.run("S: +OK*", "C: CAPA", "S: +OK*", "S: TOP", "S: UIDL", "S: RESP-CODES", "S: AUTH-RESP-CODE", "S: PIPELINING", "S: STLS", "S: UTF8", "S: .")
	// A command pipelined after STLS, in plaintext, must be discarded.
	fmt.Fprintf(w.c, "STLS\r\nUSER sara\r\n")
	w.run("S: +OK begin TLS*")
	w.startTLS()
	w.run("C: CAPA", "S: +OK*", "S: TOP", "S: UIDL", "S: RESP-CODES", "S: AUTH-RESP-CODE", "S: PIPELINING", "S: USER", "S: SASL*", "S: UTF8", "S: .",
		"C: PASS secret", "S: -ERR USER first", // the injected USER was dropped
		"C: STLS", "S: -ERR STLS not available",
		"C: USER sara", "S: +OK*", "C: PASS secret", "S: +OK*",
	)
}

func TestImplicitTLS(t *testing.T) {
	st := newStore(t, msg1)
	srv := &Server{Store: st, TLSConfig: testcert.ServerTLS(), AuthFailureDelay: -1}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	c, err := tls.Dial("tcp", ln.Addr().String(), testcert.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	w := &wire{t: t, c: c, br: bufio.NewReader(c)}
	w.run("S: +OK*", "C: CAPA", "S: +OK*", "S: TOP", "S: UIDL", "S: RESP-CODES", "S: AUTH-RESP-CODE", "S: PIPELINING", "S: USER", "S: SASL*", "S: UTF8", "S: .")
	w.login2()
}

// login2 logs in after the greeting was read.
func (w *wire) login2() {
	w.t.Helper()
	w.run("C: USER sara", "S: +OK*", "C: PASS secret", "S: +OK*")
}

func TestShutdown(t *testing.T) {
	st := newStore(t, msg1)
	srv := &Server{Store: st, AllowInsecureAuth: true}
	addr := startServer(t, srv)
	w := dialWire(t, addr)
	w.login()
	w.run("C: DELE 1", "S: +OK*")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	w.run("S: -ERR [SYS/TEMP] server shutting down", "S: <eof>")
	if s := status(t, st); s.Messages != 1 {
		t.Fatal("shutdown deleted a message")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("listener still open after Shutdown")
	}
}

func TestAutologout(t *testing.T) {
	st := newStore(t)
	w := dialWire(t, startServer(t, &Server{Store: st, ReadTimeout: 50 * time.Millisecond}))
	w.run("S: +OK*", "S: -ERR autologout*", "S: <eof>")
}

func TestMaxConnections(t *testing.T) {
	st := newStore(t)
	addr := startServer(t, &Server{Store: st, MaxConnections: 1})
	w := dialWire(t, addr)
	w.run("S: +OK*")
	w2 := dialWire(t, addr)
	w2.run("S: -ERR [SYS/TEMP] too many connections*", "S: <eof>")
}

func TestServeTLSWithFiles(t *testing.T) {
	certFile, keyFile := testcert.WriteFiles(t)
	srv := &Server{Store: newStore(t, msg1), AuthFailureDelay: -1}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, certFile, keyFile) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != ErrServerClosed {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	c, err := DialTLS(testCtx(t), ln.Addr().String(), testcert.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testCtx(t), "sara", "secret"); err != nil {
		t.Fatal(err)
	}
}

func TestServeRequiresStore(t *testing.T) {
	for _, srv := range []*Server{{}, {Store: storeOnly{newStore(t)}}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Serve(ln); err == nil || err == ErrServerClosed {
			t.Fatalf("Serve without store or authenticator: %v", err)
		}
	}
	srv := &Server{Store: newStore(t)}
	srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := srv.Serve(ln); err != ErrServerClosed {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// storeOnly hides the store's Authenticator.
type storeOnly struct{ mailbox.Store }

func TestServeRejectsBadCapabilities(t *testing.T) {
	for _, srv := range []*Server{
		{Store: newStore(t), Expire: "30\r\nSTLS"},
		{Store: newStore(t), Expire: "soon"},
		{Store: newStore(t), Implementation: "x\r\nUSER"},
	} {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		if err := srv.Serve(ln); err == nil || err == ErrServerClosed {
			t.Errorf("Serve with Expire %q Implementation %q: %v", srv.Expire, srv.Implementation, err)
		}
	}
	for _, e := range []string{"NEVER", "0", "30 USER"} {
		srv := &Server{Store: newStore(t), Expire: e}
		if err := srv.checkConfig(); err != nil {
			t.Errorf("Expire %q refused: %v", e, err)
		}
	}
}
