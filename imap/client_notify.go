package imap

import (
	"context"
	"errors"
)

// NotifyEvent is an event a client can ask to hear of with NOTIFY (RFC
// 5465 §5).
type NotifyEvent string

// The events of RFC 5465 §5.
const (
	NotifyMessageNew            NotifyEvent = "MessageNew"
	NotifyMessageExpunge        NotifyEvent = "MessageExpunge"
	NotifyFlagChange            NotifyEvent = "FlagChange"
	NotifyAnnotationChange      NotifyEvent = "AnnotationChange"
	NotifyMailboxName           NotifyEvent = "MailboxName"
	NotifySubscriptionChange    NotifyEvent = "SubscriptionChange"
	NotifyMailboxMetadataChange NotifyEvent = "MailboxMetadataChange"
	NotifyServerMetadataChange  NotifyEvent = "ServerMetadataChange"
)

// NotifyFilter says which mailboxes a NotifyGroup covers (RFC 5465 §6).
type NotifyFilter string

// The mailbox filters of RFC 5465 §6.
const (
	NotifySelected        NotifyFilter = "SELECTED"         // the selected mailbox, at once
	NotifySelectedDelayed NotifyFilter = "SELECTED-DELAYED" // the selected mailbox, expunges when sequence numbers may change
	NotifyInboxes         NotifyFilter = "INBOXES"
	NotifyPersonal        NotifyFilter = "PERSONAL"
	NotifySubscribed      NotifyFilter = "SUBSCRIBED"
	NotifySubtree         NotifyFilter = "SUBTREE"   // Mailboxes and everything below them
	NotifyMailboxes       NotifyFilter = "MAILBOXES" // Mailboxes exactly
)

// NotifyGroup is one event group of a NOTIFY SET: the events to hear of
// for the mailboxes of Filter.
type NotifyGroup struct {
	Filter    NotifyFilter
	Mailboxes []string      // NotifySubtree and NotifyMailboxes
	Events    []NotifyEvent // none: NONE (nothing about these mailboxes)
	// Fetch, with NotifySelected or NotifySelectedDelayed and
	// NotifyMessageNew, asks for a FETCH of these items of each new
	// message, delivered as UpdateFetch.
	Fetch *FetchOptions
}

// NotifyOptions is a NOTIFY SET request (RFC 5465 §3.1).
type NotifyOptions struct {
	// Status asks for the STATUS of every mailbox covered, before the
	// command completes (delivered as UpdateStatus).
	Status bool
	Groups []NotifyGroup
}

// Notify sends NOTIFY SET with opts, or NOTIFY NONE when opts is nil
// (RFC 5465). The server then sends what was asked at any time: STATUS,
// LIST, EXISTS, EXPUNGE and FETCH responses reach ClientOptions.Handler
// (as UpdateStatus, UpdateList, ...) while a command runs, and while Idle
// waits, which is how to listen between commands. A refusal is an
// *Error: BAD for a request RFC 5465 forbids, NO [BADEVENT] for events the
// server does not support.
func (c *Client) Notify(ctx context.Context, opts *NotifyOptions) error {
	if opts != nil {
		if len(opts.Groups) == 0 {
			return errors.New("imap: NOTIFY SET needs at least one event group")
		}
		for _, g := range opts.Groups {
			if !isAtom(string(g.Filter)) {
				return errors.New("imap: NOTIFY filter is not an atom")
			}
			for _, ev := range g.Events {
				if !isAtom(string(ev)) {
					return errors.New("imap: NOTIFY event is not an atom")
				}
			}
		}
	}
	return c.simple(ctx, "NOTIFY", func(w *cmdWriter) {
		if opts == nil {
			w.raw(" NONE")
			return
		}
		w.raw(" SET")
		if opts.Status {
			w.raw(" STATUS")
		}
		for _, g := range opts.Groups {
			w.raw(" (").atom(string(g.Filter))
			if g.Filter == NotifySubtree || g.Filter == NotifyMailboxes {
				w.raw(" (")
				for i, m := range g.Mailboxes {
					if i > 0 {
						w.sp()
					}
					w.mailbox(m)
				}
				w.raw(")")
			}
			if len(g.Events) == 0 {
				w.raw(" NONE)")
				continue
			}
			w.raw(" (")
			for i, ev := range g.Events {
				if i > 0 {
					w.sp()
				}
				w.atom(string(ev))
				if ev == NotifyMessageNew && g.Fetch != nil {
					w.sp()
					writeFetchAtts(w, g.Fetch)
				}
			}
			w.raw("))")
		}
	})
}
