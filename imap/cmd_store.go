package imap

import (
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// resolveSet turns a sequence set (or a UID set for UID commands) into the
// ascending UIDs of the messages the client knows. A sequence number
// beyond the mailbox is an error (RFC 9051 §6.4.5 and §9); UIDs that do
// not exist are silently left out (RFC 9051 §6.4.8).
func (c *conn) resolveSet(set NumSet, uid bool) ([]mailbox.UID, error) {
	v := c.view
	if set.SearchRes {
		// RFC 5182: "$" is the saved result, as UIDs, still in the view.
		out := make([]mailbox.UID, 0, len(c.searchRes))
		for _, u := range c.searchRes {
			if v.seq(u) != 0 {
				out = append(out, u)
			}
		}
		return out, nil
	}
	if uid {
		if c.uidsBeyondView(set) {
			// A client may name a UID it learnt elsewhere (APPENDUID on
			// another connection, a delivery report) before this session
			// has announced the message. Announce what has arrived first
			// (EXISTS may be sent at any time; expunges stay pending), so
			// that the command acts on it instead of ignoring it.
			if !c.sendUpdates(false) {
				return nil, errAlreadyAnswered
			}
			v = c.view
		}
		norm := set.Normalize(uint32(v.maxUID()))
		var out []mailbox.UID
		for _, r := range norm.Ranges {
			// The UIDs of the view within [Start, Stop] are contiguous.
			lo := int(v.seqAtOrAfter(mailbox.UID(r.Start)))
			for i := lo; i < len(v.uids) && uint32(v.uids[i]) <= r.Stop; i++ {
				out = append(out, v.uids[i])
			}
		}
		return out, nil
	}
	// RFC 9051 §9: a number beyond the mailbox is an error; a range with
	// "*" is clipped instead (so "1:*" in an empty mailbox is no error,
	// as clients that send it expect).
	for _, r := range set.Ranges {
		if r.Start != Star && r.Stop != Star && max(r.Start, r.Stop) > v.count() {
			return nil, errBad("Invalid message sequence number")
		}
	}
	norm := set.Normalize(v.count())
	var out []mailbox.UID
	for _, r := range norm.Ranges {
		out = append(out, v.uids[r.Start-1:r.Stop]...)
	}
	return out, nil
}

// uidsBeyondView reports whether set names a UID (other than "*") above
// the highest the session has announced.
func (c *conn) uidsBeyondView(set NumSet) bool {
	top := uint32(c.view.maxUID())
	for _, r := range set.Ranges {
		if (r.Start != Star && r.Start > top) || (r.Stop != Star && r.Stop > top) {
			return true
		}
	}
	return false
}

// seqAtOrAfter returns the index in the table of the first UID ≥ u.
func (v *view) seqAtOrAfter(u mailbox.UID) int {
	lo, hi := 0, len(v.uids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.uids[m] < u {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// eachMessage calls fn with the store's info of each of uids (ascending)
// that still exists, in order. The pointer is valid during the call only.
func (c *conn) eachMessage(uids []mailbox.UID, fn func(m *mailbox.MessageInfo) error) error {
	if len(uids) == 0 {
		return nil
	}
	i := 0
	var cur mailbox.MessageInfo // one variable for all: fn must not keep the pointer
	for m, err := range c.mbox.Messages(c.ctx, uids[0]) {
		if err != nil {
			return err
		}
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i == len(uids) {
			break
		}
		if uids[i] != m.UID {
			continue
		}
		cur = m
		if err := fn(&cur); err != nil {
			return err
		}
		i++
	}
	return nil
}

// STORE and UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE (RFC 7162
// §3.1.3).
func cmdStore(c *conn, cmd *command) error {
	d := c.dec
	var set NumSet
	var item string
	var flags []Flag
	if !d.ExpectSP() || !d.ExpectNumSet(&set) || !d.ExpectSP() {
		return d.Err()
	}
	var unchangedSince uint64
	conditional := false
	if d.List(func() bool {
		var kw string
		if !d.Keyword(&kw) || kw != "UNCHANGEDSINCE" {
			return d.Fail("store modifier")
		}
		conditional = true
		return d.ExpectSP() && d.ExpectNumber64(&unchangedSince)
	}) && !d.ExpectSP() {
		return d.Err()
	}
	if !d.ExpectAtom(&item) || !d.ExpectSP() {
		return d.Err()
	}
	if !d.FlagList(&flags) {
		for {
			var f Flag
			if !d.ExpectFlag(&f) {
				return d.Err()
			}
			flags = append(flags, f)
			if !d.SP() {
				break
			}
		}
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	item = strings.ToUpper(item)
	silent := strings.HasSuffix(item, ".SILENT")
	item = strings.TrimSuffix(item, ".SILENT")
	var op mailbox.FlagOp
	switch item {
	case "FLAGS":
		op = mailbox.FlagsReplace
	case "+FLAGS":
		op = mailbox.FlagsAdd
	case "-FLAGS":
		op = mailbox.FlagsRemove
	default:
		return errBad("Unknown STORE item")
	}
	mflags, err := storeFlags(flags)
	if err != nil {
		return errBad("Invalid flag")
	}
	if c.view.readOnly {
		return errNo(CodeReadOnly, "Mailbox is read-only")
	}
	if conditional {
		if err := c.enableCondStore(); err != nil {
			return err
		}
	}
	uids, err := c.resolveSet(set, cmd.uid)
	if err != nil || len(uids) == 0 {
		return err
	}
	var res mailbox.FlagResult
	if conditional && unchangedSince == 0 {
		// Every message has a MODSEQ above 0: none may change.
		res.Modified = uids
	} else {
		res, err = c.mbox.SetFlags(c.ctx, uids, op, mflags, mailbox.ModSeq(unchangedSince))
		if err != nil {
			return err
		}
	}
	v := c.view
	for _, fc := range res.Changed {
		v.reported(fc.UID, fc.ModSeq)
	}
	v.noteKeywords(mflags)
	if len(res.Modified) > 0 {
		cmd.okCode, cmd.okArg, cmd.okText = CodeModified, c.modifiedSet(res.Modified, cmd.uid), "Conditional STORE failed for some messages"
	}
	if silent && (!c.condstore || len(res.Changed) == 0) {
		return nil
	}
	var modified map[mailbox.UID]bool
	if len(res.Modified) > 0 {
		modified = make(map[mailbox.UID]bool, len(res.Modified))
		for _, u := range res.Modified {
			modified[u] = true
		}
	}
	if len(uids) > bulkMinMessages {
		if err := c.w.beginBulk(); err != nil {
			return err
		}
		defer c.w.endBulk()
	}
	changed := res.Changed // in UID order, as the messages come
	return c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
		for len(changed) > 0 && changed[0].UID < m.UID {
			changed = changed[1:]
		}
		n := v.seq(m.UID)
		if n == 0 || v.isExpunged(m.UID) || modified[m.UID] {
			return nil
		}
		if silent {
			// RFC 7162 §3.1.3: .SILENT still reports the new MODSEQ of
			// the messages that changed.
			if len(changed) > 0 && changed[0].UID == m.UID {
				c.writeModSeqOnly(n, m, cmd.uid)
			}
			return nil
		}
		c.writeUpdate(update{kind: updateFetch, num: n, uid: m.UID, flags: m.Flags, recent: !c.rev2 && v.isRecent(m.UID), modseq: m.ModSeq})
		v.reported(m.UID, m.ModSeq)
		return nil
	})
}

// writeModSeqOnly writes "* n FETCH ([UID u ]MODSEQ (m))".
func (c *conn) writeModSeqOnly(n uint32, m *mailbox.MessageInfo, uid bool) {
	w := &c.w
	w.raw("* ")
	w.num32(n)
	w.raw(" FETCH (")
	if uid {
		w.raw("UID ")
		w.num(uint64(m.UID))
		w.sp()
	}
	writeModSeq(w, m.ModSeq)
	w.byte(')')
	w.crlf()
}

// modifiedSet is the argument of MODIFIED: UIDs for UID STORE, else the
// sequence numbers the client knows.
func (c *conn) modifiedSet(uids []mailbox.UID, uid bool) string {
	if uid {
		return uidSet(uids)
	}
	var s NumSet
	for _, u := range uids {
		if n := c.view.seq(u); n != 0 {
			s.AddNum(n)
		}
	}
	return s.String()
}
