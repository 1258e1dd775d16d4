package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/serve"
	"github.com/posthorn/posthorn/mailbox"
)

// Log levels below Debug for protocol transcripts (STYLE.md §2.9).
const (
	// LevelTrace logs every command and response line, with credentials
	// and message bodies left out.
	LevelTrace = slog.LevelDebug - 4
)

// Default limits of a Server.
const (
	DefaultReadTimeout     = 30 * time.Minute // RFC 9051 §5.4: autologout once authenticated
	DefaultPreAuthTimeout  = 60 * time.Second // RFC 9051 §5.4: before authentication
	DefaultWriteTimeout    = time.Minute
	DefaultTLSHandshake    = 30 * time.Second // implicit TLS and STARTTLS
	DefaultMaxLineLength   = 8192             // RFC 7162 §4
	DefaultMaxLiteral      = 4096             // literals outside APPEND
	DefaultMaxCommandLits  = 64 << 10         // all literals of one command outside APPEND
	DefaultAppendLimit     = 32 << 20         // RFC 7889 APPENDLIMIT
	DefaultMaxConns        = 10000
	DefaultMaxConnsPerUser = 50
	DefaultLoginFailDelay  = time.Second
	DefaultMaxLoginFails   = 3
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close.
var ErrServerClosed = errors.New("imap: server closed")

// ConnState is the state of a server connection, reported to
// Server.ConnState.
type ConnState int

// Connection states.
const (
	StateNew    ConnState = iota // accepted, before the greeting
	StateActive                  // running a command
	StateIdle                    // waiting for the next command (or in IDLE)
	StateClosed                  // closed
)

var connStateNames = [...]string{"new", "active", "idle", "closed"}

func (s ConnState) String() string {
	if s >= 0 && int(s) < len(connStateNames) {
		return connStateNames[s]
	}
	return "ConnState(" + strconv.Itoa(int(s)) + ")"
}

// Server is an IMAP4rev1 and IMAP4rev2 server over a mailbox.Store. The
// store speaks UIDs only: sequence numbers, each session's view of its
// selected mailbox, unsolicited EXISTS/EXPUNGE/FETCH and IDLE are kept
// here, fed by the store's events (mailbox.Account.Watch).
//
// The zero value (with Store set) works; every limit has a safe default.
// Do not modify fields after Serve is called. A Server is safe for
// concurrent use.
//
// What the server implements (capabilities are derived from this list,
// the configuration and the authenticator's interfaces):
//
//	| Specification                 | Status                                                     |
//	|-------------------------------|------------------------------------------------------------|
//	| RFC 3501 IMAP4rev1            | all commands; \Recent per session; mUTF-7 mailbox names     |
//	| RFC 9051 IMAP4rev2            | via ENABLE; UTF-8 names, ESEARCH replies, [CLOSED], LIST    |
//	| RFC 2177 IDLE                 | updates pushed as the store publishes them                  |
//	| RFC 4959 SASL-IR, RFC 4422    | PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER |
//	| RFC 7888 LITERAL+             | non-synchronising literals, bounded                         |
//	| RFC 4315 UIDPLUS              | APPENDUID, COPYUID, UID EXPUNGE                             |
//	| RFC 6851 MOVE, RFC 3691 UNSELECT, RFC 2342 NAMESPACE, RFC 2971 ID, RFC 5161 ENABLE | yes |
//	| RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 5032 WITHIN, RFC 8514 SAVEDATE | yes      |
//	| RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 3348 CHILDREN | yes               |
//	| RFC 6154 SPECIAL-USE, CREATE-SPECIAL-USE | yes                                         |
//	| RFC 8438 STATUS=SIZE, STATUS DELETED | yes                                             |
//	| RFC 7889 APPENDLIMIT, RFC 3502 MULTIAPPEND | yes (MULTIAPPEND all or nothing)          |
//	| RFC 3516 BINARY               | BINARY[], BINARY.SIZE, literal8, UNKNOWN-CTE                |
//	| RFC 6855 UTF8=ACCEPT          | UTF-8 strings and names, APPEND UTF8                        |
//	| RFC 7162 CONDSTORE            | MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE/MODIFIED, SEARCH MODSEQ, implicit enabling |
//	| RFC 4978 COMPRESS=DEFLATE     | sync flush after every response batch; the client must sync- or full-flush |
//	| RFC 5256 SORT, RFC 5957 SORT=DISPLAY, RFC 5267 ESORT | from the headers, after the search   |
//	| RFC 5267 CONTEXT=SEARCH, CONTEXT=SORT | RETURN (UPDATE): ADDTO/REMOVEFROM as messages arrive, go or change flags, SORT with positions; CANCELUPDATE; 16 contexts per session, NOUPDATE past that |
//	| RFC 9394 PARTIAL              | RETURN (PARTIAL 1:100 / -1:-100) for SEARCH and SORT; FETCH modifier (PARTIAL ...) |
//	| RFC 5256 THREAD=ORDEREDSUBJECT, THREAD=REFERENCES | from Message-ID, References, In-Reply-To |
//	| RFC 8970 PREVIEW              | first text/plain (else text/html without markup), 200 characters; LAZY accepted |
//	| RFC 7162 QRESYNC              | SELECT (QRESYNC ...), VANISHED (EARLIER), UID FETCH VANISHED, from the store's tombstones |
//	| RFC 5465 NOTIFY               | SET [STATUS] / NONE; SELECTED, SELECTED-DELAYED, INBOXES (= PERSONAL), PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES; MessageNew (fetch-att), MessageExpunge, FlagChange, MailboxName, SubscriptionChange; pushed between commands; bounded queue with NOTIFICATIONOVERFLOW |
//
// SEARCH is evaluated by the library over the store's message list, with
// headers and decoded text parts read only when a key needs them (a large
// mailbox's messages spread over up to GOMAXPROCS workers when keys read
// their contents; see "What SEARCH costs" in the package documentation);
// a store implementing mailbox.Searcher answers the criteria it can, one
// implementing mailbox.MessageReader is read with one call per message,
// and one implementing mailbox.Sorter orders the result of a SORT. FETCH of
// ENVELOPE, BODYSTRUCTURE and part sections uses internal/mime, cached
// through mailbox.MetadataCache when the store offers it.
type Server struct {
	// Store holds the users' mail. Required.
	Store mailbox.Store
	// Auth verifies logins. nil → Store, if it implements
	// mailbox.Authenticator; otherwise every login fails.
	Auth mailbox.Authenticator

	// TLSConfig, when set, enables STARTTLS and is used by
	// ListenAndServeTLS. It is cloned on first use.
	TLSConfig *tls.Config
	// AllowInsecureAuth permits LOGIN and AUTHENTICATE over a connection
	// without TLS. Off: such a connection advertises LOGINDISABLED
	// (RFC 9051 §6.2.3) and offers no AUTH= mechanism.
	AllowInsecureAuth bool
	// Greeting is the text of the initial "* OK". "" → "Posthorn IMAP ready".
	Greeting string

	// ReadTimeout is the autologout timer of an authenticated session
	// (RFC 9051 §5.4): 0 → 30 min, <0 → none.
	ReadTimeout time.Duration
	// PreAuthTimeout is the autologout timer before authentication:
	// 0 → 60 s, <0 → none.
	PreAuthTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake (implicit TLS and
	// STARTTLS): 0 → 30 s, <0 → none. A handshake before login is also
	// bounded by PreAuthTimeout, whichever is shorter.
	TLSHandshakeTimeout time.Duration
	// WriteTimeout bounds each response write: 0 → 1 min, <0 → none.
	WriteTimeout time.Duration
	// MaxLineLength bounds a command line, literals excluded: 0 → 8192.
	MaxLineLength int
	// MaxLiteral bounds a literal outside APPEND: 0 → 4096 octets.
	MaxLiteral int64
	// MaxCommandLiterals bounds the literal octets one command other than
	// APPEND may hold in memory, all its literals together: 0 → 64 KiB.
	MaxCommandLiterals int64
	// AppendLimit bounds an appended message (RFC 7889 APPENDLIMIT):
	// 0 → 32 MiB, <0 → unlimited (not advertised with a value).
	AppendLimit int64
	// MaxConns bounds open connections: 0 → 10000, <0 → unlimited.
	MaxConns int
	// MaxConnsPerUser bounds authenticated sessions per user: 0 → 50,
	// <0 → unlimited.
	MaxConnsPerUser int
	// LoginFailDelay is waited before answering a failed login:
	// 0 → 1 s, <0 → none.
	LoginFailDelay time.Duration
	// MaxLoginFails is the number of failed logins after which the
	// connection is closed: 0 → 3.
	MaxLoginFails int
	// MaxNotifyQueue bounds the NOTIFY notifications (RFC 5465) waiting
	// for one session; past it the session gets
	// "* OK [NOTIFICATIONOVERFLOW]" and NOTIFY is turned off: 0 → 1024,
	// <0 → NOTIFY not offered.
	MaxNotifyQueue int

	// Logger receives errors and, at Debug and LevelTrace, the
	// connection log and protocol trace. nil → slog.Default().
	Logger *slog.Logger
	// ConnState, if set, is called when a connection changes state.
	ConnState func(net.Conn, ConnState)
	// BaseContext returns the base context of connections accepted on
	// l; nil → context.Background().
	BaseContext func(l net.Listener) context.Context
	// ConnContext derives a connection's context; nil → unchanged.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	lcOnce sync.Once
	lc     serve.Server // listeners, connections, Shutdown and Close

	mu        sync.Mutex
	users     map[string]int
	tlsOnce   sync.Once
	tlsConfig *tls.Config
	nextID    atomic.Uint64
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) readTimeout() time.Duration {
	return orDefault(s.ReadTimeout, DefaultReadTimeout)
}
func (s *Server) preAuthTimeout() time.Duration {
	return orDefault(s.PreAuthTimeout, DefaultPreAuthTimeout)
}

// handshakeTimeout bounds a TLS handshake; 0 means none.
func (s *Server) handshakeTimeout(authenticated bool) time.Duration {
	d := orDefault(s.TLSHandshakeTimeout, DefaultTLSHandshake)
	if !authenticated {
		if p := s.preAuthTimeout(); p > 0 && (d <= 0 || p < d) {
			d = p
		}
	}
	return max(d, 0)
}

func (s *Server) writeTimeout() time.Duration {
	return orDefault(s.WriteTimeout, DefaultWriteTimeout)
}
func (s *Server) maxLine() int       { return orDefault(s.MaxLineLength, DefaultMaxLineLength) }
func (s *Server) maxLiteral() int64  { return orDefault(s.MaxLiteral, DefaultMaxLiteral) }
func (s *Server) appendLimit() int64 { return orDefault(s.AppendLimit, DefaultAppendLimit) }
func (s *Server) maxCommandLits() int64 {
	return orDefault(s.MaxCommandLiterals, DefaultMaxCommandLits)
}
func (s *Server) maxConns() int        { return orDefault(s.MaxConns, DefaultMaxConns) }
func (s *Server) maxConnsPerUser() int { return orDefault(s.MaxConnsPerUser, DefaultMaxConnsPerUser) }
func (s *Server) loginFailDelay() time.Duration {
	return orDefault(s.LoginFailDelay, DefaultLoginFailDelay)
}
func (s *Server) maxLoginFails() int { return orDefault(s.MaxLoginFails, DefaultMaxLoginFails) }

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) greeting() string {
	if s.Greeting != "" {
		return s.Greeting
	}
	return "Posthorn IMAP ready"
}

func (s *Server) authenticator() mailbox.Authenticator {
	if s.Auth != nil {
		return s.Auth
	}
	if a, ok := s.Store.(mailbox.Authenticator); ok {
		return a
	}
	return nil
}

func (s *Server) tlsConf() *tls.Config {
	s.tlsOnce.Do(func() {
		if s.TLSConfig != nil {
			s.tlsConfig = s.TLSConfig.Clone()
		}
	})
	return s.tlsConfig
}

// capabilities lists what the server supports on a connection in the given
// state. It is the one place capabilities are decided: from the
// configuration and the connection, never from a second list.
func (s *Server) capabilities(c *conn) []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2"}
	if c.state == stateNotAuth {
		if !c.isTLS && s.tlsConf() != nil {
			caps = append(caps, "STARTTLS")
		}
		if c.authAllowed() {
			for _, m := range s.saslMechs() {
				caps = append(caps, "AUTH="+m)
			}
			caps = append(caps, "SASL-IR")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
	}
	caps = append(caps,
		"LITERAL+", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE",
		"ID", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
		"CREATE-SPECIAL-USE", "STATUS=SIZE", "ESEARCH", "SEARCHRES", "MULTIAPPEND",
		"UTF8=ACCEPT", "WITHIN", "SAVEDATE", "BINARY", "CONDSTORE", "QRESYNC", "PREVIEW",
		"SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
		"CONTEXT=SEARCH", "CONTEXT=SORT", "PARTIAL")
	if s.maxNotifyQueue() > 0 {
		caps = append(caps, "NOTIFY")
	}
	if c.state != stateNotAuth && !c.compressed {
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	if lim := s.appendLimit(); lim > 0 && lim <= 1<<32-1 {
		caps = append(caps, "APPENDLIMIT="+strconv.FormatInt(lim, 10))
	} else {
		caps = append(caps, "APPENDLIMIT")
	}
	return caps
}

// ListenAndServe listens on addr (":imap" if empty) and serves plain
// connections with STARTTLS if TLSConfig is set.
func (s *Server) ListenAndServe(addr string) error {
	if s.shuttingDown() {
		return ErrServerClosed
	}
	if addr == "" {
		addr = ":imap"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on addr (":imaps" if empty) and serves
// implicit TLS (RFC 8314). certFile and keyFile are used when TLSConfig
// has no certificate.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	if s.shuttingDown() {
		return ErrServerClosed
	}
	cfg := s.tlsConf()
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if addr == "" {
		addr = ":imaps"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(tls.NewListener(l, cfg))
}

// Serve accepts connections on l and serves each in its own goroutine.
// It always returns a non-nil error; after Shutdown or Close it returns
// ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	if s.Store == nil {
		return errors.New("imap: Server.Store is nil")
	}
	lc := s.lifecycle()
	return lc.Serve(l, func(ctx context.Context, nc net.Conn, over serve.Limit) serve.Conn {
		if over != serve.LimitNone || lc.ShuttingDown() {
			go func() { // never stall the accept loop on a slow peer
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				nc.Write([]byte("* BYE [UNAVAILABLE] Too many connections\r\n"))
				nc.Close()
			}()
			return nil
		}
		return s.newConn(ctx, nc)
	})
}

// lifecycle returns the server's listener and connection tracking.
func (s *Server) lifecycle() *serve.Server {
	s.lcOnce.Do(func() {
		s.lc = serve.Server{
			Name:        "imap",
			ErrClosed:   ErrServerClosed,
			Logger:      s.logger,
			BaseContext: s.BaseContext,
			ConnContext: s.ConnContext,
			MaxConns:    s.maxConns(),
		}
	})
	return &s.lc
}

// shuttingDown reports whether Shutdown or Close has been called.
func (s *Server) shuttingDown() bool { return s.lifecycle().ShuttingDown() }

// newConn makes the connection of nc; the lifecycle tracks it.
func (s *Server) newConn(ctx context.Context, nc net.Conn) *conn {
	return newConn(s, ctx, nc)
}

// removeConn uncounts an ended connection's session of its user.
func (s *Server) removeConn(c *conn) {
	if c.counted {
		s.releaseUser(c.user)
	}
}

// releaseUser uncounts a session of user.
func (s *Server) releaseUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[user]--; s.users[user] <= 0 {
		delete(s.users, user)
	}
}

// addUser counts an authenticated session of user; false when the user
// has too many.
func (s *Server) addUser(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.maxConnsPerUser(); m > 0 && s.users[user] >= m {
		return false
	}
	if s.users == nil {
		s.users = make(map[string]int)
	}
	s.users[user]++
	return true
}

func (s *Server) setConnState(c *conn, st ConnState) {
	c.connState.Store(int32(st))
	if s.ConnState != nil {
		s.ConnState(c.nc, st)
	}
}

// Shutdown stops the server gracefully: it closes the listeners, says
// "* BYE" to every connection waiting for a command (or in IDLE), lets
// connections running a command finish it and say BYE, and waits until
// all are closed or ctx is done (then it closes the rest, and returns
// ctx.Err()).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.lifecycle().Shutdown(ctx)
	if err != nil {
		s.lifecycle().Close()
	}
	return err
}

// Close closes the listeners and every connection at once, without BYE.
func (s *Server) Close() error {
	return s.lifecycle().Close()
}

// joinCaps formats a capability list.
func joinCaps(caps []string) string { return strings.Join(caps, " ") }
