package imap

// Implementation notes.
//
// One goroutine per connection (conn.serve) owns every field of conn: the
// reader, decoder, writer, session state, account, selected mailbox and
// view. Two things reach in from outside: the store's Watch callback, which
// only appends to the eventQueue (its own mutex) and signals; and
// Server.Shutdown, which only reads connState and sets a past read
// deadline on raw. During IDLE a helper goroutine reads the client's DONE
// line; the owner does not touch the reader until it has finished.
//
// States (RFC 9051 §3): not authenticated → authenticated → selected →
// logout. Each command names the states it is valid in.
//
// Unsolicited responses: events are drained into the view and flushed
// before every tagged response; EXPUNGE is held back during FETCH, STORE
// and SEARCH (RFC 9051 §7.5.1) and sent after the next other command or
// in IDLE.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/serve"
	"github.com/posthorn/posthorn/mailbox"
)

type sessionState uint8

const (
	stateNotAuth sessionState = 1 << iota
	stateAuth
	stateSelected
	stateLogout

	stateAny = stateNotAuth | stateAuth | stateSelected
	stateIn  = stateAuth | stateSelected // authenticated
)

// Per-connection buffer sizes: small, so that an idle connection costs
// little (a long line or a literal grows nothing: the decoder scans in
// chunks and bodies are streamed).
const (
	readBufSize  = 1024
	writeBufSize = 4096
)

type conn struct {
	srv    *Server
	raw    net.Conn // as accepted; never replaced
	nc     net.Conn // raw, or the TLS conn after STARTTLS
	id     uint64
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger

	br  *bufio.Reader
	dec *wire.Decoder
	w   respWriter

	connState atomic.Int32 // ConnState; read by Shutdown

	state      sessionState
	isTLS      bool
	rev2       bool // ENABLE IMAP4rev2
	utf8       bool // ENABLE UTF8=ACCEPT (or rev2)
	condstore  bool // CONDSTORE enabled (RFC 7162 §3.1)
	qresync    bool // ENABLE QRESYNC (RFC 7162 §3.2.3)
	compressed bool // COMPRESS DEFLATE (RFC 4978)
	loginFails int
	badCount   int  // BAD answers before authentication
	counted    bool // counted in Server.users

	user        string
	acct        mailbox.Account
	cancelWatch func()
	queue       *eventQueue
	mbox        mailbox.Mailbox
	view        *view
	searchRes   []mailbox.UID // SEARCHRES "$" (RFC 5182), UIDs
	scratch     *scratch      // per-command buffers; nil between commands
	litBytes    int64         // literal octets held by the current command
	streaming   bool          // the next literal streams (APPEND): not counted

	contexts []*searchContext // RFC 5267 UPDATE contexts (cmd_context.go)
}

// command is one command being run.
type command struct {
	tag, name string
	uid       bool // UID FETCH, UID STORE, ...
	// Filled by the handler for the tagged OK.
	okCode ResponseCode
	okArg  string
	okText string
}

type handler func(c *conn, cmd *command) error

type cmdSpec struct {
	fn     handler
	states sessionState
	// noExpunge: the non-UID form must not be followed by EXPUNGE
	// responses (FETCH, STORE, SEARCH: RFC 9051 §7.5.1).
	noExpunge bool
}

var commands map[string]cmdSpec

func init() {
	commands = map[string]cmdSpec{
		"CAPABILITY":   {fn: cmdCapability, states: stateAny},
		"NOOP":         {fn: cmdNoop, states: stateAny},
		"CHECK":        {fn: cmdNoop, states: stateSelected}, // RFC 3501 §6.4.1; gone in rev2
		"LOGOUT":       {fn: cmdLogout, states: stateAny},
		"ID":           {fn: cmdID, states: stateAny},
		"STARTTLS":     {fn: cmdStartTLS, states: stateNotAuth},
		"LOGIN":        {fn: cmdLogin, states: stateNotAuth},
		"AUTHENTICATE": {fn: cmdAuthenticate, states: stateNotAuth},
		"ENABLE":       {fn: cmdEnable, states: stateIn},
		"SELECT":       {fn: cmdSelect, states: stateIn},
		"EXAMINE":      {fn: cmdSelect, states: stateIn},
		"CREATE":       {fn: cmdCreate, states: stateIn},
		"DELETE":       {fn: cmdDelete, states: stateIn},
		"RENAME":       {fn: cmdRename, states: stateIn},
		"SUBSCRIBE":    {fn: cmdSubscribe, states: stateIn},
		"UNSUBSCRIBE":  {fn: cmdSubscribe, states: stateIn},
		"LIST":         {fn: cmdList, states: stateIn},
		"LSUB":         {fn: cmdList, states: stateIn},
		"NAMESPACE":    {fn: cmdNamespace, states: stateIn},
		"STATUS":       {fn: cmdStatus, states: stateIn},
		"APPEND":       {fn: cmdAppend, states: stateIn},
		"IDLE":         {fn: cmdIdle, states: stateIn},
		"CLOSE":        {fn: cmdClose, states: stateSelected},
		"UNSELECT":     {fn: cmdClose, states: stateSelected},
		"EXPUNGE":      {fn: cmdExpunge, states: stateSelected},
		"SEARCH":       {fn: cmdSearch, states: stateSelected, noExpunge: true},
		"FETCH":        {fn: cmdFetch, states: stateSelected, noExpunge: true},
		"STORE":        {fn: cmdStore, states: stateSelected, noExpunge: true},
		"COPY":         {fn: cmdCopy, states: stateSelected},
		"MOVE":         {fn: cmdCopy, states: stateSelected},
		"COMPRESS":     {fn: cmdCompress, states: stateIn},
		"SORT":         {fn: cmdSort, states: stateSelected, noExpunge: true},
		"THREAD":       {fn: cmdThread, states: stateSelected, noExpunge: true},
		"CANCELUPDATE": {fn: cmdCancelUpdate, states: stateSelected},
		"NOTIFY":       {fn: cmdNotify, states: stateIn},
	}
}

// uidCommands may follow "UID".
var uidCommands = map[string]bool{"FETCH": true, "STORE": true, "SEARCH": true, "COPY": true, "MOVE": true, "EXPUNGE": true, "SORT": true, "THREAD": true}

func newConn(s *Server, ctx context.Context, nc net.Conn) *conn {
	c := &conn{srv: s, raw: nc, nc: nc, id: s.nextID.Add(1), queue: newEventQueue(), state: stateNotAuth}
	c.ctx, c.cancel = context.WithCancel(ctx)
	_, c.isTLS = nc.(*tls.Conn)
	c.log = s.logger().With(slog.Uint64("conn", c.id), slog.String("remote", nc.RemoteAddr().String()))
	c.setStream(nc)
	return c
}

// setStream (re)creates the reader, decoder and writer over nc.
func (c *conn) setStream(nc net.Conn) {
	c.nc = nc
	c.br = bufio.NewReaderSize(nc, readBufSize)
	c.dec = wire.NewDecoder(c.br)
	c.dec.MaxLine = c.srv.maxLine()
	c.dec.MaxLiteral = c.srv.maxLiteral()
	c.dec.UTF8 = c.utf8
	c.dec.OnLiteral = c.onLiteral
	dst := deadlineWriter{c, nc}
	c.w = respWriter{bw: bufio.NewWriterSize(dst, writeBufSize), dst: dst, utf8: c.utf8}
	if c.log.Enabled(c.ctx, LevelTrace) {
		c.w.tron = true
		c.w.onEOL = func(line []byte) {
			c.log.LogAttrs(c.ctx, LevelTrace, "S: "+string(line))
		}
	}
}

// onLiteral sends the continuation request for a synchronising literal.
func (c *conn) onLiteral(size int64, nonSync bool) error {
	if !c.streaming {
		c.litBytes += size
		if c.litBytes > c.srv.maxCommandLits() {
			return &Error{Type: StatusNO, Code: CodeTooBig, Text: "Too much literal data in one command"}
		}
	}
	if nonSync {
		return nil
	}
	c.w.raw("+ Ready for literal data")
	c.w.crlf()
	return c.flush()
}

func (c *conn) flush() error { return c.w.bw.Flush() }

// deadlineWriter gives every write to the connection its own
// WriteTimeout, for explicit flushes and for the ones bufio makes while a
// long response is being written alike.
type deadlineWriter struct {
	c  *conn
	nc net.Conn
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	if wt := w.c.srv.writeTimeout(); wt > 0 {
		w.nc.SetWriteDeadline(time.Now().Add(wt))
	}
	return w.nc.Write(p)
}

// interrupt makes a blocked read return at once (Shutdown).
func (c *conn) interrupt() { c.raw.SetReadDeadline(time.Unix(1, 0)) }

// Serve runs the session; the Server tracks c until it returns.
func (c *conn) Serve() { c.serve() }

// Wake interrupts the connection if it waits for a command or is in IDLE
// (Shutdown); a busy one says BYE after its command. Called with the
// lifecycle's lock held.
func (c *conn) Wake() {
	if ConnState(c.connState.Load()) == StateIdle {
		c.interrupt()
	}
}

// Abort closes the connection at once (Close): raw is never replaced, so
// closing it from another goroutine is safe.
func (c *conn) Abort() { c.raw.Close() }

// authAllowed reports whether credentials may be sent on this connection.
func (c *conn) authAllowed() bool { return c.isTLS || c.srv.AllowInsecureAuth }

func (c *conn) serve() {
	s := c.srv
	s.setConnState(c, StateNew)
	defer func() {
		if p := recover(); p != nil {
			serve.LogPanic(c.ctx, c.log, "imap", p)
			c.bye(CodeServerBug, "Internal error")
		}
		c.cleanup()
		c.nc.Close()
		c.cancel()
		s.setConnState(c, StateClosed)
		s.removeConn(c)
		c.log.LogAttrs(context.Background(), slog.LevelDebug, "imap: connection closed")
	}()
	c.log.LogAttrs(c.ctx, slog.LevelDebug, "imap: connection opened")
	if tc, ok := c.nc.(*tls.Conn); ok {
		hctx, cancel := handshakeContext(c.ctx, s.handshakeTimeout(false))
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.log.LogAttrs(c.ctx, slog.LevelDebug, "imap: TLS handshake failed", slog.Any("err", err))
			return
		}
	}
	c.w.statusLine("*", StatusOK, CodeCapability, joinCaps(s.capabilities(c)), s.greeting())
	if c.flush() != nil {
		return
	}
	for c.state != stateLogout {
		if !c.readCommand() {
			break
		}
	}
	// A session that ended with a reply (LOGOUT, BYE) lets it reach the
	// client.
	if c.state == stateLogout && c.flush() == nil {
		serve.Linger(c.nc, c.raw)
	}
}

// cleanup releases the session's store handles.
func (c *conn) cleanup() {
	c.closeMailbox()
	if c.cancelWatch != nil {
		c.cancelWatch()
		c.cancelWatch = nil
	}
	if c.acct != nil {
		c.acct.Close()
		c.acct = nil
	}
}

func (c *conn) closeMailbox() {
	if c.mbox != nil {
		c.mbox.Close()
	}
	c.mbox, c.view, c.searchRes, c.contexts = nil, nil, nil, nil
	c.queue.selectMailbox("")
	if c.state == stateSelected {
		c.state = stateAuth
	}
}

// bye says goodbye with an untagged BYE and ends the session.
func (c *conn) bye(code ResponseCode, text string) {
	c.w.statusLine("*", StatusBYE, code, "", text)
	c.flush()
	c.state = stateLogout
}

// timeout is the autologout timer for the current state.
func (c *conn) timeout() time.Duration {
	if c.state == stateNotAuth {
		return c.srv.preAuthTimeout()
	}
	return c.srv.readTimeout()
}

func (c *conn) setReadDeadline() {
	if t := c.timeout(); t > 0 {
		c.nc.SetReadDeadline(time.Now().Add(t))
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
}

// waitCommand blocks until the first byte of a command arrives. It
// returns false when the session must end.
func (c *conn) waitCommand() bool {
	c.setReadDeadline()
	c.srv.setConnState(c, StateIdle)
	if c.srv.shuttingDown() {
		c.bye("", "Server shutting down")
		return false
	}
	if err := c.peekCommand(); err != nil {
		if c.srv.shuttingDown() {
			c.bye("", "Server shutting down")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			c.bye("", "Autologout; idle for too long")
		}
		return false
	}
	c.srv.setConnState(c, StateActive)
	c.setReadDeadline()
	return true
}

// readCommand reads and runs one command; false ends the session.
func (c *conn) readCommand() bool {
	if !c.waitCommand() {
		return false
	}
	d := c.dec
	cmd := &command{}
	if !d.ExpectTag(&cmd.tag) {
		return c.badLine("*", d.Err())
	}
	if !d.ExpectSP() || !d.Keyword(&cmd.name) {
		if d.Err() == nil {
			d.Fail("command")
		}
		return c.badLine(cmd.tag, d.Err())
	}
	if cmd.name == "UID" {
		var sub string
		if !d.ExpectSP() || !d.Keyword(&sub) || !uidCommands[sub] {
			d.Fail("UID command")
			return c.badLine(cmd.tag, d.Err())
		}
		cmd.uid, cmd.name = true, sub
	}
	if c.w.tron {
		c.log.LogAttrs(c.ctx, LevelTrace, "C: "+cmd.tag+" "+cmd.displayName()+c.traceArgs(cmd))
	}
	spec, ok := commands[cmd.name]
	if !ok {
		if c.state == stateNotAuth {
			// Cross-protocol defence: an unknown command before
			// authentication ends the connection.
			c.bye(CodeClientBug, "Unknown command")
			return false
		}
		d.Fail("known command")
		return c.badLine(cmd.tag, d.Err())
	}
	if spec.states&c.state == 0 {
		if err := d.DiscardLine(); err != nil {
			return false
		}
		c.writeStatus(cmd, &Error{Type: StatusBAD, Text: cmd.displayName() + " not allowed now"})
		return c.flush() == nil
	}
	c.litBytes = 0
	err := spec.fn(c, cmd)
	c.scratch = nil
	if c.state == stateLogout {
		return false
	}
	if err != nil && (isParseError(err) || c.dec.Err() != nil) {
		// A grammar or limit error, or the input failed (EOF, timeout)
		// in the middle of the command.
		if derr := c.dec.Err(); derr != nil && !isParseError(derr) {
			err = derr
		}
		return c.badLine(cmd.tag, err)
	}
	if errors.Is(err, errAlreadyAnswered) {
		return c.flush() == nil
	}
	if !c.sendUpdates(!spec.noExpunge || cmd.uid) {
		return false
	}
	c.writeStatus(cmd, err)
	if c.state == stateLogout {
		return false
	}
	return c.flush() == nil
}

// traceArgs returns the rest of the command line as far as it is already
// buffered (it is not consumed), for the protocol trace: at most
// maxTraceLine bytes, never literal contents (they follow the line), and
// nothing at all for LOGIN and AUTHENTICATE, whose arguments are
// credentials.
func (c *conn) traceArgs(cmd *command) string {
	if cmd.name == "LOGIN" || cmd.name == "AUTHENTICATE" {
		return " <redacted>"
	}
	b, _ := c.br.Peek(c.br.Buffered())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	} else {
		b = append(b[:len(b):len(b)], "..."...)
	}
	b = bytes.TrimRight(b, "\r")
	if len(b) > maxTraceLine {
		b = append(b[:maxTraceLine:maxTraceLine], "..."...)
	}
	return string(b)
}

func (cmd *command) displayName() string {
	if cmd.uid {
		return "UID " + cmd.name
	}
	return cmd.name
}

// isParseError reports whether err came from the decoder's grammar or limits.
func isParseError(err error) bool {
	var se *wire.SyntaxError
	var le *wire.LiteralError
	return errors.As(err, &se) || errors.As(err, &le)
}

// badLine answers a command that could not be parsed, skips the rest of
// its line, and reports whether the session can go on.
func (c *conn) badLine(tag string, err error) bool {
	if err == nil {
		err = &wire.SyntaxError{Msg: "bad command"}
	}
	var le *wire.LiteralError
	var se *wire.SyntaxError
	switch {
	case errors.As(err, &le):
		typ, code, text := StatusNO, CodeClientBug, "Literal refused"
		var ie *Error
		if errors.Is(le.Err, wire.ErrTooBig) {
			code, text = CodeTooBig, "Literal too big"
		} else if errors.As(le.Err, &ie) {
			typ, code, text = ie.Type, ie.Code, ie.Text
		}
		if le.NonSync {
			// The octets follow regardless; skip a reasonable amount,
			// otherwise give up on the connection.
			if le.Size > 1<<20 {
				c.w.statusLine(tag, StatusBAD, code, "", text)
				c.bye(CodeTooBig, "Literal too big")
				return false
			}
			if c.dec.Skip(le.Size) != nil {
				return false
			}
			if c.dec.DiscardLine() != nil {
				return false
			}
		} else {
			c.dec.ClearErr()
		}
		c.w.statusLine(tag, typ, code, "", text)
	case errors.As(err, &se):
		if c.dec.DiscardLine() != nil {
			return false
		}
		text := se.Msg
		if errors.Is(se, wire.ErrLineTooLong) {
			c.w.statusLine(tag, StatusBAD, CodeTooBig, "", "Command line too long")
		} else {
			c.w.statusLine(tag, StatusBAD, CodeClientBug, "", "Syntax error: "+text)
		}
	default:
		// An I/O error: the connection is gone or timed out.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if c.srv.shuttingDown() {
				c.bye("", "Server shutting down")
			} else {
				c.bye("", "Autologout; timed out")
			}
		}
		return false
	}
	if c.state == stateNotAuth {
		// Something that is not an IMAP client: stop listening to it.
		if c.badCount++; c.badCount >= maxBadBeforeAuth {
			c.bye(CodeClientBug, "Too many bad commands")
			return false
		}
	}
	return c.flush() == nil
}

// maxBadBeforeAuth is the number of unparsable commands after which a
// connection that has not logged in is closed.
const maxBadBeforeAuth = 3

// writeStatus writes the tagged response of cmd for err.
func (c *conn) writeStatus(cmd *command, err error) {
	if err == nil {
		text := cmd.okText
		if text == "" {
			text = cmd.displayName() + " completed"
		}
		c.w.statusLine(cmd.tag, StatusOK, cmd.okCode, cmd.okArg, text)
		return
	}
	e := c.mapError(err)
	if e.Type == StatusBYE {
		c.bye(e.Code, e.Text)
		return
	}
	c.w.statusLine(cmd.tag, e.Type, e.Code, e.CodeArg, e.Text)
}

// mapError turns an error into the status response the client sees
// (STYLE.md §2.6): *Error as is, mailbox sentinels to their codes,
// anything else to NO [SERVERBUG] with the detail only in the log.
func (c *conn) mapError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Type == "" {
			e.Type = StatusNO
		}
		return e
	}
	switch {
	case errors.Is(err, mailbox.ErrNotExist):
		return &Error{Type: StatusNO, Code: CodeNonExistent, Text: "No such mailbox"}
	case errors.Is(err, mailbox.ErrExist):
		return &Error{Type: StatusNO, Code: CodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, mailbox.ErrAuthFailed):
		return &Error{Type: StatusNO, Code: CodeAuthenticationFailed, Text: "Authentication failed"}
	case errors.Is(err, mailbox.ErrInUse):
		return &Error{Type: StatusNO, Code: CodeInUse, Text: "Mailbox in use"}
	case errors.Is(err, mailbox.ErrOverQuota):
		return &Error{Type: StatusNO, Code: CodeOverQuota, Text: "Over quota"}
	case errors.Is(err, mailbox.ErrTooLarge):
		return &Error{Type: StatusNO, Code: CodeTooBig, Text: "Message too large"}
	case errors.Is(err, mailbox.ErrReadOnly), errors.Is(err, mailbox.ErrNotPermitted):
		return &Error{Type: StatusNO, Code: CodeNoPerm, Text: "Not permitted"}
	case errors.Is(err, mailbox.ErrInvalidName):
		return &Error{Type: StatusNO, Code: CodeCannot, Text: "Invalid mailbox name"}
	case errors.Is(err, mailbox.ErrInvalidFlag):
		return &Error{Type: StatusBAD, Code: CodeClientBug, Text: "Invalid flag"}
	case errors.Is(err, mailbox.ErrHasChildren):
		return &Error{Type: StatusNO, Code: CodeHasChildren, Text: "Mailbox has children"}
	case errors.Is(err, mailbox.ErrNoSelect):
		return &Error{Type: StatusNO, Code: CodeCannot, Text: "Mailbox is not selectable"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Type: StatusNO, Code: CodeUnavailable, Text: "Interrupted"}
	}
	c.log.LogAttrs(c.ctx, slog.LevelError, "imap: internal error", slog.Any("err", err))
	return &Error{Type: StatusNO, Code: CodeServerBug, Text: "Internal error"}
}

// sendUpdates drains the store's events into the view and writes the
// unsolicited responses allowed now. It returns false when the session
// had to end (the selected mailbox was deleted, or events were lost).
func (c *conn) sendUpdates(allowExpunge bool) bool {
	if !c.sendNotifications() {
		return false
	}
	if c.view == nil {
		return true
	}
	evs, overflow := c.queue.take()
	if overflow {
		c.bye("", "Too many changes to the selected mailbox; please reconnect")
		return false
	}
	c.view.setHold(c.notifyHolds()) // NOTIFY (notify_hold.go)
	c.view.apply(evs)
	if c.view.deleted {
		c.bye("", "Selected mailbox was deleted")
		return false
	}
	c.flushWithContexts(evs, func() { c.view.flush(allowExpunge, !c.rev2, c.writeUpdate) })
	return c.fetchArrived() // RFC 5465 §5.2: after EXISTS and ESEARCH ADDTO
}

func (c *conn) writeUpdate(u update) {
	w := &c.w
	switch u.kind {
	case updateFlags:
		c.writeFlags()
		return
	case updateVanished:
		w.raw("* VANISHED ")
		w.raw(uidSet(u.uids))
		w.crlf()
		return
	}
	w.raw("* ")
	w.num32(u.num)
	switch u.kind {
	case updateExpunge:
		w.raw(" EXPUNGE")
	case updateExists:
		w.raw(" EXISTS")
	case updateRecent:
		w.raw(" RECENT")
	case updateFetch:
		w.raw(" FETCH (UID ")
		w.num(uint64(u.uid))
		w.raw(" FLAGS ")
		w.flags(u.flags, u.recent)
		if c.condstore && u.modseq != 0 {
			w.raw(" MODSEQ (")
			w.num(uint64(u.modseq))
			w.byte(')')
		}
		w.byte(')')
	}
	w.crlf()
}

// expectEOL ends the parsing of a command's arguments.
func (c *conn) expectEOL() error {
	c.dec.ExpectCRLF()
	return c.dec.Err()
}

// errorf returns a NO response with text.
func errNo(code ResponseCode, format string, args ...any) *Error {
	return &Error{Type: StatusNO, Code: code, Text: fmt.Sprintf(format, args...)}
}

// errBad returns a BAD response with text.
func errBad(format string, args ...any) *Error {
	return &Error{Type: StatusBAD, Code: CodeClientBug, Text: fmt.Sprintf(format, args...)}
}

func errorIs(err, target error) bool { return errors.Is(err, target) }

var errBufferFull = bufio.ErrBufferFull

// handshakeContext bounds a TLS handshake by d (no bound when d is 0).
func handshakeContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
