package smtp

// Implementation notes (client).
//
// A Client is owned by one goroutine at a time: it is not safe for
// concurrent use. Every blocking method takes a ctx and runs as one
// operation (begin … end): the connection's deadline is the earlier of the
// ctx deadline and the step's RFC 5321 timeout, and cancelling ctx sets a
// past deadline so that blocked I/O returns at once.
//
// A network error, a protocol error (ErrProtocol) or an interrupted
// operation leaves the two sides out of step: the Client is then broken
// and every later call returns that error; only Close is left. A negative
// reply (*Error) leaves the Client usable.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
)

// ErrStartTLSUnavailable is returned by Dial when STARTTLS is required but
// the server does not offer it.
var ErrStartTLSUnavailable = errors.New("smtp: server does not offer STARTTLS")

// ErrClientClosed is returned by calls on a Client after Close or Quit.
var ErrClientClosed = errors.New("smtp: client closed")

// Client is an SMTP or LMTP client connection. Create it with Dial,
// Dialer.Dial or NewClient. It is not safe for concurrent use; run several
// Clients for parallel sending.
//
// Every blocking method takes a ctx. A negative reply is returned as an
// *Error (code, enhanced code, text; Temporary for 4xx) and leaves the
// Client usable; a network error, a protocol error (ErrProtocol), a 421
// reply or an interrupted call leaves it broken, and every later call
// returns that error.
//
// Extensions (client side):
//
//	RFC 5321  EHLO with HELO fallback, MAIL, RCPT, DATA, RSET, NOOP, VRFY, QUIT; §4.5.3.2 timeouts
//	RFC 2920  PIPELINING: MAIL, every RCPT and DATA in one write
//	RFC 3030  CHUNKING: BDAT chunks (Dialer.ChunkSize), pipelined (Send: with MAIL and RCPT); BINARYMIME
//	RFC 6152  8BITMIME: BODY=8BITMIME only when offered (ErrUnsupported otherwise)
//	RFC 6531  SMTPUTF8: requested only when an address (or, via MailOptions.UTF8, the header) needs it
//	RFC 1870  SIZE: declared when offered, checked against the server's limit
//	RFC 3461  DSN: RET, ENVID, NOTIFY, ORCPT (xtext-encoded), dropped when not offered
//	RFC 8689  REQUIRETLS: only over TLS to a server that offers it
//	RFC 2034  ENHANCEDSTATUSCODES parsed into Error.EnhancedCode
//	RFC 9422  LIMITS: RCPTMAX honoured (extra recipients get a local 452 4.5.3), MAILMAX (ErrMailMax)
//	RFC 3207  STARTTLS: required or opportunistic; bytes after the 220 discarded, EHLO re-sent
//	RFC 8314  implicit TLS (DialTLS, ImplicitTLS)
//	RFC 4954  AUTH: SCRAM-SHA-256 > PLAIN > LOGIN for Login; CRAM-MD5 on request;
//	          OAUTHBEARER (RFC 7628) and XOAUTH2 for LoginOAuth; any SASLClient via Auth
//	RFC 2033  LMTP: LHLO and one reply per recipient after the body
//
// Addresses are parsed and re-serialized and parameters checked before
// anything is sent: a caller cannot inject a command through them.
type Client struct {
	d    *Dialer
	host string // server name, for TLS and the loopback check
	conn net.Conn
	tls  *tls.ConnectionState
	br   *bufio.Reader
	bw   *bufio.Writer
	log  *slog.Logger

	caps    Capabilities
	esmtp   bool   // EHLO/LHLO succeeded (false after a HELO fallback)
	auth    string // mechanism of a successful AUTH
	broken  error  // sticky: set by network/protocol errors and interruptions
	closed  bool
	trace   bool        // logger enabled at LevelTrace
	chunk   []byte      // BDAT buffer, reused
	stopCtx func() bool // the active operation's AfterFunc stop
	opCtx   context.Context
	rcpts   []RcptResult // accepted recipients of the open transaction
	data    *DataWriter  // the open body writer, if any
	binary  bool         // the open transaction has BODY=BINARYMIME
	mails   int          // MAIL commands sent, for LIMITS MAILMAX
	copyBuf []byte       // Send's copy buffer, reused
}

func newClient(d *Dialer, conn net.Conn, host string) *Client {
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Client{d: d, host: host, conn: conn, log: log}
	c.br = bufio.NewReaderSize(conn, 4096)
	c.bw = bufio.NewWriterSize(conn, 4096)
	c.trace = log.Enabled(context.Background(), LevelTrace)
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		if st.HandshakeComplete {
			c.tls = &st
		}
	}
	return c
}

// begin starts an operation bound to ctx with a first step's timeout.
func (c *Client) begin(ctx context.Context, timeout time.Duration) error {
	if c.broken != nil {
		return c.broken
	}
	if c.closed {
		return ErrClientClosed
	}
	if err := c.ready(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.opCtx = ctx
	c.stopCtx = nil
	if ctx.Done() != nil {
		conn := c.conn
		c.stopCtx = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	}
	c.step(timeout)
	return nil
}

// step sets the deadline for the next wait: now+timeout, no later than the
// ctx deadline.
func (c *Client) step(timeout time.Duration) {
	var dl time.Time
	if timeout > 0 {
		dl = time.Now().Add(timeout)
	}
	if d, ok := c.opCtx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
		dl = d
	}
	if c.opCtx.Err() == nil {
		c.conn.SetDeadline(dl)
	}
}

// end finishes the operation begun by begin and classifies err: a negative
// reply passes through; anything else (network, protocol, interruption)
// breaks the Client.
func (c *Client) end(err error) error {
	ctx := c.opCtx
	interrupted := c.stopCtx != nil && !c.stopCtx()
	c.stopCtx = nil
	if interrupted || (err != nil && ctx.Err() != nil) || (err != nil && deadlinePassed(ctx, err)) {
		c.conn.SetDeadline(time.Unix(1, 0))
		cerr := ctx.Err()
		if cerr == nil {
			cerr = context.DeadlineExceeded
		}
		err = fmt.Errorf("smtp: %w", cerr)
		c.fail(err)
		return err
	}
	if err == nil {
		return nil
	}
	var ok inStep
	if errors.As(err, &ok) {
		return ok.error
	}
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	c.fail(err)
	return err
}

// deadlinePassed reports whether err is the conn deadline taken from ctx's
// deadline, which may fire just before ctx itself reports it.
func deadlinePassed(ctx context.Context, err error) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d) && errors.Is(err, os.ErrDeadlineExceeded)
}

// inStep marks an error after which client and server are still in step
// (a cancelled AUTH exchange): end returns the wrapped error and leaves
// the Client usable.
type inStep struct{ error }

func (c *Client) fail(err error) {
	if c.broken == nil {
		c.broken = err
		c.log.LogAttrs(context.Background(), slog.LevelDebug, "smtp client broken", slog.String("err", err.Error()))
	}
}

// writeLine buffers one command line. Arguments were validated by the
// caller; this last check keeps CR and LF out of the command stream
// whatever happens upstream.
func (c *Client) writeLine(parts ...string) error {
	for _, p := range parts {
		if strings.ContainsAny(p, "\r\n") {
			return fmt.Errorf("smtp: command contains CR or LF")
		}
	}
	if c.trace {
		c.traceLine("C: " + strings.Join(parts, ""))
	}
	for _, p := range parts {
		c.bw.WriteString(p)
	}
	_, err := c.bw.WriteString("\r\n")
	return err
}

func (c *Client) flush() error {
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("smtp: write: %w", err)
	}
	return nil
}

func (c *Client) traceLine(s string) {
	c.log.LogAttrs(c.opCtx, LevelTrace, s)
}

// readReply reads one reply and traces it. A 421 reply (the server is
// closing the connection, RFC 5321 §3.8) is returned as its *Error and
// leaves the Client broken: no reply to a pipelined command follows it.
func (c *Client) readReply() (*Reply, error) {
	r, err := parseReply(c.br)
	if err != nil {
		return nil, err
	}
	if c.trace {
		for _, l := range strings.Split(r.String(), "\r\n") {
			c.traceLine("S: " + l)
		}
	}
	if r.Code == 421 {
		se := r.asError()
		if c.broken == nil {
			c.broken = se
		}
		return r, se
	}
	return r, nil
}

// expect reads one reply and checks it with checkReply.
func (c *Client) expect(want int) (*Reply, error) {
	r, err := c.readReply()
	if err != nil {
		return nil, err
	}
	return r, checkReply(r, want)
}

// checkReply returns nil if r's code is want (or any 2xx when want is 2),
// an *Error for a negative reply, and a protocol error for an unexpected
// positive one.
func checkReply(r *Reply, want int) error {
	if r.Code == want || (want < 10 && r.Code/100 == want) {
		return nil
	}
	if r.Positive() {
		return protocolErrorf("unexpected reply %d, want %d", r.Code, want)
	}
	return r.asError()
}

// cmd sends one command and reads its reply, expecting want (see expect).
func (c *Client) cmd(want int, parts ...string) (*Reply, error) {
	if err := c.writeLine(parts...); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	return c.expect(want)
}

// simple runs a one-command operation.
func (c *Client) simple(ctx context.Context, want int, parts ...string) (*Reply, error) {
	if err := c.begin(ctx, c.timeout(c.d.CommandTimeout, DefaultCommandTimeout)); err != nil {
		return nil, err
	}
	r, err := c.cmd(want, parts...)
	return r, c.end(err)
}

func (c *Client) timeout(d, def time.Duration) time.Duration { return orDefault(d, def) }

// greet reads the server's 220 greeting (RFC 5321 §4.3.1).
func (c *Client) greet(ctx context.Context) error {
	if err := c.begin(ctx, c.timeout(c.d.GreetingTimeout, DefaultGreetingTimeout)); err != nil {
		return err
	}
	_, err := c.expect(220)
	return c.end(err)
}

// handshake runs the TLS client handshake on the current connection.
func (c *Client) handshake(ctx context.Context) error {
	if err := c.begin(ctx, c.timeout(c.d.TLSTimeout, DefaultTLSTimeout)); err != nil {
		return err
	}
	cfg := c.d.TLSConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = c.host
	}
	tc, ok := c.conn.(*tls.Conn) // handed to NewClient before its handshake
	if !ok {
		tc = tls.Client(c.conn, cfg)
	}
	err := tc.HandshakeContext(ctx)
	if err != nil {
		err = fmt.Errorf("smtp: TLS handshake: %w", err)
	}
	// The handshake finished with the raw conn's deadline; the TLS conn
	// shares it. From now on every read goes through TLS: a reader over
	// the new conn drops anything buffered from the plaintext.
	if err == nil {
		st := tc.ConnectionState()
		c.tls = &st
		c.conn = tc
		c.br.Reset(tc)
		c.bw.Reset(tc)
	}
	return c.end(err)
}

// StartTLS upgrades the connection (RFC 3207). Bytes the server sent after
// its 220 reply, before the handshake, are discarded, never read as replies
// (the response-injection class of CVE-2021-38371); afterwards EHLO is sent
// again and the capabilities re-read (RFC 3207 §4.2). Dial calls it as the
// Dialer's Security asks.
func (c *Client) StartTLS(ctx context.Context) error {
	if c.tls != nil {
		return errors.New("smtp: TLS already active")
	}
	if _, err := c.simple(ctx, 220, "STARTTLS"); err != nil {
		return err
	}
	if n := c.br.Buffered(); n > 0 {
		c.log.LogAttrs(ctx, slog.LevelWarn, "smtp: server sent data after STARTTLS reply; discarded",
			slog.Int("bytes", n), slog.String("host", c.host))
		c.br.Discard(n)
	}
	if err := c.handshake(ctx); err != nil {
		return err
	}
	c.caps = Capabilities{}
	return c.hello(ctx)
}

// TLSConnectionState returns the TLS state, or nil in plaintext.
func (c *Client) TLSConnectionState() *tls.ConnectionState { return c.tls }

// Noop sends NOOP (RFC 5321 §4.1.1.9).
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.simple(ctx, 250, "NOOP")
	return err
}

// Reset sends RSET, aborting the current transaction (RFC 5321 §4.1.1.5).
func (c *Client) Reset(ctx context.Context) error {
	_, err := c.simple(ctx, 250, "RSET")
	return err
}

// Verify asks the server whether addr is a valid mailbox (VRFY, RFC 5321
// §4.1.1.6). Most servers answer 252 (cannot verify), which is not an
// error; nil means a 250 or 251 or 252 reply.
func (c *Client) Verify(ctx context.Context, addr string) error {
	if err := checkArg(addr); err != nil {
		return err
	}
	_, err := c.simple(ctx, 2, "VRFY ", addr)
	return err
}

// Quit sends QUIT and closes the connection. The connection is closed
// even when QUIT fails.
func (c *Client) Quit(ctx context.Context) error {
	if c.closed {
		return ErrClientClosed
	}
	_, err := c.simple(ctx, 221, "QUIT")
	cerr := c.Close()
	if err == nil {
		err = cerr
	}
	return err
}

// Close closes the connection without QUIT. Calling it again does nothing.
func (c *Client) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.conn.Close()
}

// checkArg rejects what would end or split a command line.
func checkArg(s string) error {
	if s == "" || strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Errorf("smtp: invalid argument %q", s)
	}
	return nil
}
