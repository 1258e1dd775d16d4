package wire

import (
	"strconv"
	"strings"
)

// Partial is the <offset.count> of a fetch attribute (RFC 9051 §6.4.5).
type Partial struct {
	Offset, Count uint32
}

// FetchItem is one fetch attribute of a FETCH command.
type FetchItem struct {
	// Name is upper case: "ENVELOPE", "FLAGS", "INTERNALDATE",
	// "RFC822", "RFC822.HEADER", "RFC822.SIZE", "RFC822.TEXT", "BODY",
	// "BODYSTRUCTURE", "UID", "BINARY", "BINARY.SIZE", "MODSEQ",
	// "SAVEDATE", ... BODY[...] has Name "BODY" and a Section.
	Name    string
	Peek    bool     // BODY.PEEK[...] / BINARY.PEEK[...]
	Section *Section // non-nil for BODY[...], BINARY[...], BINARY.SIZE[...]
	Partial *Partial
	Lazy    bool // PREVIEW (LAZY) (RFC 8970 §3.1)
}

// String formats the item as it appears in a FETCH command (PEEK kept)
// or, with Peek false, in a FETCH response (without the count).
func (f FetchItem) String() string {
	if f.Section == nil {
		return f.Name
	}
	var b strings.Builder
	b.WriteString(f.Name)
	if f.Peek {
		b.WriteString(".PEEK")
	}
	b.WriteByte('[')
	b.WriteString(f.Section.String())
	b.WriteByte(']')
	if f.Partial != nil {
		b.WriteByte('<')
		b.WriteString(strconv.FormatUint(uint64(f.Partial.Offset), 10))
		if f.Peek {
			b.WriteByte('.')
			b.WriteString(strconv.FormatUint(uint64(f.Partial.Count), 10))
		}
		b.WriteByte('>')
	}
	return b.String()
}

// Section reads a section spec between brackets, "[" ... "]" included.
// binary restricts it to section-binary ("[" [section-part] "]").
func (d *Decoder) Section(s *Section, binary bool) bool {
	if !d.accept('[') {
		return false
	}
	*s = Section{}
	spec := string(d.scan(&sectionChar))
	if d.err != nil {
		return false
	}
	// section-part: nz-number *("." nz-number)
	for spec != "" && spec[0] >= '0' && spec[0] <= '9' {
		num, rest, _ := strings.Cut(spec, ".")
		n, err := strconv.ParseUint(num, 10, 31)
		if err != nil || n == 0 || num[0] == '0' {
			return d.Fail("section part number")
		}
		s.Path = append(s.Path, int(n))
		if rest == "" && strings.HasSuffix(spec, ".") {
			return d.Fail("section text")
		}
		spec = rest
	}
	if spec != "" {
		if binary {
			return d.Fail("section-binary")
		}
		switch strings.ToUpper(spec) {
		case "HEADER":
			s.Specifier = PartHeader
		case "HEADER.FIELDS":
			s.Specifier = PartHeaderFields
		case "HEADER.FIELDS.NOT":
			s.Specifier = PartHeaderFieldsNot
		case "TEXT":
			s.Specifier = PartText
		case "MIME":
			if len(s.Path) == 0 {
				return d.Fail("section part before MIME")
			}
			s.Specifier = PartMIME
		default:
			return d.Fail("section text")
		}
	}
	if s.Specifier == PartHeaderFields || s.Specifier == PartHeaderFieldsNot {
		ok := d.ExpectSP() && d.ExpectList(func() bool {
			var f string
			if !d.ExpectAString(&f) {
				return false
			}
			s.Fields = append(s.Fields, f)
			return true
		})
		if !ok {
			return false
		}
		if len(s.Fields) == 0 {
			return d.Fail("header field name")
		}
	}
	return d.ExpectSpecial(']')
}

// partial reads "<" number ["." nz-number] ">"; withCount requires the
// count (command side).
func (d *Decoder) partial(p **Partial, withCount bool) bool {
	if !d.accept('<') {
		return true
	}
	var off, cnt uint32
	if !d.ExpectNumber(&off) {
		return false
	}
	if withCount {
		if !d.ExpectSpecial('.') || !d.ExpectNzNumber(&cnt) {
			return false
		}
	}
	*p = &Partial{Offset: off, Count: cnt}
	return d.ExpectSpecial('>')
}

// FetchAtt reads one fetch-att of a FETCH command.
func (d *Decoder) FetchAtt(item *FetchItem) bool {
	b := d.scan(&fetchNameChar)
	if len(b) == 0 {
		return false
	}
	*item = FetchItem{Name: fetchName(b)}
	switch item.Name {
	case "PREVIEW":
		return d.previewModifiers(item)
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER",
		"RFC822.SIZE", "RFC822.TEXT", "BODYSTRUCTURE", "UID", "MODSEQ",
		"SAVEDATE", "EMAILID", "THREADID":
		return true
	case "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE":
	default:
		return d.Fail("fetch attribute")
	}
	if strings.HasSuffix(item.Name, ".PEEK") {
		item.Name = strings.TrimSuffix(item.Name, ".PEEK")
		item.Peek = true
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	if c != '[' {
		if item.Name == "BODY" && !item.Peek {
			return true // BODY: the non-extensible BODYSTRUCTURE
		}
		return d.Fail(`"["`)
	}
	item.Section = new(Section)
	if !d.Section(item.Section, item.Name != "BODY") {
		return false
	}
	if item.Name == "BINARY.SIZE" {
		return true
	}
	return d.partial(&item.Partial, true)
}

// previewModifiers reads the optional SP "(" "LAZY" ")" after PREVIEW
// (RFC 8970 §5). It looks only at bytes already buffered, never past the
// end of the line, so it cannot wait for input that is not coming.
func (d *Decoder) previewModifiers(item *FetchItem) bool {
	const lazy = " (LAZY)"
	b, _ := d.r.Peek(min(len(lazy), d.r.Buffered()))
	if len(b) == len(lazy) && strings.EqualFold(string(b), lazy) {
		item.Lazy = true
		return d.advance(len(lazy))
	}
	return true
}

// FetchAtts reads the fetch attributes of a FETCH command: a macro
// (ALL, FAST, FULL, expanded), a single fetch-att or a list of them.
func (d *Decoder) FetchAtts(items *[]FetchItem) bool {
	*items = (*items)[:0]
	switch {
	case d.acceptFold("ALL"):
		*items = append(*items, FetchItem{Name: "FLAGS"}, FetchItem{Name: "INTERNALDATE"}, FetchItem{Name: "RFC822.SIZE"}, FetchItem{Name: "ENVELOPE"})
		return true
	case d.acceptFold("FAST"):
		*items = append(*items, FetchItem{Name: "FLAGS"}, FetchItem{Name: "INTERNALDATE"}, FetchItem{Name: "RFC822.SIZE"})
		return true
	case d.acceptFold("FULL"):
		*items = append(*items, FetchItem{Name: "FLAGS"}, FetchItem{Name: "INTERNALDATE"}, FetchItem{Name: "RFC822.SIZE"}, FetchItem{Name: "ENVELOPE"}, FetchItem{Name: "BODY"})
		return true
	}
	if d.err != nil {
		return false
	}
	elem := func() bool {
		var it FetchItem
		if !d.FetchAtt(&it) {
			return d.Fail("fetch attribute")
		}
		*items = append(*items, it)
		return true
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	if c == '(' {
		return d.List(elem) && (len(*items) > 0 || d.Fail("fetch attribute"))
	}
	return elem()
}

// fetchName returns a fetch attribute's name in upper case, without
// allocating for the names of RFC 9051 and its extensions as servers and
// clients usually spell them (in upper case).
func fetchName(b []byte) string {
	switch string(b) {
	case "UID":
		return "UID"
	case "FLAGS":
		return "FLAGS"
	case "ENVELOPE":
		return "ENVELOPE"
	case "INTERNALDATE":
		return "INTERNALDATE"
	case "RFC822.SIZE":
		return "RFC822.SIZE"
	case "BODYSTRUCTURE":
		return "BODYSTRUCTURE"
	case "BODY":
		return "BODY"
	case "BODY.PEEK":
		return "BODY.PEEK"
	case "BINARY":
		return "BINARY"
	case "BINARY.PEEK":
		return "BINARY.PEEK"
	case "BINARY.SIZE":
		return "BINARY.SIZE"
	case "MODSEQ":
		return "MODSEQ"
	case "RFC822":
		return "RFC822"
	case "RFC822.HEADER":
		return "RFC822.HEADER"
	case "RFC822.TEXT":
		return "RFC822.TEXT"
	case "PREVIEW":
		return "PREVIEW"
	case "SAVEDATE":
		return "SAVEDATE"
	case "EMAILID":
		return "EMAILID"
	case "THREADID":
		return "THREADID"
	}
	return upperASCII(b)
}

var fetchNameChar [256]bool

func init() {
	for c := 'A'; c <= 'Z'; c++ {
		fetchNameChar[c] = true
		fetchNameChar[c+'a'-'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		fetchNameChar[c] = true
	}
	fetchNameChar['.'] = true
	fetchNameChar['-'] = true
}

// FetchRespAtt reads the name of a fetch item in a FETCH response, up to
// its value: "UID", "BODY[1.2]<0>", "BINARY[2]", "BINARY.SIZE[1]"... For
// BODY[...] and BINARY[...] the Section is set, and Partial holds the
// origin (Count 0) when the server sent one.
func (d *Decoder) FetchRespAtt(item *FetchItem) bool {
	b := d.scan(&fetchNameChar)
	if len(b) == 0 {
		return false
	}
	*item = FetchItem{Name: fetchName(b)}
	if c, ok := d.peek(); !ok || c != '[' {
		return d.err == nil
	}
	item.Section = new(Section)
	binary := strings.HasPrefix(item.Name, "BINARY")
	return d.Section(item.Section, binary) && d.partial(&item.Partial, false)
}
