package mailbox

import (
	"time"
)

// UID is a message's unique identifier within one mailbox (RFC 9051 §2.3.1.1).
// UIDs are assigned in strictly ascending order and are never reused while the
// mailbox keeps its UIDVALIDITY. Zero is not a valid UID.
type UID uint32

// ModSeq is a modification sequence (RFC 7162 §3.1.1): a per-mailbox counter
// that grows with every change to a message (append, flag change, expunge).
// Zero means "none" or "no condition".
type ModSeq uint64

// MessageInfo is what a store keeps about one message, besides its bytes.
// Values returned by a store are copies: the caller may modify them.
type MessageInfo struct {
	UID          UID
	Flags        []Flag    // system flags and keywords, in canonical form (see CanonicalFlags)
	InternalDate time.Time // RFC 9051 §2.3.3: when the message arrived
	SaveDate     time.Time // RFC 8514: when it was saved into this mailbox (append, copy, move)
	Size         int64     // exact size in octets of what Open returns
	ModSeq       ModSeq    // last change to this message
}

// HasFlag reports whether m carries f (system flags compared case-insensitively).
func (m *MessageInfo) HasFlag(f Flag) bool { return hasFlag(m.Flags, f) }

// Status is the state of a mailbox at one instant.
type Status struct {
	Messages      uint32 // number of messages
	Unseen        uint32 // messages without \Seen
	Deleted       uint32 // messages with \Deleted (RFC 9051 STATUS DELETED)
	Size          int64  // sum of the messages' sizes (RFC 8438 STATUS=SIZE)
	UIDNext       UID    // the UID the next appended message will get, at least
	UIDValidity   uint32 // never reused for this mailbox name
	HighestModSeq ModSeq // highest MODSEQ of any change in this mailbox, expunges included; ≥ 1 even when empty (RFC 7162 §3.1.2.1)
}

// Attr is a mailbox attribute as LIST reports it (RFC 9051 §7.3.1, RFC 6154).
type Attr string

// Mailbox attributes. The special-use ones (RFC 6154) are set at creation and
// reported by List; the others describe the hierarchy.
const (
	AttrNoSelect      Attr = `\Noselect`
	AttrNoInferiors   Attr = `\Noinferiors`
	AttrHasChildren   Attr = `\HasChildren`
	AttrHasNoChildren Attr = `\HasNoChildren`
	AttrMarked        Attr = `\Marked`
	AttrUnmarked      Attr = `\Unmarked`

	AttrAll     Attr = `\All`
	AttrArchive Attr = `\Archive`
	AttrDrafts  Attr = `\Drafts`
	AttrFlagged Attr = `\Flagged`
	AttrJunk    Attr = `\Junk`
	AttrSent    Attr = `\Sent`
	AttrTrash   Attr = `\Trash`
)

// IsSpecialUse reports whether a is one of the RFC 6154 special-use attributes.
func (a Attr) IsSpecialUse() bool {
	switch a {
	case AttrAll, AttrArchive, AttrDrafts, AttrFlagged, AttrJunk, AttrSent, AttrTrash:
		return true
	}
	return false
}

// MailboxInfo describes one mailbox of an account, as List returns it.
type MailboxInfo struct {
	Name       string // full UTF-8 name with "/" as the hierarchy delimiter; "INBOX" for the inbox
	Attrs      []Attr // \Noselect, \HasChildren/\HasNoChildren and the special-use attribute, if any
	Subscribed bool
}

// HasAttr reports whether info carries a.
func (info *MailboxInfo) HasAttr(a Attr) bool {
	for _, x := range info.Attrs {
		if x == a {
			return true
		}
	}
	return false
}

// CreateOptions are the optional parameters of Account.Create.
type CreateOptions struct {
	SpecialUse Attr // RFC 6154 CREATE-SPECIAL-USE; "" for none
}

// AppendOptions are the optional parameters of Mailbox.Append.
type AppendOptions struct {
	Flags        []Flag    // initial flags; validated with ValidFlag
	InternalDate time.Time // zero → now
}

// FlagOp says how SetFlags combines the given flags with a message's flags.
type FlagOp int

// The flag operations of IMAP STORE (RFC 9051 §6.4.6).
const (
	FlagsReplace FlagOp = iota // FLAGS: the message gets exactly these flags
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// String returns the IMAP spelling of op.
func (op FlagOp) String() string {
	switch op {
	case FlagsReplace:
		return "FLAGS"
	case FlagsAdd:
		return "+FLAGS"
	case FlagsRemove:
		return "-FLAGS"
	}
	return "FlagOp(?)"
}

// FlagChange is the new state of one message after a flag change.
type FlagChange struct {
	UID    UID
	Flags  []Flag
	ModSeq ModSeq
}

// FlagResult is what SetFlags did.
type FlagResult struct {
	// Changed lists the messages whose flags changed, with their new flags
	// and MODSEQ, in UID order. Messages whose flags were already as asked
	// are not listed and keep their MODSEQ (RFC 7162 §3.1.3).
	Changed []FlagChange
	// Modified lists the messages left untouched because their MODSEQ was
	// above the UNCHANGEDSINCE condition (RFC 7162 §3.1.3 MODIFIED).
	Modified []UID
}

// CopyResult maps source UIDs to the UIDs the copies got in the destination
// (RFC 4315 COPYUID). Source[i] was copied to Dest[i]. UIDs that did not
// exist in the source are absent.
type CopyResult struct {
	UIDValidity uint32 // of the destination mailbox
	Source      []UID
	Dest        []UID
}

// Quota is a resource limit and its use (RFC 9208). A Limit of zero means
// unlimited.
type Quota struct {
	StorageUsed, StorageLimit   int64 // octets
	MessagesUsed, MessagesLimit int64
}
