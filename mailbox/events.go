package mailbox

import (
	"sync"
)

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of change a store reports.
const (
	EventMessagesAdded       EventKind = iota + 1 // UIDs appended, copied or moved in
	EventFlagsChanged                             // Flags holds the new flags of each changed message
	EventMessagesExpunged                         // UIDs removed (expunge, move out, POP3 delete)
	EventMailboxCreated                           // Mailbox was created
	EventMailboxDeleted                           // Mailbox was deleted
	EventMailboxRenamed                           // OldName was renamed to Mailbox
	EventSubscriptionChanged                      // Mailbox was subscribed or unsubscribed (Subscribed)
)

var eventKindNames = [...]string{
	EventMessagesAdded:       "MessagesAdded",
	EventFlagsChanged:        "FlagsChanged",
	EventMessagesExpunged:    "MessagesExpunged",
	EventMailboxCreated:      "MailboxCreated",
	EventMailboxDeleted:      "MailboxDeleted",
	EventMailboxRenamed:      "MailboxRenamed",
	EventSubscriptionChanged: "SubscriptionChanged",
}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "EventKind(?)"
}

// Event is one change to a user's mail. A store publishes it inside the
// operation that made the change, before that operation returns, so that every
// subscriber has seen it by the time the caller gets its result.
//
// Events of one mailbox are published in MODSEQ order. A store may report
// one operation as one event or as several (one per message, as the
// generic Copy does); subscribers must accept both. Subscribers must treat
// an Event and its slices as read-only: the same value goes to all of them.
type Event struct {
	Kind    EventKind
	User    string
	Mailbox string // the mailbox changed; for renames the new name
	OldName string // EventMailboxRenamed: the name before
	// UIDValidity is the mailbox's UIDVALIDITY, for message events. A
	// store that has to renumber a mailbox (a Maildir index rebuilt from
	// its files) publishes EventMessagesExpunged for the old UIDs and
	// EventMessagesAdded for the new ones with the new UIDVALIDITY: a
	// session that sees a UIDVALIDITY other than the one it selected must
	// drop its view of the mailbox (IMAP: end the selection or close the
	// connection, RFC 9051 §2.3.1.1).
	UIDValidity uint32
	// ModSeq is the mailbox's HIGHESTMODSEQ after the change (message events).
	ModSeq ModSeq
	// UIDs holds the messages added or expunged, in ascending order.
	UIDs []UID
	// Flags holds, for EventFlagsChanged, the new state of each changed message.
	Flags []FlagChange
	// Subscribed is the new subscription state for EventSubscriptionChanged.
	Subscribed bool
}

// Bus carries events from stores to the sessions watching a user's mail.
// The in-process default is NewBus; a store shared by several processes can
// plug in its own (for example on a database's notifications) without any
// change to the protocol servers.
type Bus interface {
	// Publish hands ev to every subscriber of ev.User, in the calling
	// goroutine, and returns when all have been called.
	Publish(ev Event)
	// Subscribe registers fn for the events of user until cancel is called.
	// fn is called from the publishing goroutine, often while the store
	// holds a lock: it must not block and must not call back into the
	// store. Queue the event and return (the protocol servers do).
	Subscribe(user string, fn func(Event)) (cancel func())
}

// NewBus returns an in-process Bus, safe for concurrent use. Publish costs
// no allocation; subscribing and cancelling copy the user's subscriber list.
func NewBus() Bus { return &localBus{subs: make(map[string][]*subscriber)} }

type localBus struct {
	mu   sync.RWMutex
	subs map[string][]*subscriber // copy-on-write: a published slice is never modified
}

type subscriber struct{ fn func(Event) }

func (b *localBus) Publish(ev Event) {
	b.mu.RLock()
	subs := b.subs[ev.User]
	b.mu.RUnlock()
	for _, s := range subs {
		s.fn(ev)
	}
}

func (b *localBus) Subscribe(user string, fn func(Event)) (cancel func()) {
	s := &subscriber{fn: fn}
	b.mu.Lock()
	old := b.subs[user]
	b.subs[user] = append(old[:len(old):len(old)], s)
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			old := b.subs[user]
			next := make([]*subscriber, 0, len(old))
			for _, x := range old {
				if x != s {
					next = append(next, x)
				}
			}
			if len(next) == 0 {
				delete(b.subs, user)
			} else {
				b.subs[user] = next
			}
		})
	}
}
