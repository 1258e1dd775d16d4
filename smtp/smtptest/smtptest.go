package smtptest

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/smtp"
)

// Options configures a test server; nil means plaintext ESMTP with no AUTH.
type Options struct {
	// TLS offers STARTTLS with a self-signed certificate for "localhost"
	// and 127.0.0.1; ClientTLSConfig returns a client config that trusts it.
	TLS bool
	// ImplicitTLS serves TLS from the first byte (the port 465 role).
	ImplicitTLS bool
	// Users enables AUTH PLAIN and LOGIN with these user → password pairs.
	// Without TLS, AUTH is allowed over plaintext.
	Users map[string]string
	// Mode is the server's role (receiver, submission, LMTP).
	Mode smtp.Mode
	// Configure, if set, may change the smtp.Server (limits, hostname,
	// extensions) before it starts.
	Configure func(*smtp.Server)
}

// Message is one transaction the server accepted (or refused at the data).
type Message struct {
	From        string
	MailOptions smtp.MailOptions
	To          []string
	RcptOptions []smtp.RcptOptions
	Data        []byte // exactly the bytes received, CRLF line endings
	Hello       string // EHLO/HELO/LHLO name
	TLS         bool   // received over TLS
	Identity    string // authenticated user, or ""
	Err         error  // the reply sent after the data, nil for 250
}

// Step is where a Fault strikes.
type Step int

// Fault steps.
const (
	AtConnect Step = iota // NewSession: the greeting
	AtMail                // MAIL FROM
	AtRcpt                // RCPT TO
	AtData                // after the data (or while reading it, with Drop)
)

// Fault scripts a failure.
type Fault struct {
	At Step
	// Address limits the fault to this sender (AtMail) or recipient
	// (AtRcpt, case-insensitive); "" matches all.
	Address string
	// Reply is sent instead of the positive reply, for example a 452 at
	// RCPT or a 554 after the data. nil sends the normal reply (useful
	// with Delay).
	Reply *smtp.Error
	// Delay is waited before replying.
	Delay time.Duration
	// Drop closes the connection instead of replying; at AtData after
	// DropAfter bytes of the message have been read.
	Drop      bool
	DropAfter int64
	// Count is how many times the fault strikes; 0 means every time.
	Count int
}

// Server is a running test server.
type Server struct {
	// Server is the smtp.Server, for inspection; do not change it.
	Server *smtp.Server

	t    testing.TB
	addr string
	opts Options

	mu     sync.Mutex
	msgs   []Message
	faults []*Fault
	conns  map[string]net.Conn
	notify chan struct{}
}

// NewServer starts a server on 127.0.0.1:0 that runs until the test ends.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	s := &Server{t: t, conns: make(map[string]net.Conn), notify: make(chan struct{}, 1)}
	if opts != nil {
		s.opts = *opts
	}
	srv := &smtp.Server{
		Hostname:          "smtptest.localhost",
		Backend:           smtp.BackendFunc(s.newSession),
		Mode:              s.opts.Mode,
		AllowInsecureAuth: !s.opts.TLS && !s.opts.ImplicitTLS,
		AuthFailureDelay:  -1,
		Logger:            slog.New(slog.DiscardHandler),
	}
	if s.opts.TLS || s.opts.ImplicitTLS {
		srv.TLSConfig = testcert.ServerTLS()
	}
	if s.opts.Configure != nil {
		s.opts.Configure(srv)
	}
	s.Server = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	tl := &trackingListener{Listener: l, s: s}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.opts.ImplicitTLS {
			srv.ServeTLS(tl)
		} else {
			srv.Serve(tl)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// ClientTLSConfig returns a TLS config that trusts the server's
// certificate (ServerName "localhost").
func (s *Server) ClientTLSConfig() *tls.Config { return testcert.ClientTLS() }

// Fail adds a scripted fault. Faults are checked in the order added.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every scripted fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Messages returns the transactions recorded so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitMessages waits until n transactions are recorded or timeout passes,
// and returns those recorded.
func (s *Server) WaitMessages(n int, timeout time.Duration) []Message {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			return s.Messages()
		}
	}
}

// fault returns the first matching fault and uses it up.
func (s *Server) fault(at Step, addr string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.At != at || (f.Address != "" && !strings.EqualFold(f.Address, addr)) {
			continue
		}
		c := *f
		if f.Count > 0 {
			if f.Count--; f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &c
	}
	return nil
}

// apply waits and drops as the fault says and returns its reply.
func (s *Server) apply(ctx context.Context, f *Fault, info *smtp.ConnInfo) error {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-ctx.Done():
		}
	}
	if f.Drop {
		s.drop(info)
	}
	if f.Reply != nil {
		return f.Reply
	}
	return nil
}

func (s *Server) drop(info *smtp.ConnInfo) {
	s.mu.Lock()
	c := s.conns[info.RemoteAddr.String()]
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	key := c.RemoteAddr().String()
	l.s.mu.Lock()
	l.s.conns[key] = c
	l.s.mu.Unlock()
	return &trackedConn{Conn: c, s: l.s, key: key}, nil
}

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	s   *Server
	key string
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c.key)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

func (s *Server) newSession(ctx context.Context, info *smtp.ConnInfo) (smtp.Session, error) {
	if f := s.fault(AtConnect, ""); f != nil {
		if err := s.apply(ctx, f, info); err != nil {
			return nil, err
		}
	}
	base := &session{s: s, info: info}
	if len(s.opts.Users) > 0 {
		return &authSession{base}, nil
	}
	return base, nil
}

type session struct {
	s    *Server
	info *smtp.ConnInfo
	cur  Message
}

func (ss *session) Mail(ctx context.Context, from string, opts *smtp.MailOptions) error {
	if f := ss.s.fault(AtMail, from); f != nil {
		if err := ss.s.apply(ctx, f, ss.info); err != nil {
			return err
		}
	}
	ss.cur = Message{From: from, MailOptions: *opts}
	return nil
}

func (ss *session) Rcpt(ctx context.Context, to string, opts *smtp.RcptOptions) error {
	if f := ss.s.fault(AtRcpt, to); f != nil {
		if err := ss.s.apply(ctx, f, ss.info); err != nil {
			return err
		}
	}
	ss.cur.To = append(ss.cur.To, to)
	ss.cur.RcptOptions = append(ss.cur.RcptOptions, *opts)
	return nil
}

func (ss *session) Data(ctx context.Context, body io.Reader) error {
	f := ss.s.fault(AtData, "")
	var r io.Reader = body
	if f != nil && f.Drop {
		r = io.LimitReader(body, f.DropAfter)
	}
	data, err := io.ReadAll(r)
	if err == nil && f != nil {
		err = ss.s.apply(ctx, f, ss.info)
		if f.Drop {
			return err
		}
	}
	m := ss.cur
	m.Data, m.Err = data, err
	m.Hello, m.TLS, m.Identity = ss.info.Hello, ss.info.TLS != nil, ss.info.Identity
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	select {
	case ss.s.notify <- struct{}{}:
	default:
	}
	return err
}

func (ss *session) Reset(ctx context.Context) { ss.cur = Message{} }

func (ss *session) Close() error { return nil }

type authSession struct{ *session }

// AuthPassword implements smtp.PasswordAuthSession.
func (as *authSession) AuthPassword(ctx context.Context, identity, username, password string) error {
	if want, ok := as.s.opts.Users[username]; ok && want == password && (identity == "" || identity == username) {
		return nil
	}
	return smtp.ErrAuthFailed
}
