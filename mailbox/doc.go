// Package mailbox is the storage contract of Posthorn: the interfaces an
// application implements so that the SMTP, LMTP, POP3 and IMAP servers can
// deliver into, serve and change its users' mail, and the types all the
// protocols share about stored mail.
//
// The application owns users and storage; the library owns the protocols. A
// store only stores and reports changes. Sequence numbers, each session's
// view of a selected mailbox, the unsolicited EXISTS/EXPUNGE/FETCH responses,
// IDLE and the POP3 UPDATE state are kept by the protocol servers, never by
// the store.
//
// # The contract
//
//   - [Store] opens a user's [Account]; an [Authenticator] (and optionally a
//     [TokenAuthenticator] or [SecretAuthenticator]) verifies logins; a
//     [RecipientResolver] maps an envelope recipient to a user for delivery.
//   - An [Account] lists, creates, deletes, renames and subscribes mailboxes
//     named in UTF-8 with "/" as the hierarchy delimiter ([ValidName]), holds
//     the POP3 maildrop lock, and lets sessions [Account.Watch] every change.
//   - A [Mailbox] speaks UIDs only: status, the message list (UID, flags,
//     internal date, exact size, MODSEQ), the bytes of a message as a stream,
//     append, flag changes with an optional UNCHANGEDSINCE condition, expunge
//     with tombstones ([Mailbox.Vanished]) for QRESYNC.
//
// # Guarantees a store gives
//
//   - UIDs strictly increase and are never reused within a UIDVALIDITY; a
//     UIDVALIDITY is never reused for a mailbox name, even after
//     delete and create.
//   - Append is durable before it returns: a caller that got a UID back
//     never loses the message.
//   - Every change gets a MODSEQ greater than any before it in that mailbox,
//     and every change publishes an [Event] inside the operation that made
//     it, before it returns.
//   - Open returns exactly the bytes appended, MessageInfo.Size of them.
//   - Returned slices are copies; the caller may modify them.
//   - A cancelled context makes blocking calls return ctx.Err() promptly.
//   - Errors wrap the sentinels of this package ([ErrNotExist], [ErrExist],
//     [ErrAuthFailed], [ErrInUse], [ErrOverQuota], [ErrReadOnly],
//     [ErrNotPermitted], [ErrInvalidName], ...), matched with errors.Is.
//
// # Optional interfaces
//
// Found by type assertion, like io.WriterTo: [Copier] and [Mover] (atomic
// copy and move), [MetadataCache] (keep the parsed MIME structure so FETCH
// never re-parses), [Searcher] (push SEARCH down to an index), [Sorter]
// (push SORT down, falling back per criterion with errors.ErrUnsupported),
// [Quotaer], [UIDLer]. The helpers [Copy] and [Move] use the fast path when present.
//
// # Implementations
//
// Package mailbox/memstore is an in-memory store (tests, harnesses, small
// tools); mailbox/maildir is the durable Maildir++ store on disk. Package
// mailbox/mailboxtest is the conformance kit: a store's author calls
// mailboxtest.Run from a test and learns every place the store departs from
// this contract.
package mailbox
