package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/posthorn/posthorn/internal/ctxconn"
	"github.com/posthorn/posthorn/internal/textwire"
)

// Security chooses how a Dialer protects the connection.
type Security int

const (
	// STLSRequired connects in plaintext and upgrades with STLS (RFC 2595);
	// a server without STLS is an error. The zero value.
	STLSRequired Security = iota
	// ImplicitTLS starts TLS at once (port 995, RFC 8314).
	ImplicitTLS
	// Plaintext never uses TLS. Credentials are then refused except to
	// loopback or with Dialer.InsecureAuth.
	Plaintext
)

// String returns the mode's name.
func (s Security) String() string {
	switch s {
	case STLSRequired:
		return "STLS"
	case ImplicitTLS:
		return "implicit TLS"
	case Plaintext:
		return "plaintext"
	}
	return fmt.Sprintf("Security(%d)", int(s))
}

// maxReplyLine bounds a reply line the client accepts. RFC 2449 §4 allows
// 512 octets; real servers sometimes send more.
const maxReplyLine = 64 << 10

// Dialer connects to POP3 servers. The zero value uses STLS and the system
// roots.
type Dialer struct {
	// Security chooses implicit TLS, STLS or plaintext.
	Security Security
	// TLSConfig is the TLS configuration; nil → defaults with ServerName
	// taken from the address.
	TLSConfig *tls.Config
	// NetDialer makes the TCP connection; nil → &net.Dialer{}.
	NetDialer *net.Dialer
	// InsecureAuth lets credentials go over a plaintext connection to a
	// host other than loopback.
	InsecureAuth bool
	// Logger receives the wire transcript at LevelTrace (credentials
	// replaced by "***", bodies never logged); nil → no logging.
	Logger *slog.Logger
}

// Dial connects to addr ("host:port") with STLS and returns a ready
// client. It is (&Dialer{}).Dial.
func Dial(ctx context.Context, addr string) (*Client, error) {
	return (&Dialer{}).Dial(ctx, addr)
}

// DialTLS connects to addr with implicit TLS (port 995).
func DialTLS(ctx context.Context, addr string, config *tls.Config) (*Client, error) {
	return (&Dialer{Security: ImplicitTLS, TLSConfig: config}).Dial(ctx, addr)
}

// Dial connects to addr, protects the connection as d.Security says, and
// reads the greeting and capabilities.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Client, error) {
	nd := d.NetDialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	cfg := d.tlsConfig(host)
	if d.Security == ImplicitTLS {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	c, err := d.newClient(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if d.Security == STLSRequired {
		if err := c.StartTLS(ctx, cfg); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (d *Dialer) tlsConfig(host string) *tls.Config {
	var cfg *tls.Config
	if d.TLSConfig != nil {
		cfg = d.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// NewClient starts a client on an established connection: it reads the
// greeting and the capabilities. The Dialer's settings other than
// Security apply; d may be nil.
func NewClient(ctx context.Context, conn net.Conn, d *Dialer) (*Client, error) {
	if d == nil {
		d = &Dialer{}
	}
	return d.newClient(ctx, conn)
}

func (d *Dialer) newClient(ctx context.Context, conn net.Conn) (*Client, error) {
	c := &Client{d: d}
	c.setConn(conn)
	if d.Logger != nil && d.Logger.Enabled(ctx, LevelTrace) {
		c.log = d.Logger
	}
	done := ctxconn.Bind(ctx, conn)
	text, err := c.readReply()
	if err == nil {
		c.timestamp = apopStamp(text)
	}
	if err = c.end(done, err); err != nil {
		return nil, err
	}
	if err := c.refreshCaps(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Client is a POP3 client connection. Its methods must not be called
// concurrently. A body returned by Retr or Top must be read to the end or
// closed before the next command.
type Client struct {
	d     *Dialer
	conn  net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	log   *slog.Logger
	isTLS bool

	timestamp string       // APOP timestamp from the greeting
	caps      Capabilities // nil when the server has no CAPA
	broken    error        // set when a cancelled command left the session out of step
	body      *body        // open RETR/TOP body
	authed    bool
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	_, c.isTLS = conn.(*tls.Conn)
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 32<<10)
		c.bw = bufio.NewWriter(conn)
		return
	}
	c.br.Reset(conn)
	c.bw.Reset(conn)
}

// Capabilities is the server's CAPA list (RFC 2449): capability name (upper
// case) → arguments.
type Capabilities map[string][]string

// Has reports whether the server announced name.
func (caps Capabilities) Has(name string) bool {
	_, ok := caps[strings.ToUpper(name)]
	return ok
}

// SASL returns the SASL mechanisms the server offers.
func (caps Capabilities) SASL() []string { return caps["SASL"] }

// Capabilities returns the server's current capabilities (read again after
// STLS and login). It is nil when the server does not support CAPA.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Close closes the connection without QUIT: the server deletes nothing.
func (c *Client) Close() error { return c.conn.Close() }

// begin checks the client is usable and ties conn to ctx.
func (c *Client) begin(ctx context.Context) (func() error, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if c.body != nil {
		if err := c.body.Close(); err != nil {
			return nil, err
		}
	}
	return ctxconn.Bind(ctx, c.conn), nil
}

// end releases the ctx binding; a cancelled ctx breaks the client.
func (c *Client) end(done func() error, err error) error {
	if derr := done(); derr != nil && (err == nil || !isPOPErr(err)) {
		c.broken = fmt.Errorf("pop3: client unusable after interrupted command: %w", derr)
		return derr
	}
	var ne net.Error
	if err != nil && !isPOPErr(err) && (errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
		c.broken = err
	}
	return err
}

func isPOPErr(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// cmd sends one command line; it refuses CR, LF and NUL in it.
func (c *Client) send(line string, secret bool) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		return errors.New("pop3: CR, LF or NUL in command argument")
	}
	if c.log != nil {
		logged := line
		if secret {
			logged, _, _ = strings.Cut(line, " ")
			logged += " ***"
		}
		c.log.LogAttrs(context.Background(), LevelTrace, "C: "+logged)
	}
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	return nil
}

// readReply reads a one-line reply and returns the text after "+OK".
func (c *Client) readReply() (string, error) {
	line, _, err := textwire.ReadLine(c.br, maxReplyLine)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if c.log != nil {
		c.log.LogAttrs(context.Background(), LevelTrace, "S: "+string(line))
	}
	return parseReply(string(line))
}

// parseReply parses a status line: "+OK [text]" or "-ERR [text]".
func parseReply(line string) (string, error) {
	switch {
	case hasPrefixFold(line, "+OK"):
		return strings.TrimLeft(line[3:], " "), nil
	case hasPrefixFold(line, "-ERR"):
		return "", parseErrReply(line[4:])
	}
	return "", fmt.Errorf("pop3: malformed reply %q", truncate(line))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// do sends a command and reads its one-line reply.
func (c *Client) do(ctx context.Context, line string) (string, error) {
	done, err := c.begin(ctx)
	if err != nil {
		return "", err
	}
	if err := c.send(line, false); err != nil {
		done()
		return "", err
	}
	text, err := c.flushRead()
	return text, c.end(done, err)
}

func (c *Client) flushRead() (string, error) {
	if err := c.bw.Flush(); err != nil {
		return "", err
	}
	return c.readReply()
}

// readLines reads the lines of a multi-line response up to ".", unstuffed.
func (c *Client) readLines(fn func(line string) error) error {
	var first error
	for {
		line, _, err := textwire.ReadLine(c.br, maxReplyLine)
		if err != nil {
			return err
		}
		if len(line) == 1 && line[0] == '.' {
			return first
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		if first == nil {
			first = fn(string(line))
		}
	}
}

func (c *Client) refreshCaps(ctx context.Context) error {
	done, err := c.begin(ctx)
	if err != nil {
		return err
	}
	c.send("CAPA", false)
	_, err = c.flushRead()
	if err != nil {
		if isPOPErr(err) { // RFC 1939-only server
			c.caps = nil
			return c.end(done, nil)
		}
		return c.end(done, err)
	}
	caps := Capabilities{}
	err = c.readLines(func(line string) error {
		f := strings.Fields(line)
		if len(f) > 0 {
			caps[strings.ToUpper(f[0])] = f[1:]
		}
		return nil
	})
	c.caps = caps
	return c.end(done, err)
}

// apopStamp finds the <...@...> timestamp of an APOP greeting.
func apopStamp(greeting string) string {
	i := strings.IndexByte(greeting, '<')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(greeting[i:], '>')
	if j < 0 || !strings.Contains(greeting[i:i+j], "@") {
		return ""
	}
	return greeting[i : i+j+1]
}

// StartTLS upgrades the connection with STLS (RFC 2595) and reads the
// capabilities again. config nil → the Dialer's. It fails with
// ErrUnsupported if the server does not announce STLS.
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	if c.isTLS {
		return errors.New("pop3: already using TLS")
	}
	if !c.caps.Has("STLS") {
		return fmt.Errorf("%w: STLS", ErrUnsupported)
	}
	if config == nil {
		host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
		config = c.d.tlsConfig(host)
	}
	if _, err := c.do(ctx, "STLS"); err != nil {
		return err
	}
	if c.br.Buffered() > 0 {
		c.broken = errors.New("pop3: server sent data after STLS reply")
		return c.broken
	}
	tc := tls.Client(c.conn, config)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = err
		return err
	}
	c.setConn(tc)
	return c.refreshCaps(ctx)
}

// authAllowed: TLS, loopback, or InsecureAuth.
func (c *Client) authAllowed() bool {
	if c.isTLS || c.d.InsecureAuth {
		return true
	}
	host, _, err := net.SplitHostPort(c.conn.RemoteAddr().String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Login authenticates with USER and PASS (RFC 1939 §7).
func (c *Client) Login(ctx context.Context, user, pass string) error {
	if !c.authAllowed() {
		return ErrInsecureAuth
	}
	if strings.ContainsRune(user, ' ') || user == "" {
		return errors.New("pop3: invalid user name")
	}
	if _, err := c.do(ctx, "USER "+user); err != nil {
		return err
	}
	done, err := c.begin(ctx)
	if err != nil {
		return err
	}
	if err := c.send("PASS "+pass, true); err != nil {
		done()
		return err
	}
	_, err = c.flushRead()
	if err = c.end(done, err); err != nil {
		return err
	}
	return c.loggedIn(ctx)
}

func (c *Client) loggedIn(ctx context.Context) error {
	c.authed = true
	if c.caps != nil {
		return c.refreshCaps(ctx)
	}
	return nil
}
