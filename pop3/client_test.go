package pop3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dialPlain returns a client connected in plaintext to a fresh server
// holding msgs, before login.
func dialPlain(t *testing.T, msgs ...string) (*Client, *memstore.Store) {
	t.Helper()
	st := newStore(t, msgs...)
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	c, err := (&Dialer{Security: Plaintext}).Dial(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, st
}

func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestClientCommands(t *testing.T) {
	ctx := testCtx(t)
	c, st := dialPlain(t, msg1, msg2)
	if !c.Capabilities().Has("USER") || c.Capabilities().Has("STLS") {
		t.Fatalf("capabilities before login: %v", c.Capabilities())
	}
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		t.Fatal(err)
	}
	if c.Capabilities().Has("USER") {
		t.Fatal("capabilities not read again after login")
	}
	n, size, err := c.Stat(ctx)
	if err != nil || n != 2 || size != int64(len(msg1)+len(msg2)) {
		t.Fatalf("Stat = %d %d %v", n, size, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 2 || list[1] != (MessageSize{2, int64(len(msg2))}) {
		t.Fatalf("List = %v %v", list, err)
	}
	one, err := c.ListOne(ctx, 1)
	if err != nil || one.Size != int64(len(msg1)) {
		t.Fatalf("ListOne = %v %v", one, err)
	}
	uids, err := c.UIDL(ctx)
	if err != nil || len(uids) != 2 || uids[0].UID == uids[1].UID {
		t.Fatalf("UIDL = %v %v", uids, err)
	}
	u2, err := c.UIDLOne(ctx, 2)
	if err != nil || u2 != uids[1].UID {
		t.Fatalf("UIDLOne = %q %v", u2, err)
	}
	r, err := c.Retr(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); got != msg1 {
		t.Fatalf("Retr = %q", got)
	}
	r, err = c.Top(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); got != "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n" {
		t.Fatalf("Top = %q", got)
	}
	// A body left half read is drained by the next command.
	r, _ = c.Retr(ctx, 2)
	r.Read(make([]byte, 3))
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Retr(ctx, 7)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Retr of a missing message: %v", err)
	}
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Rset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if s := status(t, st); s.Messages != 1 {
		t.Fatalf("%d messages after Quit", s.Messages)
	}
}

func TestClientAuthErrors(t *testing.T) {
	ctx := testCtx(t)
	c, _ := dialPlain(t)
	err := c.Login(ctx, "sara", "wrong")
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeAuth {
		t.Fatalf("wrong password: %v", err)
	}
	if err := c.Login(ctx, "sara", "bad\r\nDELE 1"); err == nil || isPOPErr(err) {
		t.Fatalf("CR LF in password sent: %v", err)
	}
	if err := c.Auth(ctx, PlainAuth("", "sara", "secret")); err != nil {
		t.Fatalf("still usable after refusing to send: %v", err)
	}
}

func TestClientInUse(t *testing.T) {
	ctx := testCtx(t)
	st := newStore(t, msg1)
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	d := &Dialer{Security: Plaintext}
	c1, _ := d.Dial(ctx, addr)
	defer c1.Close()
	if err := c1.Login(ctx, "sara", "secret"); err != nil {
		t.Fatal(err)
	}
	c2, _ := d.Dial(ctx, addr)
	defer c2.Close()
	err := c2.Login(ctx, "sara", "secret")
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeInUse || !pe.Temporary() {
		t.Fatalf("second login: %v", err)
	}
}

func TestClientSASL(t *testing.T) {
	st := newStore(t, msg1)
	st.SetToken("sara", "tok")
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	for _, m := range []SASLClient{
		PlainAuth("", "sara", "secret"),
		LoginAuth("sara", "secret"),
		CRAMMD5Auth("sara", "secret"),
		SCRAMSHA256Auth("", "sara", "secret"),
		XOAuth2Auth("sara", "tok"),
		OAuthBearerAuth("sara", "tok", "localhost", 110),
	} {
		mech, _, _ := m.Start()
		t.Run(mech, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := (&Dialer{Security: Plaintext}).Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Auth(ctx, m); err != nil {
				t.Fatal(err)
			}
			if n, _, err := c.Stat(ctx); n != 1 || err != nil {
				t.Fatalf("Stat after AUTH: %d %v", n, err)
			}
			c.Quit(ctx)
		})
	}
	ctx := testCtx(t)
	c, _ := (&Dialer{Security: Plaintext}).Dial(ctx, addr)
	defer c.Close()
	var pe *Error
	if err := c.Auth(ctx, SCRAMSHA256Auth("", "sara", "nope")); !errors.As(err, &pe) || pe.Code != CodeAuth {
		t.Fatalf("SCRAM wrong password: %v", err)
	}
	if err := c.Auth(ctx, OAuthBearerAuth("sara", "nope", "", 0)); !errors.As(err, &pe) || pe.Code != CodeAuth {
		t.Fatalf("OAUTHBEARER wrong token: %v", err)
	}
	if err := c.APOP(ctx, "sara", "secret"); err != nil {
		t.Fatalf("APOP: %v", err)
	}
}

func TestClientTLS(t *testing.T) {
	ctx := testCtx(t)
	st := newStore(t, msg1)
	addr := startServer(t, &Server{Store: st, TLSConfig: testcert.ServerTLS()})
	c, err := (&Dialer{TLSConfig: testcert.ClientTLS()}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Capabilities().Has("USER") || c.Capabilities().Has("STLS") {
		t.Fatalf("capabilities after STLS: %v", c.Capabilities())
	}
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		t.Fatal(err)
	}

	// STLS required, but the server has none.
	plainAddr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	if _, err := Dial(ctx, plainAddr); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Dial without STLS on the server: %v", err)
	}

	// Implicit TLS.
	srv := &Server{Store: newStore(t), TLSConfig: testcert.ServerTLS()}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	c2, err := DialTLS(ctx, ln.Addr().String(), testcert.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Auth(ctx, PlainAuth("", "sara", "secret")); err != nil {
		t.Fatal(err)
	}
}

func TestClientRefusesInsecureAuth(t *testing.T) {
	a, b := net.Pipe() // not loopback TCP: credentials must not go out
	defer a.Close()
	defer b.Close()
	go func() {
		b.Write([]byte("+OK hi <1.2@h>\r\n"))
		buf := make([]byte, 100)
		b.Read(buf) // CAPA
		b.Write([]byte("-ERR no CAPA\r\n"))
	}()
	c, err := NewClient(testCtx(t), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := c.Login(ctx, "u", "p"); err != ErrInsecureAuth {
		t.Fatalf("Login: %v", err)
	}
	if err := c.Auth(ctx, PlainAuth("", "u", "p")); err != ErrInsecureAuth {
		t.Fatalf("Auth: %v", err)
	}
	if err := c.APOP(ctx, "u", "p"); err != ErrInsecureAuth {
		t.Fatalf("APOP: %v", err)
	}
	if c.Capabilities() != nil {
		t.Fatal("capabilities from a server without CAPA")
	}
}

func TestClientContextCancel(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		b.Write([]byte("+OK hi\r\n"))
		buf := make([]byte, 100)
		b.Read(buf)
		b.Write([]byte("-ERR\r\n"))
		b.Read(buf) // NOOP: never answered
	}()
	c, err := NewClient(testCtx(t), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Noop(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Noop: %v, want DeadlineExceeded", err)
	}
	if err := c.Noop(testCtx(t)); err == nil {
		t.Fatal("client usable after an interrupted command")
	}
}

func TestClientLenientReplies(t *testing.T) {
	for line, want := range map[string]error{
		"+OK":                 nil,
		"+ok extra text here": nil,
		"-ERR":                &Error{},
		"-ERR [IN-USE] busy":  &Error{Code: "IN-USE", Text: "busy"},
		"-ERR [not a code":    &Error{Text: "[not a code"},
	} {
		_, err := parseReply(line)
		var pe *Error
		if want == nil && err != nil || want != nil && (!errors.As(err, &pe) || *pe != *want.(*Error)) {
			t.Errorf("parseReply(%q) = %v, want %v", line, err, want)
		}
	}
	if _, err := parseReply("* OK imap"); err == nil {
		t.Error("non-POP3 reply accepted")
	}
	if m, err := parseUIDLLine("3    abc-def  "); err != nil || m != (MessageUID{3, "abc-def"}) {
		t.Errorf("UIDL with spaces: %v %v", m, err)
	}
}

// fakeServer answers the greeting and CAPA, then writes resp.
func fakeServer(t *testing.T, resp []byte) *Client {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go func() {
		b.Write([]byte("+OK\r\n"))
		buf := make([]byte, 100)
		b.Read(buf)
		b.Write([]byte("+OK\r\nTOP\r\nUIDL\r\n.\r\n"))
		b.Read(buf)
		b.Write(resp)
	}()
	c, err := NewClient(testCtx(t), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientRetrLongLinesAndBareLF(t *testing.T) {
	long := strings.Repeat("x", 200000)
	c := fakeServer(t, []byte("+OK\r\n"+long+"\r\n..dot\nbare LF\r\n.\r\n"))
	r, err := c.Retr(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); got != long+"\r\n.dot\r\nbare LF\r\n" {
		t.Fatalf("body of %d bytes, unexpected", len(got))
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"+OK 2 320", "-ERR [IN-USE] locked", "-ERR", "+OK", "-ERR [SYS/TEMP]", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		text, err := parseReply(line)
		var pe *Error
		switch {
		case err == nil:
			if !hasPrefixFold(line, "+OK") || !strings.HasSuffix(line, text) {
				t.Fatalf("%q parsed as +OK %q", line, text)
			}
		case errors.As(err, &pe):
			// Re-rendered, the error parses to the same value.
			again := "-ERR"
			if pe.Code != "" {
				again += " [" + pe.Code + "]"
			}
			if pe.Text != "" {
				again += " " + pe.Text
			}
			_, err2 := parseReply(again)
			var pe2 *Error
			if !errors.As(err2, &pe2) || *pe2 != *pe {
				t.Fatalf("%q → %+v → %q → %+v", line, pe, again, pe2)
			}
		}
	})
}

// FuzzClientRetr: whatever a server dot-stuffs, the client reads back.
func FuzzClientRetr(f *testing.F) {
	f.Add([]byte(msg1))
	f.Add([]byte(".\r\n..\r\n.x\n\r"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		wire := append([]byte("+OK\r\n"), encodeDot(msg)...)
		c := fakeServer(t, wire)
		r, err := c.Retr(testCtx(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, wireForm(msg)) {
			t.Fatalf("%q → %q (%v)", msg, got, err)
		}
	})
}
