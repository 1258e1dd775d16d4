package imap

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/utf7"
)

// cmdWriter writes one command line through the codec's encoder,
// strictly: strings are quoted or sent as literals as their content
// requires, mailbox names are encoded in modified UTF-7 unless UTF-8 is
// enabled, flags must be atoms, and nothing with CR or LF reaches the
// wire outside a literal. Synchronising literals wait for the server's
// continuation request. The first error sticks.
type cmdWriter struct {
	c      *Client
	cmd    *clientCmd
	enc    *wire.Encoder
	err    error // refused by the client before the encoder saw it
	queued bool  // cmd is already in c.inflight (a literal waited on it)
	start  int64 // c.out.n when the command began
}

func newCmdWriter(c *Client, cmd *clientCmd) *cmdWriter {
	w := &cmdWriter{c: c, cmd: cmd, enc: wire.NewEncoder(c.bw), start: c.out.n}
	w.enc.UTF8 = c.utf8
	// LITERAL+ makes every literal non-synchronising; LITERAL- (and
	// IMAP4rev2, which includes it) those up to 4096 octets (RFC 7888).
	w.enc.NonSync = c.has("LITERAL+") || c.has("LITERAL-") || c.has("IMAP4REV2")
	w.enc.LiteralMinus = !c.has("LITERAL+")
	w.enc.OnSyncLiteral = func() error {
		if !w.queued {
			c.inflight = append(c.inflight, w.cmd)
			w.queued = true
		}
		return c.waitContinuation(w.cmd)
	}
	return w
}

// error returns the first error of the writer or its encoder.
func (w *cmdWriter) error() error {
	if w.err != nil {
		return w.err
	}
	return w.enc.Err()
}

// sent reports whether part of the command already went out (a
// synchronising literal, or a full buffer).
func (w *cmdWriter) sent() bool { return w.c.out.n != w.start }

func (w *cmdWriter) setErr(err error) *cmdWriter {
	if w.err == nil {
		w.err = err
	}
	return w
}

func (w *cmdWriter) raw(s string) *cmdWriter {
	if w.err == nil {
		w.enc.Atom(s)
	}
	return w
}

func (w *cmdWriter) sp() *cmdWriter   { return w.raw(" ") }
func (w *cmdWriter) crlf() *cmdWriter { return w.raw("\r\n") }

// atom writes s, which the caller guarantees is an atom.
func (w *cmdWriter) atom(s string) *cmdWriter { return w.raw(s) }

func (w *cmdWriter) number(n uint32) *cmdWriter { return w.raw(strconv.FormatUint(uint64(n), 10)) }

func (w *cmdWriter) number64(n uint64) *cmdWriter { return w.raw(strconv.FormatUint(n, 10)) }

// isAtomString reports whether s can be sent as an atom (astring-char,
// no list wildcards).
func isAtomString(s string) bool {
	if s == "" || len(s) > wire.MaxQuoted || strings.EqualFold(s, "NIL") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || atomStop[c] && c != ']' || c == '%' || c == '*' || c == '\\' {
			return false
		}
	}
	return true
}

// str writes s as a quoted string or a literal.
func (w *cmdWriter) str(s string) *cmdWriter {
	if w.err == nil {
		w.enc.String(s)
	}
	return w
}

// astring writes s as an atom when it can, else as str does.
func (w *cmdWriter) astring(s string) *cmdWriter {
	if w.err == nil {
		w.enc.AString(s)
	}
	return w
}

// mailbox writes a mailbox name: INBOX canonical, modified UTF-7 unless
// UTF-8 is enabled (RFC 3501 §5.1.3, RFC 6855 §3).
func (w *cmdWriter) mailbox(name string) *cmdWriter {
	if !w.c.utf8 && !utf8.ValidString(name) {
		return w.setErr(fmt.Errorf("imap: mailbox name %q is not UTF-8", name))
	}
	if w.err == nil {
		w.enc.Mailbox(name)
	}
	return w
}

// listPattern writes a LIST pattern: like mailbox, but "%" and "*" may be
// sent unquoted.
func (w *cmdWriter) listPattern(p string) *cmdWriter {
	if err := checkName(p); err != nil {
		return w.setErr(err)
	}
	if !w.c.utf8 {
		p = utf7.Encode(p)
	}
	if p != "" && isAtomString(strings.NewReplacer("%", "a", "*", "a").Replace(p)) {
		return w.raw(p)
	}
	return w.str(p)
}

// literal writes a literal of size octets from r (see newCmdWriter for
// when it is synchronising). If the server refuses the command at a
// synchronising literal, the command is complete and the error is its
// *Error.
func (w *cmdWriter) literal(r io.Reader, size int64, binary bool) *cmdWriter {
	if w.err == nil {
		w.enc.Literal(r, size, binary)
	}
	return w
}

// numSet writes a sequence set.
func (w *cmdWriter) numSet(s NumSet) *cmdWriter {
	if w.err == nil {
		w.enc.NumSet(s)
	}
	return w
}

// flags writes a parenthesized flag list; flags that are not atoms are
// refused.
func (w *cmdWriter) flags(fs []Flag) *cmdWriter {
	if w.err == nil {
		w.enc.FlagList(fs)
	}
	return w
}

// dateTime writes a quoted date-time (APPEND).
func (w *cmdWriter) dateTime(t time.Time) *cmdWriter {
	if w.err == nil {
		w.enc.DateTime(t)
	}
	return w
}

// countWriter counts the bytes written to the connection, so that a
// command refused before any of it went out can be dropped from the
// buffer.
type countWriter struct {
	w io.Writer
	n int64
}

func (cw *countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}

// waitContinuation reads responses until the server asks for the rest
// of cmd ("+") or completes it (a refusal, returned as its error).
func (c *Client) waitContinuation(cmd *clientCmd) error {
	for {
		if cmd.done {
			if err := cmd.result(); err != nil {
				return err
			}
			return errors.New("imap: server completed the command before its literal")
		}
		c.cont = nil
		if err := c.readResponse(); err != nil {
			return err
		}
		if c.cont != nil {
			return nil
		}
	}
}
