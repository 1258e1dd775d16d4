package imap

import (
	"github.com/posthorn/posthorn/mailbox"
)

// EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).
func cmdExpunge(c *conn, cmd *command) error {
	var set *NumSet
	if cmd.uid {
		set = new(NumSet)
		d := c.dec
		if !d.ExpectSP() || !d.ExpectNumSet(set) {
			return d.Err()
		}
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if c.view.readOnly {
		return errNo(CodeReadOnly, "Mailbox is read-only")
	}
	if set != nil && set.SearchRes {
		*set = uidNumSet(c.searchRes)
	}
	uids, err := c.deletedUIDs(set)
	if err != nil {
		return err
	}
	if len(uids) > 0 {
		removed, err := c.mbox.Expunge(c.ctx, uids)
		if err != nil {
			return err
		}
		// The store's event says the same; the view drops the duplicate.
		// The EXPUNGE responses go out with the other updates before the OK.
		c.view.noteExpunged(removed)
	}
	return c.expungeModSeq(cmd)
}

// expungeModSeq puts the mailbox's HIGHESTMODSEQ in the tagged OK of
// EXPUNGE and UID EXPUNGE once QRESYNC is enabled (RFC 7162 §3.2.10), as
// the mark a client resynchronises from later. Every change up to that
// value was published before Status returned, so it is queued for this
// session and goes out before the OK: the client has seen all of it.
func (c *conn) expungeModSeq(cmd *command) error {
	if !c.qresync {
		return nil
	}
	st, err := c.mbox.Status(c.ctx)
	if err != nil {
		return err
	}
	cmd.okCode, cmd.okArg = CodeHighestModSeq, itoa(uint64(max(st.HighestModSeq, 1)))
	return nil
}

// deletedUIDs lists the messages the client knows that carry \Deleted,
// within the UID set when one is given.
func (c *conn) deletedUIDs(set *NumSet) ([]mailbox.UID, error) {
	v := c.view
	if v.count() == 0 {
		return nil, nil
	}
	var norm NumSet
	if set != nil {
		norm = set.Normalize(uint32(v.maxUID()))
	}
	var uids []mailbox.UID
	for m, err := range c.mbox.Messages(c.ctx, v.uids[0]) {
		if err != nil {
			return nil, err
		}
		if !m.HasFlag(mailbox.FlagDeleted) || v.seq(m.UID) == 0 {
			continue
		}
		if set != nil && !norm.ContainsNormalized(uint32(m.UID)) {
			continue
		}
		uids = append(uids, m.UID)
	}
	return uids, nil
}

// uidNumSet makes a NumSet of ascending UIDs.
func uidNumSet(uids []mailbox.UID) NumSet {
	var s NumSet
	for _, u := range uids {
		s.AddNum(uint32(u))
	}
	return s
}
