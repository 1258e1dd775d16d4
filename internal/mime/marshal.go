package mime

import (
	"encoding/binary"
	"errors"
)

// marshalVersion is the first byte of Marshal's output. Unmarshal
// refuses other versions, so a store re-parses messages cached by an
// older release. Version 2: parameters keep their raw form, envelopes
// their blank fields, and sizes are counted as Dovecot counts them.
const marshalVersion = 2

// ErrBadEncoding is returned by Unmarshal for data Marshal did not
// produce (or produced in another version).
var ErrBadEncoding = errors.New("mime: bad or outdated structure encoding")

// Marshal encodes a parsed message compactly, for a store's index.
func Marshal(p *Part) []byte {
	b := make([]byte, 0, 256)
	b = append(b, marshalVersion)
	return appendPart(b, p)
}

func appendPart(b []byte, p *Part) []byte {
	for _, n := range [...]int64{p.HeaderOffset, p.HeaderSize, p.BodyOffset, p.BodySize, p.BodyLines} {
		b = binary.AppendUvarint(b, uint64(n))
	}
	for _, s := range [...]string{p.Type, p.Subtype, p.ID, p.Description, p.Encoding, p.MD5, p.Disposition, p.Location} {
		b = appendString(b, s)
	}
	b = appendParams(b, p.Params)
	b = appendParams(b, p.DispositionParams)
	b = binary.AppendUvarint(b, uint64(len(p.Language)))
	for _, s := range p.Language {
		b = appendString(b, s)
	}
	var flags byte
	if p.Envelope != nil {
		flags |= 1
	}
	if p.Opaque {
		flags |= 2
	}
	b = append(b, flags)
	if e := p.Envelope; e != nil {
		for _, s := range [...]string{e.Date, e.Subject, e.InReplyTo, e.MessageID} {
			b = appendString(b, s)
		}
		b = append(b, byte(e.Blank))
		for _, l := range [...][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
			b = binary.AppendUvarint(b, uint64(len(l)))
			for _, a := range l {
				b = appendString(b, a.Name)
				b = appendString(b, a.Adl)
				b = appendString(b, a.Mailbox)
				b = appendString(b, a.Host)
				b = append(b, a.Group)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.Parts)))
	for i := range p.Parts {
		b = appendPart(b, &p.Parts[i])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendParams(b []byte, ps []Param) []byte {
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		b = appendString(b, p.Name)
		b = appendString(b, p.Value)
		var flags byte
		if p.Extended {
			flags |= 1
		}
		if p.Raw != p.Value {
			flags |= 2
		}
		b = append(b, flags)
		if flags&2 != 0 {
			b = appendString(b, p.Raw)
		}
	}
	return b
}

// Unmarshal decodes what Marshal produced.
func Unmarshal(data []byte) (*Part, error) {
	if len(data) == 0 || data[0] != marshalVersion {
		return nil, ErrBadEncoding
	}
	// One string holds every text; fields are substrings of it.
	d := &unmarshaler{s: string(data[1:])}
	p := new(Part)
	d.part(p, 0)
	if d.bad || d.i != len(d.s) {
		return nil, ErrBadEncoding
	}
	return p, nil
}

type unmarshaler struct {
	s   string
	i   int
	bad bool
}

func (d *unmarshaler) uvarint() uint64 {
	var x uint64
	var shift uint
	for d.i < len(d.s) {
		c := d.s[d.i]
		d.i++
		if shift >= 63 && c > 1 {
			break
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
		shift += 7
	}
	d.bad = true
	return 0
}

func (d *unmarshaler) int() int64 {
	v := d.uvarint()
	if v > 1<<62 {
		d.bad = true
		return 0
	}
	return int64(v)
}

// count reads a count of elements that need at least min bytes each.
func (d *unmarshaler) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.i)/uint64(min) {
		d.bad = true
		return 0
	}
	return int(n)
}

func (d *unmarshaler) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.i) {
		d.bad = true
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

func (d *unmarshaler) params() []Param {
	n := d.count(3)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		p := &ps[i]
		p.Name, p.Value = d.str(), d.str()
		if d.i >= len(d.s) {
			d.bad = true
			return nil
		}
		flags := d.s[d.i]
		d.i++
		p.Extended = flags&1 != 0
		p.Raw = p.Value
		if flags&2 != 0 {
			p.Raw = d.str()
		}
	}
	return ps
}

func (d *unmarshaler) part(p *Part, depth int) {
	if depth > 10*DefaultMaxDepth {
		d.bad = true
		return
	}
	p.HeaderOffset, p.HeaderSize, p.BodyOffset, p.BodySize, p.BodyLines = d.int(), d.int(), d.int(), d.int(), d.int()
	p.Type, p.Subtype, p.ID, p.Description = d.str(), d.str(), d.str(), d.str()
	p.Encoding, p.MD5, p.Disposition, p.Location = d.str(), d.str(), d.str(), d.str()
	p.Params = d.params()
	p.DispositionParams = d.params()
	if n := d.count(1); n > 0 {
		p.Language = make([]string, n)
		for i := range p.Language {
			p.Language[i] = d.str()
		}
	}
	if d.i >= len(d.s) {
		d.bad = true
		return
	}
	flags := d.s[d.i]
	d.i++
	p.Opaque = flags&2 != 0
	if flags&1 != 0 {
		e := new(Envelope)
		e.Date, e.Subject, e.InReplyTo, e.MessageID = d.str(), d.str(), d.str(), d.str()
		if d.i >= len(d.s) {
			d.bad = true
			return
		}
		e.Blank = Blank(d.s[d.i])
		d.i++
		for _, l := range [...]*[]Address{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc} {
			if n := d.count(5); n > 0 {
				*l = make([]Address, n)
				for i := range *l {
					a := &(*l)[i]
					a.Name, a.Adl, a.Mailbox, a.Host = d.str(), d.str(), d.str(), d.str()
					if d.i < len(d.s) {
						a.Group = d.s[d.i]
						d.i++
					} else {
						d.bad = true
					}
				}
			}
		}
		p.Envelope = e
	}
	if n := d.count(16); n > 0 {
		p.Parts = make([]Part, n)
		for i := range p.Parts {
			if d.bad {
				return
			}
			d.part(&p.Parts[i], depth+1)
		}
	}
}
