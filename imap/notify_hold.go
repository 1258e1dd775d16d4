package imap

import (
	"slices"

	"github.com/posthorn/posthorn/mailbox"
)

// Once a client has used NOTIFY, the selected mailbox's message events
// are sent only if NOTIFY asks for them with SELECTED or SELECTED-DELAYED
// (RFC 5465 §3.1: without them, or with NONE, "the client doesn't want to
// receive any <message-event>s for the currently selected mailbox"; NOTIFY
// SET ... NONE is "a snapshot facility"). Meanwhile the view keeps the
// client's numbering: other sessions' changes, and the session's own
// APPEND and COPY into the mailbox, wait in heldChanges; the responses
// to the session's own commands (EXPUNGE, MOVE, STORE) are still sent,
// since they are results, not notifications. A NOTIFY that asks for the
// selected mailbox again releases what waited, as ordinary updates.

// heldChanges are the changes to the selected mailbox kept back.
type heldChanges struct {
	added    []mailbox.UID // ascending, all above the view's UIDs
	arrived  []mailbox.UID // the ones added by other sessions
	expunged []mailbox.UID // ascending
	flags    map[mailbox.UID]mailbox.FlagChange
}

// add records new messages, by another session when foreign.
func (h *heldChanges) add(v *view, uids []mailbox.UID, foreign bool) {
	for _, u := range uids {
		if u <= v.maxUID() {
			continue
		}
		if i, found := slices.BinarySearch(h.added, u); !found {
			h.added = slices.Insert(h.added, i, u)
			if foreign {
				h.arrived = append(h.arrived, u)
			}
		}
	}
}

// noteArrived records messages the store reports added, as noteAdded
// does, and remembers the ones this session did not add itself (its own
// APPEND and COPY note theirs first) for NOTIFY's MessageNew FETCH.
func (v *view) noteArrived(uids []mailbox.UID) {
	if v.held != nil {
		v.held.add(v, uids, true)
		return
	}
	for _, u := range uids {
		if u > v.maxUID() {
			if _, found := slices.BinarySearch(v.added, u); !found {
				v.arrived = append(v.arrived, u)
			}
		}
	}
	v.noteAdded(uids)
}

// noteGone records messages the store reports expunged.
func (v *view) noteGone(uids []mailbox.UID) {
	if h := v.held; h != nil {
		v.pendExpunged(&h.added, &h.expunged, h.flags, uids)
		return
	}
	v.noteExpunged(uids)
}

// noteFlagEvent records a flag change the store reports.
func (v *view) noteFlagEvent(fc mailbox.FlagChange) {
	h := v.held
	if h == nil {
		v.noteFlags(fc)
		return
	}
	if old, ok := h.flags[fc.UID]; ok && old.ModSeq > fc.ModSeq && fc.ModSeq != 0 {
		return
	}
	if h.flags == nil {
		h.flags = make(map[mailbox.UID]mailbox.FlagChange)
	}
	h.flags[fc.UID] = fc
}

// setHold starts or ends keeping changes back; ending it makes what was
// kept pending, to go out with the next updates (flag changes only when
// flags says NOTIFY wants them).
func (v *view) setHold(hold, flags bool) {
	switch {
	case hold && v.held == nil:
		v.held = &heldChanges{}
	case !hold && v.held != nil:
		h := v.held
		v.held = nil
		v.noteExpunged(h.expunged)
		v.noteAdded(h.added)
		v.arrived = append(v.arrived, h.arrived...)
		if flags {
			for _, fc := range h.flags {
				v.noteFlags(fc)
			}
		}
	}
}

// notifyHolds reports whether the selected mailbox's changes are kept
// back (see heldChanges), and whether flag changes are wanted.
func (c *conn) notifyHolds() (hold, flags bool) {
	used, spec := c.queue.notifyState()
	sel := spec.selectedGroup()
	if !used {
		return false, true
	}
	if sel == nil || sel.events&evMessageNew == 0 {
		return true, false
	}
	return false, sel.events&evFlagChange != 0
}
