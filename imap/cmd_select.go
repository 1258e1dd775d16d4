package imap

import (
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3) with the CONDSTORE and
// QRESYNC parameters (RFC 7162 §3.1.8, §3.2.5).
func cmdSelect(c *conn, cmd *command) error {
	name, err := c.nameArgs(false)
	if isParseError(err) {
		return err
	}
	condstore, qparam, perr := c.selectParams()
	if perr == nil {
		perr = c.expectEOL()
	}
	if perr != nil {
		return perr
	}
	if condstore || qparam != nil {
		c.condstore = true // the HIGHESTMODSEQ below tells the client
	}
	if c.mbox != nil {
		// RFC 9051 §6.3.2: the previous mailbox is closed first, and the
		// client told so before any response about the new one.
		c.closeMailbox()
		c.w.statusLine("*", StatusOK, CodeClosed, "", "Previous mailbox closed")
	}
	if err != nil {
		return errNo(CodeNonExistent, "No such mailbox")
	}
	readOnly := cmd.name == "EXAMINE"
	// Watch first, then read: a change made in between is both in the
	// snapshot and in the queue, and the view drops the duplicate.
	c.queue.selectMailbox(name)
	mb, err := c.acct.Mailbox(c.ctx, name)
	if err != nil {
		c.queue.selectMailbox("")
		return err
	}
	v, info, err := c.loadView(mb, name, readOnly)
	if err != nil {
		mb.Close()
		c.queue.selectMailbox("")
		return err
	}
	c.mbox, c.view, c.state = mb, v, stateSelected
	w := &c.w
	w.raw("* ")
	w.num32(v.count())
	w.raw(" EXISTS")
	w.crlf()
	if !c.rev2 {
		w.raw("* 0 RECENT")
		w.crlf()
		if info.firstUnseen != 0 {
			w.statusLine("*", StatusOK, CodeUnseen, itoa(uint64(info.firstUnseen)), "First unseen")
		}
	}
	w.statusLine("*", StatusOK, CodeUIDValidity, itoa(uint64(v.uidValidity)), "UIDs valid")
	w.statusLine("*", StatusOK, CodeUIDNext, itoa(uint64(info.uidNext)), "Predicted next UID")
	w.statusLine("*", StatusOK, CodeHighestModSeq, itoa(uint64(info.highestModSeq)), "Highest")
	v.keywords = info.keywords
	v.qresync = c.qresync
	c.writeFlags()
	if qparam != nil {
		if err := c.selectResync(qparam, info.uidNext); err != nil {
			return err
		}
	}
	if readOnly {
		cmd.okCode = CodeReadOnly
	} else {
		cmd.okCode = CodeReadWrite
	}
	if c.rev2 {
		// RFC 9051 §6.3.2: a LIST response with the mailbox name.
		w.raw(`* LIST () "/" `)
		w.mailboxName(name)
		w.crlf()
	}
	return nil
}

// writeFlags writes FLAGS and PERMANENTFLAGS with the keywords the view
// knows of.
func (c *conn) writeFlags() {
	w := &c.w
	flags := "\\Answered \\Flagged \\Deleted \\Seen \\Draft"
	if len(c.view.keywords) > 0 {
		flags += " " + strings.Join(c.view.keywords, " ")
	}
	w.raw("* FLAGS (" + flags + ")")
	w.crlf()
	if c.view.readOnly {
		w.statusLine("*", StatusOK, CodePermanentFlags, "()", "No permanent flags permitted")
	} else {
		w.statusLine("*", StatusOK, CodePermanentFlags, "("+flags+" \\*)", "Flags permitted")
	}
}

type selectInfo struct {
	uidNext       mailbox.UID
	highestModSeq mailbox.ModSeq
	firstUnseen   uint32
	keywords      []string
}

// loadView reads the message list of mb into a new view.
func (c *conn) loadView(mb mailbox.Mailbox, name string, readOnly bool) (*view, selectInfo, error) {
	var info selectInfo
	st, err := mb.Status(c.ctx)
	if err != nil {
		return nil, info, err
	}
	n := int(st.Messages)
	uids := make([]mailbox.UID, 0, n)
	modseq := make([]mailbox.ModSeq, 0, n)
	seenKW := map[string]bool{}
	for m, err := range mb.Messages(c.ctx, 1) {
		if err != nil {
			return nil, info, err
		}
		uids = append(uids, m.UID)
		modseq = append(modseq, m.ModSeq)
		if info.firstUnseen == 0 && !m.HasFlag(mailbox.FlagSeen) {
			info.firstUnseen = uint32(len(uids))
		}
		for _, f := range m.Flags {
			if len(f) > 0 && f[0] != '\\' && !seenKW[string(f)] && len(seenKW) < maxKeywords {
				seenKW[string(f)] = true
				info.keywords = append(info.keywords, string(f))
			}
		}
	}
	info.uidNext = st.UIDNext
	info.highestModSeq = max(st.HighestModSeq, 1)
	if k := len(uids); k > 0 && info.uidNext <= uids[k-1] {
		info.uidNext = uids[k-1] + 1
	}
	return newView(name, readOnly, st.UIDValidity, uids, modseq, info.uidNext), info, nil
}

// CLOSE (RFC 9051 §6.4.1) and UNSELECT (RFC 3691). CLOSE expunges
// \Deleted messages silently when the mailbox is read-write.
func cmdClose(c *conn, cmd *command) error {
	if err := c.expectEOL(); err != nil {
		return err
	}
	if cmd.name == "CLOSE" && !c.view.readOnly {
		uids, err := c.deletedUIDs(nil)
		if err == nil && len(uids) > 0 {
			_, err = c.mbox.Expunge(c.ctx, uids)
		}
		if err != nil {
			c.closeMailbox()
			return err
		}
	}
	c.closeMailbox()
	return nil
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
