package pop3

// Implementation notes.
//
// One goroutine per connection owns every field of conn except mu/idle,
// which Shutdown also touches (under mu) to wake a connection waiting for a
// command. States (RFC 1939 §3):
//
//	AUTHORIZATION --USER/PASS, APOP, AUTH--> TRANSACTION --QUIT--> UPDATE (expunge) --> closed
//	      |                                        |
//	      +--QUIT, drop, timeout--> closed         +--drop, timeout, shutdown--> closed, nothing deleted
//
// The maildrop lock is taken on entering TRANSACTION and released when the
// connection ends. The message list is a snapshot taken at that moment;
// messages expunged through IMAP meanwhile answer "-ERR" when retrieved.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	serving "github.com/posthorn/posthorn/internal/serve" // pop3 tests declare serve
	"github.com/posthorn/posthorn/internal/textwire"
	"github.com/posthorn/posthorn/mailbox"
)

type sessionState int

const (
	stateAuthorization sessionState = iota
	stateTransaction
)

// message is one entry of the session's snapshot.
type message struct {
	uid     mailbox.UID
	size    int64
	seen    bool
	deleted bool
	read    bool   // RETR sent it: \Seen is set at QUIT (unless KeepUnseen)
	uidl    string // computed on first use
}

type conn struct {
	srv    *Server
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	trace  bool

	mu   sync.Mutex // guards rwc swaps and idle, shared with Shutdown/Close
	rwc  net.Conn
	idle bool

	br        *bufio.Reader
	bw        *bufio.Writer
	isTLS     bool
	overLimit bool // its arrival crossed MaxConnections
	closing   bool // close after the current reply

	state     sessionState
	timestamp string // APOP timestamp in the greeting, "" when APOP is off
	userArg   string // from USER, waiting for PASS
	utf8      bool
	badCmds   int
	authFails int

	// TRANSACTION state.
	user        string
	acct        mailbox.Account
	mbox        mailbox.Mailbox
	release     func()
	msgs        []message
	uidValidity uint32
	uidler      mailbox.UIDLer
}

func (s *Server) newConn(ctx context.Context, rw net.Conn) *conn {
	ctx, cancel := context.WithCancel(ctx)
	log := s.logger().With(slog.String("remote", rw.RemoteAddr().String()), slog.String("local", rw.LocalAddr().String()))
	c := &conn{srv: s, ctx: ctx, cancel: cancel, log: log, rwc: rw}
	c.trace = log.Enabled(ctx, LevelTrace)
	c.setConn(rw)
	_, c.isTLS = rw.(*tls.Conn)
	return c
}

// setConn makes the reader and writer use rw (after STLS).
func (c *conn) setConn(rw net.Conn) {
	c.mu.Lock()
	c.rwc = rw
	c.mu.Unlock()
	w := &deadlineWriter{c: rw, timeout: durationOr(c.srv.WriteTimeout, DefaultWriteTimeout)}
	if c.br == nil {
		c.br = bufio.NewReaderSize(rw, 4096)
		c.bw = bufio.NewWriterSize(w, 32<<10)
		return
	}
	c.br.Reset(rw)
	c.bw.Reset(w)
}

// deadlineWriter sets a write deadline before each write, so a slow
// client gets WriteTimeout per buffer, not per message.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	if w.timeout > 0 {
		w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	return w.c.Write(p)
}

func (c *conn) setState(st ConnState) {
	if f := c.srv.ConnState; f != nil {
		c.mu.Lock()
		rw := c.rwc
		c.mu.Unlock()
		f(rw, st)
	}
}

// waitIdle marks the connection idle before reading a command. It reports
// false when the server is shutting down.
func (c *conn) waitIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = true
	if t := durationOr(c.srv.ReadTimeout, DefaultReadTimeout); t > 0 {
		c.rwc.SetReadDeadline(time.Now().Add(t))
	} else {
		c.rwc.SetReadDeadline(time.Time{})
	}
	// Checked after the deadline is set: Shutdown sets the flag before it
	// wakes idle connections, so one of the two sees the other.
	return !c.srv.lifecycle().ShuttingDown()
}

func (c *conn) busy() {
	c.mu.Lock()
	c.idle = false
	c.mu.Unlock()
}

// Wake makes a connection blocked waiting for a command return at once
// (Shutdown).
func (c *conn) Wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.rwc.SetReadDeadline(time.Unix(1, 0))
	}
}

// Abort closes the connection at once (Close).
func (c *conn) Abort() {
	c.mu.Lock()
	c.rwc.Close()
	c.mu.Unlock()
}

// Serve runs the session; the Server tracks c until it returns.
func (c *conn) Serve() { c.serve() }

func (c *conn) serve() {
	defer func() {
		if r := recover(); r != nil {
			serving.LogPanic(c.ctx, c.log, "pop3", r)
		}
		c.finish()
	}()
	c.setState(StateNew)
	c.log.LogAttrs(c.ctx, slog.LevelDebug, "pop3: connection opened")
	if c.overLimit {
		c.reply(false, CodeSysTemp, "too many connections, try again later")
		c.bw.Flush()
		return
	}
	if tc, ok := c.rwc.(*tls.Conn); ok {
		if err := c.handshake(tc); err != nil {
			return
		}
	}
	greeting := "POP3 server ready"
	if _, ok := c.srv.auth().(mailbox.SecretAuthenticator); ok {
		c.timestamp = apopTimestamp(c.srv.host())
		greeting += " " + c.timestamp
	}
	c.reply(true, "", greeting)
	for !c.closing {
		if c.br.Buffered() == 0 {
			// Flush only when the client waits: pipelined commands
			// (RFC 2449 PIPELINING) get their replies in one write.
			if err := c.bw.Flush(); err != nil {
				return
			}
		}
		c.setState(StateIdle)
		if !c.waitIdle() {
			c.reply(false, CodeSysTemp, "server shutting down")
			c.bw.Flush()
			return
		}
		line, _, err := textwire.ReadLine(c.br, intOr(c.srv.MaxAuthLineLength, DefaultMaxAuthLineLength))
		c.busy()
		if err != nil {
			if err == textwire.ErrLineTooLong {
				c.bad("line too long")
				continue
			}
			if c.srv.lifecycle().ShuttingDown() {
				c.reply(false, CodeSysTemp, "server shutting down")
			} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.reply(false, "", "autologout; idle for too long")
			}
			c.bw.Flush()
			return
		}
		c.setState(StateActive)
		c.handle(line)
	}
	// The session ended with a reply (QUIT, or an error that closes it):
	// let it reach the client.
	if c.bw.Flush() == nil {
		serving.Linger(c.rwc, nil)
	}
}

// finish ends the session: nothing is deleted unless QUIT already did.
func (c *conn) finish() {
	c.closeMaildrop()
	c.mu.Lock()
	c.rwc.Close()
	c.mu.Unlock()
	c.cancel()
	c.setState(StateClosed)
	c.log.LogAttrs(context.Background(), slog.LevelDebug, "pop3: connection closed")
}

func (c *conn) closeMaildrop() {
	if c.mbox != nil {
		c.mbox.Close()
		c.mbox = nil
	}
	if c.release != nil {
		c.release()
		c.release = nil
	}
	if c.acct != nil {
		c.acct.Close()
		c.acct = nil
	}
}

func (c *conn) handshake(tc *tls.Conn) error {
	ctx := c.ctx
	if t := durationOr(c.srv.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.log.LogAttrs(c.ctx, slog.LevelDebug, "pop3: TLS handshake failed", slog.Any("err", err))
		return err
	}
	c.isTLS = true
	return nil
}

// handle runs one command line.
func (c *conn) handle(line []byte) {
	if max := intOr(c.srv.MaxLineLength, DefaultMaxLineLength); max > 0 && len(line) > max &&
		!(len(line) > 5 && strings.EqualFold(string(line[:5]), "AUTH ")) {
		c.traceIn("<line too long>")
		c.bad("line too long")
		return
	}
	cmd, arg, err := parseCommand(line)
	if err != nil {
		c.traceIn(string(line))
		c.bad(err.Error())
		return
	}
	if cmd == "PASS" || cmd == "AUTH" || cmd == "APOP" {
		c.traceIn(cmd + " ***")
	} else {
		c.traceIn(string(line))
	}
	h, ok := commands[cmd]
	if !ok {
		c.bad("unknown command")
		return
	}
	if c.state == stateAuthorization && !h.auth || c.state == stateTransaction && !h.trans {
		c.bad("command not valid in this state")
		return
	}
	h.fn(c, arg)
}

type command struct {
	auth, trans bool // allowed in AUTHORIZATION, TRANSACTION
	fn          func(c *conn, arg string)
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"CAPA": {true, true, (*conn).cmdCapa},
		"QUIT": {true, true, (*conn).cmdQuit},
		"USER": {true, false, (*conn).cmdUser},
		"PASS": {true, false, (*conn).cmdPass},
		"APOP": {true, false, (*conn).cmdApop},
		"AUTH": {true, false, (*conn).cmdAuth},
		"STLS": {true, false, (*conn).cmdStls},
		"UTF8": {true, false, (*conn).cmdUTF8},
		"STAT": {false, true, (*conn).cmdStat},
		"LIST": {false, true, (*conn).cmdList},
		"UIDL": {false, true, (*conn).cmdUidl},
		"RETR": {false, true, (*conn).cmdRetr},
		"TOP":  {false, true, (*conn).cmdTop},
		"DELE": {false, true, (*conn).cmdDele},
		"NOOP": {false, true, (*conn).cmdNoop},
		"RSET": {false, true, (*conn).cmdRset},
	}
}

// bad answers an unknown or malformed command and closes the connection
// after too many.
func (c *conn) bad(text string) {
	c.badCmds++
	if max := intOr(c.srv.MaxBadCommands, DefaultMaxBadCommands); max > 0 && c.badCmds >= max {
		c.reply(false, "", text+"; too many bad commands, closing")
		c.closing = true
		return
	}
	c.reply(false, "", text)
}

// reply writes a one-line response. RFC 2449 §4: at most 512 octets.
func (c *conn) reply(ok bool, code, text string) {
	var line string
	switch {
	case ok:
		line = "+OK"
	case code != "":
		line = "-ERR [" + code + "]"
	default:
		line = "-ERR"
	}
	if text != "" {
		line += " " + text
	}
	if len(line) > 510 {
		line = line[:510]
	}
	c.traceOut(line)
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
}

// writeLine writes one line of a multi-line response, dot-stuffed.
func (c *conn) writeLine(s string) {
	if strings.HasPrefix(s, ".") {
		c.bw.WriteByte('.')
	}
	c.bw.WriteString(s)
	c.bw.WriteString("\r\n")
}

func (c *conn) endMulti() { c.bw.WriteString(".\r\n") }

func (c *conn) traceIn(s string) {
	if c.trace {
		c.log.LogAttrs(c.ctx, LevelTrace, "C: "+s)
	}
}

func (c *conn) traceOut(s string) {
	if c.trace {
		c.log.LogAttrs(c.ctx, LevelTrace, "S: "+s)
	}
}

// internalError logs err and answers [SYS/TEMP] without its text.
func (c *conn) internalError(what string, err error) {
	if errors.Is(err, context.Canceled) && c.ctx.Err() != nil {
		c.closing = true
		return
	}
	c.log.LogAttrs(c.ctx, slog.LevelError, "pop3: "+what, slog.String("user", c.user), slog.Any("err", err))
	c.reply(false, CodeSysTemp, "temporary failure, try again later")
}

// parseCommand splits a command line into its upper-cased keyword and the
// rest of the line after one space (RFC 1939 §3). Control characters are
// refused.
func parseCommand(line []byte) (cmd, arg string, err error) {
	for _, b := range line {
		if b < 0x20 || b == 0x7f {
			return "", "", errors.New("control character in command")
		}
	}
	s := string(line)
	cmd, arg, _ = strings.Cut(s, " ")
	if len(cmd) == 0 || len(cmd) > 8 {
		return "", "", errors.New("invalid command")
	}
	for i := 0; i < len(cmd); i++ {
		if b := cmd[i]; !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9') {
			return "", "", errors.New("invalid command")
		}
	}
	return strings.ToUpper(cmd), arg, nil
}

// parseMsgNum parses a message number: decimal digits, no sign.
func parseMsgNum(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// msg finds a live message by number, answering -ERR when there is none.
func (c *conn) msg(arg string) (int, *message) {
	n, ok := parseMsgNum(arg)
	if !ok {
		c.bad("invalid message number")
		return 0, nil
	}
	if n < 1 || n > len(c.msgs) {
		c.reply(false, "", "no such message")
		return 0, nil
	}
	m := &c.msgs[n-1]
	if m.deleted {
		c.reply(false, "", fmt.Sprintf("message %d already deleted", n))
		return 0, nil
	}
	return n, m
}

var _ io.Writer = (*deadlineWriter)(nil)
