package imap

import (
	"strings"

	"github.com/posthorn/posthorn/imap/internal/wire"
)

// The value types of the protocol are defined next to the codec (which
// cannot import this package) and re-exported here under the same names;
// they are the same types, so values pass freely between the two.

// Flag is a message flag or keyword (RFC 9051 §2.3.2). System flags start
// with a backslash; keywords are atoms. Flags compare case-insensitively
// on the wire: use Flag.Equal. Flag.IsSystem reports a backslash flag.
type Flag = wire.Flag

// StatusType is the kind of a status response (OK, NO, BAD, BYE,
// PREAUTH).
type StatusType = wire.StatusType

// ResponseCode is the atom inside "[...]" of a status response.
type ResponseCode = wire.ResponseCode

// Address is one element of an address list in an ENVELOPE
// (RFC 9051 §7.5.2). Group syntax is flattened as IMAP does: a marker
// with Group == GroupStart and the group name in Mailbox, the members,
// then a marker with Group == GroupEnd. Address.Addr returns
// "mailbox@host".
type Address = wire.Address

// GroupMark says whether an Address is an RFC 5322 group delimiter.
type GroupMark = wire.GroupMark

// Group markers.
const (
	GroupNone  = wire.GroupNone  // an ordinary address
	GroupStart = wire.GroupStart // start of group: Mailbox is the group name, Host NIL
	GroupEnd   = wire.GroupEnd   // end of group: Mailbox and Host NIL
)

// Envelope is the ENVELOPE of a message (RFC 9051 §7.5.2). Strings hold
// the header values as sent, unfolded; "" stands for NIL.
//
// The fields of an Envelope the client decoded share memory: keeping
// one keeps at most about 1 KiB of the others' strings and up to 16
// addresses alive (strings.Clone or slices.Clone keeps it alone).
type Envelope = wire.Envelope

// Param is a MIME parameter (name, value) with RFC 2231 and RFC 2047
// already decoded; BODYSTRUCTURE keeps parameter order.
type Param = wire.Param

// BodyStructure is the BODYSTRUCTURE (or BODY) of a message or a part
// (RFC 9051 §7.5.2). For a multipart, Parts holds the children; for
// message/rfc822, Envelope and Parts[0] (the encapsulated message's
// structure) are set. Extended reports extension data (BODYSTRUCTURE).
type BodyStructure = wire.BodyStructure

// PartSpecifier is the text part of a section spec (RFC 9051 §6.4.5).
type PartSpecifier = wire.PartSpecifier

// Section text specifiers.
const (
	PartAll             = wire.PartAll
	PartHeader          = wire.PartHeader
	PartHeaderFields    = wire.PartHeaderFields
	PartHeaderFieldsNot = wire.PartHeaderFieldsNot
	PartText            = wire.PartText
	PartMIME            = wire.PartMIME
)

// Section is the part between brackets of BODY[...] or BINARY[...]:
// "1.2.HEADER.FIELDS (From To)" is Path {1,2}, Specifier
// PartHeaderFields, Fields {"From", "To"}. Section.String formats it.
type Section = wire.Section

// SearchKey is one node of a SEARCH criteria tree (RFC 9051 §6.4.4).
// Key is the upper-case search key ("ALL", "FROM", "OR", "NOT",
// "HEADER", "SINCE", ..., "SEQSET" and "UID" for sets, "AND" for a
// parenthesized list); the argument fields used depend on Key.
type SearchKey = wire.SearchKey

// System flags and well-known keywords.
const (
	FlagSeen     Flag = `\Seen`
	FlagAnswered Flag = `\Answered`
	FlagFlagged  Flag = `\Flagged`
	FlagDeleted  Flag = `\Deleted`
	FlagDraft    Flag = `\Draft`
	FlagRecent   Flag = `\Recent` // IMAP4rev1 only; session flag

	// FlagWildcard in PERMANENTFLAGS means clients may create keywords.
	FlagWildcard Flag = `\*`

	FlagForwarded Flag = "$Forwarded" // RFC 5550
	FlagMDNSent   Flag = "$MDNSent"   // RFC 3503
	FlagJunk      Flag = "$Junk"      // RFC 9051 §2.3.2
	FlagNotJunk   Flag = "$NotJunk"
	FlagPhishing  Flag = "$Phishing"
)

// MailboxAttr is a mailbox name attribute in a LIST response
// (RFC 9051 §7.3.1, RFC 6154 special-use, RFC 5258 LIST-EXTENDED).
type MailboxAttr string

// Mailbox attributes.
const (
	AttrNoInferiors   MailboxAttr = `\Noinferiors`
	AttrNoSelect      MailboxAttr = `\Noselect`
	AttrMarked        MailboxAttr = `\Marked`
	AttrUnmarked      MailboxAttr = `\Unmarked`
	AttrNonExistent   MailboxAttr = `\NonExistent`
	AttrSubscribed    MailboxAttr = `\Subscribed`
	AttrRemote        MailboxAttr = `\Remote`
	AttrHasChildren   MailboxAttr = `\HasChildren`
	AttrHasNoChildren MailboxAttr = `\HasNoChildren`

	// Special-use attributes (RFC 6154).
	AttrAll     MailboxAttr = `\All`
	AttrArchive MailboxAttr = `\Archive`
	AttrDrafts  MailboxAttr = `\Drafts`
	AttrFlagged MailboxAttr = `\Flagged`
	AttrJunk    MailboxAttr = `\Junk`
	AttrSent    MailboxAttr = `\Sent`
	AttrTrash   MailboxAttr = `\Trash`
)

// Status response kinds (RFC 9051 §7.1).
const (
	StatusOK      StatusType = "OK"
	StatusNO      StatusType = "NO"
	StatusBAD     StatusType = "BAD"
	StatusBYE     StatusType = "BYE"
	StatusPREAUTH StatusType = "PREAUTH"
)

// Response codes of RFC 9051 §7.1, RFC 5530 and the extensions this
// module implements.
const (
	CodeAlert          ResponseCode = "ALERT"
	CodeBadCharset     ResponseCode = "BADCHARSET"
	CodeCapability     ResponseCode = "CAPABILITY"
	CodeParse          ResponseCode = "PARSE"
	CodePermanentFlags ResponseCode = "PERMANENTFLAGS"
	CodeReadOnly       ResponseCode = "READ-ONLY"
	CodeReadWrite      ResponseCode = "READ-WRITE"
	CodeTryCreate      ResponseCode = "TRYCREATE"
	CodeUIDNext        ResponseCode = "UIDNEXT"
	CodeUIDValidity    ResponseCode = "UIDVALIDITY"
	CodeUnseen         ResponseCode = "UNSEEN" // rev1 only
	CodeClosed         ResponseCode = "CLOSED"
	CodeHasChildren    ResponseCode = "HASCHILDREN"

	// RFC 5530.
	CodeUnavailable          ResponseCode = "UNAVAILABLE"
	CodeAuthenticationFailed ResponseCode = "AUTHENTICATIONFAILED"
	CodeAuthorizationFailed  ResponseCode = "AUTHORIZATIONFAILED"
	CodeExpired              ResponseCode = "EXPIRED"
	CodePrivacyRequired      ResponseCode = "PRIVACYREQUIRED"
	CodeContactAdmin         ResponseCode = "CONTACTADMIN"
	CodeNoPerm               ResponseCode = "NOPERM"
	CodeInUse                ResponseCode = "INUSE"
	CodeExpungeIssued        ResponseCode = "EXPUNGEISSUED"
	CodeCorruption           ResponseCode = "CORRUPTION"
	CodeServerBug            ResponseCode = "SERVERBUG"
	CodeClientBug            ResponseCode = "CLIENTBUG"
	CodeCannot               ResponseCode = "CANNOT"
	CodeLimit                ResponseCode = "LIMIT"
	CodeOverQuota            ResponseCode = "OVERQUOTA"
	CodeAlreadyExists        ResponseCode = "ALREADYEXISTS"
	CodeNonExistent          ResponseCode = "NONEXISTENT"

	CodeAppendUID     ResponseCode = "APPENDUID"     // RFC 4315
	CodeCopyUID       ResponseCode = "COPYUID"       // RFC 4315
	CodeUIDNotSticky  ResponseCode = "UIDNOTSTICKY"  // RFC 4315
	CodeHighestModSeq ResponseCode = "HIGHESTMODSEQ" // RFC 7162
	CodeNoModSeq      ResponseCode = "NOMODSEQ"      // RFC 7162
	CodeModified      ResponseCode = "MODIFIED"      // RFC 7162
	CodeNotSaved      ResponseCode = "NOTSAVED"      // RFC 5182
	CodeTooBig        ResponseCode = "TOOBIG"        // RFC 4469, RFC 7889
	CodeUnknownCTE    ResponseCode = "UNKNOWN-CTE"   // RFC 3516
	CodeUseAttr       ResponseCode = "USEATTR"       // RFC 6154
)

// Error is a status response other than OK: a tagged NO or BAD, or an
// untagged BYE. Servers return it from handlers to choose the reply;
// clients return it for every failed command. Match it with errors.As.
type Error struct {
	Type StatusType   // StatusNO, StatusBAD or StatusBYE
	Code ResponseCode // optional
	// CodeArg is the raw text after the code inside the brackets, e.g.
	// "(UTF-8)" for BADCHARSET; optional.
	CodeArg string
	Text    string // human-readable; must not contain CR or LF
}

// Error formats the status as it appears on the wire, after the tag.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("imap: ")
	b.WriteString(string(e.Type))
	if e.Code != "" {
		b.WriteString(" [")
		b.WriteString(string(e.Code))
		if e.CodeArg != "" {
			b.WriteByte(' ')
			b.WriteString(e.CodeArg)
		}
		b.WriteByte(']')
	}
	if e.Text != "" {
		b.WriteByte(' ')
		b.WriteString(e.Text)
	}
	return b.String()
}
