package wire

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/posthorn/posthorn/internal/utf7"
)

// Default limits of a Decoder.
const (
	DefaultMaxLine    = 8192 // RFC 7162 §4 recommends at least 8192
	DefaultMaxLiteral = 4096 // in-memory literals outside APPEND
	DefaultMaxDepth   = 64
	LiteralMinusMax   = 4096 // RFC 7888 §4
)

// Decoder reads IMAP syntax. Methods are named after the rules of the
// RFC 9051 §9 grammar. See the package documentation for the sticky
// error and the limits.
type Decoder struct {
	// MaxLine bounds the bytes of one line, literal contents excluded,
	// and the length of any single token. 0 → DefaultMaxLine; <0 → none.
	MaxLine int
	// MaxLiteral bounds a literal read into memory (String, AString...).
	// 0 → DefaultMaxLiteral; <0 → none. LiteralReader has its own bound.
	MaxLiteral int64
	// MaxDepth bounds nested parentheses, and NOT/OR chains in search
	// keys. 0 → DefaultMaxDepth; <0 → none.
	MaxDepth int
	// LiteralMinus refuses non-synchronising literals above 4096 octets
	// (RFC 7888 LITERAL-).
	LiteralMinus bool
	// UTF8 is set once UTF8=ACCEPT or IMAP4rev2 is enabled: mailbox
	// names are then UTF-8 rather than modified UTF-7 (RFC 6855 §3).
	UTF8 bool
	// OnLiteral, when set, is called after a literal's header "{n}" has
	// been read and accepted by the limits, before its contents are read.
	// For a synchronising literal a server writes its continuation
	// request here ("+ go ahead") and flushes. A non-nil error refuses
	// the literal: it becomes the decoder's error, wrapped in a
	// *LiteralError.
	OnLiteral func(size int64, nonSync bool) error

	r       *bufio.Reader
	err     error
	line    int
	depth   int
	pending *io.LimitedReader
	buf     []byte
	vstack  []Value // list elements being read by Value
	env     envScratch

	noEnvelopeFastPath bool // tests: Envelope always takes the general path
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r *bufio.Reader) *Decoder { return &Decoder{r: r} }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Reader returns the underlying reader (for STARTTLS handover and the
// like). Any streamed literal is drained first.
func (d *Decoder) Reader() *bufio.Reader {
	d.drain()
	return d.r
}

// ClearErr forgets the sticky error and the line counters so that the
// next command can be read, after a server answered a bad one.
func (d *Decoder) ClearErr() {
	d.err = nil
	d.line = 0
	d.depth = 0
}

func (d *Decoder) maxLine() int {
	if d.MaxLine == 0 {
		return DefaultMaxLine
	}
	return d.MaxLine
}

func (d *Decoder) maxLiteral() int64 {
	if d.MaxLiteral == 0 {
		return DefaultMaxLiteral
	}
	return d.MaxLiteral
}

func (d *Decoder) maxDepth() int {
	if d.MaxDepth == 0 {
		return DefaultMaxDepth
	}
	return d.MaxDepth
}

// Fail records a syntax error saying what was expected, unless an error
// is already recorded. It returns false for use in && chains.
func (d *Decoder) Fail(expected string) bool {
	if d.err == nil {
		d.err = &SyntaxError{Msg: "expected " + expected}
	}
	return false
}

func (d *Decoder) setErr(err error) bool {
	if d.err == nil {
		d.err = err
	}
	return false
}

// drain discards what the caller left of a streamed literal.
func (d *Decoder) drain() {
	if d.pending != nil {
		if _, err := io.Copy(io.Discard, d.pending); err != nil {
			d.setErr(err)
		}
		d.pending = nil
	}
}

// peek returns the next byte without consuming it. The common case (no
// error, no streamed literal left, a byte buffered) costs one call into
// bufio; peekSlow does the rest.
func (d *Decoder) peek() (byte, bool) {
	if d.err == nil && d.pending == nil && d.r.Buffered() > 0 {
		b, _ := d.r.Peek(1)
		return b[0], true
	}
	return d.peekSlow()
}

func (d *Decoder) peekSlow() (byte, bool) {
	if d.err != nil {
		return 0, false
	}
	d.drain()
	b, err := d.r.Peek(1)
	if err != nil {
		if err == io.EOF && d.line > 0 {
			err = io.ErrUnexpectedEOF
		}
		d.setErr(err)
		return 0, false
	}
	return b[0], true
}

// advance consumes n bytes already peeked.
func (d *Decoder) advance(n int) bool {
	d.r.Discard(n)
	d.line += n
	if m := d.maxLine(); m > 0 && d.line > m {
		return d.setErr(&SyntaxError{Msg: "line", Err: ErrLineTooLong})
	}
	return true
}

// accept consumes b if it is next.
func (d *Decoder) accept(b byte) bool {
	if d.err == nil && d.pending == nil && d.r.Buffered() > 0 {
		if p, _ := d.r.Peek(1); p[0] != b {
			return false
		}
		return d.advance(1)
	}
	c, ok := d.peekSlow()
	return ok && c == b && d.advance(1)
}

// scan consumes the longest run of bytes in class and returns it. The
// slice is valid until the next call.
func (d *Decoder) scan(class *[256]bool) []byte {
	d.buf = d.scanAppend(d.buf[:0], class)
	return d.buf
}

// scanAppend consumes the longest run of bytes in class, appending them
// to dst. On an error other than EOF it returns nil.
func (d *Decoder) scanAppend(dst []byte, class *[256]bool) []byte {
	for {
		if _, ok := d.peek(); !ok {
			if d.err == io.EOF || d.err == io.ErrUnexpectedEOF {
				return dst // a token may end the input
			}
			return nil
		}
		chunk, _ := d.r.Peek(d.r.Buffered())
		i := 0
		for i < len(chunk) && class[chunk[i]] {
			i++
		}
		dst = append(dst, chunk[:i]...)
		if !d.advance(i) {
			return nil
		}
		if i < len(chunk) {
			return dst
		}
	}
}

// acceptFold consumes the ASCII word w (case-insensitive) if it is next
// and not followed by another atom character.
func (d *Decoder) acceptFold(w string) bool {
	if _, ok := d.peek(); !ok {
		return false
	}
	b, _ := d.r.Peek(len(w) + 1)
	if len(b) < len(w) || !strings.EqualFold(string(b[:len(w)]), w) {
		return false
	}
	if len(b) > len(w) && atomChar[b[len(w)]] {
		return false
	}
	return d.advance(len(w))
}

// SP consumes a space.
func (d *Decoder) SP() bool { return d.accept(' ') }

// ExpectSP consumes a space or fails.
func (d *Decoder) ExpectSP() bool { return d.SP() || d.Fail("SP") }

// Special consumes the byte b if it is next.
func (d *Decoder) Special(b byte) bool { return d.accept(b) }

// ExpectSpecial consumes b or fails.
func (d *Decoder) ExpectSpecial(b byte) bool { return d.accept(b) || d.Fail(quoteByte(b)) }

func quoteByte(b byte) string { return `"` + string(rune(b)) + `"` }

// AtEOL reports whether the next bytes are CRLF (or a bare LF).
func (d *Decoder) AtEOL() bool {
	c, ok := d.peek()
	return ok && (c == '\r' || c == '\n')
}

// CRLF consumes the end of a line and resets the line counters. A bare
// LF is accepted too (RFC 9051 §2.2 asks for CRLF, but many clients and
// test tools send LF).
func (d *Decoder) CRLF() bool {
	if d.accept('\r') {
		if !d.accept('\n') {
			return d.Fail("LF after CR")
		}
	} else if !d.accept('\n') {
		return false
	}
	d.line = 0
	d.depth = 0
	return true
}

// ExpectCRLF consumes the end of a line or fails.
func (d *Decoder) ExpectCRLF() bool { return d.CRLF() || d.Fail("CRLF") }

// Atom reads an atom.
func (d *Decoder) Atom(s *string) bool {
	b := d.scan(&atomChar)
	if len(b) == 0 {
		return false
	}
	*s = string(b)
	return true
}

// ExpectAtom reads an atom or fails.
func (d *Decoder) ExpectAtom(s *string) bool { return d.Atom(s) || d.Fail("atom") }

// Keyword reads an atom and returns it in upper case, for commands,
// response names and fetch items.
func (d *Decoder) Keyword(s *string) bool {
	b := d.scan(&atomChar)
	if len(b) == 0 {
		return false
	}
	*s = upperASCII(b)
	return true
}

// Tag reads a command tag (RFC 9051 §9: 1*<any ASTRING-CHAR except "+">).
func (d *Decoder) Tag(s *string) bool {
	b := d.scan(&tagChar)
	if len(b) == 0 {
		return false
	}
	*s = string(b)
	return true
}

// ExpectTag reads a tag or fails.
func (d *Decoder) ExpectTag(s *string) bool { return d.Tag(s) || d.Fail("tag") }

// Number reads a number (32-bit, RFC 9051 §9).
func (d *Decoder) Number(n *uint32) bool {
	var v uint64
	if !d.number(&v, 1<<32-1) {
		return false
	}
	*n = uint32(v)
	return true
}

// ExpectNumber reads a number or fails.
func (d *Decoder) ExpectNumber(n *uint32) bool { return d.Number(n) || d.Fail("number") }

// ExpectNzNumber reads a non-zero number or fails.
func (d *Decoder) ExpectNzNumber(n *uint32) bool {
	return d.Number(n) && (*n != 0 || d.Fail("non-zero number")) || d.Fail("number")
}

// Number64 reads a number64 (0 to 2^63-1, RFC 9051 §9).
func (d *Decoder) Number64(n *uint64) bool { return d.number(n, 1<<63-1) }

// ExpectNumber64 reads a number64 or fails.
func (d *Decoder) ExpectNumber64(n *uint64) bool { return d.Number64(n) || d.Fail("number") }

func (d *Decoder) number(n *uint64, max uint64) bool {
	b := d.scan(&digit)
	if len(b) == 0 {
		return false
	}
	if len(b) > 19 {
		return d.Fail("number in range")
	}
	var v uint64
	for _, c := range b {
		v = v*10 + uint64(c-'0')
	}
	if v > max {
		return d.Fail("number in range")
	}
	*n = v
	return true
}

// NIL consumes the atom NIL.
func (d *Decoder) NIL() bool { return d.acceptFold("NIL") }

// atNIL is NIL, looking further only when the next byte is N or n: where
// a string or NIL may come, strings are the common case.
func (d *Decoder) atNIL() bool {
	c, ok := d.peek()
	return ok && (c == 'N' || c == 'n') && d.NIL()
}

// Quoted reads a quoted string.
func (d *Decoder) Quoted(s *string) bool {
	b, ok := d.quotedAppend(d.buf[:0])
	if b != nil {
		d.buf = b
	}
	if ok {
		*s = string(b)
	}
	return ok
}

// quotedAppend reads a quoted string, appending its contents (escapes
// removed) to dst. When no quoted string is next it returns (nil,
// false) without consuming anything.
func (d *Decoder) quotedAppend(dst []byte) ([]byte, bool) {
	if !d.accept('"') {
		return nil, false
	}
	// Fast path: the rest of the string is buffered and has no escape.
	buf, _ := d.r.Peek(d.r.Buffered())
	for i, c := range buf {
		if !quotedChar[c] {
			if c != '"' {
				break
			}
			dst = append(dst, buf[:i]...)
			if !d.advance(i + 1) {
				return nil, false
			}
			return dst, true
		}
	}
	for {
		dst = d.scanAppend(dst, &quotedChar)
		c, ok := d.peek()
		if !ok {
			return nil, false
		}
		switch c {
		case '"':
			return dst, d.advance(1)
		case '\\':
			d.advance(1)
			c, ok = d.peek()
			if !ok || (c != '"' && c != '\\') {
				return nil, d.Fail(`quoted-special after "\"`)
			}
			dst = append(dst, c)
			if !d.advance(1) {
				return nil, false
			}
		default:
			return nil, d.Fail(`closing DQUOTE`)
		}
	}
}

// String reads a string: quoted or literal ({n}, {n+}).
func (d *Decoder) String(s *string) bool {
	return d.Quoted(s) || d.literalString(s, false)
}

// ExpectString reads a string or fails.
func (d *Decoder) ExpectString(s *string) bool { return d.String(s) || d.Fail("string") }

// String8 reads a string that may also be a literal8 (~{n}, RFC 3516).
func (d *Decoder) String8(s *string) bool {
	return d.Quoted(s) || d.literalString(s, true)
}

// AString reads an astring: atom (with "]" allowed) or string.
func (d *Decoder) AString(s *string) bool {
	if d.String(s) {
		return true
	}
	if d.err != nil {
		return false
	}
	b := d.scan(&astringChar)
	if len(b) == 0 {
		return false
	}
	*s = string(b)
	return true
}

// ExpectAString reads an astring or fails.
func (d *Decoder) ExpectAString(s *string) bool { return d.AString(s) || d.Fail("astring") }

// NString reads an nstring; NIL gives "" and isNil true.
func (d *Decoder) NString(s *string) (ok, isNil bool) {
	if d.atNIL() {
		*s = ""
		return true, true
	}
	return d.String(s), false
}

// ExpectNString reads an nstring (NIL → "") or fails.
func (d *Decoder) ExpectNString(s *string) bool {
	ok, _ := d.NString(s)
	return ok || d.Fail("nstring")
}

// literalHeader reads "{n}" / "{n+}" / "~{n}" and CRLF, checks max and
// calls OnLiteral. It reports whether a literal follows.
func (d *Decoder) literalHeader(allowBinary bool, max int64) (size int64, nonSync, binary, ok bool) {
	c, ok := d.peek()
	if !ok {
		return 0, false, false, false
	}
	if c == '~' {
		if !allowBinary {
			return 0, false, false, false
		}
		if b, _ := d.r.Peek(2); len(b) < 2 || b[1] != '{' {
			return 0, false, false, false
		}
		d.advance(1)
		binary = true
	}
	if !d.accept('{') {
		return 0, false, false, false
	}
	var n uint64
	if !d.Number64(&n) {
		return 0, false, false, d.Fail("literal size")
	}
	nonSync = d.accept('+')
	if !d.ExpectSpecial('}') || !(d.accept('\r') && d.accept('\n') || d.Fail("CRLF after literal size")) {
		return 0, false, false, false
	}
	size = int64(n)
	lit := &LiteralError{Size: size, NonSync: nonSync, Binary: binary}
	if max >= 0 && size > max || d.LiteralMinus && nonSync && size > LiteralMinusMax {
		lit.Err = ErrTooBig
		return 0, false, false, d.setErr(lit)
	}
	if d.OnLiteral != nil {
		if err := d.OnLiteral(size, nonSync); err != nil {
			lit.Err = err
			return 0, false, false, d.setErr(lit)
		}
	}
	return size, nonSync, binary, true
}

func (d *Decoder) literalString(s *string, allowBinary bool) bool {
	b, ok := d.literalAppend(d.buf[:0], allowBinary)
	if !ok {
		return false
	}
	*s = string(b)
	if d.buf = b; cap(d.buf) > 64<<10 {
		d.buf = nil // do not keep a large literal's buffer
	}
	return true
}

// readAppend appends n bytes read from r to dst. It grows dst as the
// bytes arrive, never by more than 64 KiB ahead of them, so that a size
// announced by the peer is not trusted with memory before it is sent.
// A short input is io.ErrUnexpectedEOF.
func readAppend(r io.Reader, dst []byte, n int64) ([]byte, error) {
	for n > 0 {
		k := int(min(n, 64<<10))
		dst = slices.Grow(dst, k)
		m, err := io.ReadFull(r, dst[len(dst):len(dst)+k])
		dst = dst[:len(dst)+m]
		n -= int64(m)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	return dst, nil
}

// Literal describes a literal handed out by LiteralReader.
type Literal struct {
	Size    int64
	NonSync bool // {n+}
	Binary  bool // ~{n}: may contain NUL (RFC 3516)
}

// LiteralReader reads a literal header ({n}, {n+} or ~{n}) of at most
// max octets (<0: no bound) and returns the contents as a reader limited
// to Size bytes, for streaming an APPEND into the store. Whatever the
// caller does not read is discarded by the next decoder call. The
// reader is valid until then.
func (d *Decoder) LiteralReader(max int64) (io.Reader, Literal, bool) {
	line := d.line
	size, nonSync, binary, ok := d.literalHeader(true, max)
	if !ok {
		return nil, Literal{}, false
	}
	d.pending = &io.LimitedReader{R: d.r, N: size}
	d.line = line + 1
	return &literalReader{d.pending}, Literal{Size: size, NonSync: nonSync, Binary: binary}, true
}

// literalReader turns a short read into io.ErrUnexpectedEOF.
type literalReader struct{ lr *io.LimitedReader }

func (r *literalReader) Read(p []byte) (int, error) {
	n, err := r.lr.Read(p)
	if err == io.EOF && r.lr.N > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Skip discards n octets, the contents of a refused non-synchronising
// literal, and clears the error so decoding can resume (usually with
// DiscardLine, since the command's line goes on after the literal).
func (d *Decoder) Skip(n int64) error {
	if _, err := io.CopyN(io.Discard, d.r, n); err != nil {
		return err
	}
	d.err = nil
	return nil
}

// AtLiteral reports whether a literal ({n}, {n+} or ~{n}) comes next,
// so that a client can stream it with LiteralReader instead of reading
// it into memory.
func (d *Decoder) AtLiteral() bool {
	c, ok := d.peek()
	if !ok {
		return false
	}
	if c == '~' {
		b, _ := d.r.Peek(2)
		return len(b) == 2 && b[1] == '{'
	}
	return c == '{'
}

// DiscardLine skips to the end of the current line, for recovery after
// an error. Non-synchronising literals ending a line are skipped when no
// larger than MaxLiteral; a larger one, or more than 1 MiB of line,
// returns an error (the caller should close the connection). It clears
// the sticky error unless it was an I/O error.
//
// Do not call it after a refused synchronising literal: the line ended
// with the literal's header and the client sends nothing more; ClearErr
// is enough.
func (d *Decoder) DiscardLine() error {
	d.drain()
	if prev := d.err; prev != nil {
		var se *SyntaxError
		var le *LiteralError
		if !errors.As(prev, &se) && !errors.As(prev, &le) {
			return prev
		}
	}
	d.err = nil
	var tail []byte
	skipped := 0
	for {
		b, err := d.r.ReadSlice('\n')
		if skipped += len(b); skipped > maxDiscard {
			return &SyntaxError{Msg: "line", Err: ErrLineTooLong}
		}
		if err == bufio.ErrBufferFull {
			tail = append(tail[:0], b[max(0, len(b)-24):]...)
			continue
		}
		if err != nil {
			return err
		}
		tail = append(tail, b...)
		if n, ok := nonSyncTail(tail); ok {
			if m := d.maxLiteral(); m >= 0 && n > m {
				return &LiteralError{Size: n, NonSync: true, Err: ErrTooBig}
			}
			if err := d.Skip(n); err != nil {
				return err
			}
			tail = tail[:0]
			continue
		}
		break
	}
	d.ClearErr()
	return nil
}

// maxDiscard bounds what DiscardLine reads looking for the line's end.
const maxDiscard = 1 << 20

// nonSyncTail reports whether a line ends with "{n+}\r\n" and returns n.
func nonSyncTail(line []byte) (int64, bool) {
	s := strings.TrimRight(string(line), "\r\n")
	if !strings.HasSuffix(s, "+}") {
		return 0, false
	}
	i := strings.LastIndexByte(s, '{')
	if i < 0 {
		return 0, false
	}
	digits := s[i+1 : len(s)-2]
	if digits == "" || len(digits) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// List reads "(" elem *(SP elem) ")" or "()", calling elem for each
// element; elem returns false to stop with the decoder's error.
func (d *Decoder) List(elem func() bool) bool {
	if !d.accept('(') {
		return false
	}
	d.depth++
	if m := d.maxDepth(); m > 0 && d.depth > m {
		return d.setErr(&SyntaxError{Msg: "parenthesized list", Err: ErrTooDeep})
	}
	defer func() { d.depth-- }()
	if d.accept(')') {
		return true
	}
	for {
		if !elem() {
			return d.Fail("list element")
		}
		if d.accept(')') {
			return true
		}
		// Address lists have no SP between elements: "(" 1*address ")".
		if c, ok := d.peek(); ok && c == '(' {
			continue
		}
		if !d.ExpectSP() {
			return false
		}
	}
}

// ExpectList reads a list or fails.
func (d *Decoder) ExpectList(elem func() bool) bool { return d.List(elem) || d.Fail("list") }

// Flag reads a flag: "\" atom (system flag or extension), "\*" (in
// PERMANENTFLAGS), or a keyword atom.
func (d *Decoder) Flag(f *Flag) bool {
	if d.accept('\\') {
		if d.accept('*') {
			*f = flagWildcard
			return true
		}
		b := d.scan(&atomChar)
		if len(b) == 0 {
			return d.Fail("flag name")
		}
		if s, ok := systemFlag(b); ok {
			*f = s
		} else {
			*f = Flag(`\` + string(b))
		}
		return true
	}
	b := d.scan(&atomChar)
	if len(b) == 0 {
		return false
	}
	if s, ok := commonKeyword(b); ok {
		*f = s
	} else {
		*f = Flag(b)
	}
	return true
}

// ExpectFlag reads a flag or fails.
func (d *Decoder) ExpectFlag(f *Flag) bool { return d.Flag(f) || d.Fail("flag") }

// FlagList reads "(" [flag *(SP flag)] ")".
func (d *Decoder) FlagList(fs *[]Flag) bool {
	*fs = (*fs)[:0]
	return d.List(func() bool {
		var f Flag
		if !d.ExpectFlag(&f) {
			return false
		}
		*fs = append(*fs, f)
		return true
	})
}

// ExpectFlagList reads a flag list or fails.
func (d *Decoder) ExpectFlagList(fs *[]Flag) bool {
	return d.FlagList(fs) || d.Fail("flag list")
}

// NumSet reads a sequence-set or "$" (RFC 5182).
func (d *Decoder) NumSet(s *NumSet) bool {
	b := d.scan(&seqSetChar)
	if len(b) == 0 {
		return false
	}
	set, err := ParseNumSet(string(b))
	if err != nil {
		return d.Fail("sequence set")
	}
	*s = set
	return true
}

// ExpectNumSet reads a sequence set or fails.
func (d *Decoder) ExpectNumSet(s *NumSet) bool { return d.NumSet(s) || d.Fail("sequence set") }

// Mailbox reads a mailbox name (astring). "INBOX" in any case becomes
// "INBOX"; without UTF8 the name is decoded from modified UTF-7, and an
// invalid encoding is a syntax error.
func (d *Decoder) Mailbox(name *string) bool {
	var s string
	if !d.AString(&s) {
		return false
	}
	return d.mailboxName(s, name)
}

func (d *Decoder) mailboxName(s string, name *string) bool {
	if strings.EqualFold(s, "INBOX") {
		*name = "INBOX"
		return true
	}
	if !d.UTF8 {
		dec, err := utf7.Decode(s)
		if err != nil {
			return d.Fail("mailbox name in modified UTF-7")
		}
		s = dec
	}
	*name = s
	return true
}

// ExpectMailbox reads a mailbox name or fails.
func (d *Decoder) ExpectMailbox(name *string) bool { return d.Mailbox(name) || d.Fail("mailbox") }

// ListMailbox reads a LIST pattern: list-mailbox = 1*list-char / string
// (wildcards "%" and "*" kept), decoded like Mailbox.
func (d *Decoder) ListMailbox(pat *string) bool {
	var s string
	if !d.String(&s) {
		if d.err != nil {
			return false
		}
		b := d.scan(&listChar)
		if len(b) == 0 {
			return false
		}
		s = string(b)
	}
	if !d.UTF8 {
		dec, err := utf7.Decode(s)
		if err != nil {
			return d.Fail("mailbox pattern in modified UTF-7")
		}
		s = dec
	}
	*pat = s
	return true
}

// Text reads the rest of the line up to, not including, CRLF (resp-text
// after the code, or a continuation's text).
func (d *Decoder) Text(s *string) bool {
	b := d.scan(&textChar)
	*s = string(b)
	return d.err == nil
}

func upperASCII(b []byte) string {
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			u := make([]byte, len(b))
			for i, c := range b {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				u[i] = c
			}
			return string(u)
		}
	}
	return string(b)
}
