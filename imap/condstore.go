package imap

import (
	"slices"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/mailbox"
)

// CONDSTORE and QRESYNC (RFC 7162). The store keeps a MODSEQ on every
// message and tombstones for expunged ones; this file holds the session
// side: enabling, the SELECT parameters and the resynchronisation answer.

// enableCondStore turns CONDSTORE on for the session, as ENABLE or the
// first command that uses it does (RFC 7162 §3.1). When a mailbox is
// selected at that moment the client has not seen its HIGHESTMODSEQ yet,
// so it is sent now.
func (c *conn) enableCondStore() error {
	if c.condstore {
		return nil
	}
	c.condstore = true
	if c.mbox == nil {
		return nil
	}
	st, err := c.mbox.Status(c.ctx)
	if err != nil {
		return err
	}
	c.w.statusLine("*", StatusOK, CodeHighestModSeq, itoa(uint64(st.HighestModSeq)), "Highest")
	return nil
}

// enableQResync turns QRESYNC on (ENABLE QRESYNC only, RFC 7162 §3.2.3);
// it implies CONDSTORE.
func (c *conn) enableQResync() error {
	c.qresync = true
	if c.view != nil {
		c.view.qresync = true
	}
	return c.enableCondStore()
}

// qresyncParam is the QRESYNC parameter of SELECT/EXAMINE (RFC 7162
// §3.2.5): the client's last known UIDVALIDITY and HIGHESTMODSEQ, and
// optionally the UIDs it knows of.
type qresyncParam struct {
	uidValidity uint32
	modSeq      mailbox.ModSeq
	known       *NumSet
}

// selectParams reads the optional "(" select-param *(SP select-param) ")"
// after the mailbox name of SELECT and EXAMINE: CONDSTORE, and QRESYNC
// (which the client must have enabled first).
func (c *conn) selectParams() (condstore bool, q *qresyncParam, err error) {
	d := c.dec
	if !d.SP() {
		return false, nil, nil
	}
	d.ExpectList(func() bool {
		var kw string
		if !d.Keyword(&kw) {
			return d.Fail("select parameter")
		}
		switch kw {
		case "CONDSTORE":
			condstore = true
			return true
		case "QRESYNC":
			q = &qresyncParam{}
			return d.ExpectSP() && c.qresyncArgs(q)
		}
		return d.Fail("select parameter")
	})
	if d.Err() != nil {
		return false, nil, d.Err()
	}
	if q != nil && !c.qresync {
		return false, nil, errBad("QRESYNC must be enabled first")
	}
	return condstore, q, nil
}

// qresyncArgs reads "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")". The sequence match data is read and checked
// for syntax; the answer does not need it (see selectResync).
func (c *conn) qresyncArgs(q *qresyncParam) bool {
	d := c.dec
	if !d.ExpectSpecial('(') || !d.ExpectNzNumber(&q.uidValidity) || !d.ExpectSP() {
		return false
	}
	var ms uint64
	if !d.ExpectNumber64(&ms) {
		return false
	}
	if ms == 0 {
		return d.Fail("mod-sequence-value")
	}
	q.modSeq = mailbox.ModSeq(ms)
	if d.SP() {
		var set NumSet
		if d.Special('(') {
			var seqs, uids NumSet
			if !d.ExpectNumSet(&seqs) || !d.ExpectSP() || !d.ExpectNumSet(&uids) || !d.ExpectSpecial(')') {
				return false
			}
		} else {
			if !d.ExpectNumSet(&set) {
				return false
			}
			if set.SearchRes {
				return d.Fail("known-uids")
			}
			q.known = &set
			if d.SP() {
				var seqs, uids NumSet
				if !d.ExpectSpecial('(') || !d.ExpectNumSet(&seqs) || !d.ExpectSP() || !d.ExpectNumSet(&uids) || !d.ExpectSpecial(')') {
					return false
				}
			}
		}
	}
	return d.ExpectSpecial(')')
}

// selectResync answers the QRESYNC parameter of a successful SELECT: one
// VANISHED (EARLIER) with the known messages expunged since the client's
// MODSEQ, then a FETCH (UID FLAGS MODSEQ) for every message changed or
// added since (RFC 7162 §3.2.5). A different UIDVALIDITY means the
// client's cache is void: nothing is sent and it starts over.
func (c *conn) selectResync(q *qresyncParam, uidNext mailbox.UID) error {
	v := c.view
	if q.uidValidity != v.uidValidity {
		return nil
	}
	var gone NumSet
	if q.known != nil {
		// Every UID the client claims to know that is not here: exact
		// whether or not the store still has the tombstones.
		top := uint32(max(uidNext, 1) - 1)
		gone = v.missing(q.known.Normalize(top), top)
	} else {
		uids, err := c.mbox.Vanished(c.ctx, q.modSeq)
		if err != nil {
			return err
		}
		gone = uidNumSet(slices.DeleteFunc(uids, func(u mailbox.UID) bool { return v.seq(u) != 0 }))
	}
	if len(gone.Ranges) > 0 {
		c.w.raw("* VANISHED (EARLIER) ")
		c.w.raw(gone.String())
		c.w.crlf()
	}
	if v.count() == 0 {
		return nil
	}
	return c.eachMessage(v.uids, func(m *mailbox.MessageInfo) error {
		if m.ModSeq <= q.modSeq {
			return nil
		}
		n := v.seq(m.UID)
		if n == 0 {
			return nil
		}
		c.writeUpdate(update{kind: updateFetch, num: n, uid: m.UID, flags: m.Flags, recent: !c.rev2 && v.isRecent(m.UID), modseq: m.ModSeq})
		v.reported(m.UID, m.ModSeq)
		return nil
	})
}

// missing returns the UIDs of a normalized set that the view does not
// hold, up to top (UIDNEXT-1), as a set of ranges (the gaps): the known
// UIDs that vanished.
func (v *view) missing(set NumSet, top uint32) NumSet {
	var out NumSet
	for _, r := range set.Ranges {
		lo, hi := r.Start, min(r.Stop, top)
		i := v.seqAtOrAfter(mailbox.UID(lo))
		for next := lo; next <= hi; {
			if i < len(v.uids) && uint32(v.uids[i]) <= hi {
				if u := uint32(v.uids[i]); u > next {
					out.AddRange(next, u-1)
				}
				next = uint32(v.uids[i]) + 1
				i++
				continue
			}
			out.AddRange(next, hi)
			break
		}
	}
	return out
}

// fetchModifiers reads the optional FETCH modifiers of RFC 7162:
// "(" "CHANGEDSINCE" SP mod-sequence-value [SP "VANISHED"] ")".
func (c *conn) fetchModifiers() (since mailbox.ModSeq, vanished bool, partial *partialRange, err error) {
	d := c.dec
	if !d.SP() {
		return 0, false, nil, nil
	}
	d.ExpectList(func() bool {
		var kw string
		if !d.Keyword(&kw) {
			return d.Fail("fetch modifier")
		}
		switch kw {
		case "CHANGEDSINCE":
			var n uint64
			if !d.ExpectSP() || !d.ExpectNumber64(&n) {
				return false
			}
			if n == 0 {
				return d.Fail("mod-sequence-value")
			}
			since = mailbox.ModSeq(n)
			return true
		case "VANISHED":
			vanished = true
			return true
		case "PARTIAL": // RFC 9394 §4, fetch_partial.go
			return fetchPartialModifier(d, &partial)
		}
		return d.Fail("fetch modifier")
	})
	return since, vanished, partial, d.Err()
}

// writeVanishedEarlier answers UID FETCH ... (CHANGEDSINCE m VANISHED):
// the UIDs of the set expunged since m that the client is not about to be
// told of by a plain VANISHED (RFC 7162 §3.2.6).
func (c *conn) writeVanishedEarlier(set NumSet, since mailbox.ModSeq) error {
	v := c.view
	gone, err := c.mbox.Vanished(c.ctx, since)
	if err != nil {
		return err
	}
	norm := set.Normalize(uint32(v.maxUID()))
	gone = slices.DeleteFunc(gone, func(u mailbox.UID) bool {
		return v.seq(u) != 0 || !norm.ContainsNormalized(uint32(u))
	})
	if len(gone) > 0 {
		c.w.raw("* VANISHED (EARLIER) ")
		c.w.raw(uidSet(gone))
		c.w.crlf()
	}
	return nil
}

// usesModSeq reports whether a search key has a MODSEQ criterion, which
// enables CONDSTORE and adds the highest MODSEQ to the result (RFC 7162
// §3.1.5).
func usesModSeq(k *wire.SearchKey) bool {
	if k.Key == "MODSEQ" {
		return true
	}
	for i := range k.Keys {
		if usesModSeq(&k.Keys[i]) {
			return true
		}
	}
	return false
}

// maxModSeq returns the highest MODSEQ among uids.
func (c *conn) maxModSeq(uids []mailbox.UID) (mailbox.ModSeq, error) {
	var top mailbox.ModSeq
	err := c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
		top = max(top, m.ModSeq)
		return nil
	})
	return top, err
}
