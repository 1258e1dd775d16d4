package mime

import (
	"strings"
)

// Envelope holds the fields of a message header that IMAP's ENVELOPE
// reports (RFC 9051 §7.5.2). Strings are unfolded and trimmed but
// otherwise raw (encoded words kept), as IMAP sends them; "" means the
// field is absent. Sender and ReplyTo are as in the message: defaulting
// them to From is the IMAP renderer's job.
type Envelope struct {
	Date      string
	Subject   string
	From      []Address
	Sender    []Address
	ReplyTo   []Address
	To        []Address
	Cc        []Address
	Bcc       []Address
	InReplyTo string
	MessageID string

	// Blank marks string fields present in the header with an empty
	// value (IMAP renders them "" rather than NIL, as Dovecot does).
	Blank Blank
}

// Blank is a set of Envelope string fields present but empty.
type Blank uint8

// Blank fields.
const (
	BlankDate Blank = 1 << iota
	BlankSubject
	BlankInReplyTo
	BlankMessageID
)

// Group markers of an Address.
const (
	GroupNone  = 0 // an ordinary address
	GroupStart = 1 // Mailbox is the group name
	GroupEnd   = 2
)

// Address is one element of an RFC 5322 address list, flattened the way
// IMAP flattens groups: a GroupStart marker (group name in Mailbox), the
// members, a GroupEnd marker.
type Address struct {
	Name    string // display name: quotes removed, encoded words kept
	Adl     string // obsolete source route ("@a,@b")
	Mailbox string // local part
	Host    string // domain; "" when the address had none
	Group   uint8
}

// DecodedName returns Name with RFC 2047 encoded words decoded.
func (a Address) DecodedName() string { return DecodeHeader(a.Name) }

// String formats a as "Name <mailbox@host>" (decoded name), for logs and
// SEARCH FROM/TO matching.
func (a Address) String() string {
	switch a.Group {
	case GroupStart:
		return a.Mailbox + ":"
	case GroupEnd:
		return ";"
	}
	addr := a.Mailbox
	if a.Host != "" {
		addr += "@" + a.Host
	}
	if a.Name == "" {
		return addr
	}
	return a.DecodedName() + " <" + addr + ">"
}

const maxAddresses = 10000

type atok struct {
	kind byte // 'w' word, 'q' quoted string, or the special character
	s    string
}

// tokenizeAddresses splits an address list into words, quoted strings
// and specials, dropping comments.
func tokenizeAddresses(s string) []atok {
	toks := make([]atok, 0, len(s)/4+4)
	l := lexer{s: s}
	for len(toks) < 8*maxAddresses {
		for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t' || l.s[l.i] == '\r' || l.s[l.i] == '\n') {
			l.i++
		}
		if l.i >= len(l.s) {
			break
		}
		c := l.s[l.i]
		switch {
		case c == '(':
			toks = append(toks, atok{'c', l.comment()})
		case c == '"':
			q, _ := l.quoted()
			toks = append(toks, atok{'q', q})
		case c == '[':
			j := strings.IndexByte(l.s[l.i:], ']')
			if j < 0 {
				j = len(l.s) - l.i - 1
			}
			toks = append(toks, atok{'w', l.s[l.i : l.i+j+1]})
			l.i += j + 1
		case strings.IndexByte("<>@,;:.", c) >= 0:
			toks = append(toks, atok{c, string(c)})
			l.i++
		case c == ')' || c == ']' || c == '\\' || c < ' ':
			l.i++ // stray: a word starts with none of these
		default:
			start := l.i
			for l.i < len(l.s) {
				c := l.s[l.i]
				if c <= ' ' || strings.IndexByte("\"()<>@,;:.[]", c) >= 0 {
					break
				}
				l.i++
			}
			toks = append(toks, atok{'w', l.s[start:l.i]})
		}
	}
	return toks
}

// ParseAddressList parses an RFC 5322 address list leniently: groups,
// obsolete routes, unquoted dots in names, missing domains. It never
// fails; what cannot be understood is dropped.
func ParseAddressList(s string) []Address {
	toks := tokenizeAddresses(s)
	var out []Address
	inGroup := false
	i := 0
	for i < len(toks) && len(out) < maxAddresses {
		// Phrase (or local part) up to a special.
		// The phrase (or local part); its comments are skipped when
		// joined.
		start := i
		for i < len(toks) && (toks[i].kind == 'w' || toks[i].kind == 'q' || toks[i].kind == '.' || toks[i].kind == 'c') {
			i++
		}
		phrase := toks[start:i]
		var next byte
		if i < len(toks) {
			next = toks[i].kind
			i++
		}
		switch next {
		case '<':
			a := Address{Name: joinPhrase(phrase)}
			// [obs-route] addr-spec ">"
			j := i
			for j < len(toks) && toks[j].kind != '>' {
				j++
			}
			inner := toks[i:j]
			i = min(j+1, len(toks))
			if k := lastIndexKind(inner, ':'); k >= 0 {
				a.Adl = joinExact(inner[:k])
				inner = inner[k+1:]
			}
			if k := lastIndexKind(inner, '@'); k >= 0 {
				a.Mailbox, a.Host = joinExact(inner[:k]), joinExact(inner[k+1:])
			} else {
				a.Mailbox = joinExact(inner)
			}
			if a.Mailbox != "" || a.Host != "" {
				out = append(out, a)
			}
			// Skip junk to the next separator.
			for i < len(toks) && toks[i].kind != ',' && toks[i].kind != ';' {
				i++
			}
		case '@':
			// domain = word *("." word); a comment names the address
			// ("addr (Name)", as Dovecot reads it); the rest up to the
			// next separator is junk (as in "a@b <c@d>").
			name := ""
			domEnd := i // the domain is toks[i:domEnd], comments skipped
			inDomain := true
			last := byte('.') // kind of the domain's last word or dot
			j := i
			for ; j < len(toks) && toks[j].kind != ',' && toks[j].kind != ';'; j++ {
				t := toks[j]
				switch {
				case t.kind == 'c':
					if name == "" {
						name = t.s
					}
				case !inDomain:
					// junk after the address
				case (t.kind == 'w' || t.kind == 'q') && last == '.', t.kind == '.' && last != '.':
					last = t.kind
					domEnd = j + 1
				default:
					inDomain = false
				}
			}
			if a := (Address{Name: name, Mailbox: joinExact(phrase), Host: joinExact(toks[i:domEnd])}); a.Mailbox != "" || a.Host != "" {
				out = append(out, a)
			}
			i = j
		case ':':
			if !inGroup {
				out = append(out, Address{Mailbox: joinPhrase(phrase), Group: GroupStart})
				inGroup = true
			}
		case ';':
			if m := joinExact(phrase); m != "" {
				out = append(out, Address{Mailbox: m})
			}
			if inGroup {
				out = append(out, Address{Group: GroupEnd})
				inGroup = false
			}
		default: // ',' or end
			if m := joinExact(phrase); m != "" {
				out = append(out, Address{Mailbox: m})
			}
		}
	}
	if inGroup {
		out = append(out, Address{Group: GroupEnd})
	}
	return out
}

func lastIndexKind(toks []atok, k byte) int {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind == k {
			return i
		}
	}
	return -1
}

// joinPhrase joins display-name words with single spaces, dots attached
// to the word before them.
func joinPhrase(toks []atok) string {
	var b strings.Builder
	n := 0
	for _, t := range toks {
		if t.kind == 'c' {
			continue
		}
		if n > 0 && t.kind != '.' {
			b.WriteByte(' ')
		}
		if n == 0 && len(toks) == 1 {
			return t.s
		}
		b.WriteString(t.s)
		n++
	}
	return b.String()
}

// joinExact joins local-part or domain tokens without spaces; comments
// are left out.
func joinExact(toks []atok) string {
	if len(toks) == 1 && toks[0].kind != 'c' {
		return toks[0].s
	}
	var b strings.Builder
	for _, t := range toks {
		if t.kind != 'c' {
			b.WriteString(t.s)
		}
	}
	return b.String()
}
