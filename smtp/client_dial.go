package smtp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Security chooses how a Dialer protects the connection.
type Security int

const (
	// StartTLSRequired upgrades the connection with STARTTLS (RFC 3207)
	// and fails if the server does not offer it. It is the zero value:
	// the safe default for submission (port 587).
	StartTLSRequired Security = iota
	// StartTLSOpportunistic upgrades with STARTTLS when the server offers
	// it and continues in plaintext otherwise (RFC 3207, RFC 7435), the
	// usual choice between MTAs on port 25. A failed handshake is still an
	// error: the connection cannot continue after it.
	StartTLSOpportunistic
	// ImplicitTLS starts TLS before SMTP (RFC 8314 §3.3, port 465).
	ImplicitTLS
	// Plain never uses TLS. Credentials are then refused except to
	// loopback (see Dialer.InsecureAuth).
	Plain
)

var securityNames = [...]string{"StartTLSRequired", "StartTLSOpportunistic", "ImplicitTLS", "Plain"}

func (s Security) String() string {
	if s >= 0 && int(s) < len(securityNames) {
		return securityNames[s]
	}
	return fmt.Sprintf("Security(%d)", int(s))
}

// Default timeouts of RFC 5321 §4.5.3.2.
const (
	DefaultGreetingTimeout  = 5 * time.Minute  // §4.5.3.2.1 initial 220
	DefaultCommandTimeout   = 5 * time.Minute  // §4.5.3.2.2-3 MAIL, RCPT (and other commands)
	DefaultDataStartTimeout = 2 * time.Minute  // §4.5.3.2.4 DATA initiation
	DefaultDataBlockTimeout = 3 * time.Minute  // §4.5.3.2.5 each data block
	DefaultDataEndTimeout   = 10 * time.Minute // §4.5.3.2.6 DATA termination
	DefaultTLSTimeout       = 30 * time.Second // TLS handshake (a choice)
)

// A Dialer holds the settings for connecting to an SMTP or LMTP server. The
// zero value dials with STARTTLS required, the RFC 5321 timeouts and
// slog.Default. A Dialer may be used by several goroutines at once; it must
// not be modified while in use.
type Dialer struct {
	// Security chooses implicit TLS, STARTTLS (required or opportunistic)
	// or plaintext. The zero value is StartTLSRequired.
	Security Security
	// TLSConfig is cloned for each connection; nil uses the defaults. An
	// empty ServerName is set to the host being dialled.
	TLSConfig *tls.Config
	// LocalName is the name sent in EHLO/HELO/LHLO; "" → "localhost".
	LocalName string
	// LMTP makes the client speak LMTP (RFC 2033): LHLO instead of EHLO,
	// and one reply per recipient after the message.
	LMTP bool
	// Network is passed to net.Dialer; "" → "tcp". Use "unix" for an LMTP
	// socket.
	Network string
	// NetDialer is used to connect; nil uses a zero net.Dialer.
	NetDialer *net.Dialer
	// InsecureAuth allows credentials over a connection that is neither
	// TLS nor loopback. Leave it false.
	InsecureAuth bool

	// Timeouts (RFC 5321 §4.5.3.2); 0 means the Default…Timeout
	// constant, a negative value means none. They bound single waits; a
	// ctx deadline bounds the whole call.
	GreetingTimeout  time.Duration
	CommandTimeout   time.Duration
	DataStartTimeout time.Duration
	DataBlockTimeout time.Duration
	DataEndTimeout   time.Duration
	TLSTimeout       time.Duration

	// ChunkSize is the largest BDAT chunk (RFC 3030); 0 → 64 KiB.
	ChunkSize int
	// DisablePipelining and DisableChunking make the client ignore the
	// server's PIPELINING (RFC 2920) and CHUNKING (RFC 3030) offers.
	DisablePipelining bool
	DisableChunking   bool

	// Logger receives connection events at Debug and, at LevelTrace, the
	// wire transcript with AUTH payloads redacted (shown only at
	// LevelTraceAuth) and message bodies left out. nil → slog.Default().
	Logger *slog.Logger
}

// LevelTraceAuth is the slog level, below LevelTrace, at which the
// client's wire trace shows AUTH payloads (credentials!).
const LevelTraceAuth = slog.LevelDebug - 6

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	if d < 0 {
		return 0
	}
	return d
}

// Dial connects to addr ("host:port") with the Dialer's settings: TLS as
// Security says, then EHLO (or LHLO), and returns a ready Client.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Client, error) {
	network := d.Network
	if network == "" {
		network = "tcp"
	}
	nd := d.NetDialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: dial %s: %w", addr, err)
	}
	host := addr
	if network != "unix" {
		if h, _, err := net.SplitHostPort(addr); err == nil {
			host = h
		}
	}
	c, err := d.NewClient(ctx, conn, host)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Dial connects to addr with a zero Dialer: STARTTLS required.
func Dial(ctx context.Context, addr string) (*Client, error) {
	return (&Dialer{}).Dial(ctx, addr)
}

// DialTLS connects to addr with implicit TLS (RFC 8314, port 465).
func DialTLS(ctx context.Context, addr string, config *tls.Config) (*Client, error) {
	return (&Dialer{Security: ImplicitTLS, TLSConfig: config}).Dial(ctx, addr)
}

// NewClient runs SMTP over an established connection with a zero Dialer's
// settings: it reads the greeting, sends EHLO and starts TLS as required.
// host is the server's name, used to verify its certificate.
func NewClient(ctx context.Context, conn net.Conn, host string) (*Client, error) {
	return (&Dialer{}).NewClient(ctx, conn, host)
}

// NewClient runs SMTP over conn with the Dialer's settings. conn may be a
// *tls.Conn already (then no STARTTLS is attempted). On error the caller
// still owns conn and must close it.
func (d *Dialer) NewClient(ctx context.Context, conn net.Conn, host string) (*Client, error) {
	c := newClient(d, conn, host)
	_, isTLS := conn.(*tls.Conn)
	if (isTLS || d.Security == ImplicitTLS) && c.tls == nil {
		if err := c.handshake(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.greet(ctx); err != nil {
		return nil, err
	}
	if err := c.hello(ctx); err != nil {
		return nil, err
	}
	switch d.Security {
	case StartTLSRequired, StartTLSOpportunistic:
		if c.tls != nil {
			break // conn was a TLS connection already
		}
		if !c.caps.StartTLS {
			if d.Security == StartTLSRequired {
				c.Quit(ctx)
				return nil, fmt.Errorf("%w (server %s)", ErrStartTLSUnavailable, host)
			}
			break
		}
		if err := c.StartTLS(ctx); err != nil {
			return nil, err
		}
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "smtp client connected",
		slog.String("remote", conn.RemoteAddr().String()), slog.Bool("tls", c.tls != nil))
	return c, nil
}
