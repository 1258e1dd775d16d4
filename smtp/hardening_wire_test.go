package smtp_test

// Adversarial tests of the SMTP server (issue 13) over the public API: the
// exact reply to each attack, then a check that the server still serves
// and lost nothing it acknowledged. See docs/SECURITY.md.

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/soak"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/smtp"
	"github.com/posthorn/posthorn/smtp/smtptest"
)

// hconn is a raw SMTP client for scripted tests.
type hconn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func hdial(t *testing.T, addr string) *hconn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &hconn{t: t, c: c, br: bufio.NewReaderSize(c, 1<<16)}
	h.expect("220 ")
	return h
}

// reply reads one whole (possibly multiline) reply and returns its last line.
func (h *hconn) reply() string {
	h.t.Helper()
	h.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := h.br.ReadString('\n')
		if err != nil {
			h.t.Fatalf("reading reply: %v (got %q)", err, line)
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

func (h *hconn) expect(prefix string) string {
	h.t.Helper()
	r := h.reply()
	if !strings.HasPrefix(r, prefix) {
		h.t.Fatalf("reply %q, want %q…", r, prefix)
	}
	return r
}

func (h *hconn) send(s string) {
	h.t.Helper()
	h.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(h.c, s); err != nil {
		h.t.Fatal(err)
	}
}

func (h *hconn) cmd(line, prefix string) string {
	h.t.Helper()
	h.send(line + "\r\n")
	return h.expect(prefix)
}

var hQuiet = slog.New(slog.DiscardHandler)

// receiver starts an smtp.Server with smtp.Receiver over a memory store
// with the user sara <sara@example.org>.
func hReceiver(t *testing.T, configure func(*smtp.Server)) (string, *memstore.Store) {
	t.Helper()
	st := memstore.New()
	if err := st.AddUser("sara", "secret", "sara@example.org", "postmaster@mx.example.org"); err != nil {
		t.Fatal(err)
	}
	srv := &smtp.Server{Hostname: "mx.example.org", Backend: &smtp.Receiver{Store: st, Hostname: "mx.example.org", Logger: hQuiet}, Logger: hQuiet}
	if configure != nil {
		configure(srv)
	}
	return hServe(t, srv), st
}

func hServe(t *testing.T, srv *smtp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// deliverOne proves the server healthy: a new connection delivers a message.
func hDeliverOne(t *testing.T, addr string) {
	t.Helper()
	h := hdial(t, addr)
	h.cmd("EHLO client.test", "250 ")
	h.cmd("MAIL FROM:<a@client.test>", "250 ")
	h.cmd("RCPT TO:<sara@example.org>", "250 ")
	h.cmd("DATA", "354 ")
	h.cmd("Subject: ok\r\n\r\nok\r\n.", "250 ")
	h.cmd("QUIT", "221 ")
}

// TestHardeningOpenRelayReceiver: the receiver accepts mail only for its
// own users, whatever form the address takes (RFC 5321 §3.6, §4.1.1.3 and
// Appendix C for source routes; the "%" hack of RFC 1123 §5.2.16; RFC 2505).
func TestHardeningOpenRelayReceiver(t *testing.T) {
	addr, st := hReceiver(t, nil)
	h := hdial(t, addr)
	h.cmd("EHLO client.test", "250 ")
	h.cmd("MAIL FROM:<a@client.test>", "250 ")
	for _, rcpt := range []struct{ addr, reply string }{
		{"<jim@remote.example>", "550 5.1.1 "},
		{"<@mx.example.org:jim@remote.example>", "550 5.1.1 "}, // source route: the route is ignored
		{"<@mx.example.org,@b.example:jim@remote.example>", "550 5.1.1 "},
		{"<jim%remote.example@example.org>", "550 5.1.1 "}, // % hack
		{"<jim@remote.example@example.org>", "501 "},       // user@local@remote
		{"<sara@example.org@remote.example>", "501 "},
		{`<"jim@remote.example"@example.org>`, "550 5.1.1 "},
		{"<jim!remote.example@example.org>", "550 5.1.1 "}, // UUCP bang path
		{"<sara@example.org.remote.example>", "550 5.1.1 "},
		{"<sara@[127.0.0.1]>", "550 5.1.1 "},
		{"<@remote.example:sara@example.org>", "250 "}, // route ignored, local user
	} {
		h.cmd("RCPT TO:"+rcpt.addr, rcpt.reply)
	}
	h.cmd("DATA", "354 ")
	h.cmd("Subject: x\r\n\r\nx\r\n.", "250 ")
	h.cmd("QUIT", "221 ")
	if n := len(soak.Inbox(t, st, "sara")); n != 1 {
		t.Fatalf("sara has %d messages, want 1", n)
	}
	hDeliverOne(t, addr)
	if n := len(soak.Inbox(t, st, "sara")); n != 2 {
		t.Fatalf("sara has %d messages, want 2", n)
	}
}

// TestHardeningManyRecipients: 10,000 RCPTs pipelined in one transaction
// get 452 past the limit (RFC 5321 §4.5.3.1.8), and the message goes to
// the recipients accepted, once.
func TestHardeningManyRecipients(t *testing.T) {
	addr, st := hReceiver(t, nil)
	h := hdial(t, addr)
	h.cmd("EHLO client.test", "250 ")
	h.cmd("MAIL FROM:<a@client.test>", "250 ")
	var b strings.Builder
	for range 10000 {
		b.WriteString("RCPT TO:<sara@example.org>\r\n")
	}
	go func() { h.c.Write([]byte(b.String())) }()
	ok, full := 0, 0
	for range 10000 {
		switch r := h.reply(); {
		case strings.HasPrefix(r, "250 "):
			ok++
		case strings.HasPrefix(r, "452 4.5.3 "):
			full++
		default:
			t.Fatalf("unexpected reply %q", r)
		}
	}
	if ok != smtp.DefaultMaxRecipients || full != 10000-ok {
		t.Fatalf("%d accepted, %d refused", ok, full)
	}
	h.cmd("DATA", "354 ")
	h.cmd("Subject: x\r\n\r\nx\r\n.", "250 ")
	if n := len(soak.Inbox(t, st, "sara")); n != 1 {
		t.Fatalf("sara has %d messages, want 1 (duplicates of one user collapse)", n)
	}
	hDeliverOne(t, addr)
}

// TestHardeningSlowloris: one byte a second (here a byte each 50 ms with
// timeouts of 300 ms) never holds a connection past the read and
// transaction timeouts: inside a command line, and inside the data.
func TestHardeningSlowloris(t *testing.T) {
	addr, st := hReceiver(t, func(s *smtp.Server) {
		s.ReadTimeout = 300 * time.Millisecond
		s.TransactionTimeout = 600 * time.Millisecond
	})
	for _, prefix := range []string{"", "EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<sara@example.org>\r\nDATA\r\n"} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		io.WriteString(nc, prefix)
		if !soak.Trickle(nc, "EHLO "+strings.Repeat("x", 500), 50*time.Millisecond, 5*time.Second) {
			t.Errorf("prefix %q: a slowloris kept its connection for 5 s", prefix)
		}
	}
	if n := len(soak.Inbox(t, st, "sara")); n != 0 {
		t.Fatalf("a trickled message was delivered: %d", n)
	}
	hDeliverOne(t, addr)
}

// TestHardeningAuthBruteForce: failed AUTH attempts are delayed and the
// connection is closed after the limit (RFC 4954 §4; a password-guessing
// defence).
func TestHardeningAuthBruteForce(t *testing.T) {
	srv := smtptest.NewServer(t, &smtptest.Options{Users: map[string]string{"sara": "secret"}, Configure: func(s *smtp.Server) {
		s.AuthFailureDelay = 100 * time.Millisecond
		s.MaxAuthFailures = 3
	}})
	h := hdial(t, srv.Addr())
	h.cmd("EHLO client.test", "250 ")
	start := time.Now()
	for i := range 3 {
		h.cmd(fmt.Sprintf("AUTH PLAIN %s", hPlain("sara", fmt.Sprint("guess", i))), "535 5.7.8 ")
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("three failures answered in %v, want ≥ 300 ms", d)
	}
	h.expect("421 ")
	h.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := h.br.ReadByte(); err == nil {
		t.Fatal("connection still open after the failure limit")
	}
	h2 := hdial(t, srv.Addr())
	h2.cmd("EHLO client.test", "250 ")
	h2.cmd("AUTH PLAIN "+hPlain("sara", "secret"), "235 ")
}

func hPlain(user, pass string) string {
	return hB64("\x00" + user + "\x00" + pass)
}

// TestHardeningSlowlorisListeners: every listener role (receiver,
// submission, LMTP; STARTTLS and implicit-TLS handshakes) cuts a client
// that trickles one byte at a time.
func TestHardeningSlowlorisListeners(t *testing.T) {
	hello := "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + strings.Repeat("\x00", 500)
	for _, tc := range []struct {
		name     string
		mode     smtp.Mode
		implicit bool
		prefix   string
		trickle  string
	}{
		{"submission", smtp.ModeSubmission, false, "", "EHLO " + strings.Repeat("x", 500)},
		{"lmtp", smtp.ModeLMTP, false, "", "LHLO " + strings.Repeat("x", 500)},
		{"starttls", smtp.ModeReceiver, false, "EHLO c\r\nSTARTTLS\r\n", hello},
		{"implicit", smtp.ModeSubmission, true, "", hello},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, &smtptest.Options{Mode: tc.mode, TLS: !tc.implicit, ImplicitTLS: tc.implicit,
				Configure: func(s *smtp.Server) {
					s.ReadTimeout = 300 * time.Millisecond
					s.TLSHandshakeTimeout = 300 * time.Millisecond
				}})
			nc, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { nc.Close() })
			io.WriteString(nc, tc.prefix)
			if !soak.Trickle(nc, tc.trickle, 50*time.Millisecond, 5*time.Second) {
				t.Error("a slowloris kept its connection for 5 s")
			}
		})
	}
}
