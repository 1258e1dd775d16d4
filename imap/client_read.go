package imap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/imap/internal/wire"
)

// The client's response reader. It is separate from imap/internal/wire
// because package imap cannot import wire (wire imports imap), and
// because a client reads differently from a server: leniently (real
// servers send odd spacing, NIL where a string belongs, literal8 in
// FETCH), straight from the bufio.Reader without building generic
// values, and with section literals handed out as streams.

// errRespSyntax is wrapped by every malformed-response error.
var errRespSyntax = errors.New("malformed response")

// ResponseError reports a server response the client could not parse.
// The client is broken afterwards (only Close is left), because the rest
// of the stream can no longer be trusted.
type ResponseError struct {
	Msg  string // what was expected
	Near string // a few bytes of input where it went wrong
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("imap: malformed response: expected %s near %q", e.Msg, e.Near)
}

func (e *ResponseError) Unwrap() error { return errRespSyntax }

// respReader reads server responses. Its error is sticky.
type respReader struct {
	br         *bufio.Reader
	err        error
	maxLiteral int64 // literals read into memory; larger ones are an error
	depth      int
	pending    *io.LimitedReader // streamed literal not yet consumed
	dec        *wire.Decoder     // the codec, on the same stream
	flags      []Flag            // flagList's scratch
}

// newRespReader returns a reader of br.
func newRespReader(br *bufio.Reader) respReader {
	dec := wire.NewDecoder(br)
	dec.MaxLine = 1 << 20 // bounds one token (a server's line may be longer)
	dec.MaxLiteral = 1 << 20
	dec.UTF8 = true // names are decoded by the client
	return respReader{br: br, maxLiteral: clientMaxLiteral, dec: dec}
}

// decode runs a rule of the codec at the current position.
func (r *respReader) decode(what string, rule func(d *wire.Decoder) bool) bool {
	if r.peek(); r.err != nil {
		return false
	}
	r.dec.ClearErr()
	if rule(r.dec) {
		return true
	}
	if err := r.dec.Err(); err != nil {
		return r.setErr(err)
	}
	return r.fail(what)
}

const (
	clientMaxLiteral = 1 << 20 // in-memory strings outside streamed sections
	clientMaxDepth   = 100     // nested lists (BODYSTRUCTURE)
)

func (r *respReader) fail(what string) bool {
	if r.err == nil {
		b, _ := r.br.Peek(min(24, r.br.Buffered()))
		r.err = &ResponseError{Msg: what, Near: string(b)}
	}
	return false
}

func (r *respReader) setErr(err error) bool {
	if r.err == nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
	}
	return false
}

// drain discards an unread streamed literal.
func (r *respReader) drain() {
	if r.pending != nil {
		lr := r.pending
		r.pending = nil
		if _, err := io.Copy(io.Discard, lr); err != nil {
			r.setErr(err)
		} else if lr.N > 0 {
			r.setErr(io.ErrUnexpectedEOF)
		}
	}
}

func (r *respReader) peek() byte {
	if r.err != nil {
		return 0
	}
	if r.pending != nil {
		r.drain()
	}
	b, err := r.br.Peek(1)
	if err != nil {
		r.setErr(err)
		return 0
	}
	return b[0]
}

func (r *respReader) accept(c byte) bool {
	if r.peek() == c && r.err == nil {
		r.br.Discard(1)
		return true
	}
	return false
}

func (r *respReader) expect(c byte) bool {
	return r.accept(c) || r.fail(strconv.QuoteRune(rune(c)))
}

// sp consumes one or more spaces (servers are seen sending two).
func (r *respReader) sp() bool {
	if !r.accept(' ') {
		return false
	}
	for r.accept(' ') {
	}
	return true
}

func (r *respReader) expectSP() bool { return r.sp() || r.fail("SP") }

// atEOL reports whether CR or LF is next.
func (r *respReader) atEOL() bool {
	c := r.peek()
	return r.err == nil && (c == '\r' || c == '\n')
}

// crlf consumes optional trailing spaces and the line end (a bare LF is
// accepted).
func (r *respReader) crlf() bool {
	for r.accept(' ') {
	}
	if r.accept('\r') {
		return r.expect('\n')
	}
	return r.accept('\n') || r.fail("CRLF")
}

// token stop sets.
var (
	atomStop    [256]bool // SP ( ) { " CR LF [ ] NUL
	astringStop [256]bool // the same but "]" allowed (mailbox names)
)

func init() {
	for _, c := range []byte(" (){\"\r\n[]\x00") {
		atomStop[c] = true
		astringStop[c] = true
	}
	astringStop[']'] = false
}

// scan returns the run of bytes up to a stop byte. The result is a copy.
func (r *respReader) scan(stop *[256]bool) string {
	if r.peek(); r.err != nil {
		return ""
	}
	var acc []byte
	for {
		n := r.br.Buffered()
		if n == 0 {
			if _, err := r.br.Peek(1); err != nil {
				if acc == nil {
					r.setErr(err)
				}
				return string(acc)
			}
			n = r.br.Buffered()
		}
		buf, _ := r.br.Peek(n)
		i := 0
		for i < len(buf) && !stop[buf[i]] {
			i++
		}
		if i < len(buf) || len(acc)+i > 1<<16 {
			var s string
			if acc == nil {
				s = string(buf[:i])
			} else {
				s = string(append(acc, buf[:i]...))
			}
			r.br.Discard(i)
			if len(s) > 1<<16 {
				r.fail("token shorter than 64 KiB")
				return ""
			}
			return s
		}
		acc = append(acc, buf...)
		r.br.Discard(i)
	}
}

func (r *respReader) atom() string { return r.scan(&atomStop) }

// acceptWord consumes w (ASCII, matched case-insensitively) if it is
// next, without allocating.
func (r *respReader) acceptWord(w string) bool {
	if r.peek(); r.err != nil {
		return false
	}
	b, _ := r.br.Peek(len(w))
	if len(b) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if b[i]|0x20 != w[i]|0x20 {
			return false
		}
	}
	r.br.Discard(len(w))
	return true
}

// keyword reads an atom in upper case.
func (r *respReader) keyword() string { return strings.ToUpper(r.atom()) }

// number reads a 32-bit number.
func (r *respReader) number(n *uint32) bool {
	var v uint64
	if !r.num(&v, 1<<32-1) {
		return false
	}
	*n = uint32(v)
	return true
}

// number64 reads a 63-bit number.
func (r *respReader) number64(n *uint64) bool { return r.num(n, 1<<63-1) }

func (r *respReader) num(n *uint64, max uint64) bool {
	c := r.peek()
	if r.err != nil || c < '0' || c > '9' {
		return r.fail("number")
	}
	var v uint64
	for digits := 0; ; digits++ {
		c := r.peek()
		if r.err != nil {
			return false
		}
		if c < '0' || c > '9' {
			break
		}
		if digits >= 19 {
			return r.fail("number in range")
		}
		v = v*10 + uint64(c-'0')
		r.br.Discard(1)
	}
	if v > max {
		return r.fail("number in range")
	}
	*n = v
	return true
}

// nil consumes NIL.
func (r *respReader) nilAtom() bool {
	if r.peek() != 'N' && r.peek() != 'n' {
		return false
	}
	b, err := r.br.Peek(4)
	if len(b) < 3 || !strings.EqualFold(string(b[:3]), "NIL") {
		return false
	}
	if len(b) == 4 && !atomStop[b[3]] {
		return false
	}
	_ = err
	r.br.Discard(3)
	return true
}

// quoted reads a quoted string; the opening quote is next.
func (r *respReader) quoted() (string, bool) {
	r.br.Discard(1)
	// Fast path: the whole string is buffered and has no escapes.
	if buf, _ := r.br.Peek(r.br.Buffered()); len(buf) > 0 {
		for i, c := range buf {
			if c == '"' {
				s := string(buf[:i])
				r.br.Discard(i + 1)
				return s, true
			}
			if c == '\\' || c == '\r' || c == '\n' {
				break
			}
		}
	}
	var b []byte
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return "", r.setErr(err)
		}
		switch c {
		case '"':
			return string(b), true
		case '\\':
			c, err = r.br.ReadByte()
			if err != nil {
				return "", r.setErr(err)
			}
		case '\r', '\n':
			return "", r.fail("closing quote")
		}
		if len(b) >= 1<<20 {
			return "", r.fail("quoted string under 1 MiB")
		}
		b = append(b, c)
	}
}

// literalHeader reads "{n}", "{n+}" or "~{n}" and the CRLF after it.
func (r *respReader) literalHeader() (int64, bool) {
	if r.accept('~') && r.peek() != '{' {
		return 0, r.fail("{ after ~")
	}
	if !r.accept('{') {
		return 0, false
	}
	var n uint64
	if !r.number64(&n) {
		return 0, false
	}
	r.accept('+')
	if !r.expect('}') || !r.crlf() {
		return 0, false
	}
	return int64(n), true
}

// str reads a string (quoted or literal) or NIL (as ""); isNil reports NIL.
func (r *respReader) nstring() (s string, isNil, ok bool) {
	switch r.peek() {
	case '"':
		s, ok = r.quoted()
		return s, false, ok
	case '{', '~':
		n, ok := r.literalHeader()
		if !ok {
			return "", false, false
		}
		if n > r.maxLiteral {
			return "", false, r.fail(fmt.Sprintf("literal under %d octets", r.maxLiteral))
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r.br, b); err != nil {
			return "", false, r.setErr(err)
		}
		return string(b), false, true
	}
	if r.nilAtom() {
		return "", true, true
	}
	if r.err != nil {
		return "", false, false
	}
	return "", false, r.fail("string")
}

// str reads an nstring, NIL giving "" (lenient: servers send NIL where a
// string belongs and "" where NIL does).
func (r *respReader) str() (string, bool) {
	s, _, ok := r.nstring()
	return s, ok
}

// astring reads an atom (with "]") or a string.
func (r *respReader) astring() (string, bool) {
	switch r.peek() {
	case '"', '{', '~':
		return r.str()
	}
	s := r.scan(&astringStop)
	if s == "" {
		return "", r.fail("astring")
	}
	return s, true
}

// list reads "(" elem *(SP elem) ")"; elem returns false on error. Spaces
// are optional between elements and around the parentheses.
func (r *respReader) list(elem func() bool) bool {
	if !r.accept('(') {
		return r.fail("(")
	}
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > clientMaxDepth {
		return r.fail("lists nested less deeply")
	}
	for {
		for r.accept(' ') {
		}
		if r.accept(')') {
			return true
		}
		if r.err != nil || r.atEOL() {
			return r.fail(")")
		}
		if !elem() {
			return r.fail("list element")
		}
	}
}

// nilOrList reads NIL (returning false, true) or a list.
func (r *respReader) nilOrList(elem func() bool) (isList, ok bool) {
	if r.nilAtom() {
		return false, true
	}
	return true, r.list(elem)
}

// skipValue skips one value of any kind, including literals.
func (r *respReader) skipValue() bool {
	switch r.peek() {
	case '(':
		return r.list(r.skipValue)
	case '"', '{', '~':
		switch r.peek() {
		case '"':
			_, ok := r.quoted()
			return ok
		}
		n, ok := r.literalHeader()
		if !ok {
			return false
		}
		if _, err := r.br.Discard(int(n)); err != nil {
			return r.setErr(err)
		}
		return true
	}
	if r.err != nil {
		return false
	}
	tok := r.scan(&atomStop)
	for r.err == nil && r.peek() == '[' {
		r.br.Discard(1)
		tok += r.bracketed() + r.scan(&atomStop)
	}
	return r.err == nil && (tok != "" || r.fail("value"))
}

// bracketed reads up to and including "]" and returns the contents.
func (r *respReader) bracketed() string {
	s := r.scan(&bracketStop)
	r.expect(']')
	return s
}

var bracketStop [256]bool

func init() {
	bracketStop[']'] = true
	bracketStop['\r'] = true
	bracketStop['\n'] = true
}

// text reads the rest of the line, CRLF not included.
func (r *respReader) text() string { return r.scan(&eolStop) }

var eolStop [256]bool

func init() {
	eolStop['\r'] = true
	eolStop['\n'] = true
}

// discardLine skips to the end of the line, skipping literals announced
// at line ends. For resynchronising after an unknown response.
func (r *respReader) discardLine() bool {
	for r.err == nil {
		line, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return r.setErr(err)
		}
		s := strings.TrimRight(string(line), "\r\n")
		if strings.HasSuffix(s, "}") {
			if i := strings.LastIndexByte(s, '{'); i >= 0 {
				ns := strings.TrimSuffix(s[i+1:len(s)-1], "+")
				if n, err := strconv.ParseInt(ns, 10, 64); err == nil && n >= 0 {
					if _, err := r.br.Discard(int(n)); err != nil {
						return r.setErr(err)
					}
					continue
				}
			}
		}
		return true
	}
	return false
}

// flagList reads "(" flags ")"; an empty list is non-nil. The list is
// gathered in a reused scratch slice and copied out at its exact size:
// one allocation however many flags.
func (r *respReader) flagList() ([]Flag, bool) {
	ok := r.decode("flag list", func(d *wire.Decoder) bool { return d.FlagList(&r.flags) })
	flags := make([]Flag, len(r.flags))
	copy(flags, r.flags)
	clear(r.flags) // keep no strings alive through the scratch
	if cap(r.flags) > 256 {
		r.flags = nil
	}
	return flags, ok
}

// flag reads a flag, "\*" included.
func (r *respReader) flag() Flag {
	var f Flag
	r.decode("flag", func(d *wire.Decoder) bool { return d.Flag(&f) })
	return f
}

// numSet reads a sequence set.
func (r *respReader) numSet() (NumSet, bool) {
	var set NumSet
	ok := r.decode("sequence set", func(d *wire.Decoder) bool { return d.NumSet(&set) })
	return set, ok
}

// dateTime reads an INTERNALDATE value.
func (r *respReader) dateTime() (time.Time, bool) {
	var t time.Time
	ok := r.decode("date-time", func(d *wire.Decoder) bool { return d.DateTime(&t) })
	return t, ok
}
