package mime

import (
	"sort"
	"strconv"
	"strings"
)

// interpret fills part's MIME fields (and envelope) from p.fields.
func (p *parser) interpret(part *Part, digest, isMessage bool) {
	get := func(name string) (string, bool) {
		for i := range p.fields {
			if p.fields[i].name == name {
				return strings.TrimSpace(string(p.fields[i].value)), true
			}
		}
		return "", false
	}
	part.Type, part.Subtype = "text", "plain"
	if digest {
		part.Type, part.Subtype = "message", "rfc822"
	}
	if ct, ok := get("content-type"); ok {
		if t, s, params, ok := ParseMediaType(ct); ok {
			part.Type, part.Subtype, part.Params = t, s, params
			// RFC 2045 §5.2: text without a charset is us-ascii; say
			// so, as Dovecot does.
			if t == "text" && findParam(params, "charset") == "" {
				part.Params = append(part.Params, defaultCharset)
			}
		} else {
			part.Params = []Param{defaultCharset}
		}
	} else if !digest {
		part.Params = []Param{defaultCharset}
	}
	if v, ok := get("content-transfer-encoding"); ok {
		l := lexer{s: v}
		part.Encoding = strings.ToLower(l.token())
	}
	part.ID, _ = get("content-id")
	part.Description, _ = get("content-description")
	part.MD5, _ = get("content-md5")
	part.Location, _ = get("content-location")
	if v, ok := get("content-disposition"); ok {
		l := lexer{s: v}
		l.skipCFWS()
		if d := l.token(); d != "" {
			part.Disposition = strings.ToLower(d)
			part.DispositionParams = l.params()
		}
	}
	if v, ok := get("content-language"); ok {
		for _, tag := range strings.Split(v, ",") {
			l := lexer{s: tag}
			l.skipCFWS()
			if t := l.token(); t != "" {
				part.Language = append(part.Language, t)
			}
		}
	}
	if isMessage {
		env := new(Envelope)
		for _, f := range []struct {
			name  string
			dst   *string
			blank Blank
		}{{"date", &env.Date, BlankDate}, {"subject", &env.Subject, BlankSubject}, {"in-reply-to", &env.InReplyTo, BlankInReplyTo}, {"message-id", &env.MessageID, BlankMessageID}} {
			v, ok := get(f.name)
			*f.dst = collapseSpace(v)
			if ok && v == "" {
				env.Blank |= f.blank
			}
		}
		for _, a := range []struct {
			name string
			dst  *[]Address
		}{{"from", &env.From}, {"sender", &env.Sender}, {"reply-to", &env.ReplyTo}, {"to", &env.To}, {"cc", &env.Cc}, {"bcc", &env.Bcc}} {
			if v, ok := get(a.name); ok {
				*a.dst = ParseAddressList(v)
			}
		}
		part.Envelope = env
	}
}

var defaultCharset = Param{Name: "charset", Value: "us-ascii", Raw: "us-ascii"}

// ParseMediaType parses a Content-Type value "type/subtype; params" with
// RFC 822 comments, RFC 2231 parameters and lenient quoting. Type and
// subtype are lower case.
func ParseMediaType(v string) (typ, sub string, params []Param, ok bool) {
	l := lexer{s: v}
	l.skipCFWS()
	typ = strings.ToLower(l.token())
	l.skipCFWS()
	if typ == "" || !l.accept('/') {
		return "", "", nil, false
	}
	l.skipCFWS()
	sub = strings.ToLower(l.token())
	if sub == "" {
		return "", "", nil, false
	}
	return typ, sub, l.params(), true
}

// lexer tokenizes structured header values (RFC 2045 §5.1).
type lexer struct {
	s string
	i int
}

func (l *lexer) accept(c byte) bool {
	if l.i < len(l.s) && l.s[l.i] == c {
		l.i++
		return true
	}
	return false
}

// skipCFWS skips whitespace and nested comments.
func (l *lexer) skipCFWS() {
	depth := 0
	for l.i < len(l.s) {
		switch c := l.s[l.i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0 && l.i+1 < len(l.s):
			l.i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || depth > 0:
		default:
			return
		}
		l.i++
	}
}

// comment reads one comment at "(" (nested comments kept, quoted pairs
// resolved) and returns its text without the outer parentheses.
func (l *lexer) comment() string {
	var b strings.Builder
	depth := 0
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch {
		case c == '(':
			depth++
			if depth == 1 {
				continue
			}
		case c == ')':
			depth--
			if depth == 0 {
				return strings.TrimSpace(b.String())
			}
		case c == '\\' && l.i < len(l.s):
			c = l.s[l.i]
			l.i++
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

func isTSpecial(c byte) bool { return strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 }

// token reads an RFC 2045 token (8-bit bytes allowed, leniently).
func (l *lexer) token() string {
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c <= ' ' || c == 0x7f || isTSpecial(c) {
			break
		}
		l.i++
	}
	return l.s[start:l.i]
}

// quoted reads a quoted-string, removing the quotes and escapes; an
// unterminated one runs to the end.
func (l *lexer) quoted() (string, bool) {
	if !l.accept('"') {
		return "", false
	}
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch c {
		case '"':
			return b.String(), true
		case '\\':
			if l.i < len(l.s) {
				c = l.s[l.i]
				l.i++
			}
		case '\r', '\n':
			continue // folding inside quotes
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// value reads a token or quoted-string; unquoted values run leniently
// to the next ";" or comment (so "name=a b" keeps "a b").
func (l *lexer) value() string {
	if s, ok := l.quoted(); ok {
		return s
	}
	start := l.i
	for l.i < len(l.s) && l.s[l.i] != ';' {
		l.i++
	}
	v := l.s[start:l.i]
	if i := strings.IndexByte(v, '('); i >= 0 {
		v = v[:i] // a trailing comment
	}
	return strings.TrimSpace(v)
}

type rawParam struct {
	name    string // base name, lower case
	section int    // -1: no section
	ext     bool   // name*: charset'lang'%XX
	value   string
}

// params reads *(";" parameter) and applies RFC 2231 (continuations,
// charsets) and, for values that are RFC 2047 encoded words (a common
// misuse), RFC 2047.
func (l *lexer) params() []Param {
	var raws []rawParam
	for {
		l.skipCFWS()
		if l.i >= len(l.s) {
			break
		}
		if !l.accept(';') {
			// Junk: skip to the next ";".
			for l.i < len(l.s) && l.s[l.i] != ';' {
				l.i++
			}
			continue
		}
		l.skipCFWS()
		name := strings.ToLower(l.token())
		l.skipCFWS()
		if name == "" || !l.accept('=') {
			continue
		}
		l.skipCFWS()
		rp := rawParam{name: name, section: -1, value: l.value()}
		if strings.HasSuffix(rp.name, "*") {
			rp.ext = true
			rp.name = rp.name[:len(rp.name)-1]
		}
		if i := strings.LastIndexByte(rp.name, '*'); i > 0 {
			if n, err := strconv.Atoi(rp.name[i+1:]); err == nil && n >= 0 && n < 1000 {
				rp.section = n
				rp.name = rp.name[:i]
			}
		}
		if rp.name == "" {
			continue
		}
		raws = append(raws, rp)
		if len(raws) > 200 {
			break
		}
	}
	return joinParams(raws)
}

func joinParams(raws []rawParam) []Param {
	var out []Param
	seen := map[string]bool{}
	for _, rp := range raws {
		if seen[rp.name] {
			continue
		}
		seen[rp.name] = true
		var segs []rawParam
		var plain, ext *rawParam
		for i := range raws {
			q := &raws[i]
			if q.name != rp.name {
				continue
			}
			switch {
			case q.section >= 0:
				segs = append(segs, *q)
			case q.ext && ext == nil:
				ext = q
			case !q.ext && plain == nil:
				plain = q
			}
		}
		p := Param{Name: rp.name}
		switch {
		case ext != nil:
			p.Value, p.Raw, p.Extended = decode2231(ext.value), ext.value, true
		case len(segs) > 0:
			sort.SliceStable(segs, func(i, j int) bool { return segs[i].section < segs[j].section })
			p.Value = joinSegments(segs)
			for _, sg := range segs {
				p.Raw += sg.value
				p.Extended = p.Extended || sg.ext
			}
		default:
			p.Value, p.Raw = plain.value, plain.value
			if strings.Contains(p.Value, "=?") {
				p.Value = DecodeHeader(p.Value)
			}
			p.Value = toUTF8("utf-8", []byte(p.Value))
		}
		out = append(out, p)
	}
	return out
}

// joinSegments joins RFC 2231 continuations; the first extended segment
// carries charset'language'.
func joinSegments(segs []rawParam) string {
	var raw []byte
	charset := ""
	for i, s := range segs {
		if s.ext {
			v := s.value
			if i == 0 {
				if cs, rest, ok := strings.Cut(v, "'"); ok {
					if _, rest2, ok := strings.Cut(rest, "'"); ok {
						charset, v = cs, rest2
					}
				}
			}
			raw = append(raw, percentDecode(v)...)
		} else {
			raw = append(raw, s.value...)
		}
	}
	return toUTF8(charset, raw)
}

// decode2231 decodes a charset'lang'%XX value.
func decode2231(v string) string {
	cs, rest, ok := strings.Cut(v, "'")
	if !ok {
		return toUTF8("", percentDecode(v))
	}
	_, val, ok := strings.Cut(rest, "'")
	if !ok {
		val = rest
	}
	return toUTF8(cs, percentDecode(val))
}

func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					b = append(b, h<<4|l)
					i += 2
					continue
				}
			}
		}
		b = append(b, s[i])
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// collapseSpace turns every run of spaces and tabs into one space, as
// Dovecot writes envelope strings.
func collapseSpace(s string) string {
	if !strings.Contains(s, "  ") && !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}
