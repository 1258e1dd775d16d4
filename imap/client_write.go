package imap

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posthorn/posthorn/imap/internal/utf7"
)

// cmdWriter writes one command line, strictly: strings are quoted or
// sent as literals as their content requires, mailbox names are encoded
// in modified UTF-7 unless UTF-8 is enabled, and nothing with CR or LF
// reaches the wire outside a literal. The first error sticks.
type cmdWriter struct {
	c      *Client
	cmd    *clientCmd
	err    error
	queued bool // cmd is already in c.inflight (a literal waited on it)
	sent   bool // part of the command was flushed (before a literal)
}

func (w *cmdWriter) raw(s string) *cmdWriter {
	if w.err == nil {
		if len(s) > w.c.bw.Available() {
			w.sent = true // the buffer flushes part of the line
		}
		_, w.err = w.c.bw.WriteString(s)
	}
	return w
}

func (w *cmdWriter) setErr(err error) *cmdWriter {
	if w.err == nil {
		w.err = err
	}
	return w
}

func (w *cmdWriter) sp() *cmdWriter   { return w.raw(" ") }
func (w *cmdWriter) crlf() *cmdWriter { return w.raw("\r\n") }

// atom writes s, which the caller guarantees is an atom.
func (w *cmdWriter) atom(s string) *cmdWriter { return w.raw(s) }

func (w *cmdWriter) number(n uint32) *cmdWriter { return w.raw(strconv.FormatUint(uint64(n), 10)) }

func (w *cmdWriter) number64(n uint64) *cmdWriter { return w.raw(strconv.FormatUint(n, 10)) }

// isAtomString reports whether s can be sent as an atom (astring-char).
func isAtomString(s string) bool {
	if s == "" || len(s) > 1024 || strings.EqualFold(s, "NIL") {
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

// needsLiteral reports whether s cannot be a quoted string.
func (w *cmdWriter) needsLiteral(s string) bool {
	if len(s) > 1024 {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return true
		case c >= 0x80:
			if !w.c.utf8 || !utf8.ValidString(s) {
				return true
			}
		}
	}
	return false
}

// quoted writes s as a quoted string; s has no CR, LF or NUL.
func (w *cmdWriter) quoted(s string) *cmdWriter {
	if !strings.ContainsAny(s, `"\`) {
		return w.raw(`"`).raw(s).raw(`"`)
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return w.raw(b.String())
}

// str writes s as a quoted string or a literal.
func (w *cmdWriter) str(s string) *cmdWriter {
	if w.needsLiteral(s) {
		return w.literal(strings.NewReader(s), int64(len(s)), strings.IndexByte(s, 0) >= 0)
	}
	return w.quoted(s)
}

// astring writes s as an atom when it can, else as str does.
func (w *cmdWriter) astring(s string) *cmdWriter {
	if isAtomString(s) {
		return w.raw(s)
	}
	return w.str(s)
}

// mailbox writes a mailbox name: INBOX canonical, modified UTF-7 unless
// UTF-8 is enabled (RFC 3501 §5.1.3, RFC 6855 §3).
func (w *cmdWriter) mailbox(name string) *cmdWriter {
	if err := checkName(name); err != nil {
		return w.setErr(err)
	}
	if strings.EqualFold(name, "INBOX") {
		return w.raw("INBOX")
	}
	if !w.c.utf8 {
		if !utf8.ValidString(name) {
			return w.setErr(fmt.Errorf("imap: mailbox name %q is not UTF-8", name))
		}
		name = utf7.Encode(name)
	}
	return w.astring(name)
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

// literal writes a literal of size octets from r. With LITERAL+ (or
// LITERAL-/IMAP4rev2 for up to 4096 octets) it is non-synchronising;
// otherwise the header is flushed and the server's continuation request
// awaited. If the server refuses the command instead, the command is
// complete and w.err is set to its *Error.
func (w *cmdWriter) literal(r io.Reader, size int64, binary bool) *cmdWriter {
	if w.err != nil {
		return w
	}
	c := w.c
	nonSync := c.has("LITERAL+") || (c.has("LITERAL-") || c.has("IMAP4REV2")) && size <= 4096
	var hdr []byte
	if binary {
		hdr = append(hdr, '~')
	}
	hdr = append(hdr, '{')
	hdr = strconv.AppendInt(hdr, size, 10)
	if nonSync {
		hdr = append(hdr, '+')
	}
	hdr = append(hdr, "}\r\n"...)
	w.raw(string(hdr))
	if !nonSync {
		if w.err == nil {
			w.err = c.bw.Flush()
			w.sent = true
		}
		if w.err != nil {
			return w
		}
		if !w.queued {
			c.inflight = append(c.inflight, w.cmd)
			w.queued = true
		}
		if err := c.waitContinuation(w.cmd); err != nil {
			return w.setErr(err)
		}
	}
	w.sent = true
	n, err := io.CopyN(c.bw, r, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("imap: literal shorter than its size: %d < %d octets", n, size)
		}
		return w.setErr(err)
	}
	return w
}

// numSet writes a sequence set.
func (w *cmdWriter) numSet(s NumSet) *cmdWriter {
	if s.IsEmpty() {
		return w.setErr(errors.New("imap: empty sequence set"))
	}
	return w.raw(s.String())
}

// flag writes a flag, refusing what is not an atom.
func (w *cmdWriter) flag(f Flag) *cmdWriter {
	name := strings.TrimPrefix(string(f), `\`)
	if !isAtomString(name) || strings.ContainsAny(name, "]") {
		return w.setErr(fmt.Errorf("imap: invalid flag %q", f))
	}
	return w.raw(string(f))
}

// flags writes a parenthesized flag list.
func (w *cmdWriter) flags(fs []Flag) *cmdWriter {
	w.raw("(")
	for i, f := range fs {
		if i > 0 {
			w.sp()
		}
		w.flag(f)
	}
	return w.raw(")")
}

// dateTime writes a quoted date-time (APPEND).
func (w *cmdWriter) dateTime(t time.Time) *cmdWriter {
	return w.raw(t.Format(`"02-Jan-2006 15:04:05 -0700"`))
}

// date writes a date (SEARCH).
func (w *cmdWriter) date(t time.Time) *cmdWriter { return w.raw(t.Format("2-Jan-2006")) }

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
