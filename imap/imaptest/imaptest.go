// Package imaptest runs an in-process IMAP server on 127.0.0.1 for tests
// of IMAP clients and of applications built on package imap, and drives
// it from scripted transcripts.
//
//	func TestMyClient(t *testing.T) {
//		srv := imaptest.NewServer(t, nil) // user "test", password "test"
//		srv.Append(t, "test", "INBOX", "Subject: hi\r\n\r\nhello\r\n")
//		runMyClient(srv.Addr(), "test", "test")
//	}
//
//	func TestTranscript(t *testing.T) {
//		srv := imaptest.NewServer(t, nil)
//		c := srv.Dial(t)
//		c.Run("C: a LOGIN test test", "S: a OK *", "C: b SELECT INBOX", "S: * 0 EXISTS")
//	}
//
// It uses plain testing only, so importing it adds no dependency. The
// server stops when the test ends.
package imaptest

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// Options configures a test server; nil means a memory store with the
// user "test" (password "test") over plaintext, LOGIN allowed.
type Options struct {
	// Store serves the mail; nil → a new memstore.Store with Users.
	Store mailbox.Store
	// Users and their passwords, added to the memory store when Store is
	// nil; nil → {"test": "test"}.
	Users map[string]string
	// TLS offers STARTTLS with a self-signed certificate for "localhost"
	// and 127.0.0.1 (see Server.ClientTLSConfig) and then refuses
	// plaintext logins.
	TLS bool
	// ImplicitTLS serves TLS from the first byte (the port 993 role).
	ImplicitTLS bool
	// Configure, when set, adjusts the imap.Server before it starts.
	Configure func(*imap.Server)
}

// Server is a running test server.
type Server struct {
	// IMAP is the server; do not modify it.
	IMAP *imap.Server
	// Store is the mail it serves.
	Store mailbox.Store

	addr        string
	implicitTLS bool
}

// NewServer starts a server on 127.0.0.1:0 that stops when the test ends.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	st := opts.Store
	if st == nil {
		ms := memstore.New()
		users := opts.Users
		if users == nil {
			users = map[string]string{"test": "test"}
		}
		for u, p := range users {
			if err := ms.AddUser(u, p); err != nil {
				t.Fatalf("imaptest: add user %s: %v", u, err)
			}
		}
		st = ms
	}
	srv := &imap.Server{
		Store:             st,
		AllowInsecureAuth: !opts.TLS && !opts.ImplicitTLS,
		LoginFailDelay:    -1,
		Logger:            slog.New(slog.DiscardHandler),
	}
	if opts.TLS || opts.ImplicitTLS {
		srv.TLSConfig = testcert.ServerTLS()
	}
	if opts.Configure != nil {
		opts.Configure(srv)
	}
	var l net.Listener
	var err error
	if opts.ImplicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", testcert.ServerTLS())
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("imaptest: listen: %v", err)
	}
	s := &Server{IMAP: srv, Store: st, addr: l.Addr().String(), implicitTLS: opts.ImplicitTLS}
	done := make(chan struct{})
	go func() {
		srv.Serve(l)
		close(done)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// ClientTLSConfig returns a TLS client configuration that trusts the
// server's certificate.
func (s *Server) ClientTLSConfig() *tls.Config { return testcert.ClientTLS() }

// Append stores a message in a mailbox of user directly (not over IMAP)
// and returns its UID; the test fails on error.
func (s *Server) Append(t testing.TB, user, name, msg string, flags ...mailbox.Flag) mailbox.UID {
	t.Helper()
	ctx := context.Background()
	acct, err := s.Store.Open(ctx, user)
	if err != nil {
		t.Fatalf("imaptest: open %s: %v", user, err)
	}
	defer acct.Close()
	mb, err := acct.Mailbox(ctx, name)
	if err != nil {
		t.Fatalf("imaptest: mailbox %s: %v", name, err)
	}
	defer mb.Close()
	uid, err := mb.Append(ctx, strings.NewReader(msg), &mailbox.AppendOptions{Flags: flags})
	if err != nil {
		t.Fatalf("imaptest: append: %v", err)
	}
	return uid
}

// Conn is a raw client connection for transcript tests.
type Conn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
	// Timeout bounds each read and write; 0 → 5 s.
	Timeout time.Duration
}

// Dial connects to the server and reads the greeting; the connection is
// closed when the test ends.
func (s *Server) Dial(t testing.TB) *Conn {
	t.Helper()
	var nc net.Conn
	var err error
	if s.implicitTLS {
		nc, err = tls.Dial("tcp", s.addr, s.ClientTLSConfig())
	} else {
		nc, err = net.Dial("tcp", s.addr)
	}
	if err != nil {
		t.Fatalf("imaptest: dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &Conn{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.Expect("* OK *")
	return c
}

func (c *Conn) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 5 * time.Second
}

// Send writes line and CRLF.
func (c *Conn) Send(line string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout()))
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatalf("imaptest: send %q: %v", line, err)
	}
}

// ReadLine reads one response line without its CRLF; literals are read
// and inlined (without the CRLF that follows "{n}").
func (c *Conn) ReadLine() string {
	c.t.Helper()
	var b strings.Builder
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("imaptest: read (so far %q): %v", b.String()+line, err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		b.WriteString(line)
		n, ok := literalSize(line)
		if !ok {
			return b.String()
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.t.Fatalf("imaptest: literal: %v", err)
		}
		b.Write(buf)
	}
}

func literalSize(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(line[i+1:len(line)-1], "+"))
	return n, err == nil && n >= 0
}

// Expect reads one line per pattern and fails the test unless each
// matches; "*" in a pattern matches any run of characters.
func (c *Conn) Expect(patterns ...string) {
	c.t.Helper()
	for _, p := range patterns {
		if got := c.ReadLine(); !Match(p, got) {
			c.t.Fatalf("imaptest: response mismatch\n got: %q\nwant: %q", got, p)
		}
	}
}

// Run plays a transcript: "C: line" is sent, "S: pattern" expected.
func (c *Conn) Run(script ...string) {
	c.t.Helper()
	for _, l := range script {
		switch {
		case strings.HasPrefix(l, "C: "):
			c.Send(l[3:])
		case strings.HasPrefix(l, "S: "):
			c.Expect(l[3:])
		default:
			c.t.Fatalf("imaptest: script line %q starts with neither \"C: \" nor \"S: \"", l)
		}
	}
}

// Match reports whether s matches pattern, where "*" matches any run of
// characters (including none) and everything else matches itself.
func Match(pattern, s string) bool {
	// Greedy matching with backtracking to the last star: linear in
	// practice, O(len(pattern)·len(s)) at worst.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }
