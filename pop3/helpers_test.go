package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// Test messages: CRLF, one with a leading-dot line.
const (
	msg1 = "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\nthird\r\n"
	msg2 = "From: b@example.org\r\nSubject: two\r\n\r\nSecond body\r\n"
)

// newStore returns a memstore with user "sara" (password "secret")
// holding the given messages.
func newStore(t testing.TB, msgs ...string) *memstore.Store {
	t.Helper()
	s := memstore.New()
	if err := s.AddUser("sara", "secret", "sara@example.org"); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := mailbox.Deliver(context.Background(), s, "sara", strings.NewReader(m), nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// startServer serves srv on a loopback port until the test ends and
// returns the address. Unset test-friendly fields are filled in.
func startServer(t testing.TB, srv *Server) string {
	t.Helper()
	if srv.AuthFailureDelay == 0 {
		srv.AuthFailureDelay = -1
	}
	if srv.Hostname == "" {
		srv.Hostname = "pop.test"
	}
	if srv.Logger == nil {
		srv.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String()
}

// wire is a raw client connection for transcript tests.
type wire struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialWire(t testing.TB, addr string) *wire {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &wire{t: t, c: c, br: bufio.NewReader(c)}
}

// startTLS performs the client side of STLS after "+OK".
func (w *wire) startTLS() {
	w.t.Helper()
	tc := tls.Client(w.c, testcert.ClientTLS())
	if err := tc.Handshake(); err != nil {
		w.t.Fatal(err)
	}
	w.c, w.br = tc, bufio.NewReader(tc)
}

// run plays a script: "C: line" is sent, "S: line" must be received. An S
// line ending in "*" matches any line with that prefix. "S: <eof>" expects
// the server to close.
func (w *wire) run(script ...string) {
	w.t.Helper()
	for _, l := range script {
		switch {
		case strings.HasPrefix(l, "C: "):
			if _, err := fmt.Fprintf(w.c, "%s\r\n", l[3:]); err != nil {
				w.t.Fatalf("send %q: %v", l, err)
			}
		case strings.HasPrefix(l, "S: "):
			want := l[3:]
			got, err := w.br.ReadString('\n')
			if want == "<eof>" {
				if err == nil {
					w.t.Fatalf("want EOF, got %q", got)
				}
				continue
			}
			if err != nil {
				w.t.Fatalf("want %q: %v", want, err)
			}
			if !strings.HasSuffix(got, "\r\n") {
				w.t.Fatalf("line %q does not end in CRLF", got)
			}
			got = strings.TrimSuffix(got, "\r\n")
			if p, ok := strings.CutSuffix(want, "*"); ok && strings.HasPrefix(got, p) || got == want {
				continue
			}
			w.t.Fatalf("got %q, want %q", got, want)
		default:
			w.t.Fatalf("bad script line %q", l)
		}
	}
}

// login runs the greeting and USER/PASS.
func (w *wire) login() {
	w.t.Helper()
	w.run("S: +OK*", "C: USER sara", "S: +OK*", "C: PASS secret", "S: +OK*")
}

// serve starts a server over a fresh store holding msgs, with insecure
// auth allowed, and returns a logged-in wire.
func serve(t testing.TB, msgs ...string) (*wire, *memstore.Store, *Server) {
	t.Helper()
	st := newStore(t, msgs...)
	srv := &Server{Store: st, AllowInsecureAuth: true}
	w := dialWire(t, startServer(t, srv))
	w.login()
	return w, st, srv
}

// deliver appends msg to sara's INBOX.
func deliver(t testing.TB, st mailbox.Store, msg string) {
	t.Helper()
	if _, err := mailbox.Deliver(context.Background(), st, "sara", strings.NewReader(msg), nil); err != nil {
		t.Fatal(err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
