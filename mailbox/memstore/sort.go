package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/posthorn/posthorn/mailbox"
)

// Sort implements mailbox.Sorter for the keys the store holds without
// parsing a message: ARRIVAL and SIZE. Any other key answers
// errors.ErrUnsupported, so the IMAP server sorts from the headers.
// UIDs not in the mailbox (expunged meanwhile) sort last, by UID.
func (h *handle) Sort(ctx context.Context, crit []mailbox.SortCriterion, uids []mailbox.UID) ([]mailbox.UID, error) {
	for _, c := range crit {
		if c.Key != mailbox.SortArrival && c.Key != mailbox.SortSize {
			return nil, fmt.Errorf("memstore: sort by %s: %w", c.Key, errors.ErrUnsupported)
		}
	}
	if err := h.lock(ctx, false); err != nil {
		return nil, err
	}
	type entry struct {
		uid mailbox.UID
		msg *message // nil: not in the mailbox
	}
	entries := make([]entry, len(uids))
	for i, u := range uids {
		entries[i].uid = u
		if j, ok := h.box.find(u); ok {
			entries[i].msg = h.box.msgs[j]
		}
	}
	h.unlock(false)
	slices.SortFunc(entries, func(a, b entry) int {
		if (a.msg == nil) != (b.msg == nil) {
			if a.msg == nil {
				return 1
			}
			return -1
		}
		if a.msg != nil {
			for _, c := range crit {
				var r int
				if c.Key == mailbox.SortArrival {
					r = a.msg.internalDate.Compare(b.msg.internalDate)
				} else {
					r = cmp.Compare(len(a.msg.data), len(b.msg.data))
				}
				if c.Reverse {
					r = -r
				}
				if r != 0 {
					return r
				}
			}
		}
		return cmp.Compare(a.uid, b.uid)
	})
	out := make([]mailbox.UID, len(entries))
	for i, e := range entries {
		out[i] = e.uid
	}
	return out, nil
}
