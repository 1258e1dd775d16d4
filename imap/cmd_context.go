package imap

import (
	"cmp"
	"slices"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Search and sort contexts (RFC 5267 §4.3): a SEARCH or SORT with RETURN
// (UPDATE) keeps its result, and the server tells the client how it
// changes, in ESEARCH responses tagged with the command's tag:
//
//	* ESEARCH (TAG "A1") UID REMOVEFROM (0 7) ADDTO (0 9:10)
//
// Only the messages that changed are evaluated again: those the store
// reported added or with new flags (the session's own STORE included),
// and those expunged. REMOVEFROM for an expunged message is sent before
// its EXPUNGE (while its sequence number is still valid), ADDTO for a new
// one after its EXISTS. For SEARCH the position is always 0; for SORT it
// is where the messages enter or leave the sort order, the pairs applied
// one after the other (RFC 5267 §4.3.2).
//
// A context lives until CANCELUPDATE, or until the mailbox is closed or
// another is selected. A session may hold maxUpdateContexts of them; past
// that a search still answers, with an untagged NO [NOUPDATE "tag"]
// saying that no updates will follow.

// maxUpdateContexts bounds the UPDATE contexts of one session: each keeps
// its whole result and is evaluated at every change.
const maxUpdateContexts = 16

// CodeNoUpdate is RFC 5267's NOUPDATE response code: the server will not
// (or no longer) send updates for the context named in its argument.
const CodeNoUpdate ResponseCode = "NOUPDATE"

// searchContext is one live UPDATE context.
type searchContext struct {
	tag  string
	uid  bool      // results as UIDs (UID SEARCH, UID SORT)
	view *view     // the selection it belongs to
	key  SearchKey // the criteria, re-evaluated on changes
	// SEARCH: members, ascending. SORT: sorted, in sort order.
	members []mailbox.UID
	sort    []sortCriterion
	sorted  []sortInfo
}

// addContext starts an UPDATE context for cmd with its initial result
// (UIDs ascending for SEARCH; infos in sort order for SORT). It returns
// false, having written the NOUPDATE response, when the session holds too
// many.
func (c *conn) addContext(cmd *command, key *SearchKey, uids []mailbox.UID, crit []sortCriterion, infos []sortInfo) {
	c.pruneContexts()
	if len(c.contexts) >= maxUpdateContexts {
		c.w.raw("* NO [NOUPDATE ")
		c.w.quoted(cmd.tag)
		c.w.raw("] Too many search contexts; no updates will follow")
		c.w.crlf()
		return
	}
	sc := &searchContext{tag: cmd.tag, uid: cmd.uid, view: c.view, key: *key, sort: crit}
	if crit != nil {
		sc.sorted = infos
	} else {
		sc.members = uids
	}
	c.contexts = append(c.contexts, sc)
}

// pruneContexts drops contexts of an earlier selection.
func (c *conn) pruneContexts() {
	c.contexts = slices.DeleteFunc(c.contexts, func(sc *searchContext) bool { return sc.view != c.view || c.view == nil })
}

// contextTagInUse reports whether tag names a live UPDATE context: a
// client must not reuse it for another (RFC 5267 §4.3).
func (c *conn) contextTagInUse(tag string) bool {
	c.pruneContexts()
	return slices.ContainsFunc(c.contexts, func(sc *searchContext) bool { return sc.tag == tag })
}

// CANCELUPDATE (RFC 5267 §4.3.1) ends the UPDATE contexts of the given
// tags. A tag that names none is a client error.
func cmdCancelUpdate(c *conn, cmd *command) error {
	d := c.dec
	var tags []string
	for d.SP() {
		var t string
		if !d.Quoted(&t) {
			d.Fail("quoted tag")
			return d.Err()
		}
		tags = append(tags, t)
	}
	if len(tags) == 0 {
		d.Fail("SP quoted tag")
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	for _, t := range tags {
		if !c.contextTagInUse(t) {
			return errBad("No update context with tag %q", t)
		}
	}
	c.contexts = slices.DeleteFunc(c.contexts, func(sc *searchContext) bool { return slices.Contains(tags, sc.tag) })
	return nil
}

// flushWithContexts runs flush (the view's unsolicited responses) with
// the contexts' updates around it: REMOVEFROM for expunged messages
// before, and the changes of new and re-flagged messages after. evs are
// the store events just applied to the view.
func (c *conn) flushWithContexts(evs []mailbox.Event, flush func()) {
	c.pruneContexts()
	if len(c.contexts) == 0 {
		flush()
		return
	}
	v := c.view
	for _, sc := range c.contexts {
		c.contextExpunged(sc, v.expunged)
	}
	changed := slices.Clone(v.added)
	for i := range evs {
		switch evs[i].Kind {
		case mailbox.EventMessagesAdded:
			changed = append(changed, evs[i].UIDs...)
		case mailbox.EventFlagsChanged:
			for _, fc := range evs[i].Flags {
				changed = append(changed, fc.UID)
			}
		}
	}
	flush()
	changed = slices.DeleteFunc(changed, func(u mailbox.UID) bool { return v.seq(u) == 0 || v.isExpunged(u) })
	if len(changed) == 0 {
		return
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)
	c.reevaluate(changed)
}

// contextExpunged removes expunged messages from sc, writing REMOVEFROM
// with the numbers and positions the client still knows.
func (c *conn) contextExpunged(sc *searchContext, expunged []mailbox.UID) {
	if len(expunged) == 0 {
		return
	}
	var u contextUpdate
	if sc.sort == nil {
		for _, x := range expunged {
			if i, ok := slices.BinarySearch(sc.members, x); ok {
				u.removeMember(c, sc, i)
			}
		}
	} else {
		// Remove from the end so each position holds when the client
		// applies them in order.
		for i := len(sc.sorted) - 1; i >= 0; i-- {
			if _, ok := slices.BinarySearch(expunged, sc.sorted[i].uid); ok {
				u.removeSorted(c, sc, i)
			}
		}
	}
	c.writeContextUpdate(sc, &u)
}

// reevaluate matches the changed messages (ascending, all known to the
// client) against every context and reports the differences.
func (c *conn) reevaluate(changed []mailbox.UID) {
	type state struct {
		sc  *searchContext
		s   *searchCtx
		in  []mailbox.UID // changed messages that match now
		err error
	}
	states := make([]state, len(c.contexts))
	now := time.Now()
	for i, sc := range c.contexts {
		s := &searchCtx{c: c, now: now, seqSets: map[*SearchKey]NumSet{}}
		s.prepare(&sc.key)
		states[i] = state{sc: sc, s: s}
	}
	err := c.eachMessage(changed, func(m *mailbox.MessageInfo) error {
		n := c.view.seq(m.UID)
		for i := range states {
			st := &states[i]
			if st.err != nil {
				continue
			}
			st.s.reset(m, n)
			ok, err := st.s.match(&st.sc.key)
			if err != nil {
				st.err = err
			} else if ok {
				st.in = append(st.in, m.UID)
			}
		}
		return nil
	})
	for i := range states {
		st := &states[i]
		if err != nil || st.err != nil {
			c.dropContext(st.sc)
			continue
		}
		var u contextUpdate
		if st.sc.sort == nil {
			c.searchDiff(st.sc, changed, st.in, &u)
		} else if derr := c.sortDiff(st.sc, changed, st.in, &u); derr != nil {
			c.dropContext(st.sc)
			continue
		}
		c.writeContextUpdate(st.sc, &u)
	}
}

// dropContext ends sc after a store error, telling the client so.
func (c *conn) dropContext(sc *searchContext) {
	c.w.raw("* NO [NOUPDATE ")
	c.w.quoted(sc.tag)
	c.w.raw("] Search context ended")
	c.w.crlf()
	c.contexts = slices.DeleteFunc(c.contexts, func(x *searchContext) bool { return x == sc })
}

// searchDiff updates an unordered context: changed messages now matching
// join it, those no longer matching leave it.
func (c *conn) searchDiff(sc *searchContext, changed, in []mailbox.UID, u *contextUpdate) {
	var adds []mailbox.UID
	for _, x := range changed {
		_, match := slices.BinarySearch(in, x)
		i, member := slices.BinarySearch(sc.members, x)
		switch {
		case member && !match:
			u.removeMember(c, sc, i)
		case !member && match:
			adds = append(adds, x)
		}
	}
	for _, x := range adds {
		i, _ := slices.BinarySearch(sc.members, x)
		sc.members = slices.Insert(sc.members, i, x)
		u.add(0, c.contextNum(sc, x))
	}
}

// sortDiff updates a sorted context: leavers are removed (from the end),
// then joiners inserted at their place in the sort order.
func (c *conn) sortDiff(sc *searchContext, changed, in []mailbox.UID, u *contextUpdate) error {
	for i := len(sc.sorted) - 1; i >= 0; i-- {
		x := sc.sorted[i].uid
		if _, ch := slices.BinarySearch(changed, x); !ch {
			continue
		}
		if _, match := slices.BinarySearch(in, x); !match {
			u.removeSorted(c, sc, i)
		}
	}
	var joiners []mailbox.UID
	for _, x := range in {
		if !slices.ContainsFunc(sc.sorted, func(s sortInfo) bool { return s.uid == x }) {
			joiners = append(joiners, x)
		}
	}
	if len(joiners) == 0 {
		return nil
	}
	infos, err := c.sortInfos(joiners, func(k string) bool {
		return slices.ContainsFunc(sc.sort, func(s sortCriterion) bool { return s.key == k })
	})
	if err != nil {
		return err
	}
	for _, in := range infos {
		i, _ := slices.BinarySearchFunc(sc.sorted, in, func(a, b sortInfo) int { return compareSort(sc.sort, &a, &b) })
		sc.sorted = slices.Insert(sc.sorted, i, in)
		u.add(uint32(i+1), c.contextNum(sc, in.uid))
	}
	return nil
}

// compareSort orders two messages by crit, then by UID (RFC 5256 §3:
// ties go in sequence order).
func compareSort(crit []sortCriterion, a, b *sortInfo) int {
	for _, sc := range crit {
		r := compareBy(sc.key, a, b)
		if sc.reverse {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return cmp.Compare(a.uid, b.uid)
}

// contextNum is how a context reports uid: itself, or its sequence number.
func (c *conn) contextNum(sc *searchContext, uid mailbox.UID) uint32 {
	if sc.uid {
		return uint32(uid)
	}
	return c.view.seq(uid)
}

// contextUpdate collects the REMOVEFROM and ADDTO pairs of one response.
type contextUpdate struct {
	remove, add_ []posNums
}

// posNums is a context position with the numbers that go with it.
type posNums struct {
	pos  uint32
	nums []uint32
}

func (u *contextUpdate) removeMember(c *conn, sc *searchContext, i int) {
	u.remove = appendPair(u.remove, 0, c.contextNum(sc, sc.members[i]))
	sc.members = slices.Delete(sc.members, i, i+1)
}

// removeSorted removes entry i of a sorted context. Removals come from
// the end, so a run of neighbours shares one pair at its first position.
func (u *contextUpdate) removeSorted(c *conn, sc *searchContext, i int) {
	n := c.contextNum(sc, sc.sorted[i].uid)
	if k := len(u.remove) - 1; k >= 0 && u.remove[k].pos == uint32(i+2) {
		u.remove[k].pos = uint32(i + 1)
		u.remove[k].nums = slices.Insert(u.remove[k].nums, 0, n)
	} else {
		u.remove = append(u.remove, posNums{uint32(i + 1), []uint32{n}})
	}
	sc.sorted = slices.Delete(sc.sorted, i, i+1)
}

func (u *contextUpdate) add(pos, n uint32) { u.add_ = appendPair(u.add_, pos, n) }

// appendPair adds n at pos, to the last pair when it continues it.
func appendPair(ps []posNums, pos, n uint32) []posNums {
	if k := len(ps) - 1; k >= 0 && (pos == 0 && ps[k].pos == 0 || pos != 0 && ps[k].pos+uint32(len(ps[k].nums)) == pos) {
		ps[k].nums = append(ps[k].nums, n)
		return ps
	}
	return append(ps, posNums{pos, []uint32{n}})
}

// writeContextUpdate writes u as one ESEARCH response, if it holds
// anything.
func (c *conn) writeContextUpdate(sc *searchContext, u *contextUpdate) {
	if len(u.remove) == 0 && len(u.add_) == 0 {
		return
	}
	w := &c.w
	c.esearchHead(sc.tag, sc.uid)
	for _, part := range []struct {
		name  string
		pairs []posNums
	}{{" REMOVEFROM (", u.remove}, {" ADDTO (", u.add_}} {
		if len(part.pairs) == 0 {
			continue
		}
		w.raw(part.name)
		for i, p := range part.pairs {
			if i > 0 {
				w.sp()
			}
			w.num32(p.pos)
			w.sp()
			nums := p.nums
			if p.pos == 0 {
				nums = slices.Clone(nums)
				slices.Sort(nums)
			}
			w.raw(orderedSet(nums).String())
		}
		w.byte(')')
	}
	w.crlf()
}
