package imap

import "strings"

// Typed parsers for the FETCH data items ENVELOPE and BODYSTRUCTURE
// (RFC 9051 §7.5.2), lenient where servers are known to stray: NIL where
// a string belongs (and the reverse), missing extension data, extra
// extension data, and message/rfc822 parts without their envelope.

// readEnvelope reads an ENVELOPE value.
func (r *respReader) readEnvelope() (*Envelope, bool) {
	if r.nilAtom() {
		return nil, true
	}
	if !r.expect('(') {
		return nil, false
	}
	env := &Envelope{}
	strs := []*string{&env.Date, &env.Subject}
	for i, p := range strs {
		if i > 0 && !r.expectSP() {
			return nil, false
		}
		s, ok := r.str()
		if !ok {
			return nil, false
		}
		*p = s
	}
	for _, p := range []*[]Address{&env.From, &env.Sender, &env.ReplyTo, &env.To, &env.Cc, &env.Bcc} {
		if !r.expectSP() {
			return nil, false
		}
		list, ok := r.readAddressList()
		if !ok {
			return nil, false
		}
		*p = list
	}
	for _, p := range []*string{&env.InReplyTo, &env.MessageID} {
		if !r.expectSP() {
			return nil, false
		}
		s, ok := r.str()
		if !ok {
			return nil, false
		}
		*p = s
	}
	for r.sp() && !r.atEOL() && r.peek() != ')' { // tolerate extra fields
		if !r.skipValue() {
			return nil, false
		}
	}
	return env, r.expect(')')
}

// readAddressList reads NIL or "(" 1*address ")".
func (r *respReader) readAddressList() ([]Address, bool) {
	var out []Address
	_, ok := r.nilOrList(func() bool {
		a, ok := r.readAddress()
		if ok {
			out = append(out, a)
		}
		return ok
	})
	return out, ok
}

// readAddress reads "(" name SP adl SP mailbox SP host ")".
func (r *respReader) readAddress() (Address, bool) {
	var a Address
	if !r.expect('(') {
		return a, false
	}
	var isNil [4]bool
	for i, p := range []*string{&a.Name, &a.Adl, &a.Mailbox, &a.Host} {
		if i > 0 && !r.expectSP() {
			return a, false
		}
		s, n, ok := r.nstring()
		if !ok {
			return a, false
		}
		*p, isNil[i] = s, n
	}
	if isNil[3] { // RFC 9051 §9: group syntax
		if isNil[2] {
			a.Group = GroupEnd
		} else {
			a.Group = GroupStart
		}
	}
	return a, r.expect(')')
}

// readParams reads body-fld-param: NIL or "(" string SP string ... ")".
func (r *respReader) readParams() ([]Param, bool) {
	var out []Param
	_, ok := r.nilOrList(func() bool {
		k, ok := r.str()
		if !ok || !r.expectSP() {
			return false
		}
		v, ok := r.str()
		out = append(out, Param{Name: k, Value: v})
		return ok
	})
	return out, ok
}

// readBodyStructure reads a body (BODY or BODYSTRUCTURE value).
func (r *respReader) readBodyStructure() (*BodyStructure, bool) {
	bs := &BodyStructure{}
	return bs, r.readBody(bs)
}

func (r *respReader) readBody(bs *BodyStructure) bool {
	if !r.expect('(') {
		return false
	}
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > clientMaxDepth {
		return r.fail("body structure nested less deeply")
	}
	if r.peek() == '(' {
		return r.readMultipart(bs)
	}
	return r.readSinglePart(bs)
}

func (r *respReader) readMultipart(bs *BodyStructure) bool {
	bs.Type = "multipart"
	for r.peek() == '(' && r.err == nil {
		var part BodyStructure
		if !r.readBody(&part) {
			return false
		}
		bs.Parts = append(bs.Parts, part)
		for r.accept(' ') {
		}
	}
	sub, ok := r.str()
	if !ok {
		return false
	}
	bs.Subtype = strings.ToLower(sub)
	if r.sp() && r.peek() != ')' {
		bs.Extended = true
		if bs.Params, ok = r.readParams(); !ok {
			return false
		}
		if !r.readExtTail(bs) {
			return false
		}
	}
	return r.expect(')')
}

func (r *respReader) readSinglePart(bs *BodyStructure) bool {
	var ok bool
	if bs.Type, ok = r.str(); !ok || !r.expectSP() {
		return false
	}
	bs.Type = strings.ToLower(bs.Type)
	if bs.Subtype, ok = r.str(); !ok || !r.expectSP() {
		return false
	}
	bs.Subtype = strings.ToLower(bs.Subtype)
	if bs.Params, ok = r.readParams(); !ok || !r.expectSP() {
		return false
	}
	if bs.ID, ok = r.str(); !ok || !r.expectSP() {
		return false
	}
	if bs.Description, ok = r.str(); !ok || !r.expectSP() {
		return false
	}
	if bs.Encoding, ok = r.str(); !ok || !r.expectSP() {
		return false
	}
	bs.Encoding = strings.ToUpper(bs.Encoding)
	var size uint64
	if !r.number64(&size) {
		return false
	}
	bs.Size = int64(size)
	switch {
	case bs.Type == "message" && (bs.Subtype == "rfc822" || bs.Subtype == "global"):
		// envelope SP body SP lines; some servers omit them.
		if r.sp() && r.peek() == '(' {
			env, ok := r.readEnvelope()
			if !ok || !r.expectSP() {
				return false
			}
			bs.Envelope = env
			var inner BodyStructure
			if !r.readBody(&inner) || !r.expectSP() {
				return false
			}
			bs.Parts = []BodyStructure{inner}
			var lines uint64
			if !r.number64(&lines) {
				return false
			}
			bs.Lines = int64(lines)
		} else if r.peek() == ')' {
			return r.expect(')')
		} else {
			return r.readExt1(bs)
		}
	case bs.Type == "text":
		if r.sp() && r.peek() != ')' {
			var lines uint64
			if !r.number64(&lines) {
				return false
			}
			bs.Lines = int64(lines)
		} else {
			return r.expect(')')
		}
	}
	if r.sp() && r.peek() != ')' {
		return r.readExt1(bs)
	}
	return r.expect(')')
}

// readExt1 reads body-ext-1part after the SP: md5 [SP dsp [SP lang
// [SP loc *(SP ext)]]] ")".
func (r *respReader) readExt1(bs *BodyStructure) bool {
	bs.Extended = true
	var ok bool
	if bs.MD5, ok = r.str(); !ok {
		return false
	}
	if r.sp() && r.peek() != ')' {
		if !r.readExtTail(bs) {
			return false
		}
	}
	return r.expect(')')
}

// readExtTail reads dsp [SP lang [SP loc *(SP ext)]], stopping before ")".
func (r *respReader) readExtTail(bs *BodyStructure) bool {
	if !r.nilAtom() {
		ok := r.list(func() bool {
			d, ok := r.str()
			if !ok || !r.expectSP() {
				return false
			}
			bs.Disposition = strings.ToLower(d)
			bs.DispositionParams, ok = r.readParams()
			return ok
		})
		if !ok {
			return false
		}
	}
	if !r.sp() || r.peek() == ')' {
		return r.err == nil
	}
	switch r.peek() {
	case '(':
		if !r.list(func() bool {
			s, ok := r.str()
			bs.Language = append(bs.Language, s)
			return ok
		}) {
			return false
		}
	default:
		s, isNil, ok := r.nstring()
		if !ok {
			return false
		}
		if !isNil {
			bs.Language = []string{s}
		}
	}
	if !r.sp() || r.peek() == ')' {
		return r.err == nil
	}
	var ok bool
	if bs.Location, ok = r.str(); !ok {
		return false
	}
	for r.sp() && r.peek() != ')' {
		if !r.skipValue() {
			return false
		}
	}
	return r.err == nil
}
