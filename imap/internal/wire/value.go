package wire

import (
	"strings"
)

// Kind is the kind of a generic Value.
type Kind uint8

// Value kinds.
const (
	KindAtom   Kind = iota + 1 // includes tokens such as \Seen and BODY[1.2]<0>
	KindNumber                 // digits only, value in Num
	KindString                 // quoted or literal
	KindNIL
	KindList
)

// Value is a generic IMAP s-expression element, for responses that have
// no typed decoder and for checking rendered output.
type Value struct {
	Kind Kind
	Str  string
	Num  uint64
	List []Value
}

// Equal reports whether v and w are the same value.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind || v.Str != w.Str || v.Num != w.Num || len(v.List) != len(w.List) {
		return false
	}
	for i := range v.List {
		if !v.List[i].Equal(w.List[i]) {
			return false
		}
	}
	return true
}

// Value reads one generic value: a list, a string (quoted, literal or
// literal8), NIL, a number, or an atom-like token. A token may carry a
// bracketed part with spaces, as in BODY[HEADER.FIELDS (From)]<0>.
func (d *Decoder) Value(v *Value) bool {
	c, ok := d.peek()
	if !ok {
		return false
	}
	*v = Value{}
	switch c {
	case '(':
		// Elements collect on a stack shared by all levels, then move to
		// a slice of the exact size: one allocation per list.
		v.Kind = KindList
		base := len(d.vstack)
		ok := d.List(func() bool {
			var e Value
			if !d.Value(&e) {
				return false
			}
			d.vstack = append(d.vstack, e)
			return true
		})
		v.List = make([]Value, len(d.vstack)-base)
		copy(v.List, d.vstack[base:])
		clear(d.vstack[base:])
		d.vstack = d.vstack[:base]
		return ok
	case '"', '{', '~':
		v.Kind = KindString
		return d.String8(&v.Str) || d.Fail("string")
	}
	tok := d.scan(&tokenChar)
	if d.err != nil {
		return false
	}
	if c, ok := d.peek(); ok && c == '[' {
		return d.bracketToken(v, string(tok))
	}
	if len(tok) == 0 {
		return false
	}
	switch {
	case len(tok) == 3 && (tok[0]|0x20) == 'n' && (tok[1]|0x20) == 'i' && (tok[2]|0x20) == 'l':
		v.Kind = KindNIL
	case len(tok) <= 19 && isDigits(tok):
		var n uint64
		for _, c := range tok {
			n = n*10 + uint64(c-'0')
		}
		v.Kind = KindNumber
		v.Num = n
	default:
		v.Kind = KindAtom
		if a, ok := commonAtoms[string(tok)]; ok {
			v.Str = a // no allocation for the usual response atoms
		} else {
			v.Str = string(tok)
		}
	}
	return true
}

var commonAtoms = map[string]string{}

func init() {
	for _, a := range []string{"FETCH", "FLAGS", "UID", "ENVELOPE", "BODY", "BODYSTRUCTURE",
		"INTERNALDATE", "RFC822.SIZE", "RFC822", "RFC822.HEADER", "RFC822.TEXT", "MODSEQ",
		"EXISTS", "RECENT", "EXPUNGE", "SEARCH", "ESEARCH", "LIST", "LSUB", "STATUS",
		"CAPABILITY", "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE", "VANISHED",
		"BODY[]", "BODY[HEADER]", "BODY[TEXT]", "BINARY", "SAVEDATE", "ENABLED", "NAMESPACE",
		`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, `\Recent`, `\*`,
		`\HasChildren`, `\HasNoChildren`, `\Noselect`, `\Noinferiors`, `\Subscribed`,
		`\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`, `\All`, `\Flagged`} {
		commonAtoms[a] = a
	}
}

// bracketToken reads the rest of a token with bracketed parts, such as
// BODY[HEADER.FIELDS (From)]<0>.
func (d *Decoder) bracketToken(v *Value, prefix string) bool {
	b := []byte(prefix)
	for {
		c, ok := d.peek()
		if !ok || c != '[' {
			break
		}
		d.advance(1)
		b = append(b, '[')
		b = append(b, d.scan(&bracketChar)...)
		if !d.ExpectSpecial(']') {
			return false
		}
		b = append(b, ']')
		b = append(b, d.scan(&tokenChar)...)
	}
	if d.err != nil {
		return false
	}
	v.Kind = KindAtom
	v.Str = string(b)
	return true
}

func isDigits(s []byte) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) > 0
}

// Value writes a generic value.
func (e *Encoder) Value(v Value) *Encoder {
	switch v.Kind {
	case KindList:
		return e.List(len(v.List), func(i int) { e.Value(v.List[i]) })
	case KindString:
		if strings.IndexByte(v.Str, 0) >= 0 {
			return e.Literal(strings.NewReader(v.Str), int64(len(v.Str)), true)
		}
		return e.String(v.Str)
	case KindNIL:
		return e.NIL()
	case KindNumber:
		return e.Number64(v.Num)
	}
	return e.raw(v.Str)
}

// Response is one server response line in generic form.
type Response struct {
	// Tag is "*" for untagged responses, "+" for a continuation request,
	// else the command tag.
	Tag string
	// Status is set for status responses (OK, NO, BAD, BYE, PREAUTH),
	// with optional Code, CodeArg and Text. A continuation has only Text.
	Status  StatusType
	Code    ResponseCode
	CodeArg string
	Text    string
	// Fields holds the values of an untagged data response, e.g.
	// "12", "FETCH", (FLAGS (\Seen)).
	Fields []Value
}

// Response reads one response line, CRLF included.
func (d *Decoder) Response(r *Response) bool {
	*r = Response{}
	switch {
	case d.accept('+'):
		r.Tag = "+"
		if d.SP() {
			d.respText(r)
		}
		return d.ExpectCRLF()
	case d.accept('*'):
		r.Tag = "*"
	case d.AtEOL():
		return d.Fail("tag")
	default:
		if !d.ExpectTag(&r.Tag) {
			return false
		}
	}
	if !d.ExpectSP() {
		return false
	}
	if st, ok := d.status(); ok {
		r.Status = st
		if d.SP() {
			d.respText(r)
		}
		return d.ExpectCRLF()
	}
	if r.Tag != "*" {
		return d.Fail("status")
	}
	base := len(d.vstack)
	defer func() {
		r.Fields = make([]Value, len(d.vstack)-base)
		copy(r.Fields, d.vstack[base:])
		clear(d.vstack[base:])
		d.vstack = d.vstack[:base]
	}()
	for {
		var v Value
		if !d.Value(&v) {
			return d.Fail("response data")
		}
		d.vstack = append(d.vstack, v)
		if d.CRLF() {
			return true
		}
		if !d.ExpectSP() {
			return false
		}
		// Free text after the fields (e.g. "* 2 FETCH (...)" has none,
		// but "* CAPABILITY" lists may end with SP); tolerate a trailing
		// SP before CRLF.
		if d.CRLF() {
			return true
		}
	}
}

func (d *Decoder) status() (StatusType, bool) {
	for _, st := range []StatusType{StatusType("OK"), StatusType("NO"), StatusType("BAD"), StatusType("BYE"), StatusType("PREAUTH")} {
		if d.acceptFold(string(st)) {
			return st, true
		}
	}
	return "", false
}

// respText reads ["[" resp-text-code "]" SP] text.
func (d *Decoder) respText(r *Response) bool {
	if d.accept('[') {
		var code string
		if !d.Keyword(&code) {
			return d.Fail("response code")
		}
		r.Code = ResponseCode(code)
		if d.SP() {
			r.CodeArg = string(d.scan(&bracketChar))
		}
		if !d.ExpectSpecial(']') {
			return false
		}
		if !d.SP() {
			return d.AtEOL() || d.Fail("SP")
		}
	}
	return d.Text(&r.Text)
}

// Response writes a generic response line, CRLF included.
func (e *Encoder) Response(r Response) *Encoder {
	e.raw(r.Tag)
	if r.Tag == "+" {
		return e.SP().Text(r.Text).CRLF()
	}
	e.SP()
	if r.Status != "" {
		return e.Status(r.Status, r.Code, r.CodeArg, r.Text)
	}
	for i, v := range r.Fields {
		if i > 0 {
			e.SP()
		}
		e.Value(v)
	}
	return e.CRLF()
}

// Status writes the part of a status response after "tag SP":
// status ["[" code [SP arg] "]"] SP text CRLF.
func (e *Encoder) Status(st StatusType, code ResponseCode, arg, text string) *Encoder {
	e.raw(string(st))
	if code != "" {
		e.raw(" [").raw(string(code))
		if arg != "" {
			e.SP().Text(strings.ReplaceAll(arg, "]", " "))
		}
		e.byte(']')
	}
	if text == "" && code == "" {
		text = "done" // RFC 9051: text is 1*TEXT-CHAR
	}
	if text != "" {
		e.SP().Text(text)
	}
	return e.CRLF()
}

var bracketChar [256]bool // inside [...] of a code or section: not "]", CR, LF

func init() {
	for c := 1; c < 256; c++ {
		bracketChar[c] = c != ']' && c != '\r' && c != '\n'
	}
}
