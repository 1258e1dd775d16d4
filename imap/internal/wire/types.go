package wire

import (
	"strconv"
	"strings"
	"time"
)

// The value types below are shared by the codec, the server and the
// client. Package imap re-exports each of them under the same name
// (type aliases), which is where users meet them; they are defined here
// so that the codec does not import package imap, which imports it.

// Flag is a message flag or keyword (RFC 9051 §2.3.2). System flags start
// with a backslash; keywords are atoms. Flags compare case-insensitively
// on the wire; use [Flag.Equal].
type Flag string

// Equal reports whether f and g are the same flag, ignoring ASCII case.
func (f Flag) Equal(g Flag) bool { return strings.EqualFold(string(f), string(g)) }

// IsSystem reports whether f is a backslash flag.
func (f Flag) IsSystem() bool { return strings.HasPrefix(string(f), `\`) }

// StatusType is the kind of a status response.
type StatusType string

// ResponseCode is the atom inside "[...]" of a status response.
type ResponseCode string

// Address is one element of an address list in an ENVELOPE
// (RFC 9051 §7.5.2). Group syntax is flattened as IMAP does: a marker
// with Group == GroupStart and the group name in Mailbox, the members,
// then a marker with Group == GroupEnd.
type Address struct {
	Name    string // display name, as sent (RFC 2047 encoded words kept)
	Adl     string // obsolete source route
	Mailbox string // local part, or the group name on a GroupStart marker
	Host    string // domain
	Group   GroupMark
}

// GroupMark says whether an Address is an RFC 5322 group delimiter.
type GroupMark uint8

// Group markers.
const (
	GroupNone  GroupMark = iota // an ordinary address
	GroupStart                  // start of group: Mailbox is the group name, Host NIL
	GroupEnd                    // end of group: Mailbox and Host NIL
)

// Addr returns "mailbox@host", or "" for a group marker.
func (a Address) Addr() string {
	if a.Group != GroupNone {
		return ""
	}
	if a.Host == "" {
		return a.Mailbox
	}
	return a.Mailbox + "@" + a.Host
}

// Envelope is the ENVELOPE of a message (RFC 9051 §7.5.2). Strings hold
// the header values as sent, unfolded; "" stands for NIL. Sender and
// ReplyTo are as in the message; the server renders a missing one as
// From, as the RFC requires.
//
// Memory: an Envelope decoded from a server's response is built with
// few allocations, so its fields share memory. Its strings are cut from
// shared strings of at most 1 KiB (a longer one stands alone), and its
// address lists share one array when they hold 16 addresses or fewer
// together (each list's capacity ends with it, so appending copies).
// Keeping one field therefore keeps at most about 1 KiB of the others'
// strings, and up to 16 addresses, alive; copy a field
// (strings.Clone, slices.Clone) to keep it alone.
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
}

// Param is a MIME parameter (name, value) with RFC 2231 and RFC 2047
// already decoded; BODYSTRUCTURE keeps parameter order.
type Param struct {
	Name  string
	Value string
}

// BodyStructure is the BODYSTRUCTURE (or BODY) of a message or a part
// (RFC 9051 §7.5.2). For a multipart, Parts holds the children and the
// single-part fields are zero; for message/rfc822, Envelope and Parts[0]
// (the encapsulated message's structure) are set.
type BodyStructure struct {
	Type    string // "text", "multipart", ...
	Subtype string
	Params  []Param

	// Single-part fields.
	ID          string
	Description string
	Encoding    string // "7BIT", "BASE64", ...
	Size        int64  // octets of the encoded body
	Lines       int64  // text/* and message/rfc822 only
	Envelope    *Envelope

	Parts []BodyStructure

	// Extension data (BODYSTRUCTURE, not BODY).
	Extended          bool
	MD5               string
	Disposition       string // "inline", "attachment", "" for NIL
	DispositionParams []Param
	Language          []string
	Location          string
}

// IsMultipart reports whether bs describes a multipart body.
func (bs *BodyStructure) IsMultipart() bool { return strings.EqualFold(bs.Type, "multipart") }

// PartSpecifier is the text part of a section spec (RFC 9051 §6.4.5).
type PartSpecifier string

// Section text specifiers.
const (
	PartAll             PartSpecifier = ""
	PartHeader          PartSpecifier = "HEADER"
	PartHeaderFields    PartSpecifier = "HEADER.FIELDS"
	PartHeaderFieldsNot PartSpecifier = "HEADER.FIELDS.NOT"
	PartText            PartSpecifier = "TEXT"
	PartMIME            PartSpecifier = "MIME"
)

// Section is the part between brackets of BODY[...] or BINARY[...]:
// "1.2.HEADER.FIELDS (From To)" is Path {1,2}, Specifier
// PartHeaderFields, Fields {"From", "To"}.
type Section struct {
	Path      []int
	Specifier PartSpecifier
	Fields    []string
}

// String formats s as it appears between the brackets.
func (s Section) String() string {
	var b strings.Builder
	for i, n := range s.Path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if s.Specifier != PartAll {
		if len(s.Path) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(string(s.Specifier))
	}
	if s.Specifier == PartHeaderFields || s.Specifier == PartHeaderFieldsNot {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// SearchKey is one node of a SEARCH criteria tree (RFC 9051 §6.4.4).
// Key is the upper-case search key ("ALL", "FROM", "OR", "NOT", "HEADER",
// "SINCE", ... and "SEQSET"/"UID" for sets, "AND" for a parenthesized
// list); the argument fields used depend on Key.
type SearchKey struct {
	Key   string
	Set   NumSet      // SEQSET, UID
	Str   string      // FROM, SUBJECT, BODY, TEXT, HEADER (value), KEYWORD, ...
	Field string      // HEADER field name
	Date  time.Time   // BEFORE, ON, SINCE, SENTBEFORE, ... (date only, UTC)
	Num   uint64      // LARGER, SMALLER, OLDER, YOUNGER, MODSEQ
	Flag  Flag        // KEYWORD, UNKEYWORD
	Keys  []SearchKey // NOT (1), OR (2), AND (n)
}
