package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	serving "github.com/posthorn/posthorn/internal/serve" // pop3 tests declare serve
	"github.com/posthorn/posthorn/mailbox"
)

// ConnState is the state of a client connection, reported to
// Server.ConnState.
type ConnState int

// Connection states.
const (
	StateNew    ConnState = iota // accepted, before the greeting
	StateActive                  // a command is being handled
	StateIdle                    // waiting for the next command
	StateClosed                  // closed; the final state
)

// String returns the state's name.
func (s ConnState) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateActive:
		return "active"
	case StateIdle:
		return "idle"
	case StateClosed:
		return "closed"
	}
	return "ConnState(" + strconv.Itoa(int(s)) + ")"
}

// Default limits; each is the value a Server field takes when left zero.
const (
	DefaultReadTimeout         = 10 * time.Minute // RFC 1939 §3: autologout at least 10 minutes
	DefaultWriteTimeout        = 1 * time.Minute
	DefaultTLSHandshakeTimeout = 30 * time.Second
	DefaultMaxLineLength       = 255   // RFC 2449 §4: commands up to 255 octets
	DefaultMaxAuthLineLength   = 12288 // SASL responses (RFC 5034), OAuth tokens are long
	DefaultMaxBadCommands      = 10
	DefaultMaxAuthFailures     = 3
	DefaultAuthFailureDelay    = 1 * time.Second
	DefaultMaxConnections      = 2000
)

// LevelTrace is the slog level of wire transcripts. Passwords and SASL
// exchanges are replaced by "***"; message bodies are never logged.
const LevelTrace = slog.LevelDebug - 4

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("pop3: Server closed")

// Server is a POP3 server (RFC 1939) over a mailbox.Store. Set its fields,
// then call ListenAndServe or Serve; do not modify them after that. Every
// limit has a safe default when left zero; a negative value turns it off.
// A Server is safe for concurrent use.
//
// Each session serves the user's INBOX under the store's maildrop lock. The
// message list is a snapshot taken at login: message numbers do not change
// during the session, and deletions happen only at QUIT (the UPDATE state).
// A connection that drops deletes nothing.
type Server struct {
	// Addr is the TCP address ListenAndServe listens on; "" means ":pop3"
	// (":pop3s" for ListenAndServeTLS).
	Addr string
	// Hostname is the name in the greeting and the APOP timestamp; ""
	// means os.Hostname().
	Hostname string
	// Store holds the mail. Required.
	Store mailbox.Store
	// Auth verifies logins; nil means Store, which must then implement
	// mailbox.Authenticator. If it also implements
	// mailbox.SecretAuthenticator the server offers APOP, CRAM-MD5 and
	// SCRAM-SHA-256; mailbox.TokenAuthenticator adds XOAUTH2 and
	// OAUTHBEARER.
	Auth mailbox.Authenticator
	// TLSConfig enables STLS (RFC 2595) when non-nil and is used by
	// ServeTLS and ListenAndServeTLS.
	TLSConfig *tls.Config
	// AllowInsecureAuth offers and accepts USER/PASS, APOP and AUTH without
	// TLS. Leave it off except on loopback or behind a TLS-terminating
	// proxy.
	AllowInsecureAuth bool
	// KeepUnseen leaves messages unseen for IMAP after RETR. By default the
	// messages a session RETRieved get \Seen, as a mail reader would, in
	// one change when the session ends with QUIT (the UPDATE state, like
	// deletions; a dropped connection changes nothing).
	KeepUnseen bool

	// Expire is the argument of the EXPIRE capability (RFC 2449 §6.7): ""
	// does not advertise it, "NEVER" says messages are kept, a number of
	// days says the site removes them after that. The server itself never
	// removes messages; the policy belongs to the application.
	Expire string
	// LoginDelay is the minimum time between two logins of one user
	// (RFC 2449 §6.8), advertised as LOGIN-DELAY and enforced by this
	// Server with [LOGIN-DELAY]; 0 turns it off.
	LoginDelay time.Duration
	// Implementation is the IMPLEMENTATION capability (RFC 2449 §6.9);
	// "" does not advertise one.
	Implementation string

	// ReadTimeout is the autologout timer: the wait for each command;
	// 0 → DefaultReadTimeout. RFC 1939 asks for at least 10 minutes.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write of replies; 0 → DefaultWriteTimeout.
	WriteTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake; 0 →
	// DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration
	// MaxLineLength limits a command line, CRLF excluded; 0 →
	// DefaultMaxLineLength. AUTH lines may use MaxAuthLineLength.
	MaxLineLength int
	// MaxAuthLineLength limits an AUTH command and each SASL response; 0 →
	// DefaultMaxAuthLineLength.
	MaxAuthLineLength int
	// MaxBadCommands is how many unknown or malformed commands a client may
	// send before the server closes the connection; 0 →
	// DefaultMaxBadCommands.
	MaxBadCommands int
	// MaxAuthFailures is how many failed logins a connection may make
	// before the server closes it; 0 → DefaultMaxAuthFailures.
	MaxAuthFailures int
	// AuthFailureDelay is waited before each failed-login reply; 0 →
	// DefaultAuthFailureDelay.
	AuthFailureDelay time.Duration
	// MaxConnections limits concurrent connections; past it a client gets
	// "-ERR [SYS/TEMP]" and is closed. 0 → DefaultMaxConnections.
	MaxConnections int

	// Logger receives connection events and errors; nil → slog.Default().
	// Wire transcripts are logged at LevelTrace.
	Logger *slog.Logger
	// ConnState is called when a connection changes state.
	ConnState func(net.Conn, ConnState)
	// BaseContext returns the base context for connections from a
	// listener; nil → context.Background().
	BaseContext func(net.Listener) context.Context
	// ConnContext derives a connection's context.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	lcOnce sync.Once
	lc     serving.Server // listeners, connections, Shutdown and Close

	mu        sync.Mutex
	lastLogin map[string]time.Time // for LoginDelay
	hostOnce  sync.Once
	hostname  string
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// durationOr returns def for 0, none (0) for negative values, else d.
func durationOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// intOr returns def for 0, no limit (0) for negative values, else n.
func intOr(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

func (s *Server) host() string {
	s.hostOnce.Do(func() {
		s.hostname = s.Hostname
		if s.hostname == "" {
			s.hostname, _ = os.Hostname()
		}
		if s.hostname == "" {
			s.hostname = "localhost"
		}
	})
	return s.hostname
}

func (s *Server) auth() mailbox.Authenticator {
	if s.Auth != nil {
		return s.Auth
	}
	a, _ := s.Store.(mailbox.Authenticator)
	return a
}

// ListenAndServe listens on s.Addr and serves plain POP3 with STLS (when
// TLSConfig is set).
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":pop3"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// ListenAndServeTLS listens on s.Addr and serves POP3 over implicit TLS
// (the port 995 role, RFC 8314). certFile and keyFile may be empty when
// TLSConfig already holds a certificate.
func (s *Server) ListenAndServeTLS(certFile, keyFile string) error {
	addr := s.Addr
	if addr == "" {
		addr = ":pop3s"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeTLS(ln, certFile, keyFile)
}

// ServeTLS serves POP3 over implicit TLS on l.
func (s *Server) ServeTLS(l net.Listener, certFile, keyFile string) error {
	cfg := &tls.Config{}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			l.Close()
			return err
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	return s.Serve(tls.NewListener(l, cfg))
}

// Serve accepts connections on l and serves each in its own goroutine. It
// always returns a non-nil error; after Shutdown or Close, ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	if s.Store == nil {
		l.Close()
		return errors.New("pop3: Server.Store is nil")
	}
	if s.auth() == nil {
		l.Close()
		return errors.New("pop3: Server.Auth is nil and Store is no mailbox.Authenticator")
	}
	if err := s.checkConfig(); err != nil {
		l.Close()
		return err
	}
	return s.lifecycle().Serve(l, func(ctx context.Context, nc net.Conn, over serving.Limit) serving.Conn {
		c := s.newConn(ctx, nc)
		c.overLimit = over != serving.LimitNone
		return c
	})
}

// lifecycle returns the server's listener and connection tracking.
func (s *Server) lifecycle() *serving.Server {
	s.lcOnce.Do(func() {
		s.lc = serving.Server{
			Name:        "pop3",
			ErrClosed:   ErrServerClosed,
			Logger:      s.logger,
			BaseContext: s.BaseContext,
			ConnContext: s.ConnContext,
			MaxConns:    intOr(s.MaxConnections, DefaultMaxConnections),
		}
	})
	return &s.lc
}

// checkConfig refuses capability arguments that would break the CAPA
// response.
func (s *Server) checkConfig() error {
	if e := s.Expire; e != "" {
		num, _ := strings.CutSuffix(e, " USER") // RFC 2449 §6.7: may vary by user
		if num != "NEVER" {
			if _, ok := parseMsgNum(num); !ok {
				return fmt.Errorf("pop3: invalid Server.Expire %q: want NEVER or a number of days", e)
			}
		}
	}
	for _, c := range s.Implementation {
		if c < 0x20 || c == 0x7f {
			return errors.New("pop3: control character in Server.Implementation")
		}
	}
	return nil
}

// checkLoginDelay records a login of user and reports whether it comes
// at least LoginDelay after the previous one.
func (s *Server) checkLoginDelay(user string) bool {
	if s.LoginDelay <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if last, ok := s.lastLogin[user]; ok && now.Sub(last) < s.LoginDelay {
		return false
	}
	if s.lastLogin == nil {
		s.lastLogin = make(map[string]time.Time)
	}
	for u, t := range s.lastLogin { // forget logins that no longer matter
		if now.Sub(t) >= s.LoginDelay {
			delete(s.lastLogin, u)
		}
	}
	s.lastLogin[user] = now
	return true
}

// Shutdown stops the server gracefully: it closes the listeners, closes
// connections waiting for a command (which deletes nothing: POP3 deletes
// only at QUIT), lets commands in progress finish, and waits for every
// connection to end or ctx to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.lifecycle().Shutdown(ctx)
}

// Close stops the server at once: listeners and connections are closed.
func (s *Server) Close() error {
	return s.lifecycle().Close()
}
