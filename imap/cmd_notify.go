package imap

import (
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// NOTIFY (RFC 5465): the session side.
//
// A NOTIFY SET puts its request in the session's eventQueue, where the
// store's Watch callback matches every event against it and queues a
// notification for the mailboxes it covers (notify_queue.go). The conn
// goroutine sends them at the end of each command, in IDLE, and, while it
// waits for the next command, as they arrive: peekCommand then waits on
// the queue's signal and on a helper goroutine that peeks at the input,
// as IDLE does.
//
// The selected mailbox: with SELECTED its new messages (EXISTS, and FETCH
// with the requested attributes), expunges (EXPUNGE or VANISHED) and,
// with FlagChange, flag changes (FETCH) are sent between commands too;
// SELECTED-DELAYED holds expunges back until a command that allows them
// (RFC 5465 §6.1.2). Without either, with SELECTED NONE, after NOTIFY
// NONE or an overflow, the selected mailbox is a snapshot until a NOTIFY
// asks for it again (notify_hold.go).

// errNotifyEnded ends a session from peekCommand: the response (BYE) has
// been written or the connection is gone.
var errNotifyEnded = errors.New("imap: session ended while notifying")

// cmdNotify runs NOTIFY SET and NOTIFY NONE.
func cmdNotify(c *conn, cmd *command) error {
	if c.srv.maxNotifyQueue() <= 0 {
		if err := c.dec.DiscardLine(); err != nil {
			return err
		}
		return errBad("NOTIFY is not offered")
	}
	n := parseNotify(c.dec)
	if n == nil {
		return c.dec.Err()
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if n.none {
		c.queue.setNotify(nil, nil, 0)
		return nil
	}
	if e := n.check(); e != nil {
		return e
	}
	n.prepare()
	var subs map[string]bool
	for i := range n.groups {
		if n.groups[i].filter == filterSubscribed {
			list, err := c.acct.Subscriptions(c.ctx)
			if err != nil {
				return err
			}
			subs = make(map[string]bool, len(list))
			for _, s := range list {
				subs[s] = true
			}
			break
		}
	}
	// In effect before the STATUS responses are read: a change in between
	// is reported (again) rather than lost.
	c.queue.setNotify(n, subs, c.srv.maxNotifyQueue())
	// RFC 5465 §3.1: NOTIFY SET is an implicit NOOP. What the selected
	// mailbox accumulated (kept back, or queued) goes out now, even when
	// the new request leaves the selected mailbox out.
	c.queue.holdSelected(false)
	ok := c.sendUpdates(true)
	c.queue.holdSelected(true)
	if !ok {
		return errAlreadyAnswered
	}
	if n.status {
		return c.notifyStatusAll(n, subs)
	}
	return nil
}

// notifyStatusAll writes the STATUS of every mailbox, other than the
// selected one, for which n asks message events (RFC 5465 §3.1).
func (c *conn) notifyStatusAll(n *notifyCmd, subs map[string]bool) error {
	infos, err := c.acct.List(c.ctx)
	if err != nil {
		return err
	}
	for _, info := range infos {
		if info.HasAttr(mailbox.AttrNoSelect) || (c.view != nil && c.view.name == info.Name) {
			continue
		}
		evs := n.eventsFor(info.Name, subs[info.Name] || info.Subscribed)
		if evs&evMessage == 0 {
			continue
		}
		// HIGHESTMODSEQ with FlagChange because the server supports
		// CONDSTORE, enabled or not.
		if err := c.writeMailboxStatus(info.Name, c.notifyStatusItems(evs&evFlagChange != 0)); err != nil && !isNotExist(err) {
			return err
		}
	}
	return nil
}

// notifyStatusItems are the STATUS items of a notification: every item
// RFC 5465 §5.1–§5.3 asks for any message event, HIGHESTMODSEQ when
// CONDSTORE is enabled (or modseq says so).
func (c *conn) notifyStatusItems(modseq bool) []string {
	if c.condstore || modseq {
		return []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"}
	}
	return []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"}
}

// sendNotifications writes the pending notifications about other
// mailboxes, and the overflow notice. It reports false when the session
// cannot go on.
func (c *conn) sendNotifications() bool {
	notes, overflow := c.queue.takeNotes()
	if len(notes) > 0 {
		c.writeNotes(notes)
	}
	if overflow {
		c.w.statusLine("*", StatusOK, CodeNotificationOverflow, "", "Too many notifications; NOTIFY is off")
	}
	return true
}

// writeNotes writes STATUS and LIST responses. A LIST shows the mailbox
// as it is when written, so one list of the account serves the batch.
func (c *conn) writeNotes(notes []notification) {
	var infos map[string]*mailbox.MailboxInfo
	var subs map[string]bool
	loaded := false
	load := func() bool {
		if loaded {
			return infos != nil
		}
		loaded = true
		list, err := c.acct.List(c.ctx)
		if err != nil {
			c.log.LogAttrs(c.ctx, slog.LevelWarn, "imap: NOTIFY: listing mailboxes", slog.Any("err", err))
			return false
		}
		sl, err := c.acct.Subscriptions(c.ctx)
		if err != nil {
			c.log.LogAttrs(c.ctx, slog.LevelWarn, "imap: NOTIFY: listing subscriptions", slog.Any("err", err))
			return false
		}
		infos = make(map[string]*mailbox.MailboxInfo, len(list))
		for i := range list {
			infos[list[i].Name] = &list[i]
		}
		subs = make(map[string]bool, len(sl))
		for _, s := range sl {
			subs[s] = true
		}
		return true
	}
	var listed []string // names LISTed in this batch, to write each once
	list := func(name, oldName string) {
		if name == "" || (oldName == "" && slices.Contains(listed, name)) {
			return
		}
		listed = append(listed, name)
		c.writeNotifyList(name, oldName, infos[name], subs[name])
	}
	for i := range notes {
		x := &notes[i]
		if x.isStatus() {
			if c.view != nil && c.view.name == x.name {
				continue // became the selected mailbox meanwhile
			}
			err := c.writeMailboxStatus(x.name, c.notifyStatusItems(false))
			if err != nil && !isNotExist(err) {
				c.log.LogAttrs(c.ctx, slog.LevelWarn, "imap: NOTIFY: status", slog.String("mailbox", x.name), slog.Any("err", err))
			}
			continue
		}
		if !load() {
			return
		}
		list(x.name, x.oldName)
		if x.kind == mailbox.EventMailboxCreated || x.kind == mailbox.EventMailboxDeleted {
			// RFC 5465 §5.4: the parent is affected too.
			list(mailbox.Parent(x.name), "")
		}
	}
}

// writeNotifyList writes the LIST response of a notification: the
// mailbox's attributes now, \NonExistent when it is gone, \Subscribed
// when subscribed (RFC 5465 §5.4, §5.5), OLDNAME for a rename.
func (c *conn) writeNotifyList(name, oldName string, info *mailbox.MailboxInfo, subscribed bool) {
	var attrs []string
	if info == nil {
		attrs = append(attrs, string(AttrNonExistent))
	} else {
		for _, a := range info.Attrs {
			attrs = append(attrs, string(a))
		}
	}
	if subscribed {
		attrs = append(attrs, string(AttrSubscribed))
	}
	w := &c.w
	w.raw("* LIST (")
	w.raw(strings.Join(attrs, " "))
	w.raw(`) "/" `)
	w.mailboxName(name)
	if oldName != "" {
		w.raw(` ("OLDNAME" (`)
		w.mailboxName(oldName)
		w.raw("))")
	}
	w.crlf()
}

// fetchArrived writes, after the EXISTS that announced them, the FETCH
// responses NOTIFY asks for messages other sessions added to the selected
// mailbox (RFC 5465 §5.2). It reports false when the session cannot go on
// (a literal could not be completed).
func (c *conn) fetchArrived() bool {
	v := c.view
	if len(v.arrived) == 0 {
		return true
	}
	uids := v.arrived
	v.arrived = nil
	sel := c.queue.notifySpec().selectedGroup()
	if sel == nil || len(sel.fetch) == 0 || sel.events&evMessageNew == 0 {
		return true
	}
	slices.Sort(uids)
	uids = slices.DeleteFunc(slices.Compact(uids), func(u mailbox.UID) bool { return v.seq(u) == 0 })
	items := sel.fetch
	ok := true
	err := c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
		src := msgSource{c: c, info: m}
		if err := src.prepare(items); err != nil {
			return nil // gone or unreadable: nothing written for it
		}
		for i := range items {
			if it := &items[i]; it.Name == "BINARY" || it.Name == "BINARY.SIZE" {
				if _, err := src.binaryPart(it.Section); err != nil {
					return nil
				}
			}
		}
		w := &c.w
		w.raw("* ")
		w.num32(v.seq(m.UID))
		w.raw(" FETCH (")
		for i := range items {
			if i > 0 {
				w.sp()
			}
			if err := c.writeFetchItem(&src, &items[i]); err != nil {
				ok = false
				return err
			}
			if items[i].Name == "FLAGS" {
				v.reported(m.UID, m.ModSeq)
			}
		}
		w.byte(')')
		w.crlf()
		return nil
	})
	c.scratch = nil
	if err != nil && ok {
		c.log.LogAttrs(c.ctx, slog.LevelWarn, "imap: NOTIFY: fetching new messages", slog.Any("err", err))
	}
	return ok
}

// notifyLive reports whether NOTIFY asks for responses between commands.
func (c *conn) notifyLive() bool { return c.state != stateNotAuth && c.queue.notifySpec() != nil }

// peekCommand waits for the first byte of the next command. With NOTIFY
// in effect it sends notifications meanwhile: a helper goroutine peeks at
// the input (the conn goroutine does not touch the reader until it has
// returned) while this one waits on the event queue.
func (c *conn) peekCommand() error {
	if c.br.Buffered() > 0 || !c.notifyLive() {
		// A pipelined command is there already: its end sends what
		// is pending.
		_, err := c.br.Peek(1)
		return err
	}
	done := make(chan error, 1)
	br := c.br
	go func() {
		_, err := br.Peek(1)
		done <- err
	}()
	for {
		select {
		case err := <-done:
			return err
		case <-c.queue.signal:
			if !c.sendBetweenCommands() || c.flush() != nil {
				c.state = stateLogout
				c.nc.Close()
				<-done
				return errNotifyEnded
			}
		}
	}
}

// sendBetweenCommands writes what NOTIFY asks to hear while no command is
// in progress: other mailboxes' notifications, and the selected mailbox's
// changes when SELECTED or SELECTED-DELAYED asks for them (expunges only
// with SELECTED: no command is in progress, so sequence numbers may
// change, RFC 5465 §6.1).
func (c *conn) sendBetweenCommands() bool {
	sel := c.queue.notifySpec().selectedGroup()
	if c.view != nil && sel != nil && sel.events&evMessageNew != 0 {
		return c.sendUpdates(sel.filter == filterSelected)
	}
	return c.sendNotifications()
}
