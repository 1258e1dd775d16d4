// Package imap holds what the IMAP client and server share: the value
// types of the protocol (sequence and UID sets, flags, envelopes, body
// structures, section specs, search keys, response codes) and the
// [Error] type that carries a tagged NO, BAD or BYE.
//
// The wire codec lives in imap/internal/wire, modified UTF-7 in
// internal/utf7 and the MIME parser in internal/mime. The value
// types are declared beside the codec (which cannot import this package)
// and appear here as aliases: imap.NumSet and the codec's NumSet are one
// type.
//
// # Supported specifications (value types)
//
//	| Specification            | Status                                          |
//	|--------------------------|-------------------------------------------------|
//	| RFC 3501 IMAP4rev1       | sequence sets, flags, ENVELOPE, BODYSTRUCTURE    |
//	| RFC 9051 IMAP4rev2       | same, plus rev2 response codes                   |
//	| RFC 5530 response codes  | all codes as ResponseCode constants              |
//	| RFC 5182 SEARCHRES       | "$" in NumSet (NumSet.SearchRes)                 |
//	| RFC 6154 SPECIAL-USE     | mailbox attribute constants                      |
//	| RFC 4315 UIDPLUS         | APPENDUID, COPYUID, UIDNOTSTICKY codes           |
//	| RFC 7162 CONDSTORE       | HIGHESTMODSEQ, NOMODSEQ, MODIFIED codes          |
//
// # Sequence sets and hostile input
//
// A [NumSet] is kept as the ranges the peer sent. Nothing expands a range
// into memory: [NumSet.Contains] tests membership, [NumSet.Normalize]
// resolves "*" against the mailbox size, sorts and merges, and
// [NumSet.All] iterates numbers bounded by the mailbox size, so
// "1:4294967295,1:*" repeated a thousand times costs what the mailbox
// holds, not four billion steps.
//
// All types are plain values; they are safe for concurrent reads.
package imap
