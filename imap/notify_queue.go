package imap

import (
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// DefaultMaxNotifyQueue bounds the NOTIFY notifications waiting for one
// session (Server.MaxNotifyQueue).
const DefaultMaxNotifyQueue = 1024

func (s *Server) maxNotifyQueue() int { return orDefault(s.MaxNotifyQueue, DefaultMaxNotifyQueue) }

// notification is one pending NOTIFY response about a mailbox other than
// the selected one: a STATUS (kind is a message event; one per mailbox
// at a time, its values read when it is sent) or a LIST (MailboxName,
// SubscriptionChange).
type notification struct {
	kind    mailbox.EventKind
	name    string
	oldName string // renames
}

func (x *notification) isStatus() bool {
	switch x.kind {
	case mailbox.EventMessagesAdded, mailbox.EventMessagesExpunged, mailbox.EventFlagsChanged:
		return true
	}
	return false
}

// notifyQueue is the NOTIFY part of an eventQueue, guarded by its mutex:
// the request in effect and the notifications it has produced that the
// session has not sent yet. It is filled by the store's publishing
// goroutine, which it never blocks, and bounded: past limit it drops
// everything, turns NOTIFY off and remembers to say so (RFC 5465 §5.8).
type notifyQueue struct {
	used     bool            // a NOTIFY has succeeded on this session
	spec     *notifyCmd      // nil: no NOTIFY in effect (never used, NONE, or overflowed)
	subs     map[string]bool // subscriptions, kept for the SUBSCRIBED filter; nil when unused
	limit    int
	notes    []notification
	status   map[string]bool // mailboxes with a STATUS in notes
	overflow bool
	own      ownOp
	// renamed is the last rename reported: the renames of its children
	// that follow are not (RFC 5465 §5.4).
	renamedFrom, renamedTo string
}

// ownOp is a change this session is making: the events it causes are not
// reported back to it (RFC 5465 §5: SHOULD omit).
type ownOp struct {
	kind      mailbox.EventKind
	name, old string
}

// isUnder reports whether name is a descendant of parent.
func isUnder(name, parent string) bool {
	return len(name) > len(parent) && strings.HasPrefix(name, parent) && name[len(parent)] == mailbox.Delimiter
}

// covers reports whether ev is caused by the operation: the mailbox
// itself, the parents CREATE and RENAME make on the way, the children a
// RENAME takes along.
func (o *ownOp) covers(ev *mailbox.Event) bool {
	switch o.kind {
	case mailbox.EventMailboxCreated:
		return ev.Kind == mailbox.EventMailboxCreated && (ev.Mailbox == o.name || isUnder(o.name, ev.Mailbox))
	case mailbox.EventMailboxDeleted:
		return ev.Kind == mailbox.EventMailboxDeleted && ev.Mailbox == o.name
	case mailbox.EventMailboxRenamed:
		switch ev.Kind {
		case mailbox.EventMailboxRenamed:
			return ev.OldName == o.old || isUnder(ev.OldName, o.old)
		case mailbox.EventMailboxCreated: // parents of the new name; the new mailbox of RENAME INBOX
			return ev.Mailbox == o.name || isUnder(o.name, ev.Mailbox)
		}
	case mailbox.EventSubscriptionChanged:
		return ev.Kind == mailbox.EventSubscriptionChanged && ev.Mailbox == o.name
	}
	return false
}

// push records what NOTIFY asks to hear of ev, with the queue's lock held;
// it reports whether the session has something new to send. selected is
// the selected mailbox, whose message events go to the view instead.
func (n *notifyQueue) push(selected string, ev *mailbox.Event) bool {
	if n.spec == nil {
		return false
	}
	if ev.Kind == mailbox.EventSubscriptionChanged && n.subs != nil {
		if ev.Subscribed {
			n.subs[ev.Mailbox] = true
		} else {
			delete(n.subs, ev.Mailbox)
		}
	}
	renamedFrom, renamedTo := n.renamedFrom, n.renamedTo
	n.renamedFrom, n.renamedTo = "", ""
	if n.own.kind != 0 && n.own.covers(ev) {
		return false
	}
	x := notification{kind: ev.Kind, name: ev.Mailbox}
	switch ev.Kind {
	case mailbox.EventMessagesAdded, mailbox.EventMessagesExpunged, mailbox.EventFlagsChanged:
		want := evMessageNew
		switch ev.Kind {
		case mailbox.EventMessagesExpunged:
			want = evMessageExpunge
		case mailbox.EventFlagsChanged:
			want = evFlagChange
		}
		if ev.Mailbox == selected || n.status[ev.Mailbox] || n.spec.eventsFor(ev.Mailbox, n.subs[ev.Mailbox])&want == 0 {
			return false
		}
		if n.status == nil {
			n.status = make(map[string]bool)
		}
		n.status[ev.Mailbox] = true
	case mailbox.EventMailboxCreated, mailbox.EventMailboxDeleted:
		if n.spec.eventsFor(ev.Mailbox, n.subs[ev.Mailbox])&evMailboxName == 0 {
			return false
		}
	case mailbox.EventMailboxRenamed:
		if renamedFrom != "" && isUnder(ev.OldName, renamedFrom) && isUnder(ev.Mailbox, renamedTo) {
			n.renamedFrom, n.renamedTo = renamedFrom, renamedTo
			return false
		}
		n.renamedFrom, n.renamedTo = ev.OldName, ev.Mailbox
		if (n.spec.eventsFor(ev.Mailbox, n.subs[ev.Mailbox])|n.spec.eventsFor(ev.OldName, n.subs[ev.OldName]))&evMailboxName == 0 {
			return false
		}
		x.oldName = ev.OldName
	case mailbox.EventSubscriptionChanged:
		// Subscribed before or after: the SUBSCRIBED filter covers both.
		if n.spec.eventsFor(ev.Mailbox, true)&evSubscriptionChange == 0 {
			return false
		}
	default:
		return false
	}
	if len(n.notes) >= n.limit {
		// RFC 5465 §5.8: stop notifying, as after NOTIFY NONE, and say so.
		*n = notifyQueue{used: true, overflow: true}
		return true
	}
	n.notes = append(n.notes, x)
	return true
}

// wantSelected reports whether an event of the selected mailbox is to be
// queued for the view: flag changes are not when NOTIFY asks for the
// selected mailbox's messages without FlagChange (when it does not ask
// for them at all, the view keeps them back, see heldChanges).
func (n *notifyQueue) wantSelected(ev *mailbox.Event) bool {
	if ev.Kind != mailbox.EventFlagsChanged {
		return true
	}
	sel := n.spec.selectedGroup()
	return sel == nil || sel.events&evMessageNew == 0 || sel.events&evFlagChange != 0
}

// setNotify puts spec in effect (nil: none), dropping what the previous
// one had queued. subs is the user's subscription list when spec filters
// on it.
func (q *eventQueue) setNotify(spec *notifyCmd, subs map[string]bool, limit int) {
	q.mu.Lock()
	q.nt = notifyQueue{used: true, spec: spec, subs: subs, limit: limit}
	q.mu.Unlock()
}

// notifySpec returns the NOTIFY request in effect, nil when none.
func (q *eventQueue) notifySpec() *notifyCmd {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.nt.spec
}

// holdSelected(false) lets the selected mailbox's changes out, as before
// any NOTIFY; holdSelected(true) restores the rules of NOTIFY.
func (q *eventQueue) holdSelected(hold bool) {
	q.mu.Lock()
	q.nt.used = hold
	q.mu.Unlock()
}

// notifyState returns whether NOTIFY was used, and the request in
// effect.
func (q *eventQueue) notifyState() (used bool, spec *notifyCmd) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.nt.used, q.nt.spec
}

// takeNotes returns the pending notifications and whether NOTIFY
// overflowed since the last call, and empties the queue.
func (q *eventQueue) takeNotes() (notes []notification, overflow bool) {
	q.mu.Lock()
	notes, overflow = q.nt.notes, q.nt.overflow
	q.nt.notes, q.nt.overflow = nil, false
	clear(q.nt.status)
	q.mu.Unlock()
	return notes, overflow
}

// expectOwn marks the events of the operation the session is about to
// make as its own, until doneOwn.
func (q *eventQueue) expectOwn(kind mailbox.EventKind, name, old string) {
	q.mu.Lock()
	q.nt.own = ownOp{kind: kind, name: name, old: old}
	q.mu.Unlock()
}

func (q *eventQueue) doneOwn() { q.expectOwn(0, "", "") }
