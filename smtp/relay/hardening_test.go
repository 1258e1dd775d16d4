package relay_test

// Open-relay attempts against relay.Submission over the wire (issue 13,
// docs/SECURITY.md): nothing is queued without authentication, and an
// authenticated user sends only from addresses it owns.

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/smtp"
	"github.com/posthorn/posthorn/smtp/relay"
)

// recorder is a Transport that records and accepts every delivery.
type recorder struct {
	mu  sync.Mutex
	got []string // recipients
}

func (r *recorder) Deliver(ctx context.Context, d *relay.Delivery) []relay.Result {
	r.mu.Lock()
	r.got = append(r.got, d.Recipients...)
	r.mu.Unlock()
	return make([]relay.Result, len(d.Recipients))
}

func (r *recorder) recipients() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

type wire struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (w *wire) cmd(line, prefix string) {
	w.t.Helper()
	w.c.SetDeadline(time.Now().Add(10 * time.Second))
	if line != "" {
		io.WriteString(w.c, line+"\r\n")
	}
	for {
		l, err := w.br.ReadString('\n')
		if err != nil {
			w.t.Fatalf("%q: %v", line, err)
		}
		if len(l) >= 4 && l[3] == '-' {
			continue
		}
		if !strings.HasPrefix(l, prefix) {
			w.t.Fatalf("%q: reply %q, want %q…", line, strings.TrimSpace(l), prefix)
		}
		return
	}
}

func TestHardeningOpenRelaySubmission(t *testing.T) {
	users := memstore.New()
	if err := users.AddUser("bob", "bobpw", "bob@bob.example"); err != nil {
		t.Fatal(err)
	}
	if err := users.AddUser("alice", "alicepw", "alice@bob.example"); err != nil {
		t.Fatal(err)
	}
	remote := &recorder{}
	quiet := slog.New(slog.DiscardHandler)
	q := &relay.Queue{Spool: &relay.DirSpool{Dir: t.TempDir()}, Transport: remote, Hostname: "relay.bob.example", Logger: quiet}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Shutdown(context.Background()) })
	srv := &smtp.Server{Hostname: "relay.bob.example", Mode: smtp.ModeSubmission, AllowInsecureAuth: true, Logger: quiet,
		AuthFailureDelay: -1, Backend: &relay.Submission{Queue: q, Auth: users, Recipients: users, Logger: quiet,
			IsLocal: func(d string) bool { return d == "bob.example" }}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	dial := func() *wire {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		w := &wire{t: t, c: c, br: bufio.NewReader(c)}
		w.cmd("", "220 ")
		w.cmd("EHLO client.example", "250 ")
		return w
	}
	plain := func(u, p string) string { return base64.StdEncoding.EncodeToString([]byte("\x00" + u + "\x00" + p)) }

	// Unauthenticated, through every address form.
	w := dial()
	w.cmd("MAIL FROM:<bob@bob.example>", "530 5.7.0 ")
	for _, rcpt := range []string{"<jim@jim.example>", "<@bob.example:jim@jim.example>", "<jim%jim.example@bob.example>", "<alice@bob.example>"} {
		w.cmd("RCPT TO:"+rcpt, "503 ")
	}
	w.cmd("DATA", "503 ")

	// Authenticated as bob, with another user's or a foreign sender.
	w = dial()
	w.cmd("AUTH PLAIN "+plain("bob", "wrong"), "535 ")
	w.cmd("AUTH PLAIN "+plain("bob", "bobpw"), "235 ")
	for _, from := range []string{"<alice@bob.example>", "<@bob.example:alice@bob.example>", "<alice%bob.example@bob.example>", "<bob@bob.example@evil.example>", "<>", "<bob@evil.example>"} {
		want := "553 "
		if strings.Count(from, "@") > 1 && !strings.Contains(from, ":") {
			want = "5" // a syntax error (501) or a refused sender (553)
		}
		w.cmd("MAIL FROM:"+from, want)
	}
	// Proxy authorization (authzid alice) is refused.
	w2 := dial()
	w2.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("alice\x00bob\x00bobpw")), "535 ")

	// The legitimate path works and is the only thing queued.
	w.cmd("MAIL FROM:<bob@bob.example>", "250 ")
	w.cmd("RCPT TO:<nobody@bob.example>", "550 5.1.1 ")
	w.cmd("RCPT TO:<jim@jim.example>", "250 ")
	w.cmd("DATA", "354 ")
	w.cmd("Subject: hi\r\n\r\nhi\r\n.", "250 ")
	w.cmd("QUIT", "221 ")
	end := time.Now().Add(5 * time.Second)
	for len(remote.recipients()) == 0 && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := remote.recipients(); len(got) != 1 || got[0] != "jim@jim.example" {
		t.Fatalf("delivered to %q, want only jim@jim.example", got)
	}
}
