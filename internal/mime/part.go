package mime

import (
	"errors"
	"strings"
)

// Param is a MIME parameter. Name is lower case. Value is decoded to
// UTF-8: RFC 2231 continuations joined and charset converted, RFC 2047
// words decoded where senders misuse them. Raw is the value as the
// message wrote it, with RFC 2231 continuations joined; Extended says it
// is in RFC 2231 charset'language'%XX form (the parameter was "name*").
// IMAP4rev1 clients are sent Raw (as "name*" when Extended, like
// Dovecot), UTF-8 clients Value.
type Param struct {
	Name     string
	Value    string
	Raw      string
	Extended bool
}

// Part is one entity of a message: the message itself (the root), a part
// of a multipart, or the message inside a message/rfc822 part.
//
// Offsets count octets from the start of the message. The header spans
// [HeaderOffset, HeaderOffset+HeaderSize), including the empty line that
// ends it; the body spans [BodyOffset, BodyOffset+BodySize). In a
// multipart, a part's body ends before the CRLF that precedes the next
// boundary (RFC 2046 §5.1.1).
type Part struct {
	HeaderOffset int64
	HeaderSize   int64
	BodyOffset   int64
	BodySize     int64
	BodyLines    int64 // LFs in the body (a last line without one does not count)

	Type    string // lower case; default "text" ("message" in multipart/digest)
	Subtype string // lower case; default "plain" ("rfc822" in multipart/digest)
	Params  []Param

	ID          string // Content-ID, raw
	Description string // Content-Description, raw (may hold RFC 2047 words)
	Encoding    string // Content-Transfer-Encoding, lower case; "" if absent
	MD5         string // Content-MD5, raw

	Disposition       string // lower case, "" if absent
	DispositionParams []Param
	Language          []string
	Location          string

	// Envelope is set on the root and on the message inside a
	// message/rfc822 part.
	Envelope *Envelope

	// Parts holds the children of a multipart, or for message/rfc822 and
	// message/global the one encapsulated message.
	Parts []Part

	// Opaque is set when a limit stopped parsing: the body was not
	// examined for parts.
	Opaque bool
}

// Param returns the value of the named parameter ("" if absent).
func (p *Part) Param(name string) string { return findParam(p.Params, name) }

func findParam(ps []Param, name string) string {
	for _, q := range ps {
		if strings.EqualFold(q.Name, name) {
			return q.Value
		}
	}
	return ""
}

// IsMultipart reports whether p is a multipart with parsed children.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" }

// IsMessage reports whether p encapsulates a message (message/rfc822 or
// message/global) that was parsed: Parts[0] is that message.
func (p *Part) IsMessage() bool { return p.Type == "message" && len(p.Parts) == 1 }

// Size returns the size of the whole entity, header and body.
func (p *Part) Size() int64 { return p.BodyOffset + p.BodySize - p.HeaderOffset }

// ErrNoSection is returned when a section path does not name a part.
var ErrNoSection = errors.New("mime: no such section")

// Find returns the part named by an IMAP section path (RFC 9051 §6.4.5)
// on the message m: {} is the message itself, {1} its first part (or its
// body if it is not multipart), {2, 1} the first part of part 2, which
// for a message/rfc822 part 2 is the first part of the encapsulated
// message. As in Dovecot, n.1 of a leaf part n is part n itself.
func (m *Part) Find(path []int) (*Part, error) {
	cur := m
	atMessage := true // cur is a message: numbers index its body parts
	viaBody := false  // cur was reached as the body of a message
	for _, n := range path {
		if n < 1 {
			return nil, ErrNoSection
		}
		if !atMessage && cur.IsMessage() {
			cur = &cur.Parts[0]
			atMessage = true
		}
		switch {
		case cur.IsMultipart():
			if n > len(cur.Parts) {
				return nil, ErrNoSection
			}
			cur = &cur.Parts[n-1]
			viaBody = false
		case atMessage && n == 1:
			// The body of a non-multipart message is part 1.
			viaBody = true
		case n == 1 && !viaBody:
			// Like Dovecot: x.1 of a leaf part x of a multipart is x.
			viaBody = true
		default:
			return nil, ErrNoSection
		}
		atMessage = false
	}
	return cur, nil
}

// Section returns the byte range of an IMAP section text on the message
// m. spec is "" (the part's content, or the whole message for an empty
// path), "HEADER", "TEXT", "MIME", or "HEADER.FIELDS"/"HEADER.FIELDS.NOT"
// (the range of the header to filter with [HeaderFields]). HEADER and
// TEXT need an empty path or a message/rfc822 part; MIME a non-empty
// path.
func (m *Part) Section(path []int, spec string) (off, size int64, err error) {
	p, err := m.Find(path)
	if err != nil {
		return 0, 0, err
	}
	switch strings.ToUpper(spec) {
	case "":
		if len(path) == 0 {
			return p.HeaderOffset, p.Size(), nil
		}
		return p.BodyOffset, p.BodySize, nil
	case "MIME":
		if len(path) == 0 {
			return 0, 0, ErrNoSection
		}
		return p.HeaderOffset, p.HeaderSize, nil
	case "HEADER", "TEXT", "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		msg := p
		if len(path) > 0 {
			if !p.IsMessage() {
				return 0, 0, ErrNoSection
			}
			msg = &p.Parts[0]
		}
		if strings.EqualFold(spec, "TEXT") {
			return msg.BodyOffset, msg.BodySize, nil
		}
		return msg.HeaderOffset, msg.HeaderSize, nil
	}
	return 0, 0, ErrNoSection
}

// Walk calls fn for p and every part below it, depth first, with the
// part's IMAP section path (nil for p itself). Parts inside a
// message/rfc822 part are numbered as IMAP numbers them. fn returns
// false to stop the walk.
func (p *Part) Walk(fn func(path []int, part *Part) bool) {
	p.walk(nil, true, fn)
}

func (p *Part) walk(path []int, atMessage bool, fn func([]int, *Part) bool) bool {
	if !fn(path, p) {
		return false
	}
	switch {
	case p.IsMultipart():
		for i := range p.Parts {
			sub := append(path[:len(path):len(path)], i+1)
			if !p.Parts[i].walk(sub, false, fn) {
				return false
			}
		}
	case p.IsMessage():
		inner := &p.Parts[0]
		if !inner.IsMultipart() {
			return inner.walk(append(path[:len(path):len(path)], 1), true, fn)
		}
		for i := range inner.Parts {
			sub := append(path[:len(path):len(path)], i+1)
			if !inner.Parts[i].walk(sub, false, fn) {
				return false
			}
		}
	}
	return true
}
