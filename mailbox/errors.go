package mailbox

import "errors"

// Errors a store returns, matched with errors.Is. A store may wrap them with
// more detail (fmt.Errorf("...: %w", mailbox.ErrNotExist)); protocol servers
// map them to replies once, at the protocol boundary (STYLE.md §2.6), and send
// nothing else of the error text to the client.
var (
	ErrNotExist     = errors.New("mailbox: does not exist") // no such mailbox, message or user
	ErrExist        = errors.New("mailbox: already exists") // Create/Rename onto an existing name
	ErrAuthFailed   = errors.New("mailbox: authentication failed")
	ErrInUse        = errors.New("mailbox: in use") // the POP3 maildrop lock is held
	ErrOverQuota    = errors.New("mailbox: over quota")
	ErrReadOnly     = errors.New("mailbox: read-only")
	ErrNotPermitted = errors.New("mailbox: operation not permitted") // e.g. deleting INBOX
	ErrInvalidName  = errors.New("mailbox: invalid mailbox name")
	ErrInvalidFlag  = errors.New("mailbox: invalid flag")
	ErrHasChildren  = errors.New("mailbox: has inferior mailboxes") // deleting a \Noselect mailbox with children
	ErrNoSelect     = errors.New("mailbox: mailbox is not selectable")
	ErrClosed       = errors.New("mailbox: use of closed handle")
	ErrTooLarge     = errors.New("mailbox: message too large")
)
