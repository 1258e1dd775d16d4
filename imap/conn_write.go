package imap

import (
	"bufio"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/utf7"
	"github.com/posthorn/posthorn/mailbox"
)

// respWriter writes server responses into a bufio.Writer. Strings are
// written as atoms, quoted strings or literals according to their
// content. It is owned by the conn goroutine.
//
// The line being written is also kept (up to a bound, literal contents
// excluded) for the protocol trace.
type respWriter struct {
	bw    *bufio.Writer
	dst   io.Writer     // what bw writes to
	small *bufio.Writer // the connection's own writer while bw is a bulk one
	utf8  bool          // UTF8=ACCEPT or IMAP4rev2 enabled: 8-bit quoted strings and UTF-8 names
	trace []byte
	tron  bool
	onEOL func(line []byte) // trace hook, called for each complete line
}

const maxTraceLine = 512

// bulkBufSize is the write buffer of a command that answers with many
// lines or message data: one write(2) carries many FETCH responses.
const bulkBufSize = 64 << 10

var bulkWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bulkBufSize) }}

// beginBulk switches to a pooled bulkBufSize buffer for the rest of the
// command, after flushing what the small one holds; endBulk switches
// back. Idle connections keep only their small buffer.
func (w *respWriter) beginBulk() error {
	if w.small != nil || w.dst == nil {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	big := bulkWriters.Get().(*bufio.Writer)
	big.Reset(w.dst)
	w.small, w.bw = w.bw, big
	return nil
}

// endBulk flushes the bulk buffer and returns to the connection's own. A
// failed flush keeps the bulk buffer, whose error is sticky, so the
// session ends at its next flush.
func (w *respWriter) endBulk() error {
	if w.small == nil {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	big := w.bw
	w.bw, w.small = w.small, nil
	big.Reset(nil)
	bulkWriters.Put(big)
	return nil
}

func (w *respWriter) raw(s string) {
	w.bw.WriteString(s)
	if w.tron && len(w.trace) < maxTraceLine {
		w.trace = append(w.trace, s...)
	}
}

func (w *respWriter) rawBytes(b []byte) {
	w.bw.Write(b)
	if w.tron && len(w.trace) < maxTraceLine {
		w.trace = append(w.trace, b...)
	}
}

func (w *respWriter) byte(b byte) {
	w.bw.WriteByte(b)
	if w.tron && len(w.trace) < maxTraceLine {
		w.trace = append(w.trace, b)
	}
}

func (w *respWriter) sp() { w.byte(' ') }

// crlf ends a response line.
func (w *respWriter) crlf() {
	w.bw.WriteString("\r\n")
	if w.tron {
		if w.onEOL != nil {
			w.onEOL(w.trace)
		}
		w.trace = w.trace[:0]
	}
}

func (w *respWriter) num(n uint64) {
	// AvailableBuffer: formatted in place, no allocation.
	w.rawBytes(strconv.AppendUint(w.bw.AvailableBuffer(), n, 10))
}

func (w *respWriter) num32(n uint32) { w.num(uint64(n)) }

// literalHeader writes "{n}" CRLF before n octets of literal data, which
// the caller writes with data.
func (w *respWriter) literalHeader(n int64) {
	w.byte('{')
	w.num(uint64(n))
	w.raw("}\r\n")
	if w.tron {
		w.trace = append(w.trace, "<literal>"...)
	}
}

// data writes literal contents (not traced).
func (w *respWriter) data(b []byte) { w.bw.Write(b) }

// str writes s as a quoted string, or a literal when it cannot be quoted.
func (w *respWriter) str(s string) {
	if canQuote(s, w.utf8) {
		w.quoted(s)
		return
	}
	w.literalHeader(int64(len(s)))
	w.bw.WriteString(s)
}

// nstr writes s as a string, or NIL when empty.
func (w *respWriter) nstr(s string) {
	if s == "" {
		w.raw("NIL")
		return
	}
	w.str(s)
}

// astr writes s as an atom when it is one, else as a string.
func (w *respWriter) astr(s string) {
	if isAtom(s) {
		w.raw(s)
		return
	}
	w.str(s)
}

func (w *respWriter) quoted(s string) {
	w.byte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			w.byte('\\')
		}
		w.byte(s[i])
	}
	w.byte('"')
}

// canQuote reports whether s fits in a quoted string: no CR, LF or NUL,
// 7-bit unless utf8 is on, and short enough to stay on one line.
func canQuote(s string, utf8 bool) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8) {
			return false
		}
	}
	return true
}

// isAtom reports whether s is a non-empty atom other than NIL.
func isAtom(s string) bool {
	if s == "" || len(s) > 256 || s == "NIL" || s == "nil" || s == "Nil" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '{', '%', '*', '"', '\\', ']':
			return false
		}
	}
	return true
}

// mailboxName writes a mailbox name: UTF-8 when enabled, modified UTF-7
// otherwise (RFC 3501 §5.1.3, RFC 6855 §3).
func (w *respWriter) mailboxName(name string) {
	if !w.utf8 {
		name = utf7.Encode(name)
	}
	w.astr(name)
}

// flags writes a parenthesized flag list, with \Recent added when recent.
func (w *respWriter) flags(flags []mailbox.Flag, recent bool) {
	w.byte('(')
	for i, f := range flags {
		if i > 0 {
			w.sp()
		}
		w.raw(string(f))
	}
	if recent {
		if len(flags) > 0 {
			w.sp()
		}
		w.raw(string(FlagRecent))
	}
	w.byte(')')
}

// section writes a body section as it stands between the brackets, the
// same text as Section.String without building a string.
func (w *respWriter) section(s *wire.Section) {
	for i, n := range s.Path {
		if i > 0 {
			w.byte('.')
		}
		w.num(uint64(n))
	}
	if s.Specifier != wire.PartAll {
		if len(s.Path) > 0 {
			w.byte('.')
		}
		w.raw(string(s.Specifier))
	}
	if s.Specifier == wire.PartHeaderFields || s.Specifier == wire.PartHeaderFieldsNot {
		w.raw(" (")
		for i, f := range s.Fields {
			if i > 0 {
				w.sp()
			}
			w.raw(f)
		}
		w.byte(')')
	}
}

// dateTime writes an IMAP date-time (RFC 9051 §9) quoted.
func (w *respWriter) dateTime(t time.Time) {
	w.rawBytes(t.AppendFormat(w.bw.AvailableBuffer(), `"02-Jan-2006 15:04:05 -0700"`))
}

// statusLine writes "tag TYPE [CODE arg] text" CRLF; tag "*" for untagged.
func (w *respWriter) statusLine(tag string, typ StatusType, code ResponseCode, codeArg, text string) {
	w.raw(tag)
	w.sp()
	w.raw(string(typ))
	if code != "" {
		w.raw(" [")
		w.raw(string(code))
		if codeArg != "" {
			w.sp()
			w.raw(codeArg)
		}
		w.byte(']')
	}
	if text == "" {
		text = string(typ) // resp-text needs a text after the code
	}
	w.sp()
	w.raw(sanitizeText(text))
	w.crlf()
}

// sanitizeText removes CR and LF so text cannot end the line early.
func sanitizeText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			b := []byte(s)
			for j := range b {
				if b[j] == '\r' || b[j] == '\n' {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}

// uidSet formats ascending UIDs compactly as a sequence set.
func uidSet(uids []mailbox.UID) string {
	var s NumSet
	for _, u := range uids {
		s.AddNum(uint32(u))
	}
	return s.String()
}
