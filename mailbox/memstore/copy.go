package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// CopyTo implements mailbox.Copier: the copies share the (immutable) bytes
// of the originals.
func (h *handle) CopyTo(ctx context.Context, uids []mailbox.UID, dest string) (mailbox.CopyResult, error) {
	return h.transfer(ctx, uids, dest, false)
}

// MoveTo implements mailbox.Mover: both mailboxes are locked while the
// messages are copied and the originals expunged, so no handle sees the
// messages in both or in neither.
func (h *handle) MoveTo(ctx context.Context, uids []mailbox.UID, dest string) (mailbox.CopyResult, error) {
	return h.transfer(ctx, uids, dest, true)
}

func (h *handle) transfer(ctx context.Context, uids []mailbox.UID, dest string, move bool) (mailbox.CopyResult, error) {
	var res mailbox.CopyResult
	if err := h.check(ctx); err != nil {
		return res, err
	}
	dest, err := mailbox.ValidName(dest)
	if err != nil {
		return res, err
	}
	u := h.u
	u.mu.Lock()
	dst, ok := u.boxes[dest]
	u.mu.Unlock()
	switch {
	case !ok:
		return res, fmt.Errorf("memstore: mailbox %q: %w", dest, mailbox.ErrNotExist)
	case dst.noselect:
		return res, fmt.Errorf("memstore: mailbox %q: %w", dest, mailbox.ErrNoSelect)
	}
	want := sortedUIDs(uids)

	src := h.box
	// Lock both in id order (once when they are the same mailbox).
	first, second := src, dst
	if second.id < first.id {
		first, second = second, first
	}
	first.mu.Lock()
	defer first.mu.Unlock()
	if second != first {
		second.mu.Lock()
		defer second.mu.Unlock()
	}
	if src.deleted || dst.deleted {
		return res, fmt.Errorf("memstore: mailbox deleted: %w", mailbox.ErrNotExist)
	}
	var picked []*message
	var size int64
	for _, uid := range want {
		if i, ok := src.find(uid); ok {
			picked = append(picked, src.msgs[i])
			size += int64(len(src.msgs[i].data))
		}
	}
	res.UIDValidity = dst.uidValidity
	if len(picked) == 0 {
		return res, nil
	}
	if uint64(dst.uidNext)+uint64(len(picked)) > 1<<32 || dst.uidNext == 0 {
		return res, fmt.Errorf("memstore: copy into %q: UIDs exhausted", dest)
	}
	if !move { // a move does not change the use
		if err := u.charge(size, int64(len(picked))); err != nil {
			return res, err
		}
	}
	now := time.Now()
	dst.modseq++
	res.Source = make([]mailbox.UID, len(picked))
	res.Dest = make([]mailbox.UID, len(picked))
	added := make([]mailbox.UID, len(picked))
	for i, m := range picked {
		c := &message{uid: dst.uidNext, flags: m.flags, internalDate: m.internalDate, saveDate: now,
			data: m.data, modseq: dst.modseq, meta: m.meta}
		dst.uidNext++
		dst.msgs = append(dst.msgs, c)
		dst.tally(c, 1)
		res.Source[i], res.Dest[i], added[i] = m.uid, c.uid, c.uid
	}
	dh := &handle{u: u, box: dst, bus: h.bus}
	dh.publish(mailbox.Event{Kind: mailbox.EventMessagesAdded, UIDs: added})
	if move {
		h.expungeLocked(res.Source, false)
	}
	return res, nil
}
