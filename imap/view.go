package imap

import (
	"slices"
	"sync"

	"github.com/posthorn/posthorn/mailbox"
)

// This file holds a session's picture of its selected mailbox: the
// sequence-number table, the MODSEQ of each message as the session last
// reported it, and the changes the store has reported that the client has
// not been told about yet. The store speaks UIDs only; sequence numbers
// exist here and nowhere else.
//
// A view is owned by the conn goroutine. Events reach it through an
// eventQueue, filled by the store's Watch callback (which must not block)
// and drained by the conn goroutine at the points where the RFC lets the
// server send unsolicited responses.

// maxQueuedEvents bounds the events waiting for a busy session; past it the
// session can no longer be kept in step and is disconnected with BYE.
const maxQueuedEvents = 1 << 16

// eventQueue receives events from the store's Watch callback. It keeps only
// the events of the selected mailbox (and renames or deletion of it).
type eventQueue struct {
	mu       sync.Mutex
	selected string // "" when no mailbox is selected
	events   []mailbox.Event
	overflow bool
	signal   chan struct{} // capacity 1: "there is something to drain"
	nt       notifyQueue   // NOTIFY (RFC 5465): other mailboxes' news
}

func newEventQueue() *eventQueue {
	return &eventQueue{signal: make(chan struct{}, 1)}
}

// push is the Watch callback: it never blocks.
func (q *eventQueue) push(ev mailbox.Event) {
	q.mu.Lock()
	keep := false
	switch ev.Kind {
	case mailbox.EventMessagesAdded, mailbox.EventFlagsChanged, mailbox.EventMessagesExpunged, mailbox.EventMailboxDeleted:
		keep = q.selected != "" && ev.Mailbox == q.selected
	case mailbox.EventMailboxRenamed:
		if q.selected != "" && ev.OldName == q.selected {
			q.selected = ev.Mailbox
			keep = true
		}
	}
	keep = keep && q.nt.wantSelected(&ev)
	notify := q.nt.push(q.selected, &ev)
	if keep {
		if len(q.events) >= maxQueuedEvents {
			q.overflow = true
			q.events = nil
		} else if !q.overflow {
			q.events = append(q.events, ev)
		}
	}
	q.mu.Unlock()
	if keep || notify {
		select {
		case q.signal <- struct{}{}:
		default:
		}
	}
}

// selectMailbox sets the mailbox whose events are kept and drops any queued.
func (q *eventQueue) selectMailbox(name string) {
	q.mu.Lock()
	q.selected = name
	q.events = nil
	q.overflow = false
	q.mu.Unlock()
}

// take returns the queued events and empties the queue; overflow reports
// that events were lost.
func (q *eventQueue) take() (evs []mailbox.Event, overflow bool) {
	q.mu.Lock()
	evs, overflow = q.events, q.overflow
	q.events, q.overflow = nil, false
	q.mu.Unlock()
	return evs, overflow
}

// view is the selected mailbox as one session knows it.
type view struct {
	name        string
	readOnly    bool
	qresync     bool // report expunges with VANISHED (RFC 7162 §3.2.10)
	uidValidity uint32

	// uids[n-1] is the UID of sequence number n, ascending.
	uids []mailbox.UID
	hint int // index in uids that seq found last: a guess, checked
	// modseq[n-1] is the MODSEQ of message n as last reported to (or
	// known by) the session; events at or below it are not news.
	modseq []mailbox.ModSeq
	// recentFrom: messages with UID ≥ recentFrom that arrived during this
	// selection are \Recent for this session (IMAP4rev1 only).
	recentFrom mailbox.UID
	recent     int

	// Pending changes, not yet sent to the client.
	added    []mailbox.UID                      // ascending, all > every UID in uids
	arrived  []mailbox.UID                      // added by other sessions: NOTIFY's MessageNew FETCH
	held     *heldChanges                       // NOTIFY without the selected mailbox: changes kept back
	expunged []mailbox.UID                      // ascending, all present in uids
	flags    map[mailbox.UID]mailbox.FlagChange // latest flag state per UID
	deleted  bool                               // the mailbox itself was deleted

	// keywords are the keywords of the last FLAGS response; a new one
	// makes the next flush send FLAGS again (RFC 9051 §7.3.5).
	keywords  []string
	kwChanged bool
}

// maxKeywords bounds the keywords listed in a FLAGS response.
const maxKeywords = 100

// noteKeywords records keywords the client may not know of yet.
func (v *view) noteKeywords(flags []mailbox.Flag) {
	for _, f := range flags {
		if len(f) == 0 || f[0] == '\\' || len(v.keywords) >= maxKeywords || slices.Contains(v.keywords, string(f)) {
			continue
		}
		v.keywords = append(v.keywords, string(f))
		v.kwChanged = true
	}
}

// newView builds the view of a mailbox from its message list (UIDs
// ascending, with their MODSEQs), taken after the session subscribed to
// its events. uidNext is the mailbox's UIDNEXT at selection: messages
// appended later count as \Recent.
func newView(name string, readOnly bool, uidValidity uint32, uids []mailbox.UID, modseq []mailbox.ModSeq, uidNext mailbox.UID) *view {
	v := &view{
		name:        name,
		readOnly:    readOnly,
		uidValidity: uidValidity,
		uids:        uids,
		modseq:      modseq,
		recentFrom:  uidNext,
	}
	if len(v.uids) > 0 && v.recentFrom <= v.uids[len(v.uids)-1] {
		v.recentFrom = v.uids[len(v.uids)-1] + 1
	}
	return v
}

// count is the number of messages the client knows of (the last EXISTS).
func (v *view) count() uint32 { return uint32(len(v.uids)) }

// uid returns the UID of sequence number seq (1-based), or 0.
func (v *view) uid(seq uint32) mailbox.UID {
	if seq == 0 || seq > uint32(len(v.uids)) {
		return 0
	}
	return v.uids[seq-1]
}

// seq returns the sequence number of uid, or 0 if the client does not know it.
func (v *view) seq(uid mailbox.UID) uint32 {
	// FETCH and STORE walk the messages in UID order: the one found last
	// and the next are tried before a search.
	if i := v.hint; i < len(v.uids) && v.uids[i] == uid {
		return uint32(i + 1)
	}
	if i := v.hint + 1; i < len(v.uids) && v.uids[i] == uid {
		v.hint = i
		return uint32(i + 1)
	}
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return 0
	}
	v.hint = i
	return uint32(i + 1)
}

// maxUID is the highest UID the client knows of (the value of "*" in a UID
// set), 0 for an empty mailbox.
func (v *view) maxUID() mailbox.UID {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// isExpunged reports whether uid is known to be gone from the store while
// the client still sees it.
func (v *view) isExpunged(uid mailbox.UID) bool {
	_, ok := slices.BinarySearch(v.expunged, uid)
	return ok
}

// isRecent reports whether uid is \Recent for this session.
func (v *view) isRecent(uid mailbox.UID) bool { return v.recentFrom != 0 && uid >= v.recentFrom }

// apply records the store's events as pending changes. Events of other
// mailboxes or UIDVALIDITY epochs are ignored.
func (v *view) apply(evs []mailbox.Event) {
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case mailbox.EventMailboxRenamed:
			v.name = ev.Mailbox
			continue
		case mailbox.EventMailboxDeleted:
			if ev.Mailbox == v.name {
				v.deleted = true
			}
			continue
		}
		if ev.Mailbox != v.name || (ev.UIDValidity != 0 && ev.UIDValidity != v.uidValidity) {
			continue
		}
		switch ev.Kind {
		case mailbox.EventMessagesAdded:
			v.noteArrived(ev.UIDs)
		case mailbox.EventMessagesExpunged:
			v.noteGone(ev.UIDs)
		case mailbox.EventFlagsChanged:
			for _, fc := range ev.Flags {
				v.noteFlagEvent(fc)
			}
		}
	}
}

// noteAdded records new messages; UIDs already known are ignored, so the
// session's own APPEND/COPY results and the store's event may both report
// the same message.
func (v *view) noteAdded(uids []mailbox.UID) {
	if v.held != nil {
		v.held.add(v, uids, false)
		return
	}
	for _, u := range uids {
		if u <= v.maxUID() {
			continue
		}
		i, found := slices.BinarySearch(v.added, u)
		if !found {
			v.added = slices.Insert(v.added, i, u)
		}
	}
}

// noteExpunged records removed messages. A message still pending as added
// simply disappears; one the client knows waits for an EXPUNGE.
func (v *view) noteExpunged(uids []mailbox.UID) {
	v.pendExpunged(&v.added, &v.expunged, v.flags, uids)
}

// pendExpunged is noteExpunged on a set of pending lists (the view's, or
// the ones NOTIFY keeps back).
func (v *view) pendExpunged(added, expunged *[]mailbox.UID, flags map[mailbox.UID]mailbox.FlagChange, uids []mailbox.UID) {
	for _, u := range uids {
		if i, ok := slices.BinarySearch(*added, u); ok {
			*added = slices.Delete(*added, i, i+1)
			continue
		}
		if v.seq(u) == 0 {
			continue
		}
		i, found := slices.BinarySearch(*expunged, u)
		if !found {
			*expunged = slices.Insert(*expunged, i, u)
		}
		delete(flags, u)
	}
}

// noteFlags records a flag change unless the session already knows it
// (its own STORE, or a change older than what it reported).
func (v *view) noteFlags(fc mailbox.FlagChange) {
	if n := v.seq(fc.UID); n != 0 && fc.ModSeq != 0 && fc.ModSeq <= v.modseq[n-1] {
		return
	}
	if v.isExpunged(fc.UID) {
		return
	}
	if old, ok := v.flags[fc.UID]; ok && old.ModSeq > fc.ModSeq && fc.ModSeq != 0 {
		return
	}
	if v.flags == nil {
		v.flags = make(map[mailbox.UID]mailbox.FlagChange)
	}
	v.flags[fc.UID] = fc
	v.noteKeywords(fc.Flags)
}

// reported records that the session told the client the state of uid as of
// modseq (a FETCH FLAGS in reply to STORE, or in a FETCH), so the store's
// event for that change is not sent again.
func (v *view) reported(uid mailbox.UID, modseq mailbox.ModSeq) {
	n := v.seq(uid)
	if n == 0 {
		return
	}
	if modseq > v.modseq[n-1] {
		v.modseq[n-1] = modseq
	}
	if len(v.flags) == 0 {
		return
	}
	if fc, ok := v.flags[uid]; ok && fc.ModSeq <= modseq {
		delete(v.flags, uid)
	}
}

// hasPending reports whether there is anything to tell the client.
func (v *view) hasPending() bool {
	return len(v.added) > 0 || len(v.expunged) > 0 || len(v.flags) > 0 || v.deleted || v.kwChanged
}

// update is one unsolicited response.
type update struct {
	kind   updateKind
	num    uint32         // EXPUNGE: seq; EXISTS/RECENT: count; FETCH: seq
	uid    mailbox.UID    // FETCH
	flags  []mailbox.Flag // FETCH
	recent bool           // FETCH: add \Recent (IMAP4rev1)
	modseq mailbox.ModSeq
	uids   []mailbox.UID // VANISHED
}

type updateKind uint8

const (
	updateExpunge updateKind = iota + 1
	updateExists
	updateRecent
	updateFetch
	updateFlags    // FLAGS and PERMANENTFLAGS with the keywords in use
	updateVanished // VANISHED with the UIDs (QRESYNC), instead of EXPUNGEs
)

// flush turns pending changes into the unsolicited responses to send now,
// applying them to the view. When allowExpunge is false (during FETCH,
// STORE and SEARCH, RFC 9051 §7.5.1) expunges stay pending and the
// sequence numbers the client knows do not change; new messages and flag
// changes are sent either way. rev1 adds RECENT.
//
// Expunges go out in descending sequence order, so each EXPUNGE's number
// is valid without adjusting for the ones sent before it, and EXISTS
// follows them with the count after removal.
func (v *view) flush(allowExpunge, rev1 bool, emit func(update)) {
	if allowExpunge && len(v.expunged) > 0 {
		// Sequence numbers in the table as the client knows it now.
		seqs := make([]uint32, 0, len(v.expunged))
		for _, u := range v.expunged {
			if n := v.seq(u); n != 0 {
				seqs = append(seqs, n)
			}
		}
		if v.qresync {
			emit(update{kind: updateVanished, uids: slices.Clone(v.expunged)})
		} else {
			for i := len(seqs) - 1; i >= 0; i-- {
				emit(update{kind: updateExpunge, num: seqs[i]})
			}
		}
		// Compact both tables in one pass.
		j, k := 0, 0
		for i, u := range v.uids {
			if k < len(v.expunged) && v.expunged[k] == u {
				k++
				if v.isRecent(u) {
					v.recent--
				}
				continue
			}
			v.uids[j], v.modseq[j] = u, v.modseq[i]
			j++
		}
		v.uids, v.modseq = v.uids[:j], v.modseq[:j]
		v.expunged = v.expunged[:0]
	}
	if len(v.added) > 0 {
		for _, u := range v.added {
			v.uids = append(v.uids, u)
			v.modseq = append(v.modseq, 0)
			if v.isRecent(u) {
				v.recent++
			}
		}
		v.added = v.added[:0]
		emit(update{kind: updateExists, num: v.count()})
		if rev1 {
			emit(update{kind: updateRecent, num: uint32(v.recent)})
		}
	}
	if v.kwChanged {
		v.kwChanged = false
		emit(update{kind: updateFlags})
	}
	if len(v.flags) > 0 {
		uids := make([]mailbox.UID, 0, len(v.flags))
		for u := range v.flags {
			uids = append(uids, u)
		}
		slices.Sort(uids)
		for _, u := range uids {
			fc := v.flags[u]
			n := v.seq(u)
			if n == 0 || v.isExpunged(u) {
				if n == 0 {
					delete(v.flags, u) // expunged and already removed
				}
				continue
			}
			if fc.ModSeq != 0 && fc.ModSeq <= v.modseq[n-1] {
				delete(v.flags, u)
				continue
			}
			emit(update{kind: updateFetch, num: n, uid: u, flags: fc.Flags, recent: rev1 && v.isRecent(u), modseq: fc.ModSeq})
			if fc.ModSeq > v.modseq[n-1] {
				v.modseq[n-1] = fc.ModSeq
			}
			delete(v.flags, u)
		}
		if len(v.flags) == 0 {
			v.flags = nil
		}
	}
}
