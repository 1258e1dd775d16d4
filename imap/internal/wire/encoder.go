package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/utf7"
)

// MaxQuoted is the longest string the Encoder writes as a quoted string;
// longer ones become literals.
const MaxQuoted = 1024

// Encoder writes IMAP syntax to a buffered writer. Methods chain and
// keep the first error, returned by Err and Flush. Nothing reaches the
// peer until Flush.
type Encoder struct {
	// UTF8 allows UTF-8 in quoted strings and writes mailbox names in
	// UTF-8 rather than modified UTF-7 (UTF8=ACCEPT, IMAP4rev2).
	UTF8 bool
	// NonSync writes literals as {n+} (LITERAL+, RFC 7888).
	NonSync bool
	// LiteralMinus limits NonSync to literals of at most 4096 octets;
	// larger ones are synchronising (LITERAL-, RFC 7888 §4).
	LiteralMinus bool
	// OnSyncLiteral, when set, is called after a synchronising literal's
	// header has been written and flushed, before its contents: a client
	// waits here for the server's continuation request. Servers leave it
	// nil (their literals need no continuation).
	OnSyncLiteral func() error

	w   *bufio.Writer
	err error
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w *bufio.Writer) *Encoder { return &Encoder{w: w} }

// Err returns the first error.
func (e *Encoder) Err() error { return e.err }

// Flush sends what was written and returns the first error.
func (e *Encoder) Flush() error {
	if e.err != nil {
		return e.err
	}
	e.err = e.w.Flush()
	return e.err
}

func (e *Encoder) raw(s string) *Encoder {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
	return e
}

func (e *Encoder) byte(b byte) *Encoder {
	if e.err == nil {
		e.err = e.w.WriteByte(b)
	}
	return e
}

// SP writes a space.
func (e *Encoder) SP() *Encoder { return e.byte(' ') }

// CRLF ends a line.
func (e *Encoder) CRLF() *Encoder { return e.raw("\r\n") }

// Special writes one delimiter byte such as '(' or '['.
func (e *Encoder) Special(b byte) *Encoder { return e.byte(b) }

// Atom writes s as is; the caller guarantees it is an atom (commands,
// keywords, tags).
func (e *Encoder) Atom(s string) *Encoder { return e.raw(s) }

// Text writes free text (resp-text); CR and LF are replaced by spaces.
func (e *Encoder) Text(s string) *Encoder {
	if strings.ContainsAny(s, "\r\n\x00") {
		s = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return ' '
			}
			return r
		}, s)
	}
	return e.raw(s)
}

// Number writes a number.
func (e *Encoder) Number(n uint32) *Encoder { return e.Number64(uint64(n)) }

// Number64 writes a number64.
func (e *Encoder) Number64(n uint64) *Encoder {
	if e.err == nil {
		_, e.err = e.w.Write(strconv.AppendUint(e.w.AvailableBuffer(), n, 10))
	}
	return e
}

// NIL writes NIL.
func (e *Encoder) NIL() *Encoder { return e.raw("NIL") }

// needsLiteral reports whether s cannot be a quoted string.
func (e *Encoder) needsLiteral(s string) bool {
	if len(s) > MaxQuoted {
		return true
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return true
		case c >= 0x80:
			ascii = false
		}
	}
	return !ascii && (!e.UTF8 || !utf8.ValidString(s))
}

// Quoted writes s as a quoted string, escaping '"' and '\'. The caller
// guarantees s has no CR, LF or NUL (use String otherwise).
func (e *Encoder) Quoted(s string) *Encoder {
	e.byte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			e.byte('\\')
		}
		e.byte(s[i])
	}
	return e.byte('"')
}

// String writes s as a quoted string or, when it must, a literal. NUL
// cannot appear in an IMAP string (RFC 9051 §4.3): String drops it. Use
// Literal with binary set for data that may hold NUL.
func (e *Encoder) String(s string) *Encoder {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if e.needsLiteral(s) {
		return e.Literal(strings.NewReader(s), int64(len(s)), false)
	}
	return e.Quoted(s)
}

// AString writes s as an atom when it can, else as String does.
func (e *Encoder) AString(s string) *Encoder {
	if isAString(s) {
		return e.raw(s)
	}
	return e.String(s)
}

func isAString(s string) bool {
	if s == "" || len(s) > MaxQuoted || strings.EqualFold(s, "NIL") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !astringChar[s[i]] {
			return false
		}
	}
	return true
}

// NString writes s as a string, or NIL when s is "".
func (e *Encoder) NString(s string) *Encoder {
	if s == "" {
		return e.NIL()
	}
	return e.String(s)
}

// Literal writes a literal of size octets read from r: "{size}" (or
// "{size+}" with NonSync, "~{size}" when binary), CRLF, then the
// contents. For a synchronising literal with OnSyncLiteral set, the
// header is flushed and the hook called before the contents. r must
// yield exactly size octets.
func (e *Encoder) Literal(r io.Reader, size int64, binary bool) *Encoder {
	if binary {
		e.byte('~')
	}
	e.byte('{').Number64(uint64(size))
	sync := !e.NonSync || e.LiteralMinus && size > LiteralMinusMax
	if !sync {
		e.byte('+')
	}
	e.raw("}\r\n")
	if sync && e.OnSyncLiteral != nil {
		if e.Flush() == nil {
			if err := e.OnSyncLiteral(); err != nil && e.err == nil {
				e.err = err
			}
		}
	}
	if e.err != nil {
		return e
	}
	n, err := io.CopyN(e.w, r, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("imap: literal shorter than its size: %d < %d octets", n, size)
		}
		e.err = err
	}
	return e
}

// List writes "(" elems separated by SP ")", calling elem n times.
func (e *Encoder) List(n int, elem func(i int)) *Encoder {
	e.byte('(')
	for i := 0; i < n; i++ {
		if i > 0 {
			e.byte(' ')
		}
		elem(i)
	}
	return e.byte(')')
}

// Flag writes a flag. Flags that are not atoms (after an optional
// leading backslash) are refused with an error rather than sent.
func (e *Encoder) Flag(f Flag) *Encoder {
	s := string(f)
	if f == flagWildcard {
		return e.raw(s)
	}
	name := strings.TrimPrefix(s, `\`)
	for i := 0; i < len(name); i++ {
		if !atomChar[name[i]] {
			name = ""
			break
		}
	}
	if name == "" {
		if e.err == nil {
			e.err = fmt.Errorf("imap: invalid flag %q", s)
		}
		return e
	}
	return e.raw(s)
}

// FlagList writes a parenthesized flag list.
func (e *Encoder) FlagList(flags []Flag) *Encoder {
	return e.List(len(flags), func(i int) { e.Flag(flags[i]) })
}

// NumSet writes a sequence set (or "$"). An empty set is an error.
func (e *Encoder) NumSet(s NumSet) *Encoder {
	if s.IsEmpty() {
		if e.err == nil {
			e.err = errors.New("imap: empty sequence set")
		}
		return e
	}
	return e.raw(s.String())
}

// Mailbox writes a mailbox name, in modified UTF-7 unless UTF8 is set.
// Names with CR or LF are refused.
func (e *Encoder) Mailbox(name string) *Encoder {
	if strings.ContainsAny(name, "\r\n\x00") {
		if e.err == nil {
			e.err = fmt.Errorf("imap: invalid mailbox name %q", name)
		}
		return e
	}
	if strings.EqualFold(name, "INBOX") {
		return e.raw("INBOX")
	}
	if !e.UTF8 {
		name = utf7.Encode(name)
	}
	return e.AString(name)
}

// DateTime writes a date-time: "17-Jul-1996 02:44:25 -0700".
func (e *Encoder) DateTime(t time.Time) *Encoder {
	return e.raw(t.Format(`"02-Jan-2006 15:04:05 -0700"`))
}

// Date writes a date: 17-Jul-1996.
func (e *Encoder) Date(t time.Time) *Encoder { return e.raw(t.Format("2-Jan-2006")) }

// Section writes "[" section "]", with header field names as astrings.
func (e *Encoder) Section(s Section) *Encoder {
	e.byte('[')
	for i, n := range s.Path {
		if i > 0 {
			e.byte('.')
		}
		e.Number(uint32(n))
	}
	if s.Specifier != PartAll {
		if len(s.Path) > 0 {
			e.byte('.')
		}
		e.raw(string(s.Specifier))
	}
	if s.Specifier == PartHeaderFields || s.Specifier == PartHeaderFieldsNot {
		e.SP().List(len(s.Fields), func(i int) { e.AString(s.Fields[i]) })
	}
	return e.byte(']')
}

// FetchItem writes a fetch attribute as a FETCH command sends it.
func (e *Encoder) FetchItem(f FetchItem) *Encoder {
	if f.Section == nil {
		return e.raw(f.Name)
	}
	e.raw(f.Name)
	if f.Peek {
		e.raw(".PEEK")
	}
	e.Section(*f.Section)
	if f.Partial != nil {
		e.byte('<').Number(f.Partial.Offset).byte('.').Number(f.Partial.Count).byte('>')
	}
	return e
}

// SearchKey writes a search key tree as a SEARCH command sends it; an
// "AND" key at the top is written as its keys separated by spaces.
func (e *Encoder) SearchKey(k SearchKey) *Encoder {
	if k.Key == "AND" {
		for i, sub := range k.Keys {
			if i > 0 {
				e.SP()
			}
			e.searchKey(sub)
		}
		return e
	}
	return e.searchKey(k)
}

func (e *Encoder) searchKey(k SearchKey) *Encoder {
	switch k.Key {
	case "AND":
		return e.List(len(k.Keys), func(i int) { e.searchKey(k.Keys[i]) })
	case "SEQSET":
		return e.NumSet(k.Set)
	}
	kind, ok := searchKeyArgs[k.Key]
	if !ok {
		if e.err == nil {
			e.err = fmt.Errorf("imap: unknown search key %q", k.Key)
		}
		return e
	}
	e.raw(k.Key)
	if kind == 0 {
		return e
	}
	e.SP()
	switch kind {
	case 's':
		e.AString(k.Str)
	case 'd':
		e.Date(k.Date)
	case 'f':
		e.Flag(k.Flag)
	case 'n', 'z':
		e.Number64(k.Num)
	case 'h':
		e.AString(k.Field).SP().AString(k.Str)
	case 'u':
		e.NumSet(k.Set)
	case 'm':
		if k.Field != "" {
			e.Quoted(k.Field).SP().raw(k.Str).SP()
		}
		e.Number64(k.Num)
	case '1', '2':
		if len(k.Keys) != int(kind-'0') {
			if e.err == nil {
				e.err = fmt.Errorf("imap: %s takes %c keys", k.Key, kind)
			}
			return e
		}
		e.searchKey(k.Keys[0])
		if kind == '2' {
			e.SP().searchKey(k.Keys[1])
		}
	}
	return e
}
