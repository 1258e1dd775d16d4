package wire

import (
	"strings"
)

// BodyStructure reads a BODY or BODYSTRUCTURE value. Extension data
// beyond what RFC 9051 defines is skipped.
func (d *Decoder) BodyStructure(bs *BodyStructure) bool {
	*bs = BodyStructure{}
	if !d.accept('(') {
		return false
	}
	d.depth++
	defer func() { d.depth-- }()
	if m := d.maxDepth(); m > 0 && d.depth > m {
		return d.setErr(&SyntaxError{Msg: "body structure", Err: ErrTooDeep})
	}
	if c, ok := d.peek(); ok && c == '(' {
		return d.multipartBody(bs)
	}
	var size uint64
	ok := d.ExpectString(&bs.Type) && d.ExpectSP() && d.ExpectString(&bs.Subtype) && d.ExpectSP() &&
		d.bodyParams(&bs.Params) && d.ExpectSP() &&
		d.ExpectNString(&bs.ID) && d.ExpectSP() && d.ExpectNString(&bs.Description) && d.ExpectSP() &&
		d.ExpectString(&bs.Encoding) && d.ExpectSP() && d.ExpectNumber64(&size)
	if !ok {
		return false
	}
	bs.Size = int64(size)
	var lines uint64
	switch {
	case strings.EqualFold(bs.Type, "MESSAGE") && (strings.EqualFold(bs.Subtype, "RFC822") || strings.EqualFold(bs.Subtype, "GLOBAL")):
		bs.Envelope = new(Envelope)
		bs.Parts = make([]BodyStructure, 1)
		if !d.ExpectSP() || !(d.Envelope(bs.Envelope) || d.Fail("envelope")) || !d.ExpectSP() ||
			!(d.BodyStructure(&bs.Parts[0]) || d.Fail("body")) || !d.ExpectSP() || !d.ExpectNumber64(&lines) {
			return false
		}
		bs.Lines = int64(lines)
	case strings.EqualFold(bs.Type, "TEXT"):
		if !d.ExpectSP() || !d.ExpectNumber64(&lines) {
			return false
		}
		bs.Lines = int64(lines)
	}
	if d.SP() {
		bs.Extended = true
		if !d.ExpectNString(&bs.MD5) || !d.extensionTail(bs) {
			return false
		}
	}
	return d.ExpectSpecial(')')
}

func (d *Decoder) multipartBody(bs *BodyStructure) bool {
	bs.Type = "multipart"
	for {
		c, ok := d.peek()
		if !ok {
			return false
		}
		if c != '(' {
			break
		}
		var child BodyStructure
		if !d.BodyStructure(&child) {
			return false
		}
		bs.Parts = append(bs.Parts, child)
		if b, _ := d.r.Peek(2); len(b) == 2 && b[0] == ' ' && b[1] == '(' {
			d.advance(1) // tolerate SP between bodies
		}
	}
	if !d.ExpectSP() || !d.ExpectString(&bs.Subtype) {
		return false
	}
	if d.SP() {
		bs.Extended = true
		if !d.bodyParams(&bs.Params) || !d.extensionTail(bs) {
			return false
		}
	}
	return d.ExpectSpecial(')')
}

// extensionTail reads [SP dsp [SP lang [SP loc *(SP ext)]]].
func (d *Decoder) extensionTail(bs *BodyStructure) bool {
	if !d.SP() {
		return true
	}
	if !d.atNIL() {
		ok := d.accept('(') && d.ExpectString(&bs.Disposition) && d.ExpectSP() &&
			d.bodyParams(&bs.DispositionParams) && d.ExpectSpecial(')')
		if !ok {
			return d.Fail("body disposition")
		}
	}
	if !d.SP() {
		return true
	}
	var s string
	switch ok, isNil := d.NString(&s); {
	case ok && !isNil:
		bs.Language = []string{s}
	case ok:
	default:
		if !d.ExpectList(func() bool {
			var l string
			if !d.ExpectString(&l) {
				return false
			}
			bs.Language = append(bs.Language, l)
			return true
		}) {
			return false
		}
	}
	if !d.SP() {
		return true
	}
	if !d.ExpectNString(&bs.Location) {
		return false
	}
	for d.SP() {
		var v Value
		if !d.Value(&v) {
			return d.Fail("body extension")
		}
	}
	return true
}

// bodyParams reads "(" string SP string *(SP string SP string) ")" / nil.
func (d *Decoder) bodyParams(ps *[]Param) bool {
	*ps = nil
	if d.atNIL() {
		return true
	}
	return d.ExpectList(func() bool {
		var p Param
		if !d.ExpectString(&p.Name) || !d.ExpectSP() || !d.ExpectString(&p.Value) {
			return false
		}
		*ps = append(*ps, p)
		return true
	})
}
