package mailbox

import (
	"context"
	"time"
)

// Optional interfaces. A store implements them when it can do the job faster
// or better than the generic path; the servers and helpers find them by type
// assertion, like io.WriterTo.

// Copier is implemented by a Mailbox that copies messages into another
// mailbox of the same account without reading them through the library
// (hard links, a database INSERT … SELECT). Copy uses it.
type Copier interface {
	CopyTo(ctx context.Context, uids []UID, dest string) (CopyResult, error)
}

// Mover is implemented by a Mailbox that moves messages atomically
// (RFC 6851): the copies appear in dest and the originals are expunged in
// one step, so no session ever sees both or neither. Move uses it.
type Mover interface {
	MoveTo(ctx context.Context, uids []UID, dest string) (CopyResult, error)
}

// MetadataCache is implemented by a Mailbox that keeps data the library
// derives from a message (the parsed MIME structure and envelope IMAP FETCH
// needs) so it is computed once, not at every FETCH. The data is opaque to
// the store and removed with the message.
type MetadataCache interface {
	// Metadata returns what SetMetadata stored for uid, or an error wrapping
	// ErrNotExist when there is none.
	Metadata(ctx context.Context, uid UID) ([]byte, error)
	// SetMetadata stores data for uid, replacing what was there. It need
	// not be durable: losing it only costs a re-parse.
	SetMetadata(ctx context.Context, uid UID, data []byte) error
}

// MessageReader is implemented by a Mailbox that reads a whole message into
// memory more cheaply than Open, Read and Close (a single read into the
// caller's buffer, no handle allocated). IMAP SEARCH uses it for the
// messages it reads whole.
type MessageReader interface {
	// ReadMessage appends the bytes of message uid, exactly as Open would
	// return them, to dst and returns the extended slice. ErrNotExist if
	// uid is not in the mailbox.
	ReadMessage(ctx context.Context, uid UID, dst []byte) ([]byte, error)
}

// Searcher is implemented by a Mailbox that evaluates search criteria itself
// (an index, a database query). The library evaluates every criterion on its
// own otherwise; a store returning an error wrapping errors.ErrUnsupported
// for some criteria sends the library back to the generic path.
type Searcher interface {
	Search(ctx context.Context, c *SearchCriteria) ([]UID, error)
}

// Quotaer is implemented by an Account with resource limits (RFC 9208).
// Append returns an error wrapping ErrOverQuota when a limit is hit.
type Quotaer interface {
	Quota(ctx context.Context) (Quota, error)
}

// UIDLer is implemented by a Mailbox that chooses its own POP3 unique-id
// listing (RFC 1939 §7): 1 to 70 characters in the range 0x21–0x7E, stable
// for a message across sessions. By default POP3 derives it from
// UIDVALIDITY and UID.
type UIDLer interface {
	UIDL(ctx context.Context, uid UID) (string, error)
}

// UIDRange is an inclusive range of UIDs.
type UIDRange struct{ Start, Stop UID }

// SearchHeader matches messages whose header field Name contains Value
// (case-insensitive substring; an empty Value matches any message having
// the field).
type SearchHeader struct{ Name, Value string }

// SearchCriteria is a conjunction of conditions on messages (RFC 9051
// §6.4.4) expressed on UIDs only: the IMAP server translates sequence
// numbers, "$" and "*" before a store sees them. Zero fields match all.
type SearchCriteria struct {
	UIDs []UIDRange // the message's UID lies in one of the ranges (nil: any)

	Since, Before           time.Time // internal date ≥ Since, < Before (calendar days resolved by the caller)
	SentSince, SentBefore   time.Time // Date: header, likewise
	SavedSince, SavedBefore time.Time // RFC 8514 save date

	Header []SearchHeader
	Body   []string // substrings of the decoded body text
	Text   []string // substrings of the header or decoded body text

	WithFlags    []Flag
	WithoutFlags []Flag

	Larger, Smaller int64  // size > Larger, size < Smaller (0: no condition)
	ModSeq          ModSeq // MODSEQ ≥ ModSeq (RFC 7162)

	Not []SearchCriteria    // none of these match
	Or  [][2]SearchCriteria // at least one of each pair matches
}

// Sorter is implemented by a Mailbox that orders messages itself (an
// index, a database ORDER BY) for IMAP SORT (RFC 5256, RFC 5957). Sort
// returns uids, each once, ordered by crit, the first criterion deciding
// first, and messages that compare equal in ascending UID order (RFC 5256
// §3: sequence order). A store that cannot order by one of the criteria
// returns an error wrapping errors.ErrUnsupported, and the library sorts
// from the messages' headers instead, as it does for a store without
// Sorter.
type Sorter interface {
	Sort(ctx context.Context, crit []SortCriterion, uids []UID) ([]UID, error)
}

// SortCriterion is one key of a sort, descending when Reverse is set.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// SortKey names what a SortCriterion compares (RFC 5256 §3, RFC 5957).
// Strings compare as the library folds them: Unicode upper then lower case.
type SortKey string

// Sort keys.
const (
	SortArrival     SortKey = "ARRIVAL"     // internal date
	SortDate        SortKey = "DATE"        // Date: header; the internal date when missing or invalid
	SortSize        SortKey = "SIZE"        // size in octets
	SortFrom        SortKey = "FROM"        // mailbox (local part) of the first From: address, lower case
	SortTo          SortKey = "TO"          // likewise for To:
	SortCc          SortKey = "CC"          // likewise for Cc:
	SortSubject     SortKey = "SUBJECT"     // base subject (RFC 5256 §2.1)
	SortDisplayFrom SortKey = "DISPLAYFROM" // display name of the first From: address, else the address (RFC 5957)
	SortDisplayTo   SortKey = "DISPLAYTO"   // likewise for To:
)
