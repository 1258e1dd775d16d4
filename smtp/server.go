package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/serve"
)

// Mode is the role a Server plays.
type Mode int

const (
	// ModeReceiver is the port 25 role: mail from anyone to local or
	// relayed recipients. AUTH is offered (when the session supports it
	// and the connection is encrypted) but never required.
	ModeReceiver Mode = iota
	// ModeSubmission is the port 587/465 role (RFC 6409): AUTH is required
	// before MAIL, and STARTTLS before AUTH unless AllowInsecureAuth.
	ModeSubmission
	// ModeLMTP speaks LMTP (RFC 2033): LHLO instead of EHLO, and one reply
	// per recipient after the data.
	ModeLMTP
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeReceiver:
		return "receiver"
	case ModeSubmission:
		return "submission"
	case ModeLMTP:
		return "lmtp"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

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
	DefaultReadTimeout         = 5 * time.Minute  // RFC 5321 §4.5.3.2.7
	DefaultWriteTimeout        = 1 * time.Minute  //
	DefaultTransactionTimeout  = 30 * time.Minute // MAIL to end of data
	DefaultTLSHandshakeTimeout = 30 * time.Second //
	DefaultMaxMessageBytes     = 32 << 20         // 32 MiB, advertised in SIZE
	DefaultMaxRecipients       = 100              // RFC 5321 §4.5.3.1.8
	DefaultMaxLineLength       = 2048             // command line, RFC 5321 §4.5.3.1.4 allows 512
	DefaultMaxAuthLineLength   = 12288            // RFC 4954 §4
	DefaultMaxDataLineLength   = 64 << 10         // text line in DATA; RFC 5322 wants 998
	DefaultMaxBadCommands      = 10               // then 421 and close
	DefaultMaxAuthFailures     = 3                // then 421 and close
	DefaultAuthFailureDelay    = 1 * time.Second  // before each 535
	DefaultMaxConnections      = 2000
	DefaultMaxConnectionsPerIP = 50
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("smtp: Server closed")

// Server is an SMTP, submission or LMTP server. Set its fields, then call
// ListenAndServe or Serve; do not modify them after that. Every limit has
// a safe default when left zero; a negative value turns it off. A Server
// is safe for concurrent use.
type Server struct {
	// Addr is the TCP address ListenAndServe listens on; "" means ":smtp"
	// (":smtps" for ListenAndServeTLS).
	Addr string
	// Hostname is the name in the greeting and Received headers; "" means
	// os.Hostname().
	Hostname string
	// Backend opens a Session per connection. Required.
	Backend Backend
	// Mode is the server's role; the zero value is ModeReceiver.
	Mode Mode
	// TLSConfig enables STARTTLS (RFC 3207) when non-nil and is used by
	// ServeTLS/ListenAndServeTLS. It is cloned on first use.
	TLSConfig *tls.Config
	// AllowInsecureAuth offers and accepts AUTH without TLS. Leave it off
	// except on loopback or behind a TLS-terminating proxy.
	AllowInsecureAuth bool
	// NormalizeBareLineEndings turns a bare CR or LF in DATA into CRLF
	// instead of refusing the message with 554 5.6.0.
	NormalizeBareLineEndings bool

	// ReadTimeout bounds the wait for each command and for each read of
	// message data; 0 → DefaultReadTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write of replies; 0 → DefaultWriteTimeout.
	WriteTimeout time.Duration
	// TransactionTimeout bounds a whole transaction, from MAIL to the
	// end of the data; 0 → DefaultTransactionTimeout.
	TransactionTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake; 0 →
	// DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration
	// MaxMessageBytes limits the message size (advertised with SIZE,
	// checked at MAIL and while reading); 0 → DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// MaxRecipients limits recipients per transaction (advertised as
	// LIMITS RCPTMAX); 0 → DefaultMaxRecipients.
	MaxRecipients int
	// MaxLineLength limits a command line, CRLF excluded; 0 →
	// DefaultMaxLineLength. AUTH exchanges may use DefaultMaxAuthLineLength.
	MaxLineLength int
	// MaxDataLineLength limits a text line of DATA; 0 →
	// DefaultMaxDataLineLength.
	MaxDataLineLength int
	// MaxBadCommands is how many unknown or malformed commands a client
	// may send before the server answers 421 and closes; 0 →
	// DefaultMaxBadCommands.
	MaxBadCommands int
	// MaxAuthFailures is how many failed AUTH attempts a connection may
	// make before the server closes it; 0 → DefaultMaxAuthFailures.
	MaxAuthFailures int
	// AuthFailureDelay is waited before each failed-AUTH reply; 0 →
	// DefaultAuthFailureDelay.
	AuthFailureDelay time.Duration
	// MaxConnections limits concurrent connections; past it a client gets
	// 421 4.3.2 and is closed. 0 → DefaultMaxConnections.
	MaxConnections int
	// MaxConnectionsPerIP limits concurrent connections from one IP
	// address (421 4.7.0); 0 → DefaultMaxConnectionsPerIP.
	MaxConnectionsPerIP int

	// Extensions are custom EHLO keywords, commands and parameters.
	Extensions []Extension

	// Logger receives connection events and errors; nil → slog.Default().
	// Wire transcripts are logged at LevelTrace with AUTH payloads
	// replaced by "***" and message bodies never logged.
	Logger *slog.Logger
	// ConnState is called when a connection changes state.
	ConnState func(net.Conn, ConnState)
	// BaseContext returns the base context for connections from a
	// listener; nil → context.Background().
	BaseContext func(net.Listener) context.Context
	// ConnContext derives a connection's context.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	lcOnce sync.Once
	lc     serve.Server // listeners, connections, Shutdown and Close

	mu        sync.Mutex // guards listeners
	listeners map[*net.Listener]struct{}

	tlsOnce   sync.Once
	tlsConfig *tls.Config
	hostOnce  sync.Once
	hostname  string
}

// LevelTrace is the slog level of wire transcripts.
const LevelTrace = slog.LevelDebug - 4

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func intOr(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func (s *Server) readTimeout() time.Duration  { return durationOr(s.ReadTimeout, DefaultReadTimeout) }
func (s *Server) writeTimeout() time.Duration { return durationOr(s.WriteTimeout, DefaultWriteTimeout) }
func (s *Server) txTimeout() time.Duration {
	return durationOr(s.TransactionTimeout, DefaultTransactionTimeout)
}
func (s *Server) handshakeTimeout() time.Duration {
	return durationOr(s.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
}
func (s *Server) authDelay() time.Duration {
	return durationOr(s.AuthFailureDelay, DefaultAuthFailureDelay)
}

func (s *Server) maxMessageBytes() int64 {
	if s.MaxMessageBytes == 0 {
		return DefaultMaxMessageBytes
	}
	return s.MaxMessageBytes
}
func (s *Server) maxRecipients() int   { return intOr(s.MaxRecipients, DefaultMaxRecipients) }
func (s *Server) maxLineLength() int   { return intOr(s.MaxLineLength, DefaultMaxLineLength) }
func (s *Server) maxDataLine() int     { return intOr(s.MaxDataLineLength, DefaultMaxDataLineLength) }
func (s *Server) maxBadCommands() int  { return intOr(s.MaxBadCommands, DefaultMaxBadCommands) }
func (s *Server) maxAuthFailures() int { return intOr(s.MaxAuthFailures, DefaultMaxAuthFailures) }
func (s *Server) maxConns() int        { return intOr(s.MaxConnections, DefaultMaxConnections) }
func (s *Server) maxConnsPerIP() int   { return intOr(s.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP) }

func (s *Server) tlsConf() *tls.Config {
	s.tlsOnce.Do(func() {
		if s.TLSConfig != nil {
			s.tlsConfig = s.TLSConfig.Clone()
		}
	})
	return s.tlsConfig
}

func (s *Server) host() string {
	s.hostOnce.Do(func() {
		s.hostname = s.Hostname
		if s.hostname == "" {
			if h, err := os.Hostname(); err == nil && h != "" {
				s.hostname = h
			} else {
				s.hostname = "localhost"
			}
		}
	})
	return s.hostname
}

// ListenAndServe listens on s.Addr (":smtp" when empty) and serves.
func (s *Server) ListenAndServe() error {
	if s.lifecycle().ShuttingDown() {
		return ErrServerClosed
	}
	addr := s.Addr
	if addr == "" {
		addr = ":smtp"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on s.Addr (":smtps" when empty) and serves
// implicit TLS (the port 465 role, RFC 8314) with s.TLSConfig.
func (s *Server) ListenAndServeTLS() error {
	if s.lifecycle().ShuttingDown() {
		return ErrServerClosed
	}
	addr := s.Addr
	if addr == "" {
		addr = ":smtps"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeTLS(l)
}

// ServeTLS is Serve with implicit TLS: every connection starts with a TLS
// handshake (bounded by TLSHandshakeTimeout) before the greeting.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.tlsConf() == nil {
		return errors.New("smtp: ServeTLS needs Server.TLSConfig")
	}
	return s.serve(l, true)
}

// Serve accepts connections on l and handles each in its own goroutine.
// It always returns a non-nil error, ErrServerClosed after Shutdown or
// Close, and closes l.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, false)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	if s.Backend == nil {
		l.Close()
		return errors.New("smtp: Server.Backend is nil")
	}
	defer l.Close()
	return s.lifecycle().Serve(l, func(ctx context.Context, nc net.Conn, over serve.Limit) serve.Conn {
		return newConn(ctx, s, nc, implicitTLS, over)
	})
}

// lifecycle returns the server's listener and connection tracking.
func (s *Server) lifecycle() *serve.Server {
	s.lcOnce.Do(func() {
		s.lc = serve.Server{
			Name:          "smtp",
			ErrClosed:     ErrServerClosed,
			Logger:        s.logger,
			BaseContext:   s.BaseContext,
			ConnContext:   s.ConnContext,
			MaxConns:      s.maxConns(),
			MaxConnsPerIP: s.maxConnsPerIP(),
			OnListen: func(l *net.Listener, serving bool) {
				s.mu.Lock()
				defer s.mu.Unlock()
				if !serving {
					delete(s.listeners, l)
				} else if s.listeners == nil {
					s.listeners = map[*net.Listener]struct{}{l: {}}
				} else {
					s.listeners[l] = struct{}{}
				}
			},
		}
	})
	return &s.lc
}

func (s *Server) setState(nc net.Conn, st ConnState) {
	if s.ConnState != nil {
		s.ConnState(nc, st)
	}
}

// limitError is the reply to a connection over a limit.
func (s *Server) limitError(over serve.Limit) *Error {
	switch over {
	case serve.LimitTotal:
		return &Error{Code: 421, EnhancedCode: EnhancedCode{4, 3, 2}, Message: s.host() + " Too many connections, try again later"}
	case serve.LimitPerIP:
		return &Error{Code: 421, EnhancedCode: EnhancedCode{4, 7, 0}, Message: s.host() + " Too many connections from your address"}
	}
	return nil
}

// Shutdown stops the server gracefully: it closes the listeners, answers
// 421 4.3.2 to every connection waiting for a command (and to the others
// as soon as their current command or message is done), then waits until
// every connection has closed or ctx ends (returning ctx.Err()).
func (s *Server) Shutdown(ctx context.Context) error {
	return s.lifecycle().Shutdown(ctx)
}

// Close stops the server at once: listeners and connections are closed
// and sessions' contexts cancelled.
func (s *Server) Close() error {
	return s.lifecycle().Close()
}
