package smtp

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/textwire"
)

// cmdData handles DATA (RFC 5321 §4.1.1.4).
func (c *conn) cmdData(arg string) {
	switch {
	case arg != "":
		c.reply(errNoArgs)
		return
	case c.tx == nil:
		c.reply(errNeedMail)
		return
	case len(c.tx.rcpts) == 0:
		c.reply(errNeedRcpt)
		return
	case c.tx.opts.Body == BodyBinaryMIME:
		// RFC 3030 §3: BINARYMIME messages must use BDAT.
		c.replyf(503, EnhancedCode{5, 5, 1}, "BODY=BINARYMIME requires BDAT")
		return
	}
	c.replyf(354, NoEnhancedCode, "Start mail input; end with <CRLF>.<CRLF>")
	if c.flush() != nil {
		return
	}
	opts := textwire.DotOptions{NormalizeBareLineEndings: c.srv.NormalizeBareLineEndings}
	if m := c.srv.maxMessageBytes(); m > 0 {
		opts.MaxSize = m
	}
	if m := c.srv.maxDataLine(); m > 0 {
		opts.MaxLineLength = m
	}
	c.acquireBuffers()
	dr := textwire.NewDotReader(c.br, opts)
	body := &dataReader{r: dr}
	errs, err := c.deliver(body)
	derr := dr.Drain()
	if derr != nil {
		if lim := limitError(derr); lim != nil {
			errs, err = nil, lim
		} else {
			c.dataReadFailed(derr)
			return
		}
	}
	c.finishData(errs, err)
}

// dataReader turns the dot reader's limit errors into replies.
type dataReader struct{ r io.Reader }

func (d *dataReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		if lim := limitError(err); lim != nil {
			err = lim
		}
	}
	return n, err
}

// limitError maps a textwire limit error to its reply, or returns nil.
func limitError(err error) *Error {
	switch {
	case errors.Is(err, textwire.ErrTooLarge):
		return ErrDataTooLarge
	case errors.Is(err, textwire.ErrBareLineEnding):
		return ErrBareLineEnding
	case errors.Is(err, textwire.ErrLineTooLong):
		return ErrDataLineTooLong
	}
	return nil
}

// dataReadFailed ends a connection whose message data could not be read.
func (c *conn) dataReadFailed(err error) {
	c.quit = true
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.replyf(421, EnhancedCode{4, 4, 2}, c.srv.host()+" Timeout exceeded, closing connection")
		return
	}
	c.logger().LogAttrs(c.ctx, slog.LevelDebug, "smtp: reading message data failed", slog.String("err", err.Error()))
}

// deliver hands the body to the session: LMTPData in LMTP mode when the
// session has it, Data otherwise.
func (c *conn) deliver(body io.Reader) ([]error, error) {
	if c.srv.Mode == ModeLMTP {
		if ls, ok := c.sess.(LMTPSession); ok {
			return ls.LMTPData(c.ctx, body)
		}
	}
	return nil, c.sess.Data(c.ctx, body)
}

// finishData sends the final reply (one per recipient in LMTP mode, RFC
// 2033 §4.2) and ends the transaction.
func (c *conn) finishData(errs []error, err error) {
	n := 1
	if c.srv.Mode == ModeLMTP {
		n = len(c.tx.rcpts)
	}
	for i := 0; i < n; i++ {
		e := err
		if e == nil && i < len(errs) {
			e = errs[i]
		}
		if e != nil {
			c.replyErr(e, "Data")
			continue
		}
		if c.srv.Mode == ModeLMTP {
			c.replyf(250, EnhancedCode{2, 0, 0}, quoteAddr(c.tx.rcpts[i])+" Message delivered")
		} else {
			c.replyf(250, EnhancedCode{2, 0, 0}, "Message accepted for delivery")
		}
	}
	c.resetTx()
}

// parseBDAT parses "chunk-size [SP end-marker]" (RFC 3030 §2).
func parseBDAT(arg string) (size int64, last bool, err error) {
	sz, rest, _ := strings.Cut(arg, " ")
	if sz == "" || len(sz) > 18 {
		return 0, false, errBadParam("Syntax: BDAT size [LAST]")
	}
	for i := 0; i < len(sz); i++ {
		if sz[i] < '0' || sz[i] > '9' {
			return 0, false, errBadParam("Syntax: BDAT size [LAST]")
		}
	}
	size, _ = strconv.ParseInt(sz, 10, 64)
	switch {
	case rest == "":
	case strings.EqualFold(rest, "LAST"):
		last = true
	default:
		return 0, false, errBadParam("Syntax: BDAT size [LAST]")
	}
	return size, last, nil
}

var errBDATInterrupted = errors.New("smtp: BDAT transaction interrupted by another command")

// cmdBDAT handles BDAT (RFC 3030). The chunks of one message reach the
// session as one stream: the reader acknowledges each chunk and reads the
// next BDAT command itself.
func (c *conn) cmdBDAT(arg string) {
	size, last, err := parseBDAT(arg)
	if err != nil {
		// Without a size the rest of the input cannot be framed.
		c.reply(err.(*SyntaxError).reply())
		c.quit = true
		return
	}
	var refuse *Error
	max := c.srv.maxMessageBytes()
	switch {
	case c.tx == nil:
		refuse = errNeedMail
	case len(c.tx.rcpts) == 0:
		refuse = errNeedRcpt
	case max > 0 && size > max:
		refuse = ErrDataTooLarge
	}
	if refuse != nil {
		// A refused chunk is still read, so the session stays in step.
		if !c.discard(size) {
			return
		}
		c.reply(refuse)
		if c.tx != nil && refuse == ErrDataTooLarge {
			c.resetTx()
		}
		return
	}
	r := &bdatReader{c: c, remain: size, last: last, total: size, max: max}
	errs, err := c.deliver(r)
	if r.err == nil && err == nil {
		// The session stopped early but accepted: read the rest.
		io.Copy(io.Discard, r)
	}
	if r.remain > 0 && r.netErr == nil && !c.discard(r.remain) {
		return
	}
	switch {
	case r.netErr != nil:
		c.dataReadFailed(r.netErr)
	case r.err == errBDATInterrupted:
		c.resetTx() // the pending command runs next
	case r.err != nil:
		c.reply(r.err.(*Error))
		c.resetTx()
		if r.err == errBDATSyntax {
			c.quit = true
		}
	case err != nil && !r.last:
		c.replyErr(err, "Data")
		c.resetTx()
	default:
		c.finishData(errs, err)
	}
}

// discard reads and drops n bytes of chunk data.
func (c *conn) discard(n int64) bool {
	c.acquireBuffers()
	if _, err := io.CopyN(io.Discard, c.br, n); err != nil {
		c.dataReadFailed(err)
		return false
	}
	return true
}

var errBDATSyntax = &Error{Code: 501, EnhancedCode: EnhancedCode{5, 5, 4}, Message: "Syntax: BDAT size [LAST]"}

// bdatReader streams the chunks of one BDAT message.
type bdatReader struct {
	c      *conn
	remain int64 // bytes left in the current chunk
	last   bool  // the current chunk is the last
	total  int64 // bytes announced so far
	max    int64
	err    error // *Error (limit, syntax) or errBDATInterrupted; sticky
	netErr error // reading the connection failed; sticky
}

func (r *bdatReader) Read(p []byte) (int, error) {
	for {
		if r.netErr != nil {
			return 0, r.netErr
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.remain > 0 {
			break
		}
		if r.last {
			return 0, io.EOF
		}
		r.nextChunk()
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.c.br.Read(p)
	r.remain -= int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.netErr = err
		r.remain = 0
		return n, err
	}
	return n, nil
}

// nextChunk acknowledges the finished chunk and reads the next command.
func (r *bdatReader) nextChunk() {
	c := r.c
	c.replyf(250, EnhancedCode{2, 0, 0}, strconv.FormatInt(r.total, 10)+" octets received")
	if c.br.Buffered() == 0 {
		if err := c.flush(); err != nil {
			r.netErr = err
			return
		}
	}
	line, err := c.readLine(c.srv.maxLineLength())
	if err != nil {
		if errors.Is(err, textwire.ErrLineTooLong) {
			r.err = errBDATSyntax
		} else {
			r.netErr = err
		}
		return
	}
	verb, arg, perr := parseCommand(string(line))
	if c.trace {
		c.logger().LogAttrs(c.ctx, LevelTrace, "C: "+string(line))
	}
	if perr != nil || verb != "BDAT" {
		c.pending = append([]byte(nil), line...)
		r.err = errBDATInterrupted
		return
	}
	size, last, perr := parseBDAT(arg)
	if perr != nil {
		r.err = errBDATSyntax
		return
	}
	r.remain, r.last = size, last
	r.total += size
	if r.max > 0 && r.total > r.max {
		r.err = ErrDataTooLarge
	}
}
