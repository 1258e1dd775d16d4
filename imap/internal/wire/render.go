package wire

import (
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
	e.envString(env.Date, env.Blank&mime.BlankDate != 0).SP()
	e.envString(env.Subject, env.Blank&mime.BlankSubject != 0).SP()
	e.addressList(env.From).SP().addressList(sender).SP().addressList(replyTo).SP()
	e.addressList(env.To).SP().addressList(env.Cc).SP().addressList(env.Bcc).SP()
	e.envString(env.InReplyTo, env.Blank&mime.BlankInReplyTo != 0).SP()
	e.envString(env.MessageID, env.Blank&mime.BlankMessageID != 0)
	return e.byte(')')
}

// envString writes an envelope field: NIL when absent, "" when present
// but empty.
func (e *Encoder) envString(s string, blank bool) *Encoder {
	if s == "" && blank {
		return e.raw(`""`)
	}
	return e.NString(s)
}

// Placeholders for the parts of an address that the message left out,
// as Dovecot writes them: NIL would turn the address into a group
// marker.
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)

func addrParts(a mime.Address) (mailbox, host string) {
	mailbox, host = a.Mailbox, a.Host
	if mailbox == "" {
		mailbox = missingMailbox
	}
	if host == "" {
		host = missingDomain
	}
	return mailbox, host
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
			mailbox, host := addrParts(a)
			e.NString(a.Name).SP().NString(a.Adl).SP().String(mailbox).SP().String(host)
		}
		e.byte(')')
	}
	return e.byte(')')
}

// BodyStructure writes the BODYSTRUCTURE of part p (extended) or its
// BODY (not extended). Types, subtypes, parameter names, encodings and
// dispositions are lower case, as Dovecot sends them (clients compare
// them case-insensitively). Multipart and message parts that were not parsed
// (limits, unknown boundary) are rendered as single parts.
func (e *Encoder) BodyStructure(p *mime.Part, extended bool) *Encoder {
	e.byte('(')
	if p.IsMultipart() {
		for i := range p.Parts {
			e.BodyStructure(&p.Parts[i], extended)
		}
		if len(p.Parts) == 0 {
			// No delimiter found (or no boundary): the grammar wants at
			// least one body; Dovecot writes an empty text/plain one.
			e.raw(emptyText)
			if extended {
				e.raw(" NIL NIL NIL NIL")
			}
			e.byte(')')
		}
		e.SP().String(p.Subtype)
		if extended {
			e.SP().params(p.Params).SP().disposition(p).SP().language(p.Language).SP().NString(p.Location)
		}
		return e.byte(')')
	}
	e.String(p.Type).SP().String(p.Subtype).SP()
	e.params(p.Params).SP().NString(p.ID).SP().NString(p.Description).SP()
	enc := p.Encoding
	if enc == "" {
		enc = "7bit"
	}
	e.String(enc).SP().Number64(uint64(p.BodySize))
	switch {
	case p.IsMessage():
		inner := &p.Parts[0]
		e.SP().Envelope(inner.Envelope).SP().BodyStructure(inner, extended).SP().Number64(uint64(p.BodyLines))
	case isMessageType(p):
		// Not parsed (limits, or a transfer encoding): the grammar still
		// wants an envelope and a body.
		e.SP().Envelope(nil).SP().raw(emptyText)
		if extended {
			e.raw(" NIL NIL NIL NIL")
		}
		e.raw(") ").Number64(uint64(p.BodyLines))
	case p.Type == "text":
		e.SP().Number64(uint64(p.BodyLines))
	}
	if extended {
		e.SP().NString(p.MD5).SP().disposition(p).SP().language(p.Language).SP().NString(p.Location)
	}
	return e.byte(')')
}

// params writes body-fld-param. UTF-8 clients get the decoded values
// (RFC 9051 §7.5.2 asks servers to decode RFC 2231); others get them as
// the message wrote them, RFC 2231 parameters as "name*" with the
// continuations joined, as Dovecot sends them, so that nothing 8-bit
// reaches a client that did not ask for it.
func (e *Encoder) params(ps []mime.Param) *Encoder {
	if len(ps) == 0 {
		return e.NIL()
	}
	e.byte('(')
	for i, p := range ps {
		if i > 0 {
			e.byte(' ')
		}
		name, value := paramWire(p, e.UTF8)
		e.String(name).SP().String(value)
	}
	return e.byte(')')
}

func paramWire(p mime.Param, utf8 bool) (name, value string) {
	switch {
	case utf8:
		return p.Name, p.Value
	case p.Extended:
		return p.Name + "*", p.Raw
	}
	return p.Name, p.Raw
}

func (e *Encoder) disposition(p *mime.Part) *Encoder {
	if p.Disposition == "" {
		return e.NIL()
	}
	e.byte('(').String(p.Disposition).SP().params(p.DispositionParams)
	return e.byte(')')
}

// language writes body-fld-lang, always as a list when present (as
// Dovecot does).
func (e *Encoder) language(l []string) *Encoder {
	if len(l) == 0 {
		return e.NIL()
	}
	e.byte('(')
	for i, s := range l {
		if i > 0 {
			e.byte(' ')
		}
		e.String(s)
	}
	return e.byte(')')
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
		out[i] = Address{Name: a.Name, Adl: a.Adl, Group: GroupMark(a.Group)}
		out[i].Mailbox, out[i].Host = addrParts(a)
		switch a.Group {
		case mime.GroupStart:
			out[i].Name, out[i].Adl, out[i].Mailbox, out[i].Host = "", "", a.Mailbox, ""
		case mime.GroupEnd:
			out[i] = Address{Group: GroupEnd}
		}
	}
	return out
}

// BodyStructureOf converts a parsed part to the value [Encoder.BodyStructure]
// renders (for an encoder with the given UTF8 setting), as a client
// decodes it.
func BodyStructureOf(p *mime.Part, extended, utf8 bool) BodyStructure {
	bs := BodyStructure{Extended: extended}
	multi := p.IsMultipart()
	if multi {
		bs.Type, bs.Subtype = "multipart", p.Subtype
		for i := range p.Parts {
			bs.Parts = append(bs.Parts, BodyStructureOf(&p.Parts[i], extended, utf8))
		}
		if len(p.Parts) == 0 {
			bs.Parts = []BodyStructure{emptyTextOf(extended)}
		}
	} else {
		bs.Type, bs.Subtype = p.Type, p.Subtype
		bs.ID, bs.Description, bs.Size = p.ID, p.Description, p.BodySize
		bs.Encoding = p.Encoding
		if bs.Encoding == "" {
			bs.Encoding = "7bit"
		}
		switch {
		case p.IsMessage():
			env := EnvelopeOf(p.Parts[0].Envelope)
			bs.Envelope = &env
			bs.Parts = []BodyStructure{BodyStructureOf(&p.Parts[0], extended, utf8)}
			bs.Lines = p.BodyLines
		case isMessageType(p):
			bs.Envelope = &Envelope{}
			bs.Parts = []BodyStructure{emptyTextOf(extended)}
			bs.Lines = p.BodyLines
		case p.Type == "text":
			bs.Lines = p.BodyLines
		}
		if extended {
			bs.MD5 = p.MD5
		}
	}
	if !multi || extended {
		bs.Params = paramsOf(p.Params, utf8)
	}
	if extended {
		if p.Disposition != "" {
			bs.Disposition = p.Disposition
			bs.DispositionParams = paramsOf(p.DispositionParams, utf8)
		}
		if len(p.Language) > 0 {
			bs.Language = append([]string(nil), p.Language...)
		}
		bs.Location = p.Location
	}
	return bs
}

func emptyTextOf(extended bool) BodyStructure {
	return BodyStructure{Type: "text", Subtype: "plain", Encoding: "7bit", Extended: extended,
		Params: []Param{{Name: "charset", Value: "us-ascii"}}}
}

func paramsOf(ps []mime.Param, utf8 bool) []Param {
	if len(ps) == 0 {
		return nil
	}
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i].Name, out[i].Value = paramWire(p, utf8)
	}
	return out
}

// emptyText is an empty text/plain body, without its closing
// parenthesis (extension data may follow).
const emptyText = `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0`

func isMessageType(p *mime.Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
}
