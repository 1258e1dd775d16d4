package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/ctxconn"
)

// Client is an IMAP client connection (RFC 9051, RFC 3501 and the
// extensions below).
//
//	| Specification              | Client support                                        |
//	|----------------------------|-------------------------------------------------------|
//	| RFC 3501 / RFC 9051        | all commands; typed results; rev1 and rev2 servers    |
//	| RFC 2595/8314 TLS          | DialTLS, STARTTLS (buffered plaintext refused)        |
//	| RFC 4959 SASL-IR           | Authenticate sends the initial response inline       |
//	| RFC 5161 ENABLE            | Enable, Enabled                                       |
//	| RFC 6855 UTF8=ACCEPT       | names and strings in UTF-8 once enabled               |
//	| RFC 7888 LITERAL+/LITERAL- | non-synchronising literals when offered               |
//	| RFC 3502 MULTIAPPEND       | AppendMulti                                           |
//	| RFC 4315 UIDPLUS           | APPENDUID, COPYUID, UID EXPUNGE                       |
//	| RFC 6851 MOVE              | Move; COPY+STORE+EXPUNGE fallback, pipelined          |
//	| RFC 7162 CONDSTORE/QRESYNC | MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, SELECT QRESYNC, |
//	|                            | VANISHED; Sync                                        |
//	| RFC 2177 IDLE              | Idle with a context, restarted before 29 minutes      |
//	| RFC 4731/5182 ESEARCH      | Search RETURN (MIN MAX COUNT ALL SAVE)                |
//	| RFC 9394 PARTIAL           | Search RETURN (PARTIAL 1:100 / -1:-100)               |
//	| RFC 5256 SORT/THREAD       | Sort, Thread                                          |
//	| RFC 5258/5819/6154 LIST    | selection and return options, LIST-STATUS, special use|
//	| RFC 2342 NAMESPACE, 2971 ID| Namespace, ID                                         |
//	| RFC 3516 BINARY            | BINARY[...] sections, literal8, BINARY.SIZE           |
//	| RFC 4978 COMPRESS          | Compress (DEFLATE)                                    |
//	| RFC 3691 UNSELECT          | Unselect                                              |
//	| RFC 5465 NOTIFY            | Notify; STATUS/LIST/FETCH to the Handler (Idle waits) |
//
// Implementation notes. A Client is synchronous: each method writes its
// command and reads responses until the command's tagged completion,
// dispatching untagged responses on the way (to the command that asked
// for them, to the client's view of the selected mailbox, then to
// ClientOptions.Handler). Internally several commands may be in flight
// at once (MOVE's fallback pipelines STORE and EXPUNGE; Sync pipelines
// its FETCH and SEARCH); responses are matched by tag.
//
// Sending is strict (quoting, literals for 8-bit or long strings,
// modified UTF-7 names for servers without UTF-8, no CR or LF outside
// literals: a refused argument returns an error before anything is
// sent). Reading is lenient where real servers stray: extra spaces, NIL
// where a string belongs, literal8 in FETCH, unknown responses skipped.
// A response the client cannot parse breaks it (*ResponseError).
//
// A Client is not safe for concurrent use: call it from one goroutine at
// a time (run several clients for parallel work). Every blocking method
// takes a context; when the context ends during a command, the command
// is abandoned mid-stream and the Client is broken: every later call
// returns the context's error and only Close is left.
type Client struct {
	conn   net.Conn
	connMu sync.Mutex   // guards conn against Close from another goroutine
	closed atomic.Bool  // Close was called
	out    *countWriter // counts what reached conn
	bw     *bufio.Writer
	rd     respReader
	opts   ClientOptions
	log    *slog.Logger

	tagNum   uint64
	inflight []*clientCmd // written, completion not yet read; oldest first
	broken   error

	caps       map[string]bool // upper case; nil: unknown, ask the server
	enabled    map[string]bool
	utf8       bool // UTF8=ACCEPT or IMAP4rev2 enabled: names in UTF-8
	authed     bool
	greeting   *Error // the greeting, as a status (Type OK or PREAUTH)
	mbox       *mailboxView
	fetching   *fetchState // the Fetch in progress, which parses FETCH lines
	cont       *string     // text of the last continuation request
	bye        *Error      // an untagged BYE seen
	copyUID    *CopyResult // untagged [COPYUID] of a MOVE
	secure     bool        // the connection is TLS (below any compression)
	compressed bool        // COMPRESS=DEFLATE is on
}

// ClientOptions configures a Client. The zero value works.
type ClientOptions struct {
	// Handler, when set, receives unsolicited responses that no command
	// consumed: mailbox size changes, expunges, flag changes, STATUS and
	// LIST pushed by the server, alerts. It runs on the caller's
	// goroutine, inside whatever method read the response, and must not
	// call the Client.
	Handler func(Update)
	// Logger receives a protocol trace at LevelTrace (credentials and
	// message bodies left out). nil → slog.Default().
	Logger *slog.Logger
	// AllowInsecureAuth permits LOGIN and AUTHENTICATE on a connection
	// without TLS to a non-loopback address. By default credentials are
	// sent only over TLS or to 127.0.0.0/8 and ::1.
	AllowInsecureAuth bool
	// IdlePoll is how often Idle polls with NOOP a server without IDLE.
	// 0 → DefaultIdlePoll.
	IdlePoll time.Duration
}

// Security says how a Dialer protects the connection.
type Security int

// Connection security modes.
const (
	SecurityStartTLS Security = iota // plaintext, then STARTTLS (required)
	SecurityTLS                      // implicit TLS (port 993)
	SecurityNone                     // plaintext; credentials only to loopback unless allowed
)

func (s Security) String() string {
	switch s {
	case SecurityStartTLS:
		return "STARTTLS"
	case SecurityTLS:
		return "TLS"
	case SecurityNone:
		return "none"
	}
	return "Security(" + strconv.Itoa(int(s)) + ")"
}

// Dialer connects to IMAP servers. The zero value dials plaintext and
// upgrades with STARTTLS.
type Dialer struct {
	Security Security
	// TLSConfig for implicit TLS and STARTTLS. nil → ServerName from the
	// address, system roots.
	TLSConfig *tls.Config
	// NetDialer dials the TCP connection; nil → a zero net.Dialer.
	NetDialer *net.Dialer
	ClientOptions
}

// Dial connects to addr ("host:port") without TLS.
func Dial(ctx context.Context, addr string) (*Client, error) {
	return (&Dialer{Security: SecurityNone}).Dial(ctx, addr)
}

// DialTLS connects to addr with implicit TLS (port 993).
func DialTLS(ctx context.Context, addr string, cfg *tls.Config) (*Client, error) {
	return (&Dialer{Security: SecurityTLS, TLSConfig: cfg}).Dial(ctx, addr)
}

// DialStartTLS connects to addr and upgrades the connection with
// STARTTLS before returning; a server without STARTTLS is an error.
func DialStartTLS(ctx context.Context, addr string, cfg *tls.Config) (*Client, error) {
	return (&Dialer{Security: SecurityStartTLS, TLSConfig: cfg}).Dial(ctx, addr)
}

// Dial connects to addr, reads the greeting and sets up TLS as d.Security
// says.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Client, error) {
	nd := d.NetDialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cfg := d.tlsConfig(addr)
	if d.Security == SecurityTLS {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	c, err := NewClient(ctx, conn, &d.ClientOptions)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if d.Security == SecurityStartTLS {
		if c.authed { // RFC 9051 §7.1.4: no STARTTLS after PREAUTH
			c.Close()
			return nil, errors.New("imap: server greeted with PREAUTH: STARTTLS impossible")
		}
		if err := c.StartTLS(ctx, cfg); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (d *Dialer) tlsConfig(addr string) *tls.Config {
	var cfg *tls.Config
	if d.TLSConfig != nil {
		cfg = d.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	return cfg
}

// NewClient reads the server greeting from conn and returns a client.
// A greeting BYE is returned as an *Error. opts may be nil.
func NewClient(ctx context.Context, conn net.Conn, opts *ClientOptions) (*Client, error) {
	c := &Client{conn: conn}
	if opts != nil {
		c.opts = *opts
	}
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.Default()
	}
	c.setConn(conn)
	done := ctxconn.Bind(ctx, conn)
	err := c.readGreeting()
	if derr := done(); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) setConn(conn net.Conn) {
	c.connMu.Lock()
	c.conn = conn
	c.connMu.Unlock()
	_, c.secure = conn.(*tls.Conn)
	c.out = &countWriter{w: conn}
	c.bw = bufio.NewWriterSize(c.out, 32<<10)
	// 64 KiB. A 256 KiB buffer fetched bodies about 13% faster from a
	// replay server on loopback (fewer, larger reads), but would cost
	// 192 KiB more per connection, idle ones included (a client keeping
	// IDLE or NOTIFY connections to many mailboxes pays it on each). A
	// bufio.Reader cannot grow in place, and swapping it while a FETCH
	// streams would have to carry its buffered bytes over and re-point
	// the decoder: not worth it for 13% on the fastest possible server.
	c.rd = newRespReader(bufio.NewReaderSize(conn, 64<<10))
}

func (c *Client) readGreeting() error {
	r := &c.rd
	if !r.expect('*') || !r.expectSP() {
		return r.err
	}
	st, ok := c.readStatus(true)
	if !ok {
		return r.err
	}
	c.greeting = st
	if st.Code == CodeCapability {
		c.setCaps(strings.Fields(st.CodeArg))
	}
	switch st.Type {
	case StatusOK:
	case StatusPREAUTH:
		c.authed = true
	default:
		return st
	}
	return nil
}

// Close closes the connection without LOGOUT. Unlike the other
// methods it may be called from any goroutine, to abort a call in
// progress (which then returns an error).
func (c *Client) Close() error {
	c.closed.Store(true)
	c.connMu.Lock()
	conn := c.conn
	c.connMu.Unlock()
	return conn.Close()
}

// Logout sends LOGOUT and closes the connection.
func (c *Client) Logout(ctx context.Context) error {
	err := c.simple(ctx, "LOGOUT", nil)
	var ie *Error
	if errors.As(err, &ie) && ie.Type == StatusBYE {
		err = nil
	}
	cerr := c.Close()
	if err != nil {
		return err
	}
	if errors.Is(cerr, net.ErrClosed) {
		return nil
	}
	return cerr
}

// Noop sends NOOP, which lets the server report mailbox changes (to
// ClientOptions.Handler and the selected mailbox view).
func (c *Client) Noop(ctx context.Context) error { return c.simple(ctx, "NOOP", nil) }

// Greeting returns the server's greeting (Type StatusOK or StatusPREAUTH).
func (c *Client) Greeting() *Error { return c.greeting }

// Err returns the error that broke the client (net.ErrClosed after
// Close), or nil.
func (c *Client) Err() error {
	if c.broken == nil && c.closed.Load() {
		return net.ErrClosed
	}
	return c.broken
}

// trace logs a protocol line.
func (c *Client) trace(dir, line string) {
	if c.log.Enabled(context.Background(), LevelTrace) {
		c.log.LogAttrs(context.Background(), LevelTrace, "imap client "+dir, slog.String("line", line))
	}
}

// ---- commands ----

// clientCmd is one command in flight.
type clientCmd struct {
	tag  string
	name string
	// data, when set, sees untagged responses first; it returns true when
	// it consumed the response.
	data   func(u *untagged) bool
	done   bool
	status *Error // completion; Type OK for success
}

// result returns nil for a tagged OK and the *Error otherwise.
func (cmd *clientCmd) result() error {
	if cmd.status.Type == StatusOK {
		return nil
	}
	return cmd.status
}

// begin binds ctx to the connection for one method call.
func (c *Client) begin(ctx context.Context) (end func(*error), err error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if c.closed.Load() {
		c.broken = net.ErrClosed
		return nil, c.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	done := ctxconn.Bind(ctx, c.conn)
	return func(errp *error) {
		if derr := done(); derr != nil && ctx.Err() != nil {
			// The context ended the command: that is the reason the
			// client is broken, whatever I/O error it caused.
			c.fail(derr)
			c.broken = derr
			*errp = derr
			return
		}
		if c.broken != nil && *errp == nil {
			*errp = c.broken
		}
	}, nil
}

// beginCaps is begin followed by loading the capabilities if unknown.
func (c *Client) beginCaps(ctx context.Context) (end func(*error), err error) {
	if end, err = c.begin(ctx); err != nil {
		return nil, err
	}
	if err = c.ensureCaps(); err != nil {
		end(&err)
		return nil, err
	}
	return end, nil
}

// fail breaks the client.
func (c *Client) fail(err error) {
	if c.broken == nil {
		c.broken = err
		c.conn.Close()
	}
}

// newCommand starts a command line: tag SP name.
func (c *Client) newCommand(name string) (*clientCmd, *cmdWriter) {
	c.tagNum++
	cmd := &clientCmd{tag: "T" + strconv.FormatUint(c.tagNum, 10), name: name}
	w := newCmdWriter(c, cmd)
	w.atom(cmd.tag).sp().atom(name)
	return cmd, w
}

// send finishes and flushes the command line, leaving it in flight.
func (c *Client) send(cmd *clientCmd, w *cmdWriter) error {
	w.crlf()
	err := w.error()
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		if cmd.done { // refused at a synchronising literal
			return nil
		}
		if !w.sent() {
			// An argument was refused before anything went out: drop
			// the partial line; the client stays usable.
			c.bw.Reset(c.out)
			return err
		}
		c.fail(err)
		return err
	}
	if !cmd.done && !w.queued {
		c.inflight = append(c.inflight, cmd)
	}
	if c.log.Enabled(context.Background(), LevelTrace) {
		c.trace("C", cmd.tag+" "+cmd.name)
	}
	return nil
}

// wait reads responses until cmd completes; a NO or BAD is returned as
// an *Error.
func (c *Client) wait(cmd *clientCmd) error {
	for !cmd.done {
		if err := c.readResponse(); err != nil {
			return err
		}
	}
	return cmd.result()
}

// run sends a command and waits for it.
func (c *Client) run(cmd *clientCmd, w *cmdWriter) error {
	if err := c.send(cmd, w); err != nil {
		return err
	}
	return c.wait(cmd)
}

// simple runs a command with optional arguments written by args.
func (c *Client) simple(ctx context.Context, name string, args func(w *cmdWriter)) (err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end(&err)
	cmd, w := c.newCommand(name)
	if args != nil {
		args(w)
	}
	return c.run(cmd, w)
}

// complete records a tagged completion.
func (c *Client) complete(tag string, st *Error) {
	for i, cmd := range c.inflight {
		if cmd.tag == tag {
			cmd.done = true
			cmd.status = st
			c.inflight = append(c.inflight[:i], c.inflight[i+1:]...)
			c.afterCommand(cmd)
			return
		}
	}
	c.log.LogAttrs(context.Background(), slog.LevelWarn, "imap client: completion for unknown tag", slog.String("tag", tag))
}

// afterCommand updates client state when a command completes.
func (c *Client) afterCommand(cmd *clientCmd) {
	if cmd.status.Type == StatusOK && cmd.status.Code == CodeCapability {
		c.setCaps(strings.Fields(cmd.status.CodeArg))
	}
	if cmd.status.Type != StatusOK {
		return
	}
	switch cmd.name {
	case "LOGIN", "AUTHENTICATE":
		c.authed = true
		if cmd.status.Code != CodeCapability {
			c.caps = nil // RFC 9051 §6.2.2: capabilities may change
		}
	case "CLOSE", "UNSELECT":
		c.mbox = nil
	}
}

// ---- capabilities ----

// Capability asks the server for its capabilities and returns them.
func (c *Client) Capability(ctx context.Context) ([]string, error) {
	c.caps = nil
	if err := c.simple(ctx, "CAPABILITY", nil); err != nil {
		return nil, err
	}
	return c.Caps(), nil
}

// Caps returns the capabilities known from the last CAPABILITY response
// or code (upper case), without asking the server. It is nil when they
// are unknown (after login until the next Capability or Has call).
func (c *Client) Caps() []string {
	if c.caps == nil {
		return nil
	}
	out := make([]string, 0, len(c.caps))
	for k := range c.caps {
		out = append(out, k)
	}
	return out
}

// Has reports whether the server advertises capability name ("IDLE",
// "AUTH=PLAIN", ...), asking it with CAPABILITY first when the list is
// unknown (a failure counts as absent; see Err).
func (c *Client) Has(ctx context.Context, name string) bool {
	if c.caps == nil && c.broken == nil {
		c.Capability(ctx)
	}
	return c.caps[strings.ToUpper(name)]
}

func (c *Client) has(name string) bool { return c.caps[name] }

func (c *Client) setCaps(list []string) {
	c.caps = make(map[string]bool, len(list))
	for _, s := range list {
		c.caps[strings.ToUpper(s)] = true
	}
}

// ensureCaps loads the capabilities if unknown, inside a command.
func (c *Client) ensureCaps() error {
	if c.caps != nil {
		return nil
	}
	cmd, w := c.newCommand("CAPABILITY")
	return c.run(cmd, w)
}

// checkName refuses mailbox names that cannot be sent.
func checkName(name string) error {
	if strings.ContainsAny(name, "\r\n\x00") {
		return fmt.Errorf("imap: invalid mailbox name %q", name)
	}
	return nil
}
