package mailboxtest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/posthorn/posthorn/mailbox"
)

// one returns the single event of kind for name, reporting when there is
// not exactly one.
func (c *caseT) one(r *recorder, kind mailbox.EventKind, name string) (mailbox.Event, bool) {
	c.Helper()
	evs := r.find(kind, name)
	if len(evs) != 1 {
		c.errorf("a second handle's Watch saw %d %v events for %q by the time the change returned, want 1 (all events: %+v)", len(evs), kind, name, r.find(0, ""))
		return mailbox.Event{}, false
	}
	if evs[0].User != c.F.User {
		c.errorf("%v event for user %q, want %q", kind, evs[0].User, c.F.User)
	}
	return evs[0], true
}

// uidsIn returns the UIDs of all recorded events of kind for name, in
// order, and the MODSEQ of the last one, reporting when there is none. The
// generic copy path appends message by message, so a copy may take several
// events.
func (c *caseT) uidsIn(r *recorder, kind mailbox.EventKind, name string) ([]mailbox.UID, mailbox.ModSeq) {
	c.Helper()
	evs := r.find(kind, name)
	if len(evs) == 0 {
		c.errorf("a second handle's Watch saw no %v event for %q by the time the change returned (all events: %+v)", kind, name, r.find(0, ""))
		return nil, 0
	}
	var uids []mailbox.UID
	for _, ev := range evs {
		uids = append(uids, ev.UIDs...)
	}
	return uids, evs[len(evs)-1].ModSeq
}

var eventCases = []kase{
	{
		name:    "Events/Append",
		explain: "an append publishes MessagesAdded with the mailbox, its UIDVALIDITY, the new UID and the new HIGHESTMODSEQ, seen by another handle's Watch before Append returns",
		needs:   needWrite,
		run: func(c *caseT) {
			rec := c.watch()
			_, m := c.inbox()
			uid := c.appendMsg(m, "event")
			st := c.status(m)
			if ev, ok := c.one(rec, mailbox.EventMessagesAdded, mailbox.Inbox); ok {
				if !equalUIDs(ev.UIDs, []mailbox.UID{uid}) || ev.UIDValidity != st.UIDValidity || ev.ModSeq != st.HighestModSeq {
					c.errorf("event %+v, want UIDs [%d], UIDVALIDITY %d, MODSEQ %d", ev, uid, st.UIDValidity, st.HighestModSeq)
				}
			}
		},
	},
	{
		name:    "Events/Deliver",
		explain: "mailbox.Deliver appends to the user's INBOX and the change reaches the user's watchers",
		needs:   needWrite,
		run: func(c *caseT) {
			rec := c.watch()
			uid, err := mailbox.Deliver(c.Ctx, c.F.Store, c.F.User, strings.NewReader("Subject: delivered\r\n\r\nhi\r\n"), nil)
			c.must(err, "Deliver")
			if ev, ok := c.one(rec, mailbox.EventMessagesAdded, mailbox.Inbox); ok && !equalUIDs(ev.UIDs, []mailbox.UID{uid}) {
				c.errorf("event UIDs %v, want [%d]", ev.UIDs, uid)
			}
			_, m := c.inbox()
			if got := string(c.read(m, uid)); got != "Subject: delivered\r\n\r\nhi\r\n" {
				c.errorf("delivered message reads %q", got)
			}
		},
	},
	{
		name:    "Events/Flags",
		explain: "a flag change publishes FlagsChanged with each changed message's new flags and MODSEQ; a no-op change publishes nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 2)
			rec := c.watch()
			c.setFlags(m, uids, mailbox.FlagsAdd, mailbox.FlagFlagged, "$Key")
			st := c.status(m)
			// One event for the whole change or one per message: both
			// tell every changed message's new state.
			evs := rec.find(mailbox.EventFlagsChanged, mailbox.Inbox)
			var changes []mailbox.FlagChange
			for _, ev := range evs {
				changes = append(changes, ev.Flags...)
				if ev.UIDValidity != st.UIDValidity {
					c.errorf("event %+v, want UIDVALIDITY %d", ev, st.UIDValidity)
				}
			}
			if len(evs) == 0 || evs[len(evs)-1].ModSeq != st.HighestModSeq || len(changes) != 2 {
				c.errorf("FlagsChanged events %+v, want 2 changes, the last at MODSEQ %d", evs, st.HighestModSeq)
			}
			for _, ch := range changes {
				info := c.info(m, ch.UID)
				if !sameFlagList(ch.Flags, info.Flags) || ch.ModSeq != info.ModSeq {
					c.errorf("event change %+v, message is %+v", ch, info)
				}
			}
			rec.take()
			c.setFlags(m, uids, mailbox.FlagsAdd, mailbox.FlagFlagged)
			if evs := rec.take(); len(evs) != 0 {
				c.errorf("a no-op flag change published %+v", evs)
			}
		},
	},
	{
		name:    "Events/Expunge",
		explain: "an expunge publishes MessagesExpunged with the removed UIDs ascending (in one event or several) and the new HIGHESTMODSEQ",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 3)
			rec := c.watch()
			c.expunge(m, uids[2], uids[0])
			st := c.status(m)
			gone, modseq := c.uidsIn(rec, mailbox.EventMessagesExpunged, mailbox.Inbox)
			if !equalUIDs(gone, []mailbox.UID{uids[0], uids[2]}) || modseq != st.HighestModSeq {
				c.errorf("MessagesExpunged events for %v ending at MODSEQ %d, want UIDs [%d %d] and MODSEQ %d", gone, modseq, uids[0], uids[2], st.HighestModSeq)
			}
		},
	},
	{
		name:    "Events/MailboxTree",
		explain: "Create, Rename, Delete and SetSubscribed publish MailboxCreated, MailboxRenamed (with OldName), MailboxDeleted and SubscriptionChanged",
		needs:   needWrite,
		run: func(c *caseT) {
			rec := c.watch()
			a := c.account()
			c.create(a, "Ev")
			c.one(rec, mailbox.EventMailboxCreated, "Ev")
			c.must(a.Rename(c.Ctx, "Ev", "Ev2"), "Rename")
			if ev, ok := c.one(rec, mailbox.EventMailboxRenamed, "Ev2"); ok && ev.OldName != "Ev" {
				c.errorf("rename event OldName %q, want \"Ev\"", ev.OldName)
			}
			c.must(a.SetSubscribed(c.Ctx, "Ev2", true), "SetSubscribed")
			if ev, ok := c.one(rec, mailbox.EventSubscriptionChanged, "Ev2"); ok && !ev.Subscribed {
				c.errorf("subscription event %+v, want Subscribed", ev)
			}
			c.must(a.Delete(c.Ctx, "Ev2"), "Delete")
			c.one(rec, mailbox.EventMailboxDeleted, "Ev2")
		},
	},
	{
		name:    "Events/RenameChildren",
		explain: "renaming a mailbox with children publishes a MailboxRenamed for the children too, so sessions with a child selected learn its new name",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "P/C")
			rec := c.watch()
			c.must(a.Rename(c.Ctx, "P", "Q"), "Rename")
			if ev, ok := c.one(rec, mailbox.EventMailboxRenamed, "Q/C"); ok && ev.OldName != "P/C" {
				c.errorf("child rename event OldName %q, want \"P/C\"", ev.OldName)
			}
		},
	},
	{
		name:    "Events/Order",
		explain: "the events of one mailbox reach a watcher in MODSEQ order, even with concurrent writers",
		needs:   needWrite,
		run: func(c *caseT) {
			rec := c.watch()
			a, m := c.inbox()
			uids := c.appendN(m, 10)
			c.workers(a, 4, func(w int, h mailbox.Mailbox) error {
				for i := range 10 {
					var err error
					switch (w + i) % 3 {
					case 0:
						_, err = h.Append(c.Ctx, strings.NewReader("x"), nil)
					case 1:
						_, err = h.SetFlags(c.Ctx, uids, mailbox.FlagsReplace, []mailbox.Flag{mailbox.Flag(fmt.Sprintf("$w%d-%d", w, i))}, 0)
					case 2:
						_, err = h.Expunge(c.Ctx, uids[i:i+1])
					}
					if err != nil {
						return err
					}
				}
				return nil
			})
			var last mailbox.ModSeq
			for _, ev := range rec.take() {
				if ev.Mailbox != mailbox.Inbox {
					continue
				}
				if ev.ModSeq <= last {
					c.errorf("%v event with MODSEQ %d after one with %d", ev.Kind, ev.ModSeq, last)
				}
				last = ev.ModSeq
			}
			if h := c.status(m).HighestModSeq; last != h {
				c.errorf("last event MODSEQ %d, HIGHESTMODSEQ %d: want equal", last, h)
			}
		},
	},
	{
		name:    "Events/NoneOnFailure",
		explain: "an operation that fails (invalid flag, existing name, missing mailbox, cancelled context) publishes no event",
		needs:   needWrite,
		run: func(c *caseT) {
			a, m := c.inbox()
			uid := c.appendMsg(m, "x")
			c.create(a, "Exists")
			rec := c.watch()
			_, err := m.SetFlags(c.Ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen, `\Recent`}, 0)
			c.wantErr(err, mailbox.ErrInvalidFlag, "SetFlags with \\Recent")
			_, err = m.Append(c.Ctx, strings.NewReader("y"), &mailbox.AppendOptions{Flags: []mailbox.Flag{"bad flag"}})
			c.wantErr(err, mailbox.ErrInvalidFlag, "Append with an invalid flag")
			c.wantErr(a.Create(c.Ctx, "Exists", nil), mailbox.ErrExist, "Create of an existing name")
			c.wantErr(a.Rename(c.Ctx, "Missing", "Other"), mailbox.ErrNotExist, "Rename of a missing mailbox")
			c.wantErr(a.Delete(c.Ctx, "Missing"), mailbox.ErrNotExist, "Delete of a missing mailbox")
			_, err = m.Expunge(cancelled(), []mailbox.UID{uid})
			c.wantErr(err, context.Canceled, "Expunge with a cancelled context")
			if evs := rec.take(); len(evs) != 0 {
				c.errorf("failed operations published %+v", evs)
			}
		},
	},
	{
		name:    "Events/Cancel",
		explain: "after the cancel function Watch returned is called, the watcher gets no more events; calling it twice is harmless",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			var mu sync.Mutex
			n := 0
			cancel := a.Watch(func(mailbox.Event) { mu.Lock(); n++; mu.Unlock() })
			_, m := c.inbox()
			c.appendMsg(m, "seen")
			cancel()
			cancel()
			c.appendMsg(m, "not seen")
			mu.Lock()
			defer mu.Unlock()
			if n != 1 {
				c.errorf("watcher called %d times, want 1 (before cancel only)", n)
			}
		},
	},
}
