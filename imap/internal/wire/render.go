package wire

import (
	"strings"

	"github.com/posthorn/posthorn/internal/mime"
)

// This file renders ENVELOPE and BODYSTRUCTURE (RFC 9051 §7.5.2) from
// the result of internal/mime, and decodes them into imap values.

// Envelope writes the ENVELOPE of a message. A missing Sender or
// Reply-To is rendered as From (RFC 9051 §7.5.2); a nil env renders as
// an envelope of NILs.
func (e *Encoder) Envelope(env *mime.Envelope) *Encoder {
	if env == nil {
		env = &mime.Envelope{}
	}
	sender, replyTo := env.Sender, env.ReplyTo
	if len(sender) == 0 {
		sender = env.From
	}
	if len(replyTo) == 0 {
		replyTo = env.From
	}
	e.byte('(')
	e.NString(env.Date).SP().NString(env.Subject).SP()
	e.addressList(env.From).SP().addressList(sender).SP().addressList(replyTo).SP()
	e.addressList(env.To).SP().addressList(env.Cc).SP().addressList(env.Bcc).SP()
	e.NString(env.InReplyTo).SP().NString(env.MessageID)
	return e.byte(')')
}

func (e *Encoder) addressList(l []mime.Address) *Encoder {
	if len(l) == 0 {
		return e.NIL()
	}
	e.byte('(')
	for _, a := range l {
		e.byte('(')
		switch a.Group {
		case mime.GroupStart:
			// The group name is never NIL: that would end the group.
			e.raw("NIL NIL ").String(a.Mailbox).raw(" NIL")
		case mime.GroupEnd:
			e.raw("NIL NIL NIL NIL")
		default:
			// An address without a domain keeps host "" (not NIL,
			// which would make it a group marker).
			e.NString(a.Name).SP().NString(a.Adl).SP().String(a.Mailbox).SP().String(a.Host)
		}
		e.byte(')')
	}
	return e.byte(')')
}

// BodyStructure writes the BODYSTRUCTURE of part p (extended) or its
// BODY (not extended). Multipart and message parts that were not parsed
// (limits, unknown boundary) are rendered as single parts.
func (e *Encoder) BodyStructure(p *mime.Part, extended bool) *Encoder {
	e.byte('(')
	if p.IsMultipart() && len(p.Parts) > 0 {
		for i := range p.Parts {
			e.BodyStructure(&p.Parts[i], extended)
		}
		e.SP().String(strings.ToUpper(p.Subtype))
		if extended {
			e.SP().params(p.Params).SP().disposition(p).SP().language(p.Language).SP().NString(p.Location)
		}
		return e.byte(')')
	}
	e.String(strings.ToUpper(p.Type)).SP().String(strings.ToUpper(p.Subtype)).SP()
	e.params(p.Params).SP().NString(p.ID).SP().NString(p.Description).SP()
	enc := strings.ToUpper(p.Encoding)
	if enc == "" {
		enc = "7BIT"
	}
	e.String(enc).SP().Number64(uint64(p.BodySize))
	switch {
	case p.IsMessage():
		inner := &p.Parts[0]
		e.SP().Envelope(inner.Envelope).SP().BodyStructure(inner, extended).SP().Number64(uint64(p.BodyLines))
	case isMessageType(p):
		// Not parsed (limits, or a transfer encoding): the grammar still
		// wants an envelope and a body.
		e.SP().Envelope(nil).SP().raw(`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0)`).SP().Number64(uint64(p.BodyLines))
	case p.Type == "text":
		e.SP().Number64(uint64(p.BodyLines))
	}
	if extended {
		e.SP().NString(p.MD5).SP().disposition(p).SP().language(p.Language).SP().NString(p.Location)
	}
	return e.byte(')')
}

func (e *Encoder) params(ps []mime.Param) *Encoder {
	if len(ps) == 0 {
		return e.NIL()
	}
	return e.List(len(ps), func(i int) {
		e.String(strings.ToUpper(ps[i].Name)).SP().String(ps[i].Value)
	})
}

func (e *Encoder) disposition(p *mime.Part) *Encoder {
	if p.Disposition == "" {
		return e.NIL()
	}
	e.byte('(').String(strings.ToUpper(p.Disposition)).SP().params(p.DispositionParams)
	return e.byte(')')
}

func (e *Encoder) language(l []string) *Encoder {
	switch len(l) {
	case 0:
		return e.NIL()
	case 1:
		return e.String(l[0])
	}
	return e.List(len(l), func(i int) { e.String(l[i]) })
}

// EnvelopeOf converts a parsed envelope to the value the client API
// returns, applying the same defaults as [Encoder.Envelope].
func EnvelopeOf(env *mime.Envelope) Envelope {
	if env == nil {
		return Envelope{}
	}
	out := Envelope{
		Date: env.Date, Subject: env.Subject, InReplyTo: env.InReplyTo, MessageID: env.MessageID,
		From: addressesOf(env.From), Sender: addressesOf(env.Sender), ReplyTo: addressesOf(env.ReplyTo),
		To: addressesOf(env.To), Cc: addressesOf(env.Cc), Bcc: addressesOf(env.Bcc),
	}
	if len(out.Sender) == 0 {
		out.Sender = out.From
	}
	if len(out.ReplyTo) == 0 {
		out.ReplyTo = out.From
	}
	return out
}

func addressesOf(l []mime.Address) []Address {
	if len(l) == 0 {
		return nil
	}
	out := make([]Address, len(l))
	for i, a := range l {
		out[i] = Address{Name: a.Name, Adl: a.Adl, Mailbox: a.Mailbox, Host: a.Host, Group: GroupMark(a.Group)}
		if a.Group == mime.GroupEnd {
			out[i].Mailbox = ""
		}
		if a.Group != mime.GroupNone {
			out[i].Name, out[i].Adl, out[i].Host = "", "", ""
		}
	}
	return out
}

// BodyStructureOf converts a parsed part to the value [Encoder.BodyStructure]
// renders, as a client decodes it.
func BodyStructureOf(p *mime.Part, extended bool) BodyStructure {
	bs := BodyStructure{Extended: extended}
	multi := p.IsMultipart() && len(p.Parts) > 0
	if multi {
		bs.Type, bs.Subtype = "MULTIPART", strings.ToUpper(p.Subtype)
		for i := range p.Parts {
			bs.Parts = append(bs.Parts, BodyStructureOf(&p.Parts[i], extended))
		}
	} else {
		bs.Type, bs.Subtype = strings.ToUpper(p.Type), strings.ToUpper(p.Subtype)
		bs.ID, bs.Description, bs.Size = p.ID, p.Description, p.BodySize
		bs.Encoding = strings.ToUpper(p.Encoding)
		if bs.Encoding == "" {
			bs.Encoding = "7BIT"
		}
		switch {
		case p.IsMessage():
			env := EnvelopeOf(p.Parts[0].Envelope)
			bs.Envelope = &env
			bs.Parts = []BodyStructure{BodyStructureOf(&p.Parts[0], extended)}
			bs.Lines = p.BodyLines
		case isMessageType(p):
			bs.Envelope = &Envelope{}
			bs.Parts = []BodyStructure{{Type: "TEXT", Subtype: "PLAIN", Encoding: "7BIT"}}
			bs.Lines = p.BodyLines
		case p.Type == "text":
			bs.Lines = p.BodyLines
		}
		if extended {
			bs.MD5 = p.MD5
		}
	}
	if !multi || extended {
		bs.Params = paramsOf(p.Params)
	}
	if extended {
		if p.Disposition != "" {
			bs.Disposition = strings.ToUpper(p.Disposition)
			bs.DispositionParams = paramsOf(p.DispositionParams)
		}
		if len(p.Language) > 0 {
			bs.Language = append([]string(nil), p.Language...)
		}
		bs.Location = p.Location
	}
	return bs
}

func paramsOf(ps []mime.Param) []Param {
	if len(ps) == 0 {
		return nil
	}
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i] = Param{Name: strings.ToUpper(p.Name), Value: p.Value}
	}
	return out
}

func isMessageType(p *mime.Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
}
