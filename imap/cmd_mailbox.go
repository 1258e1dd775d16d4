package imap

import (
	"slices"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// mailboxArg reads SP mailbox and returns the canonical name, or an error
// response for a name the store could not hold. trailing allows (and
// strips) a trailing hierarchy delimiter, as CREATE does.
func (c *conn) mailboxArg(trailing bool) (string, error) {
	d := c.dec
	var name string
	if !d.ExpectSP() || !d.ExpectMailbox(&name) {
		return "", d.Err()
	}
	if trailing {
		name = strings.TrimSuffix(name, string(mailbox.Delimiter))
	}
	canon, err := mailbox.ValidName(name)
	if err != nil {
		return name, errNo(CodeCannot, "Invalid mailbox name")
	}
	return canon, nil
}

// nameArgs reads SP mailbox like mailboxArg.
func (c *conn) nameArgs(trailing bool) (string, error) {
	name, err := c.mailboxArg(trailing)
	if isParseError(err) {
		return "", err
	}
	return name, err
}

// onlyNameArg reads SP mailbox CRLF, the arguments of DELETE, SUBSCRIBE,
// SELECT and the like. A syntax error wins over an invalid name, so the
// line is discarded properly.
func (c *conn) onlyNameArg() (string, error) {
	name, err := c.nameArgs(false)
	if isParseError(err) {
		return "", err
	}
	if perr := c.expectEOL(); perr != nil {
		return "", perr
	}
	return name, err
}

// CREATE (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE (RFC 6154 §3).
func cmdCreate(c *conn, cmd *command) error {
	name, nameErr := c.nameArgs(true)
	if isParseError(nameErr) {
		return nameErr
	}
	d := c.dec
	var opts mailbox.CreateOptions
	if d.SP() {
		// "(" "USE" SP "(" attr *(SP attr) ")" ")"
		d.ExpectList(func() bool {
			var kw string
			if !d.Keyword(&kw) || kw != "USE" || !d.ExpectSP() {
				return d.Fail("USE")
			}
			return d.ExpectList(func() bool {
				var f Flag
				if !d.ExpectFlag(&f) {
					return false
				}
				if opts.SpecialUse != "" {
					return d.Fail("one special-use attribute")
				}
				opts.SpecialUse = mailbox.Attr(f)
				return true
			})
		})
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if nameErr != nil {
		return nameErr
	}
	if opts.SpecialUse != "" {
		a := canonicalAttr(opts.SpecialUse)
		if !a.IsSpecialUse() {
			return &Error{Type: StatusNO, Code: CodeUseAttr, Text: "Unsupported special-use attribute"}
		}
		opts.SpecialUse = a
	}
	var o *mailbox.CreateOptions
	if opts.SpecialUse != "" {
		o = &opts
	}
	c.queue.expectOwn(mailbox.EventMailboxCreated, name, "") // NOTIFY: not reported back
	defer c.queue.doneOwn()
	return c.acct.Create(c.ctx, name, o)
}

// canonicalAttr spells a special-use attribute as RFC 6154 does.
func canonicalAttr(a mailbox.Attr) mailbox.Attr {
	for _, x := range []mailbox.Attr{mailbox.AttrAll, mailbox.AttrArchive, mailbox.AttrDrafts, mailbox.AttrFlagged, mailbox.AttrJunk, mailbox.AttrSent, mailbox.AttrTrash} {
		if strings.EqualFold(string(a), string(x)) {
			return x
		}
	}
	return a
}

// DELETE (RFC 9051 §6.3.5). Deleting the selected mailbox unselects it.
func cmdDelete(c *conn, cmd *command) error {
	name, err := c.onlyNameArg()
	if err != nil {
		return err
	}
	if c.view != nil && c.view.name == name {
		c.closeMailbox()
		c.w.statusLine("*", StatusOK, CodeClosed, "", "Mailbox closed")
	}
	c.queue.expectOwn(mailbox.EventMailboxDeleted, name, "")
	defer c.queue.doneOwn()
	return c.acct.Delete(c.ctx, name)
}

// RENAME (RFC 9051 §6.3.6).
func cmdRename(c *conn, cmd *command) error {
	from, err1 := c.nameArgs(false)
	if isParseError(err1) {
		return err1
	}
	to, err2 := c.nameArgs(false)
	if isParseError(err2) {
		return err2
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if err1 != nil {
		return err1
	}
	if err2 != nil {
		return err2
	}
	c.queue.expectOwn(mailbox.EventMailboxRenamed, to, from)
	defer c.queue.doneOwn()
	return c.acct.Rename(c.ctx, from, to)
}

// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8).
func cmdSubscribe(c *conn, cmd *command) error {
	name, err := c.onlyNameArg()
	if err != nil {
		return err
	}
	c.queue.expectOwn(mailbox.EventSubscriptionChanged, name, "")
	defer c.queue.doneOwn()
	return c.acct.SetSubscribed(c.ctx, name, cmd.name == "SUBSCRIBE")
}

// NAMESPACE (RFC 2342, RFC 9051 §6.3.10): one personal namespace.
func cmdNamespace(c *conn, cmd *command) error {
	if err := c.expectEOL(); err != nil {
		return err
	}
	c.w.raw(`* NAMESPACE (("" "/")) NIL NIL`)
	c.w.crlf()
	return nil
}

// statusItems are the STATUS data items this server answers.
var statusItems = map[string]bool{
	"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true,
	"DELETED": true, "SIZE": true, "RECENT": true, "APPENDLIMIT": true,
	"HIGHESTMODSEQ": true, // RFC 7162 §3.1.6
}

// statusAtts reads "(" status-att *(SP status-att) ")".
func (c *conn) statusAtts() []string {
	d := c.dec
	var items []string
	d.ExpectList(func() bool {
		var kw string
		if !d.Keyword(&kw) || !statusItems[kw] {
			return d.Fail("status item")
		}
		items = append(items, kw)
		return true
	})
	if len(items) == 0 {
		d.Fail("status item")
	}
	return items
}

// STATUS (RFC 9051 §6.3.11) with STATUS=SIZE (RFC 8438) and DELETED.
func cmdStatus(c *conn, cmd *command) error {
	name, err := c.nameArgs(false)
	if isParseError(err) {
		return err
	}
	d := c.dec
	if !d.ExpectSP() {
		return d.Err()
	}
	items := c.statusAtts()
	if perr := c.expectEOL(); perr != nil {
		return perr
	}
	if err != nil {
		return errNo(CodeNonExistent, "No such mailbox")
	}
	if slices.Contains(items, "HIGHESTMODSEQ") {
		if err := c.enableCondStore(); err != nil {
			return err
		}
	}
	return c.writeMailboxStatus(name, items)
}

// writeMailboxStatus writes "* STATUS name (items)".
func (c *conn) writeMailboxStatus(name string, items []string) error {
	mb, err := c.acct.Mailbox(c.ctx, name)
	if err != nil {
		return err
	}
	st, err := mb.Status(c.ctx)
	mb.Close()
	if err != nil {
		return err
	}
	w := &c.w
	w.raw("* STATUS ")
	w.mailboxName(name)
	w.raw(" (")
	for i, it := range items {
		if i > 0 {
			w.sp()
		}
		w.raw(it)
		w.sp()
		switch it {
		case "MESSAGES":
			w.num32(st.Messages)
		case "UIDNEXT":
			w.num(uint64(st.UIDNext))
		case "UIDVALIDITY":
			w.num32(st.UIDValidity)
		case "UNSEEN":
			w.num32(st.Unseen)
		case "DELETED":
			w.num32(st.Deleted)
		case "SIZE":
			w.num(uint64(st.Size))
		case "HIGHESTMODSEQ":
			w.num(uint64(max(st.HighestModSeq, 1)))
		case "RECENT":
			w.num(0) // \Recent is per session; other sessions' mailboxes have none for us
		case "APPENDLIMIT": // RFC 7889 §4
			if lim := c.srv.appendLimit(); lim > 0 {
				w.num(uint64(lim))
			} else {
				w.raw("NIL")
			}
		}
	}
	w.byte(')')
	w.crlf()
	return nil
}
