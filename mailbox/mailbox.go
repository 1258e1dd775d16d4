package mailbox

import (
	"context"
	"io"
	"iter"
)

// Store is the root of an application's mail storage: it opens the accounts
// of users. The protocol servers authenticate a user (Authenticator), then
// call Open with the user name the authenticator returned.
//
// Implementations must be safe for concurrent use, as must every Account and
// Mailbox they return.
type Store interface {
	// Open returns the account of user, or an error wrapping ErrNotExist.
	Open(ctx context.Context, user string) (Account, error)
}

// Account is one user's mail: a set of mailboxes named in a hierarchy with
// Delimiter, always including INBOX. An Account is a handle: each protocol
// session opens its own and closes it when done.
type Account interface {
	// User returns the user name the account was opened for.
	User() string

	// List returns every mailbox of the account, INBOX included, in no
	// particular order. Names that exist only as the parent of another
	// mailbox and hold no messages are listed with AttrNoSelect.
	List(ctx context.Context) ([]MailboxInfo, error)

	// Create makes a mailbox, and any missing parents as ordinary selectable
	// mailboxes (RFC 9051 §6.3.4).
	// It returns ErrExist if name exists and is selectable (creating a
	// \Noselect name makes it selectable again, with a new UIDVALIDITY),
	// ErrInvalidName for an invalid name, ErrNotPermitted for a
	// CreateOptions.SpecialUse that is not a special-use attribute.
	Create(ctx context.Context, name string, opts *CreateOptions) error

	// Delete removes a mailbox and its messages (RFC 9051 §6.3.5). INBOX
	// cannot be deleted (ErrNotPermitted). A mailbox with children loses its
	// messages and becomes \Noselect; deleting a \Noselect mailbox that
	// still has children returns ErrHasChildren. A name deleted and created
	// again never gets its old UIDVALIDITY back.
	Delete(ctx context.Context, name string) error

	// Rename renames a mailbox and all its children (RFC 9051 §6.3.6),
	// creating missing parents of newName. It returns ErrExist if newName
	// exists, ErrNotExist if oldName does not. Renaming INBOX moves all its
	// messages into a new mailbox newName and leaves INBOX empty; INBOX's
	// children stay where they are; it publishes EventMailboxCreated for
	// newName and EventMessagesExpunged for INBOX. Renaming a mailbox
	// below itself returns ErrNotPermitted.
	Rename(ctx context.Context, oldName, newName string) error

	// SetSubscribed subscribes or unsubscribes name (RFC 9051 §6.3.7). A
	// name may be subscribed whether or not it exists.
	SetSubscribed(ctx context.Context, name string, subscribed bool) error

	// Subscriptions returns the subscribed names, existing or not.
	Subscriptions(ctx context.Context) ([]string, error)

	// Mailbox opens a handle on an existing, selectable mailbox: ErrNotExist
	// if there is none (or ErrInvalidName for a name ValidName refuses;
	// servers treat both as "no such mailbox"), ErrNoSelect for a
	// \Noselect name. A handle follows its mailbox through renames; once
	// the mailbox is deleted, its operations return ErrNotExist.
	Mailbox(ctx context.Context, name string) (Mailbox, error)

	// Watch calls fn for every change to this user's mail, made through any
	// handle, any protocol or delivery, until cancel is called. fn follows
	// the rules of Bus.Subscribe: it must not block or call the store.
	Watch(fn func(Event)) (cancel func())

	// LockMaildrop takes the exclusive POP3 maildrop lock of the user's
	// INBOX (RFC 1939 §8): a second holder gets ErrInUse until release is
	// called. The lock does not block IMAP, delivery or any other operation.
	LockMaildrop(ctx context.Context) (release func(), err error)

	// Close releases the handle: it cancels the watches made through it
	// and releases a maildrop lock it holds. Mailboxes opened through it
	// stay usable until they are closed. A second Close is harmless.
	Close() error
}

// Mailbox is a handle on one mailbox. Messages are addressed by UID only:
// sequence numbers, "*" and "$" are protocol state that the servers keep.
type Mailbox interface {
	// Name returns the mailbox's canonical name.
	Name() string

	// Status returns the mailbox's counters.
	Status(ctx context.Context) (Status, error)

	// Messages yields the messages with UID ≥ from in ascending UID order.
	// Each MessageInfo is a copy the caller may keep and modify.
	Messages(ctx context.Context, from UID) iter.Seq2[MessageInfo, error]

	// Open returns the bytes of a message exactly as appended, which are
	// MessageInfo.Size octets long. The returned value should also implement
	// io.ReaderAt (partial FETCH reads sections by offset without reading
	// from the start); Section works either way. ErrNotExist if uid is not
	// in the mailbox.
	Open(ctx context.Context, uid UID) (io.ReadCloser, error)

	// Append stores the message read from r, durably before it returns, and
	// returns its UID. The message is stored byte for byte: Append never
	// changes line endings.
	Append(ctx context.Context, r io.Reader, opts *AppendOptions) (UID, error)

	// SetFlags changes the flags of the listed messages (UIDs not in the
	// mailbox are ignored). When unchangedSince is non-zero, a message whose
	// MODSEQ is greater is left untouched and reported in
	// FlagResult.Modified (RFC 7162 §3.1.3).
	SetFlags(ctx context.Context, uids []UID, op FlagOp, flags []Flag, unchangedSince ModSeq) (FlagResult, error)

	// Expunge removes the listed messages (UIDs not in the mailbox are
	// ignored), leaving a tombstone for each with the MODSEQ of the removal.
	// It returns the UIDs removed, in ascending order.
	Expunge(ctx context.Context, uids []UID) ([]UID, error)

	// Vanished returns the UIDs expunged with a MODSEQ greater than since,
	// in ascending order (RFC 7162 §3.2.5, VANISHED). A store that forgets
	// old tombstones returns the ones it has; QRESYNC stays correct because
	// the server then reports every UID it cannot prove alive.
	Vanished(ctx context.Context, since ModSeq) ([]UID, error)

	// Close releases the handle; a second Close is harmless.
	Close() error
}

// Authenticator verifies a user's password. It returns the user name to
// open with Store.Open (which may differ from the login name: an address
// login mapped to an account), or an error wrapping ErrAuthFailed.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (user string, err error)
}

// TokenAuthenticator verifies an OAuth 2.0 bearer token for the XOAUTH2 and
// OAUTHBEARER SASL mechanisms (RFC 7628). It is optional: servers offer
// those mechanisms only when the authenticator implements it.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, username, token string) (user string, err error)
}

// SecretAuthenticator gives the plaintext-equivalent secret of a user, as
// the challenge–response mechanisms need (CRAM-MD5, SCRAM-SHA-256, POP3
// APOP). It is optional: servers offer those mechanisms only when the
// authenticator implements it. The returned user is the account to open.
type SecretAuthenticator interface {
	Secret(ctx context.Context, username string) (user, secret string, err error)
}

// RecipientResolver maps an envelope recipient address to the user whose
// INBOX receives it, for SMTP and LMTP delivery. Unknown addresses return an
// error wrapping ErrNotExist, so the server can refuse them at RCPT time.
type RecipientResolver interface {
	LookupRecipient(ctx context.Context, address string) (user string, err error)
}
