package smtp

// Implementation notes
//
// One goroutine (conn.serve) owns every field of a conn, except mu and idle,
// which Server.Shutdown reads, and cancel and raw, which Server.Close uses.
//
// Memory: an idle connection holds no buffers. While it waits for a command
// it blocks in a read into the 256-byte conn.small array; the bytes that
// arrive are handed to a pooled bufio.Reader through connReader.pending.
// Replies accumulate in a pooled output buffer that is written in one
// write when the input buffer is empty, so replies to a PIPELINING group
// go out together (RFC 2920 §3.2). Buffers return to their pools before the
// next idle wait.
//
// States (RFC 5321 §4.1.4):
//
//	greeted --EHLO/HELO/LHLO--> ready --MAIL--> tx --RCPT--> tx+rcpts
//	tx+rcpts --DATA / BDAT ... LAST--> ready; RSET, EHLO, HELO --> ready
//	ready --STARTTLS--> greeted (new Session); ready --AUTH--> ready+identity
//
// Deadlines: every socket read goes through connReader, which refreshes the
// read deadline (at most once a second) to now+ReadTimeout, capped by the
// transaction deadline. Shutdown wakes an idle conn with a past deadline
// (the miekg/dns trick); a busy conn notices the shutdown before its next
// command.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/serve"
	"github.com/posthorn/posthorn/internal/textwire"
)

const readBufferSize = 16 << 10

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}
	outPool    = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
	connIDs    atomic.Uint64
)

type conn struct {
	srv         *Server
	raw         net.Conn    // the accepted connection
	nc          net.Conn    // raw, or the *tls.Conn over it
	over        serve.Limit // the connection limit its arrival crossed
	implicitTLS bool
	ctx         context.Context
	cancel      context.CancelFunc
	id          uint64
	log         *slog.Logger // built on first use
	trace       bool

	info ConnInfo
	sess Session

	small   [256]byte
	cr      connReader
	br      *bufio.Reader // nil while idle
	out     *[]byte       // pending replies; nil while idle
	pending []byte        // a command line read ahead by BDAT, to run next

	helo        bool
	tx          *txn
	quit        bool
	badCmds     int
	authFails   int
	lastRefresh time.Time
	txDeadline  time.Time

	mu   sync.Mutex
	idle bool
}

// txn is the current mail transaction.
type txn struct {
	from  string
	opts  *MailOptions
	rcpts []string
}

func newConn(ctx context.Context, s *Server, nc net.Conn, implicitTLS bool, over serve.Limit) *conn {
	c := &conn{srv: s, raw: nc, nc: nc, implicitTLS: implicitTLS, over: over, id: connIDs.Add(1)}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.cr.c = c
	c.info.Mode = s.Mode
	c.info.RemoteAddr = nc.RemoteAddr()
	c.info.LocalAddr = nc.LocalAddr()
	return c
}

// connReader feeds the bufio.Reader: first the bytes of the idle read, then
// the connection, refreshing the read deadline.
type connReader struct {
	c       *conn
	pending []byte
}

func (r *connReader) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	r.c.refreshReadDeadline(false)
	return r.c.nc.Read(p)
}

func (c *conn) logger() *slog.Logger {
	if c.log == nil {
		c.log = c.srv.logger().With(slog.Uint64("conn", c.id), slog.String("remote", addrString(c.info.RemoteAddr)))
	}
	return c.log
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// refreshReadDeadline sets the read deadline to now+ReadTimeout, capped by
// the transaction deadline; unless force, at most once a second.
func (c *conn) refreshReadDeadline(force bool) {
	now := time.Now()
	if !force && now.Sub(c.lastRefresh) < time.Second {
		return
	}
	c.lastRefresh = now
	var d time.Time
	if rt := c.srv.readTimeout(); rt > 0 {
		d = now.Add(rt)
	}
	if !c.txDeadline.IsZero() && (d.IsZero() || c.txDeadline.Before(d)) {
		d = c.txDeadline
	}
	c.raw.SetReadDeadline(d)
}

// Wake makes a conn waiting for a command return from its read, for
// Shutdown. Called with the server's lock held.
func (c *conn) Wake() {
	c.mu.Lock()
	if c.idle {
		c.raw.SetReadDeadline(time.Unix(1, 0))
	}
	c.mu.Unlock()
}

// Abort closes the connection at once, for Server.Close.
func (c *conn) Abort() {
	c.cancel()
	c.raw.Close()
}

func (c *conn) acquireBuffers() {
	if c.br == nil {
		c.br = readerPool.Get().(*bufio.Reader)
		c.br.Reset(&c.cr)
	}
}

func (c *conn) releaseBuffers() {
	if c.br != nil && c.br.Buffered() == 0 && len(c.cr.pending) == 0 {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	if c.out != nil && len(*c.out) == 0 {
		if cap(*c.out) <= 64<<10 {
			outPool.Put(c.out)
		}
		c.out = nil
	}
}

// reply queues a reply; flush sends it.
func (c *conn) reply(e *Error) {
	if c.out == nil {
		c.out = outPool.Get().(*[]byte)
	}
	start := len(*c.out)
	*c.out = e.appendReply(*c.out)
	if c.trace {
		c.logger().LogAttrs(c.ctx, LevelTrace, "S: "+string((*c.out)[start:len(*c.out)-2]))
	}
}

func (c *conn) replyf(code int, enh EnhancedCode, msg string) {
	c.reply(&Error{Code: code, EnhancedCode: enh, Message: msg})
}

func (c *conn) flush() error {
	if c.out == nil || len(*c.out) == 0 {
		return nil
	}
	if wt := c.srv.writeTimeout(); wt > 0 {
		c.raw.SetWriteDeadline(time.Now().Add(wt))
	}
	_, err := c.nc.Write(*c.out)
	*c.out = (*c.out)[:0]
	if err != nil {
		c.quit = true
	}
	return err
}

// replyErr sends the reply for an error a session returned.
func (c *conn) replyErr(err error, what string) {
	if se := asError(err); se != nil && se.Code >= 400 && se.Code <= 599 {
		c.reply(se)
		return
	}
	// Not an *Error, or one with a positive code: a refusal must be
	// negative, so this is a bug to log, not a reply to send.
	c.logger().LogAttrs(c.ctx, slog.LevelError, "smtp: session error", slog.String("in", what), slog.String("err", err.Error()))
	c.reply(errInternal)
}

// Serve runs the session; the Server tracks c until it returns.
func (c *conn) Serve() {
	c.srv.setState(c.raw, StateNew)
	defer c.finish()
	defer func() {
		if r := recover(); r != nil {
			serve.LogPanic(c.ctx, c.logger(), "smtp", r)
			if c.out != nil {
				*c.out = (*c.out)[:0]
			}
			c.replyf(421, EnhancedCode{4, 3, 0}, c.srv.host()+" Internal error, closing connection")
			c.flush()
		}
	}()
	c.trace = c.srv.logger().Enabled(c.ctx, LevelTrace)
	if e := c.srv.limitError(c.over); e != nil {
		if !c.implicitTLS { // a TLS client could not read a plaintext reply
			c.reply(e)
			c.flush()
		}
		return
	}
	if c.implicitTLS && !c.handshake() {
		return
	}
	if !c.openSession() {
		c.flush()
		return
	}
	c.replyf(220, NoEnhancedCode, c.srv.host()+" "+c.greetingProtocol()+" Service ready")
	for !c.quit {
		if c.pending != nil {
			line := c.pending
			c.pending = nil
			c.handle(line)
			continue
		}
		if c.br == nil || c.br.Buffered() == 0 {
			if c.flush() != nil {
				return
			}
			c.releaseBuffers()
			if !c.waitCommand() {
				break
			}
		} else if c.srv.lifecycle().ShuttingDown() {
			c.replyShutdown()
			break
		}
		line, err := c.readLine(c.srv.maxLineLength())
		if err != nil {
			if errors.Is(err, textwire.ErrLineTooLong) {
				c.replyf(500, EnhancedCode{5, 5, 2}, "Line too long")
				c.badCommand()
				continue
			}
			c.readFailed(err)
			break
		}
		c.handle(line)
	}
	// A session that ended with a reply (QUIT, 421) lets it reach the client.
	if c.flush() == nil && c.quit {
		serve.Linger(c.nc, c.raw)
	}
}

func (c *conn) greetingProtocol() string {
	if c.srv.Mode == ModeLMTP {
		return "LMTP"
	}
	return "ESMTP"
}

func (c *conn) replyShutdown() {
	c.replyf(421, EnhancedCode{4, 3, 2}, c.srv.host()+" Service shutting down, closing connection")
	c.quit = true
}

// readFailed handles a read error outside a command: a timeout gets 421,
// end of input or a reset just ends the connection.
func (c *conn) readFailed(err error) {
	c.quit = true
	switch {
	case c.srv.lifecycle().ShuttingDown() && errors.Is(err, os.ErrDeadlineExceeded):
		c.replyShutdown()
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.replyf(421, EnhancedCode{4, 4, 2}, c.srv.host()+" Timeout exceeded, closing connection")
	}
}

// waitCommand waits, without buffers, for the next command to arrive.
func (c *conn) waitCommand() bool {
	c.mu.Lock()
	if c.srv.lifecycle().ShuttingDown() {
		c.mu.Unlock()
		c.replyShutdown()
		c.flush()
		return false
	}
	c.idle = true
	c.mu.Unlock()
	c.srv.setState(c.raw, StateIdle)
	c.refreshReadDeadline(true)
	n, err := c.nc.Read(c.small[:])
	c.mu.Lock()
	c.idle = false
	c.mu.Unlock()
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		c.readFailed(err)
		c.flush()
		return false
	}
	c.srv.setState(c.raw, StateActive)
	c.refreshReadDeadline(true)
	c.cr.pending = c.small[:n]
	c.acquireBuffers()
	return true
}

// readLine reads a command line (or an AUTH response) of at most max bytes.
func (c *conn) readLine(max int) ([]byte, error) {
	c.acquireBuffers()
	line, _, err := textwire.ReadLine(c.br, max)
	return line, err
}

func (c *conn) badCommand() {
	c.badCmds++
	if m := c.srv.maxBadCommands(); m > 0 && c.badCmds >= m {
		c.replyf(421, EnhancedCode{4, 7, 0}, c.srv.host()+" Too many errors, closing connection")
		c.quit = true
	}
}

// handle runs one command line.
func (c *conn) handle(line []byte) {
	for _, b := range line {
		if b < ' ' || b == 0x7f {
			c.replyf(500, EnhancedCode{5, 5, 2}, "Invalid character in command")
			c.badCommand()
			return
		}
	}
	verb, arg, err := parseCommand(string(line))
	if c.trace {
		if verb == "AUTH" {
			mech, _, _ := cutSpace(arg)
			c.logger().LogAttrs(c.ctx, LevelTrace, "C: AUTH "+mech+" ***")
		} else {
			c.logger().LogAttrs(c.ctx, LevelTrace, "C: "+string(line))
		}
	}
	if err != nil {
		c.reply(err.(*SyntaxError).reply())
		c.badCommand()
		return
	}
	lmtp := c.srv.Mode == ModeLMTP
	switch verb {
	case "EHLO", "HELO":
		if lmtp {
			c.replyf(500, EnhancedCode{5, 5, 1}, "This is an LMTP server: use LHLO")
			c.badCommand()
			return
		}
		c.cmdHello(verb, arg)
	case "LHLO":
		if !lmtp {
			c.unknownCommand()
			return
		}
		c.cmdHello(verb, arg)
	case "MAIL":
		c.cmdMail(arg)
	case "RCPT":
		c.cmdRcpt(arg)
	case "DATA":
		c.cmdData(arg)
	case "BDAT":
		c.cmdBDAT(arg)
	case "RSET":
		c.cmdRset(arg)
	case "NOOP":
		c.replyf(250, EnhancedCode{2, 0, 0}, "OK")
	case "QUIT":
		c.replyf(221, EnhancedCode{2, 0, 0}, c.srv.host()+" Service closing transmission channel")
		c.quit = true
	case "VRFY":
		c.cmdVrfy(arg)
	case "EXPN":
		c.replyf(502, EnhancedCode{5, 5, 1}, "EXPN not supported")
	case "HELP":
		c.replyf(214, EnhancedCode{2, 0, 0}, "See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)")
	case "STARTTLS":
		c.cmdStartTLS(arg)
	case "AUTH":
		c.cmdAuth(arg)
	default:
		if ext := c.extension(verb); ext != nil {
			c.cmdExtension(ext, arg)
			return
		}
		c.unknownCommand()
	}
}

func (c *conn) unknownCommand() {
	c.replyf(500, EnhancedCode{5, 5, 2}, "Command unrecognized")
	c.badCommand()
}

func cutSpace(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// openSession opens the Session; on refusal it queues the reply.
func (c *conn) openSession() bool {
	sess, err := c.srv.Backend.NewSession(c.ctx, &c.info)
	if err != nil {
		if se := asError(err); se != nil {
			c.reply(se)
		} else {
			c.logger().LogAttrs(c.ctx, slog.LevelError, "smtp: NewSession failed", slog.String("err", err.Error()))
			c.replyf(421, EnhancedCode{4, 3, 0}, c.srv.host()+" Service not available, closing connection")
		}
		c.quit = true
		return false
	}
	c.sess = sess
	if c.srv.Mode == ModeSubmission && len(c.authMechanisms()) == 0 {
		c.logger().LogAttrs(c.ctx, slog.LevelWarn, "smtp: submission session implements no AUTH interface; every MAIL will be refused")
	}
	return true
}

// closeSession ends the current Session, if any.
func (c *conn) closeSession() {
	if c.sess == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.logger().LogAttrs(c.ctx, slog.LevelError, "smtp: panic in Session.Close",
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
		}
	}()
	sess := c.sess
	c.sess = nil
	if err := sess.Close(); err != nil {
		c.logger().LogAttrs(c.ctx, slog.LevelWarn, "smtp: session Close failed", slog.String("err", err.Error()))
	}
}

// resetTx forgets the transaction and tells the session.
func (c *conn) resetTx() {
	c.tx = nil
	c.txDeadline = time.Time{}
	if c.sess != nil {
		c.sess.Reset(c.ctx)
	}
}

// handshake runs the server side of a TLS handshake on the raw conn.
func (c *conn) handshake() bool {
	tc := tls.Server(c.raw, c.srv.tlsConf())
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.handshakeTimeout())
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.logger().LogAttrs(c.ctx, slog.LevelDebug, "smtp: TLS handshake failed", slog.String("err", err.Error()))
		c.quit = true
		return false
	}
	c.nc = tc
	st := tc.ConnectionState()
	c.info.TLS = &st
	return true
}

func (c *conn) finish() {
	c.closeSession()
	if c.out != nil {
		*c.out = (*c.out)[:0]
	}
	c.cr.pending = nil
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	c.releaseBuffers()
	c.nc.Close()
	c.cancel()
	c.srv.setState(c.raw, StateClosed)
}

func quoteAddr(a string) string { return "<" + a + ">" }

var _ = strconv.Itoa
