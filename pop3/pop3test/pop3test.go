// Package pop3test runs an in-process POP3 server for tests: a
// [pop3.Server] over an in-memory store, on a loopback port, stopped when
// the test ends.
//
//	srv := pop3test.NewServer(t, &pop3test.Options{Messages: []string{msg}})
//	c, err := srv.Dialer().Dial(ctx, srv.Addr())
//	err = c.Login(ctx, srv.User, srv.Password)
//
// It uses plain testing only, so importing it adds no dependency.
package pop3test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/pop3"
)

// Options configure NewServer. The zero value serves user "sara" with
// password "secret" and an empty INBOX, in plaintext with insecure auth
// allowed (loopback only).
type Options struct {
	User, Password string   // "" → "sara", "secret"
	Messages       []string // delivered to the user's INBOX before serving
	// TLS offers STLS with the test certificate ([testcert]) and refuses
	// credentials before it; ImplicitTLS serves TLS from the first byte.
	TLS, ImplicitTLS bool
	// Configure may change the server before it starts (limits, Expire...).
	Configure func(*pop3.Server)
}

// Server is a running test server.
type Server struct {
	// Srv is the server; do not change it after NewServer.
	Srv *pop3.Server
	// Store is the in-memory store behind it: deliver to it, or look at
	// what sessions did.
	Store *memstore.Store
	// User and Password log in.
	User, Password string

	addr     string
	implicit bool
	tls      bool
}

// NewServer starts a server; it stops when the test ends.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{Store: memstore.New(), User: opts.User, Password: opts.Password, implicit: opts.ImplicitTLS, tls: opts.TLS}
	if s.User == "" {
		s.User, s.Password = "sara", "secret"
	}
	if err := s.Store.AddUser(s.User, s.Password); err != nil {
		t.Fatalf("pop3test: %v", err)
	}
	for _, m := range opts.Messages {
		s.Deliver(t, m)
	}
	s.Srv = &pop3.Server{
		Store:             s.Store,
		Hostname:          "pop3test.localhost",
		AllowInsecureAuth: !opts.TLS && !opts.ImplicitTLS,
		AuthFailureDelay:  -1,
		Logger:            slog.New(slog.DiscardHandler),
	}
	if opts.TLS || opts.ImplicitTLS {
		s.Srv.TLSConfig = testcert.ServerTLS()
	}
	if opts.Configure != nil {
		opts.Configure(s.Srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pop3test: %v", err)
	}
	s.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() {
		if opts.ImplicitTLS {
			done <- s.Srv.ServeTLS(ln, "", "")
		} else {
			done <- s.Srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		s.Srv.Close()
		if err := <-done; err != pop3.ErrServerClosed {
			t.Errorf("pop3test: Serve: %v", err)
		}
	})
	return s
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// ClientTLSConfig returns a configuration that trusts the server's
// certificate.
func (s *Server) ClientTLSConfig() *tls.Config { return testcert.ClientTLS() }

// Dialer returns a Dialer that matches the server: plaintext, STLS or
// implicit TLS, trusting the test certificate.
func (s *Server) Dialer() *pop3.Dialer {
	switch {
	case s.implicit:
		return &pop3.Dialer{Security: pop3.ImplicitTLS, TLSConfig: testcert.ClientTLS()}
	case s.tls:
		return &pop3.Dialer{Security: pop3.STLSRequired, TLSConfig: testcert.ClientTLS()}
	}
	return &pop3.Dialer{Security: pop3.Plaintext}
}

// Deliver appends msg to the user's INBOX.
func (s *Server) Deliver(t testing.TB, msg string) mailbox.UID {
	t.Helper()
	uid, err := mailbox.Deliver(context.Background(), s.Store, s.User, strings.NewReader(msg), nil)
	if err != nil {
		t.Fatalf("pop3test: deliver: %v", err)
	}
	return uid
}

// Count returns the number of messages in the user's INBOX.
func (s *Server) Count(t testing.TB) int {
	t.Helper()
	ctx := context.Background()
	acct, err := s.Store.Open(ctx, s.User)
	if err != nil {
		t.Fatalf("pop3test: %v", err)
	}
	defer acct.Close()
	mb, err := acct.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		t.Fatalf("pop3test: %v", err)
	}
	defer mb.Close()
	st, err := mb.Status(ctx)
	if err != nil {
		t.Fatalf("pop3test: %v", err)
	}
	return int(st.Messages)
}
