package imap

import (
	"context"
	"slices"
	"strings"
)

// SyncState is what a client remembers of a mailbox between sessions.
// The zero value means "nothing known": everything is reported as added.
type SyncState struct {
	UIDValidity   uint32
	HighestModSeq uint64   // 0 if the server had no CONDSTORE
	UIDs          []uint32 // UIDs known locally, any order
	// Flags optionally holds the flags known locally by UID. With it, a
	// full scan (SyncFull) reports as changed only messages whose flags
	// differ; without it, every known message.
	Flags map[uint32][]Flag
}

// SyncMethod says how Sync brought the state up to date.
type SyncMethod string

// Sync methods, best first.
const (
	SyncQResync   SyncMethod = "QRESYNC"   // RFC 7162 §3.2: one SELECT
	SyncCondStore SyncMethod = "CONDSTORE" // FETCH CHANGEDSINCE + UID SEARCH
	SyncFull      SyncMethod = "FULL"      // UID FETCH 1:* (UID FLAGS)
)

// SyncResult is what changed on the server since the SyncState.
type SyncResult struct {
	Method SyncMethod
	// Reset is set when UIDVALIDITY changed: the local copy must be
	// discarded; every message is in Added.
	Reset bool
	// Added holds messages not in SyncState.UIDs (UID, FLAGS, MODSEQ).
	Added []*FetchMessage
	// Changed holds known messages whose flags changed. With SyncFull
	// and no SyncState.Flags the server cannot say what changed, so
	// every known message still present is listed with its flags.
	Changed []*FetchMessage
	// Vanished holds known UIDs that no longer exist, ascending.
	Vanished []uint32
	// State is the new state to remember (the mailbox stays selected).
	State SyncState
}

// Sync selects mailbox and reports what changed since st: with QRESYNC
// when the server has it, CONDSTORE next, and a full UID/FLAGS scan
// otherwise. Enabling QRESYNC (needed for it) is done here. st may be
// nil (nothing known).
func (c *Client) Sync(ctx context.Context, mailbox string, st *SyncState) (*SyncResult, error) {
	if st == nil {
		st = &SyncState{}
	}
	known := slices.Clone(st.UIDs)
	slices.Sort(known)
	if c.caps == nil {
		if _, err := c.Capability(ctx); err != nil {
			return nil, err
		}
	}
	res := &SyncResult{Method: SyncFull}
	switch {
	case c.has("QRESYNC"):
		res.Method = SyncQResync
		if !c.Enabled("QRESYNC") {
			if _, err := c.Enable(ctx, "QRESYNC"); err != nil {
				return nil, err
			}
		}
	case c.has("CONDSTORE"):
		res.Method = SyncCondStore
	}
	opts := &SelectOptions{CondStore: res.Method != SyncFull}
	if res.Method == SyncQResync && st.UIDValidity != 0 && st.HighestModSeq != 0 {
		// No known-uids: with it, servers report changes only for those
		// UIDs, and new messages would go unseen (RFC 7162 §3.2.5.1).
		opts.QResync = &QResync{UIDValidity: st.UIDValidity, ModSeq: st.HighestModSeq}
	}
	sel, err := c.Select(ctx, mailbox, opts)
	if err != nil {
		return nil, err
	}
	res.State.UIDValidity = sel.UIDValidity
	res.State.HighestModSeq = sel.HighestModSeq
	switch {
	case sel.UIDValidity != st.UIDValidity:
		res.Reset = len(known) > 0
		known = nil
		res.Method = SyncFull
	case st.HighestModSeq == 0 || sel.HighestModSeq == 0 || sel.NoModSeq:
		res.Method = SyncFull
	}

	isKnown := func(uid uint32) bool { _, ok := slices.BinarySearch(known, uid); return ok }
	classify := func(msgs []*FetchMessage) {
		for _, m := range msgs {
			if m == nil || m.UID == 0 {
				continue
			}
			if isKnown(m.UID) {
				if res.Method == SyncFull && st.Flags != nil && sameFlags(st.Flags[m.UID], m.Flags) {
					continue
				}
				res.Changed = append(res.Changed, m)
			} else {
				res.Added = append(res.Added, m)
			}
		}
	}

	switch res.Method {
	case SyncQResync:
		classify(sel.Changed)
		res.Vanished = intersect(known, expandUIDs(sel.Vanished))
	case SyncCondStore:
		msgs, present, err := c.syncCondStore(ctx, st.HighestModSeq, known)
		if err != nil {
			return nil, err
		}
		classify(msgs)
		res.Vanished = difference(known, present)
	default:
		var msgs []*FetchMessage
		if sel.Exists > 0 {
			msgs, err = c.fetchAll(ctx, "UID FETCH", func(w *cmdWriter) {
				w.raw(" 1:* (UID FLAGS")
				if res.State.HighestModSeq != 0 {
					w.raw(" MODSEQ")
				}
				w.raw(")")
			})
			if err != nil {
				return nil, err
			}
		}
		classify(msgs)
		present := make([]uint32, 0, len(msgs))
		for _, m := range msgs {
			present = append(present, m.UID)
		}
		slices.Sort(present)
		res.Vanished = difference(known, present)
	}

	// The new known set: known - vanished + added.
	next := difference(known, res.Vanished)
	for _, m := range res.Added {
		next = append(next, m.UID)
	}
	slices.Sort(next)
	res.State.UIDs = slices.Compact(next)
	return res, nil
}

// syncCondStore pipelines UID FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE
// m) and UID SEARCH UID <known>, returning the changed messages and the
// known UIDs still present.
func (c *Client) syncCondStore(ctx context.Context, since uint64, known []uint32) (msgs []*FetchMessage, present []uint32, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer end(&err)
	fetch, w := c.newCommand("UID FETCH")
	w.raw(" 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE ").number64(since).raw(")")
	fetch.data = collectFetch(&msgs)
	if err := c.send(fetch, w); err != nil {
		return nil, nil, err
	}
	var search *clientCmd
	if len(known) > 0 {
		var set NumSet
		set.AddNum(known...)
		search, w = c.newCommand("UID SEARCH")
		w.raw(" UID ").numSet(set)
		search.data = func(u *untagged) bool {
			if u.search == nil {
				return false
			}
			present = append(present, expandUIDs(u.search.All)...)
			return true
		}
		if err := c.send(search, w); err != nil {
			return nil, nil, err
		}
	}
	if err := c.wait(fetch); err != nil {
		return nil, nil, err
	}
	if search != nil {
		if err := c.wait(search); err != nil {
			return nil, nil, err
		}
	}
	slices.Sort(present)
	return msgs, present, nil
}

// fetchAll runs a FETCH-like command and collects the responses.
func (c *Client) fetchAll(ctx context.Context, verb string, args func(w *cmdWriter)) (msgs []*FetchMessage, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand(verb)
	args(w)
	cmd.data = collectFetch(&msgs)
	err = c.run(cmd, w)
	return msgs, err
}

// difference returns the sorted a minus sorted b.
func difference(a, b []uint32) []uint32 {
	var out []uint32
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			out = append(out, x)
		}
	}
	return out
}

// intersect returns the members of sorted a found in b.
func intersect(a, b []uint32) []uint32 {
	slices.Sort(b)
	var out []uint32
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); ok {
			out = append(out, x)
		}
	}
	return out
}

// sameFlags reports whether a and b hold the same flags, ignoring order,
// case and \Recent (a session flag).
func sameFlags(a, b []Flag) bool {
	count := func(fs []Flag) map[string]bool {
		m := make(map[string]bool, len(fs))
		for _, f := range fs {
			if !f.Equal(FlagRecent) {
				m[strings.ToLower(string(f))] = true
			}
		}
		return m
	}
	ma, mb := count(a), count(b)
	if len(ma) != len(mb) {
		return false
	}
	for f := range ma {
		if !mb[f] {
			return false
		}
	}
	return true
}
