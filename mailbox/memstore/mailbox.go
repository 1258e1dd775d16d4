package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// mbox is one mailbox's data. mu guards everything but noselect and
// specialUse, which belong to the tree and are guarded by user.mu; name is
// written with both held.
type mbox struct {
	id          uint64 // orders the locks of two mailboxes
	mu          sync.RWMutex
	name        string
	uidValidity uint32
	noselect    bool
	specialUse  mailbox.Attr
	deleted     bool // set when the mailbox is deleted: handles get ErrNotExist

	uidNext mailbox.UID
	modseq  mailbox.ModSeq // HIGHESTMODSEQ
	msgs    []*message     // ascending UID
	tombs   []tomb         // ascending MODSEQ

	// Running counters for Status, kept by add, drop and SetFlags.
	unseen  int64 // messages without \Seen
	flagged int64 // messages with \Deleted
	size    int64 // sum of the messages' sizes
}

// tally adds (d = 1) or removes (d = -1) m's share of the counters. b.mu
// is held for writing.
func (b *mbox) tally(m *message, d int64) {
	du, dd := flagCounts(m.flags)
	b.unseen += d * du
	b.flagged += d * dd
	b.size += d * int64(len(m.data))
}

// flagCounts returns 1 for each counter a message with flags counts in:
// unseen (no \Seen) and deleted (\Deleted).
func flagCounts(flags []mailbox.Flag) (unseen, deleted int64) {
	if !mailbox.HasFlag(flags, mailbox.FlagSeen) {
		unseen = 1
	}
	if mailbox.HasFlag(flags, mailbox.FlagDeleted) {
		deleted = 1
	}
	return unseen, deleted
}

// resetCounts zeroes the counters, when b.msgs is emptied at once.
func (b *mbox) resetCounts() { b.unseen, b.flagged, b.size = 0, 0, 0 }

type message struct {
	uid          mailbox.UID
	flags        []mailbox.Flag // canonical; never modified in place, so it may be shared
	internalDate time.Time
	saveDate     time.Time
	data         []byte // never modified
	modseq       mailbox.ModSeq
	meta         []byte // MetadataCache; never modified in place
}

type tomb struct {
	uid    mailbox.UID
	modseq mailbox.ModSeq
}

func newMbox(name string, uidValidity uint32, id uint64) *mbox {
	// RFC 7162 §3.1.1: mod-sequences are positive, so even an empty
	// mailbox has a HIGHESTMODSEQ of 1.
	return &mbox{id: id, name: name, uidValidity: uidValidity, uidNext: 1, modseq: 1}
}

// find returns the index of uid in b.msgs. b.mu is held.
func (b *mbox) find(uid mailbox.UID) (int, bool) {
	i := sort.Search(len(b.msgs), func(i int) bool { return b.msgs[i].uid >= uid })
	return i, i < len(b.msgs) && b.msgs[i].uid == uid
}

func (m *message) info() mailbox.MessageInfo {
	return mailbox.MessageInfo{
		UID:          m.uid,
		Flags:        slices.Clone(m.flags),
		InternalDate: m.internalDate,
		SaveDate:     m.saveDate,
		Size:         int64(len(m.data)),
		ModSeq:       m.modseq,
	}
}

// handle is a mailbox.Mailbox on one mbox.
type handle struct {
	u      *user
	box    *mbox
	bus    mailbox.Bus
	closed atomic.Bool
}

var (
	_ mailbox.Mailbox       = (*handle)(nil)
	_ mailbox.Copier        = (*handle)(nil)
	_ mailbox.Mover         = (*handle)(nil)
	_ mailbox.MetadataCache = (*handle)(nil)
)

func (h *handle) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if h.closed.Load() {
		return mailbox.ErrClosed
	}
	return nil
}

// lock takes the mailbox lock (shared unless write) and checks that the
// mailbox still exists. On error the lock is not held.
func (h *handle) lock(ctx context.Context, write bool) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	if write {
		h.box.mu.Lock()
	} else {
		h.box.mu.RLock()
	}
	if h.box.deleted {
		h.unlock(write)
		return fmt.Errorf("memstore: mailbox deleted: %w", mailbox.ErrNotExist)
	}
	return nil
}

func (h *handle) unlock(write bool) {
	if write {
		h.box.mu.Unlock()
	} else {
		h.box.mu.RUnlock()
	}
}

func (h *handle) publish(ev mailbox.Event) {
	ev.User = h.u.name
	ev.Mailbox = h.box.name
	ev.UIDValidity = h.box.uidValidity
	ev.ModSeq = h.box.modseq
	h.bus.Publish(ev)
}

func (h *handle) Name() string {
	h.box.mu.RLock()
	defer h.box.mu.RUnlock()
	return h.box.name
}

func (h *handle) Status(ctx context.Context) (mailbox.Status, error) {
	if err := h.lock(ctx, false); err != nil {
		return mailbox.Status{}, err
	}
	defer h.unlock(false)
	b := h.box
	// O(1): the counters are kept up to date by every change.
	return mailbox.Status{
		Messages:      uint32(len(b.msgs)),
		Unseen:        uint32(b.unseen),
		Deleted:       uint32(b.flagged),
		Size:          b.size,
		UIDNext:       b.uidNext,
		UIDValidity:   b.uidValidity,
		HighestModSeq: b.modseq,
	}, nil
}

// messagesBatch is how many messages Messages copies per lock, at most;
// the first batch is firstBatch and each next one twice the last, so a
// caller that wants one message does not pay for copying hundreds.
const (
	messagesBatch = 256
	firstBatch    = 8
)

func (h *handle) Messages(ctx context.Context, from mailbox.UID) iter.Seq2[mailbox.MessageInfo, error] {
	return func(yield func(mailbox.MessageInfo, error) bool) {
		next := max(from, 1)
		size := firstBatch
		var batch []mailbox.MessageInfo
		for {
			// Copy a batch under the lock and yield it without: the caller
			// may call the store from the loop body.
			if err := h.lock(ctx, false); err != nil {
				yield(mailbox.MessageInfo{}, err)
				return
			}
			i, _ := h.box.find(next)
			batch = batch[:0]
			for ; i < len(h.box.msgs) && len(batch) < size; i++ {
				batch = append(batch, h.box.msgs[i].info())
			}
			h.unlock(false)
			for _, info := range batch {
				if !yield(info, nil) {
					return
				}
			}
			if len(batch) < size || batch[len(batch)-1].UID == ^mailbox.UID(0) {
				return
			}
			next = batch[len(batch)-1].UID + 1
			size = min(2*size, messagesBatch)
		}
	}
}

// reader is what Open returns: the immutable bytes of a message, with
// io.ReaderAt, io.Seeker and io.WriterTo.
type reader struct{ *bytes.Reader }

func (reader) Close() error { return nil }

func (h *handle) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	if err := h.lock(ctx, false); err != nil {
		return nil, err
	}
	defer h.unlock(false)
	i, ok := h.box.find(uid)
	if !ok {
		return nil, fmt.Errorf("memstore: message %d: %w", uid, mailbox.ErrNotExist)
	}
	return reader{bytes.NewReader(h.box.msgs[i].data)}, nil
}

// ctxReader stops reading when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (h *handle) Append(ctx context.Context, r io.Reader, opts *mailbox.AppendOptions) (mailbox.UID, error) {
	if err := h.check(ctx); err != nil {
		return 0, err
	}
	var flags []mailbox.Flag
	date := time.Now()
	if opts != nil {
		var err error
		if flags, err = mailbox.CanonicalFlags(opts.Flags); err != nil {
			return 0, err
		}
		if !opts.InternalDate.IsZero() {
			date = opts.InternalDate
		}
	}
	var buf bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok {
		buf.Grow(l.Len() + bytes.MinRead) // ReadFrom wants MinRead free to read EOF
	}
	// Read no more than may be stored: a message past the size limit or
	// the quota is refused without being held in memory.
	maxSize, room := h.u.store.maxMessageSize(), h.u.room()
	limit := maxSize
	if room >= 0 && (limit < 0 || room < limit) {
		limit = room
	}
	src := io.Reader(ctxReader{ctx, r})
	if limit >= 0 {
		src = io.LimitReader(src, limit+1)
	}
	if _, err := buf.ReadFrom(src); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return 0, ctxErr
		}
		return 0, fmt.Errorf("memstore: append: reading the message: %w", err)
	}
	switch n := int64(buf.Len()); {
	case maxSize >= 0 && n > maxSize:
		return 0, fmt.Errorf("memstore: append: message larger than %d octets: %w", maxSize, mailbox.ErrTooLarge)
	case room >= 0 && n > room:
		return 0, fmt.Errorf("memstore: append: message larger than the %d octets left: %w", room, mailbox.ErrOverQuota)
	}
	data := buf.Bytes()
	if cap(data)-len(data) > len(data)/4+bytes.MinRead {
		data = bytes.Clone(data) // do not keep the growth slack for the message's life
	} else {
		data = slices.Clip(data)
	}
	if err := h.lock(ctx, true); err != nil {
		return 0, err
	}
	defer h.unlock(true)
	b := h.box
	if b.uidNext == 0 {
		return 0, errors.New("memstore: append: UIDs exhausted")
	}
	if err := h.u.charge(int64(len(data)), 1); err != nil {
		return 0, err
	}
	b.modseq++
	m := &message{uid: b.uidNext, flags: flags, internalDate: date, saveDate: time.Now(), data: data, modseq: b.modseq}
	b.uidNext++
	b.msgs = append(b.msgs, m)
	b.tally(m, 1)
	h.publish(mailbox.Event{Kind: mailbox.EventMessagesAdded, UIDs: []mailbox.UID{m.uid}})
	return m.uid, nil
}

// room returns the octets left under the storage limit, or -1 without one.
func (u *user) room() int64 {
	u.quotaLock.Lock()
	defer u.quotaLock.Unlock()
	if u.maxStore <= 0 {
		return -1
	}
	return max(u.maxStore-u.storage, 0)
}

// charge adds size octets and n messages to the user's use, or returns an
// error wrapping ErrOverQuota when that would pass a limit.
func (u *user) charge(size, n int64) error {
	u.quotaLock.Lock()
	defer u.quotaLock.Unlock()
	if u.maxStore > 0 && u.storage+size > u.maxStore {
		return fmt.Errorf("memstore: %d octets over the storage limit %d: %w", u.storage+size-u.maxStore, u.maxStore, mailbox.ErrOverQuota)
	}
	if u.maxMsgs > 0 && u.messages+n > u.maxMsgs {
		return fmt.Errorf("memstore: message limit %d: %w", u.maxMsgs, mailbox.ErrOverQuota)
	}
	u.storage += size
	u.messages += n
	return nil
}

// sortedUIDs returns uids sorted without duplicates, not aliasing uids.
func sortedUIDs(uids []mailbox.UID) []mailbox.UID {
	s := slices.Clone(uids)
	slices.Sort(s)
	return slices.Compact(s)
}

// ascendingUIDs returns uids sorted without duplicates: uids itself when it
// already is (the common 1:* case), else a sorted copy. The result is only
// read.
func ascendingUIDs(uids []mailbox.UID) []mailbox.UID {
	for i := 1; i < len(uids); i++ {
		if uids[i] <= uids[i-1] {
			return sortedUIDs(uids)
		}
	}
	return uids
}

// seek returns the index of the first message of b.msgs at or after i
// whose UID is ≥ uid: O(1) when uid is at i or i+1, as in a run of
// consecutive UIDs, else a binary search of the rest. b.mu is held.
func (b *mbox) seek(i int, uid mailbox.UID) int {
	msgs := b.msgs
	for k := i; k < len(msgs) && k < i+2; k++ {
		if msgs[k].uid >= uid {
			return k
		}
	}
	if i+2 >= len(msgs) {
		return len(msgs)
	}
	rest := msgs[i+2:]
	return i + 2 + sort.Search(len(rest), func(k int) bool { return rest[k].uid >= uid })
}

// flagTransition is what one SetFlags does to messages that have flags
// from: they get to (shared by all of them, never modified), and the
// counters change by unseen and deleted.
type flagTransition struct {
	from, to        []mailbox.Flag
	changed         bool
	unseen, deleted int64
}

// maxTransitions bounds the transitions SetFlags remembers per call; a
// mailbox with more distinct flag sets computes the rest per message.
const maxTransitions = 16

// transition returns the transition of a message with flags cur, from
// memo or computed (and remembered while memo has room).
func transition(memo *[]flagTransition, cur []mailbox.Flag, op mailbox.FlagOp, change []mailbox.Flag) *flagTransition {
	for i := range *memo {
		t := &(*memo)[i]
		if sameSlice(t.from, cur) || slices.Equal(t.from, cur) {
			return t
		}
	}
	next, diff := mailbox.ApplyFlags(cur, op, change)
	if !diff {
		next = cur
	}
	u0, d0 := flagCounts(cur)
	u1, d1 := flagCounts(next)
	t := flagTransition{from: cur, to: next, changed: diff, unseen: u1 - u0, deleted: d1 - d0}
	if len(*memo) < maxTransitions {
		*memo = append(*memo, t)
		return &(*memo)[len(*memo)-1]
	}
	return &t
}

// sameSlice reports whether a and b are the same slice (same array and
// length), which the shared flag slices of messages often are.
func sameSlice(a, b []mailbox.Flag) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// SetFlags walks the (sorted) UIDs and the messages together. Messages
// that end with the same flags share one immutable slice, computed once
// per distinct starting set, so a STORE on the whole mailbox allocates
// per call, not per message.
func (h *handle) SetFlags(ctx context.Context, uids []mailbox.UID, op mailbox.FlagOp, flags []mailbox.Flag, unchangedSince mailbox.ModSeq) (mailbox.FlagResult, error) {
	var res mailbox.FlagResult
	if err := h.check(ctx); err != nil {
		return res, err
	}
	if op != mailbox.FlagsReplace && op != mailbox.FlagsAdd && op != mailbox.FlagsRemove {
		return res, fmt.Errorf("memstore: unknown flag operation %d", op)
	}
	change, err := mailbox.CanonicalFlags(flags)
	if err != nil {
		return res, err
	}
	want := ascendingUIDs(uids)
	if err := h.lock(ctx, true); err != nil {
		return res, err
	}
	defer h.unlock(true)
	b := h.box
	modseq := b.modseq + 1
	changed := make([]mailbox.FlagChange, 0, min(len(want), len(b.msgs)))
	var memo []flagTransition
	total := 0
	i := 0
	for _, uid := range want {
		if i = b.seek(i, uid); i == len(b.msgs) {
			break
		}
		m := b.msgs[i]
		if m.uid != uid {
			continue
		}
		i++
		if unchangedSince != 0 && m.modseq > unchangedSince {
			res.Modified = append(res.Modified, uid)
			continue
		}
		t := transition(&memo, m.flags, op, change)
		if !t.changed {
			continue
		}
		m.flags, m.modseq = t.to, modseq
		b.unseen += t.unseen
		b.flagged += t.deleted
		changed = append(changed, mailbox.FlagChange{UID: uid, Flags: t.to, ModSeq: modseq})
		total += len(t.to)
	}
	if len(changed) == 0 {
		return res, nil
	}
	b.modseq = modseq
	// The event shares the messages' flag slices, which are never
	// modified in place.
	h.publish(mailbox.Event{Kind: mailbox.EventFlagsChanged, Flags: changed})
	// The caller owns the result: copy the flags, into one array.
	all := make([]mailbox.Flag, 0, total)
	res.Changed = make([]mailbox.FlagChange, len(changed))
	for i, c := range changed {
		start := len(all)
		all = append(all, c.Flags...)
		c.Flags = all[start:len(all):len(all)]
		res.Changed[i] = c
	}
	return res, nil
}

func (h *handle) Expunge(ctx context.Context, uids []mailbox.UID) ([]mailbox.UID, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	want := sortedUIDs(uids)
	if err := h.lock(ctx, true); err != nil {
		return nil, err
	}
	defer h.unlock(true)
	removed := h.expungeLocked(want, true)
	return slices.Clone(removed), nil
}

// expungeLocked removes the messages of b in want (sorted), records
// tombstones, publishes the event and returns the UIDs removed; refund gives
// their size back to the quota. b.mu is held for writing.
func (h *handle) expungeLocked(want []mailbox.UID, refund bool) []mailbox.UID {
	b := h.box
	var removed []mailbox.UID
	var size int64
	kept := b.msgs[:0]
	j := 0
	for _, m := range b.msgs {
		for j < len(want) && want[j] < m.uid {
			j++
		}
		if j < len(want) && want[j] == m.uid {
			removed = append(removed, m.uid)
			size += int64(len(m.data))
			b.tally(m, -1)
			continue
		}
		kept = append(kept, m)
	}
	if len(removed) == 0 {
		return nil
	}
	clear(b.msgs[len(kept):])
	b.msgs = kept
	b.modseq++
	for _, uid := range removed {
		b.tombs = append(b.tombs, tomb{uid, b.modseq})
	}
	if refund {
		h.u.quotaLock.Lock()
		h.u.storage -= size
		h.u.messages -= int64(len(removed))
		h.u.quotaLock.Unlock()
	}
	h.publish(mailbox.Event{Kind: mailbox.EventMessagesExpunged, UIDs: removed})
	return removed
}

func (h *handle) Vanished(ctx context.Context, since mailbox.ModSeq) ([]mailbox.UID, error) {
	if err := h.lock(ctx, false); err != nil {
		return nil, err
	}
	defer h.unlock(false)
	tombs := h.box.tombs
	i := sort.Search(len(tombs), func(i int) bool { return tombs[i].modseq > since })
	out := make([]mailbox.UID, 0, len(tombs)-i)
	for _, t := range tombs[i:] {
		out = append(out, t.uid)
	}
	slices.Sort(out)
	return out, nil
}

func (h *handle) Metadata(ctx context.Context, uid mailbox.UID) ([]byte, error) {
	if err := h.lock(ctx, false); err != nil {
		return nil, err
	}
	defer h.unlock(false)
	i, ok := h.box.find(uid)
	if !ok || h.box.msgs[i].meta == nil {
		return nil, fmt.Errorf("memstore: metadata of %d: %w", uid, mailbox.ErrNotExist)
	}
	return slices.Clone(h.box.msgs[i].meta), nil
}

func (h *handle) SetMetadata(ctx context.Context, uid mailbox.UID, data []byte) error {
	if err := h.lock(ctx, true); err != nil {
		return err
	}
	defer h.unlock(true)
	i, ok := h.box.find(uid)
	if !ok {
		return fmt.Errorf("memstore: message %d: %w", uid, mailbox.ErrNotExist)
	}
	h.box.msgs[i].meta = append(make([]byte, 0, len(data)), data...)
	return nil
}

func (h *handle) Close() error {
	h.closed.Store(true)
	return nil
}
