package mailboxtest

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

var handleCases = []kase{
	{
		name:    "Users/Isolation",
		explain: "users are kept apart: one user's mail, mailboxes, subscriptions, maildrop lock and events are not another's",
		needs:   needWrite | needOtherUser,
		run: func(c *caseT) {
			rec := c.watch()
			other, err := c.F.Store.Open(c.Ctx, c.F.OtherUser)
			c.must(err, "Store.Open(%q)", c.F.OtherUser)
			defer other.Close()
			if other.User() != c.F.OtherUser {
				c.errorf("User() = %q, want %q", other.User(), c.F.OtherUser)
			}
			release, err := other.LockMaildrop(c.Ctx)
			c.must(err, "the other user's LockMaildrop")
			defer release()
			c.must(other.Create(c.Ctx, "Private", nil), "the other user's Create")
			c.must(other.SetSubscribed(c.Ctx, "Private", true), "the other user's SetSubscribed")
			_, err = mailbox.Deliver(c.Ctx, c.F.Store, c.F.OtherUser, strings.NewReader("for the other user"), nil)
			c.must(err, "Deliver to the other user")

			a, in := c.inbox()
			if st := c.status(in); st.Messages != 0 {
				c.errorf("INBOX of %q holds %d messages delivered to %q", c.F.User, st.Messages, c.F.OtherUser)
			}
			if _, ok := c.list(a)["Private"]; ok {
				c.errorf("%q sees the other user's mailbox", c.F.User)
			}
			if subs, _ := a.Subscriptions(c.Ctx); len(subs) != 0 {
				c.errorf("%q has the other user's subscriptions %q", c.F.User, subs)
			}
			if evs := rec.take(); len(evs) != 0 {
				c.errorf("%q's watcher got the other user's events %+v", c.F.User, evs)
			}
			if r, err := a.LockMaildrop(c.Ctx); err != nil {
				c.errorf("the other user's maildrop lock blocks %q: %v", c.F.User, err)
			} else {
				r()
			}
		},
	},
	{
		name:    "Maildrop/Lock",
		explain: "LockMaildrop is exclusive (RFC 1939 §8): a second taker gets ErrInUse until release; release twice is harmless",
		run: func(c *caseT) {
			a1, a2 := c.account(), c.account()
			release, err := a1.LockMaildrop(c.Ctx)
			c.must(err, "first LockMaildrop")
			_, err = a2.LockMaildrop(c.Ctx)
			c.wantErr(err, mailbox.ErrInUse, "LockMaildrop while held by another handle")
			_, err = a1.LockMaildrop(c.Ctx)
			c.wantErr(err, mailbox.ErrInUse, "LockMaildrop while held by the same handle")
			release()
			release()
			r2, err := a2.LockMaildrop(c.Ctx)
			if err != nil {
				c.errorf("LockMaildrop after release: %v", err)
				return
			}
			r2()
		},
	},
	{
		name:    "Maildrop/DoesNotBlockIMAP",
		explain: "the maildrop lock does not block IMAP or delivery: append, list, flag changes, expunge and mailbox changes all work while it is held",
		needs:   needWrite,
		run: func(c *caseT) {
			a1 := c.account()
			release, err := a1.LockMaildrop(c.Ctx)
			c.must(err, "LockMaildrop")
			defer release()
			c.prompt("IMAP work under the maildrop lock", func() {
				a2, err := c.F.Store.Open(c.Ctx, c.F.User)
				if err != nil {
					c.errorf("Open: %v", err)
					return
				}
				defer a2.Close()
				m, err := a2.Mailbox(c.Ctx, mailbox.Inbox)
				if err != nil {
					c.errorf("Mailbox(INBOX): %v", err)
					return
				}
				defer m.Close()
				uid, err := m.Append(c.Ctx, strings.NewReader("x"), nil)
				if err != nil {
					c.errorf("Append: %v", err)
					return
				}
				if _, err := m.SetFlags(c.Ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0); err != nil {
					c.errorf("SetFlags: %v", err)
				}
				for _, err := range m.Messages(c.Ctx, 1) {
					if err != nil {
						c.errorf("Messages: %v", err)
					}
				}
				if _, err := m.Expunge(c.Ctx, []mailbox.UID{uid}); err != nil {
					c.errorf("Expunge: %v", err)
				}
				if err := a2.Create(c.Ctx, "Other", nil); err != nil {
					c.errorf("Create: %v", err)
				}
				if _, err := mailbox.Deliver(c.Ctx, c.F.Store, c.F.User, strings.NewReader("delivered"), nil); err != nil {
					c.errorf("Deliver: %v", err)
				}
			})
		},
	},
	{
		name:    "Close/Double",
		explain: "a second Close of an Account or a Mailbox is harmless",
		run: func(c *caseT) {
			a, err := c.F.Store.Open(c.Ctx, c.F.User)
			c.must(err, "Open")
			m, err := a.Mailbox(c.Ctx, mailbox.Inbox)
			c.must(err, "Mailbox")
			c.must(m.Close(), "first Mailbox.Close")
			m.Close()
			c.must(a.Close(), "first Account.Close")
			a.Close()
		},
	},
	{
		name:    "Close/UseAfterClose",
		explain: "every operation on a closed handle returns ErrClosed (a read-only store may refuse changes with ErrReadOnly first)",
		run: func(c *caseT) {
			writeErrs := []error{mailbox.ErrClosed}
			if c.opts.ReadOnly {
				writeErrs = append(writeErrs, mailbox.ErrReadOnly)
			}
			a, err := c.F.Store.Open(c.Ctx, c.F.User)
			c.must(err, "Open")
			m, err := a.Mailbox(c.Ctx, mailbox.Inbox)
			c.must(err, "Mailbox")
			m.Close()
			a.Close()
			_, err = a.List(c.Ctx)
			c.wantErr(err, mailbox.ErrClosed, "List after Close")
			_, err = a.Mailbox(c.Ctx, mailbox.Inbox)
			c.wantErr(err, mailbox.ErrClosed, "Mailbox after Close")
			_, err = a.Subscriptions(c.Ctx)
			c.wantErr(err, mailbox.ErrClosed, "Subscriptions after Close")
			c.wantErrs(a.Create(c.Ctx, "X", nil), writeErrs, "Create after Close")
			_, err = a.LockMaildrop(c.Ctx)
			c.wantErr(err, mailbox.ErrClosed, "LockMaildrop after Close")
			_, err = m.Status(c.Ctx)
			c.wantErr(err, mailbox.ErrClosed, "Status after Close")
			_, err = m.Append(c.Ctx, strings.NewReader("x"), nil)
			c.wantErrs(err, writeErrs, "Append after Close")
			_, err = m.Open(c.Ctx, 1)
			c.wantErr(err, mailbox.ErrClosed, "Open after Close")
			_, err = m.SetFlags(c.Ctx, []mailbox.UID{1}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
			c.wantErrs(err, writeErrs, "SetFlags after Close")
			_, err = m.Expunge(c.Ctx, []mailbox.UID{1})
			c.wantErrs(err, writeErrs, "Expunge after Close")
			_, err = m.Vanished(c.Ctx, 0)
			c.wantErr(err, mailbox.ErrClosed, "Vanished after Close")
			for _, err := range m.Messages(c.Ctx, 1) {
				c.wantErr(err, mailbox.ErrClosed, "Messages after Close")
				break
			}
		},
	},
	{
		name:    "Close/MailboxOutlivesAccount",
		explain: "Mailbox handles stay usable after the Account that opened them is closed",
		needs:   needWrite,
		run: func(c *caseT) {
			a, err := c.F.Store.Open(c.Ctx, c.F.User)
			c.must(err, "Open")
			m, err := a.Mailbox(c.Ctx, mailbox.Inbox)
			c.must(err, "Mailbox")
			defer m.Close()
			a.Close()
			uid, err := m.Append(c.Ctx, strings.NewReader("after account close"), nil)
			if err != nil {
				c.errorf("Append after the account closed: %v", err)
				return
			}
			if got := string(c.read(m, uid)); got != "after account close" {
				c.errorf("read back %q", got)
			}
		},
	},
	{
		name:    "Handle/DeletedMailbox",
		explain: "when a mailbox is deleted while a handle on it is open, the handle's operations return ErrNotExist",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "Doomed")
			m := c.box(a, "Doomed")
			uid := c.appendMsg(m, "x")
			c.must(c.account().Delete(c.Ctx, "Doomed"), "Delete through another handle")
			_, err := m.Status(c.Ctx)
			c.wantErr(err, mailbox.ErrNotExist, "Status of a deleted mailbox")
			_, err = m.Append(c.Ctx, strings.NewReader("y"), nil)
			c.wantErr(err, mailbox.ErrNotExist, "Append to a deleted mailbox")
			_, err = m.Open(c.Ctx, uid)
			c.wantErr(err, mailbox.ErrNotExist, "Open in a deleted mailbox")
			_, err = m.SetFlags(c.Ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
			c.wantErr(err, mailbox.ErrNotExist, "SetFlags in a deleted mailbox")
			c.create(a, "Doomed") // the new mailbox is not the old one
			_, err = m.Open(c.Ctx, uid)
			c.wantErr(err, mailbox.ErrNotExist, "Open through a handle on the deleted mailbox after the name was re-created")
		},
	},
	{
		name:    "Handle/SharedView",
		explain: "changes made through one handle are visible through every other handle of the mailbox as soon as the call returns",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m1 := c.inbox()
			_, m2 := c.inbox()
			uid := c.appendMsg(m1, "shared")
			if got := string(c.read(m2, uid)); got != "shared" {
				c.errorf("second handle reads %q", got)
			}
			c.setFlags(m2, []mailbox.UID{uid}, mailbox.FlagsAdd, mailbox.FlagAnswered)
			if !mailbox.HasFlag(c.info(m1, uid).Flags, mailbox.FlagAnswered) {
				c.errorf("flag set through the second handle not seen by the first")
			}
			c.expunge(m1, uid)
			if st := c.status(m2); st.Messages != 0 {
				c.errorf("second handle still counts %d messages after an expunge", st.Messages)
			}
		},
	},
	{
		name:    "Handle/ConcurrentMix",
		explain: "concurrent appends, flag changes, expunges, listings and reads through separate handles keep every invariant (run with -race)",
		needs:   needWrite,
		run: func(c *caseT) {
			a, m := c.inbox()
			seed := c.appendN(m, 20)
			c.workers(a, 4, func(w int, h mailbox.Mailbox) error {
				for i := range 15 {
					uid := seed[(w*5+i)%len(seed)]
					var err error
					switch i % 5 {
					case 0:
						_, err = h.Append(c.Ctx, strings.NewReader(sampleMessage(i)), nil)
					case 1:
						_, err = h.SetFlags(c.Ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
					case 2:
						_, err = h.Expunge(c.Ctx, []mailbox.UID{uid})
					case 3:
						for _, e := range h.Messages(c.Ctx, 1) {
							if e != nil {
								err = e
							}
						}
					case 4:
						var r io.ReadCloser
						r, err = h.Open(c.Ctx, uid)
						if errors.Is(err, mailbox.ErrNotExist) {
							err = nil // expunged by another worker
						} else if err == nil {
							r.Close()
						}
					}
					if err != nil {
						return fmt.Errorf("step %d: %w", i, err)
					}
				}
				return nil
			})
			infos := c.infos(m)
			st := c.status(m)
			if int(st.Messages) != len(infos) {
				c.errorf("Status.Messages %d, Messages lists %d", st.Messages, len(infos))
			}
			for i, info := range infos {
				if i > 0 && info.UID <= infos[i-1].UID {
					c.errorf("Messages out of order")
				}
				if info.ModSeq > st.HighestModSeq || info.UID >= st.UIDNext {
					c.errorf("message %+v beyond status %+v", info, st)
				}
			}
		},
	},
}
