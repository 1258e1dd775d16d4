// Package memstore is an in-memory [mailbox.Store]: the store for tests,
// harnesses and small tools. Nothing survives the process.
//
// It implements the whole contract of package mailbox, and every optional
// interface that makes sense in memory:
//
//	Interface                     Notes
//	mailbox.Store                 Open(user)
//	mailbox.Authenticator         user name or address + password
//	mailbox.TokenAuthenticator    tokens set by SetToken (none by default)
//	mailbox.SecretAuthenticator   the password is the secret (CRAM-MD5, SCRAM, APOP)
//	mailbox.RecipientResolver     addresses given to AddUser, case-insensitive
//	mailbox.Account               hierarchy with "/", special-use, subscriptions, maildrop lock
//	mailbox.Quotaer               limits set by SetQuota (RFC 9208)
//	mailbox.Mailbox               UIDs, MODSEQ (RFC 7162), expunge tombstones (QRESYNC), MaxMessageSize
//	mailbox.Copier, mailbox.Mover atomic, the bytes are shared, not copied
//	mailbox.MetadataCache         kept with the message, dropped on expunge
//	mailbox.Sorter                ARRIVAL and SIZE; other keys ErrUnsupported
//
// Searcher and UIDLer are not implemented: the library's generic paths
// serve them.
//
// # Concurrency
//
// A Store and every handle it returns are safe for concurrent use. Each
// mailbox has its own lock; the mailbox tree of a user has another. Events
// are published on [Store.Bus] while the change's lock is held, so they reach
// every watcher in MODSEQ order before the operation returns. The message
// bytes are immutable once appended: a reader from Open stays valid after
// the message is expunged.
//
// # Cost
//
// Status is O(1): the counts of messages, unseen and deleted messages and
// the total size are kept up to date by every change. SetFlags walks the
// sorted UIDs and the messages together; messages that end with the same
// flags share one immutable slice (also the one the FlagsChanged event
// carries), so a STORE on the whole mailbox allocates per call, not per
// message.
//
// # Quick start
//
//	s := memstore.New()
//	s.AddUser("sara", "secret", "sara@example.org")
//	uid, err := mailbox.Deliver(ctx, s, "sara", strings.NewReader(msg), nil)
package memstore
