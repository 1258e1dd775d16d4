package maildir

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// mbox is a handle on a folder (mailbox.Mailbox).
type mbox struct {
	f       *folder
	tree    *tree // released at Close, when set
	maxSize int64 // of an appended message; -1 unlimited
	quota   quotaLimits
	parse   bool // cache the MIME structure at Append
	closed  atomic.Bool
	once    sync.Once
}

var (
	_ mailbox.Mailbox       = (*mbox)(nil)
	_ mailbox.MetadataCache = (*mbox)(nil)
	_ mailbox.Copier        = (*mbox)(nil)
	_ mailbox.Mover         = (*mbox)(nil)
	_ mailbox.UIDLer        = (*mbox)(nil)
)

func (m *mbox) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed.Load() {
		return mailbox.ErrClosed
	}
	return nil
}

func (m *mbox) Name() string { return m.f.Name() }

func (m *mbox) Close() error {
	m.once.Do(func() {
		m.closed.Store(true)
		m.f.release()
		if m.tree != nil {
			releaseTree(m.tree, nil)
		}
	})
	return nil
}

func (m *mbox) Status(ctx context.Context) (mailbox.Status, error) {
	if err := m.begin(ctx); err != nil {
		return mailbox.Status{}, err
	}
	f := m.f
	if err := f.readLock(); err != nil {
		return mailbox.Status{}, err
	}
	defer f.mu.Unlock()
	return f.s.status(), nil
}

// messagesChunk is how many messages Messages copies per hold of the lock.
const messagesChunk = 256

func (m *mbox) Messages(ctx context.Context, from mailbox.UID) iter.Seq2[mailbox.MessageInfo, error] {
	return func(yield func(mailbox.MessageInfo, error) bool) {
		if err := m.begin(ctx); err != nil {
			yield(mailbox.MessageInfo{}, err)
			return
		}
		f := m.f
		if err := f.readLock(); err != nil {
			yield(mailbox.MessageInfo{}, err)
			return
		}
		f.mu.Unlock()
		next := uint32(max(from, 1))
		buf := make([]mailbox.MessageInfo, 0, messagesChunk)
		for {
			if err := ctx.Err(); err != nil {
				yield(mailbox.MessageInfo{}, err)
				return
			}
			buf = buf[:0]
			f.acquire()
			s := f.s
			i := s.lowerBound(next)
			end := min(i+messagesChunk, len(s.msgs))
			// One backing array for the chunk's flags; each message gets a
			// capacity-limited window so appending to it cannot spill over.
			var flags []mailbox.Flag
			for j := i; j < end; j++ {
				r := &s.msgs[j]
				start := len(flags)
				flags = appendFlags(flags, r.want&flagMask, s.keywords(r))
				buf = append(buf, mailbox.MessageInfo{
					UID:          mailbox.UID(r.uid),
					InternalDate: time.Unix(0, r.idate),
					SaveDate:     time.Unix(0, r.sdate),
					Size:         r.size,
					ModSeq:       mailbox.ModSeq(r.modseq),
				})
				// Earlier windows may point into an array append has since
				// outgrown; they stay valid and unshared.
				buf[len(buf)-1].Flags = flags[start:len(flags):len(flags)]
			}
			f.mu.Unlock()
			for _, info := range buf {
				if !yield(info, nil) {
					return
				}
			}
			if len(buf) < messagesChunk {
				return
			}
			next = uint32(buf[len(buf)-1].UID) + 1
			if next == 0 {
				return
			}
		}
	}
}

// file is what Open returns: the message file, which is also an
// io.ReaderAt, limited to the size the index knows.
type file struct {
	*io.SectionReader
	f *os.File
}

func (r *file) Close() error { return r.f.Close() }

func (m *mbox) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	f := m.f
	f.acquire()
	if f.deleted.Load() || f.log == nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("maildir: %q: %w", f.Name(), mailbox.ErrNotExist)
	}
	if r, err := f.openIndexed(uint32(uid)); r != nil || err != nil {
		f.mu.Unlock()
		return r, err
	}
	fh, size, err := f.openFile(uint32(uid))
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if fi, err := fh.Stat(); err != nil || fi.Size() != size {
		fh.Close()
		return nil, changedOnDisk(uint32(uid))
	}
	return &file{io.NewSectionReader(fh, 0, size), fh}, nil
}

// openIndexed is Open's fast path (mu held): the file where the index says
// it is, opened with openBare (Linux). It returns nil and no error when
// that fails for any other reason than a file changed on disk, for
// openFile to catch up with the directories and try again.
func (f *folder) openIndexed(uid uint32) (io.ReadCloser, error) {
	i := f.s.find(uid)
	if i < 0 {
		return nil, nil
	}
	m := &f.s.msgs[i]
	cur := m.flags&inCur != 0
	if _, err := f.sub(cur); err != nil {
		return nil, nil
	}
	r, err := openBare(f.subDirs[boolInt(cur)], f.s.nameBytes(m), m.size, uid)
	if errors.Is(err, errChanged) {
		return nil, err
	}
	if err != nil {
		return nil, nil
	}
	return r, nil
}

// statMin is the indexed size from which openBare (Linux) checks the file's size
// with fstat(2) at once, so that a large message changed on disk is
// refused before a reader streams it. Smaller files are checked by the
// read that reaches their end (see bareFile), which costs nothing more.
const statMin = 64 << 10

// errChanged is the error of a message file whose size is not the one
// indexed: another program changed it.
var errChanged = errors.New("changed on disk since it was indexed")

func changedOnDisk(uid uint32) error {
	return fmt.Errorf("maildir: UID %d %w", uid, errChanged)
}

// errNotBare is openBare's answer for a file it does not open itself.
var errNotBare = errors.New("maildir: not a plain file name")

// limitReader fails with ErrTooLarge once more than left bytes come.
type limitReader struct {
	r    io.Reader
	left int64
	err  error // returned once the limit is crossed
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, l.err
	}
	return n, err
}

// ctxReader stops a copy when its context is cancelled.
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

var (
	deliveryCount atomic.Uint64
	hostname      = func() string {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		// Maildir: "/" and ":" in the host part are written as octal escapes.
		return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
	}()
)

// uniqueBase returns a new Maildir unique name: time, microseconds, process,
// a counter and random bits, then the host.
func uniqueBase() string {
	now := time.Now()
	var rnd [4]byte
	rand.Read(rnd[:])
	return strconv.FormatInt(now.Unix(), 10) + ".M" + strconv.Itoa(now.Nanosecond()/1000) +
		"P" + strconv.Itoa(os.Getpid()) + "Q" + strconv.FormatUint(deliveryCount.Add(1), 10) +
		"R" + hex.EncodeToString(rnd[:]) + "." + hostname
}

// writeTmp copies r into a new file in tmp/ and fsyncs it.
func (f *folder) writeTmp(ctx context.Context, r io.Reader) (tmpName, base string, size int64, err error) {
	base = uniqueBase()
	tmpName = "tmp/" + base
	fh, err := f.root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", 0, err
	}
	size, err = io.Copy(fh, ctxReader{ctx, r})
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.root.Remove(tmpName)
		return "", "", 0, err
	}
	return tmpName, base, size, nil
}

func (m *mbox) Append(ctx context.Context, r io.Reader, opts *mailbox.AppendOptions) (mailbox.UID, error) {
	if err := m.begin(ctx); err != nil {
		return 0, err
	}
	var o mailbox.AppendOptions
	if opts != nil {
		o = *opts
	}
	flags, err := mailbox.CanonicalFlags(o.Flags)
	if err != nil {
		return 0, err
	}
	bits, kws := splitFlags(flags)
	if len(kws) > MaxKeywords {
		return 0, errTooManyKeywords
	}
	now := time.Now()
	if o.InternalDate.IsZero() {
		o.InternalDate = now
	}
	f := m.f
	if f.deleted.Load() {
		return 0, fmt.Errorf("maildir: append to %q: %w", f.Name(), mailbox.ErrNotExist)
	}
	if m.maxSize >= 0 {
		r = &limitReader{r: r, left: m.maxSize, err: fmt.Errorf("maildir: message larger than %d octets: %w", m.maxSize, mailbox.ErrTooLarge)}
	}
	if m.quota.limited() {
		room, err := m.quota.room(ctx, f.t, 1)
		if err != nil {
			return 0, err
		}
		if room >= 0 {
			r = &limitReader{r: r, left: room, err: fmt.Errorf("maildir: message larger than the %d octets left in the quota: %w", room, mailbox.ErrOverQuota)}
		}
	}
	tmpName, base, size, err := f.writeTmp(ctx, r)
	if err != nil {
		if f.deleted.Load() || errors.Is(err, os.ErrNotExist) {
			err = errors.Join(err, mailbox.ErrNotExist)
		}
		return 0, fmt.Errorf("maildir: append to %q: %w", f.Name(), err)
	}
	if err := ctx.Err(); err != nil {
		f.root.Remove(tmpName)
		return 0, err
	}
	name := base + ",S=" + strconv.FormatInt(size, 10)
	rec := msgRec{flags: bits, size: size, idate: o.InternalDate.UnixNano(), sdate: now.UnixNano()}
	if bits != 0 {
		name = withFlags(name, bits)
		rec.flags |= inCur
	}
	var meta []byte
	if m.parse {
		meta = f.parseTmp(tmpName)
	}
	uid, err := f.installGrouped(pending{tmp: tmpName, name: name, rec: rec, kws: kws, meta: meta})
	if err != nil {
		f.root.Remove(tmpName)
		return 0, fmt.Errorf("maildir: append to %q: %w", f.Name(), err)
	}
	f.t.use.add(size, 1)
	return mailbox.UID(uid), nil
}

// appendReq is one message waiting for a group commit.
type appendReq struct {
	p    pending
	uid  uint32
	err  error
	done chan struct{}
}

// installGrouped installs one message, sharing the directory and index
// fsyncs with the appends that arrive meanwhile (group commit): the first
// caller commits everything queued, batch after batch, while the others
// wait for their UID.
func (f *folder) installGrouped(p pending) (uint32, error) {
	req := &appendReq{p: p, done: make(chan struct{})}
	f.qmu.Lock()
	f.queue = append(f.queue, req)
	if f.committing {
		f.qmu.Unlock()
		<-req.done
		return req.uid, req.err
	}
	f.committing = true
	for len(f.queue) > 0 {
		batch := f.queue
		f.queue = nil
		f.qmu.Unlock()
		ps := make([]pending, len(batch))
		for i, r := range batch {
			ps[i] = r.p
		}
		uids, err := f.install(ps)
		for i, r := range batch {
			switch {
			case uids != nil && uids[i] != 0:
				r.uid = uids[i]
			case err != nil:
				r.err = err
			default:
				r.err = errors.New("maildir: message not installed")
			}
			close(r.done)
		}
		f.qmu.Lock()
	}
	f.committing = false
	f.qmu.Unlock()
	return req.uid, req.err
}

var errUIDsExhausted = errors.New("maildir: UID space of the mailbox exhausted (rename it and create it again)")

// pending is a message file ready in tmp/ (or elsewhere in the tree), to be
// renamed into the folder and given a UID.
type pending struct {
	tmp  string // path relative to the folder root
	src  string // for moves: the source path relative to the tree, instead of tmp
	name string
	rec  msgRec
	kws  []string
	meta []byte // for the metadata cache, if parsed at delivery
}

// parseTmp returns the marshalled MIME structure of a message in tmp/, as
// the IMAP server caches it, or nil when it cannot be read.
func (f *folder) parseTmp(tmpName string) []byte {
	fh, err := f.root.Open(tmpName)
	if err != nil {
		return nil
	}
	defer fh.Close()
	p, err := mime.Parse(bufio.NewReaderSize(fh, 64<<10), nil)
	if err != nil {
		return nil
	}
	return mime.Marshal(p)
}

// install renames the files into new/ or cur/, fsyncs the directories and
// records them in the index, durably, under the lock.
func (f *folder) install(ps []pending) ([]uint32, error) {
	// Synced: an outside change made before ours must be scanned now, or
	// recording our own directory mtime afterwards would hide it.
	if err := f.lockSynced(); err != nil {
		return nil, err
	}
	defer f.unlock()
	s := f.s
	// The last UID is 2³²-2, so that UIDNEXT still fits in 32 bits.
	if uint64(s.uidNext)+uint64(len(ps)) > 1<<32-1 {
		return nil, errUIDsExhausted
	}
	var dirty [2]bool
	ok := make([]bool, len(ps))
	var err error
	for i, p := range ps {
		sub := "new/"
		if p.rec.flags&inCur != 0 {
			sub = "cur/"
		}
		var rerr error
		if p.src != "" {
			rerr = f.t.root.Rename(p.src, f.treePath(sub+p.name))
		} else {
			rerr = f.root.Rename(p.tmp, sub+p.name)
		}
		if rerr != nil {
			if err == nil {
				err = rerr
			}
			continue
		}
		dirty[boolInt(sub == "cur/")] = true
		ok[i] = true
	}
	for i, sub := range []string{"new", "cur"} {
		if dirty[i] {
			if serr := syncDir(f.root, sub); serr != nil {
				return nil, serr
			}
		}
	}
	var e enc
	uids := make([]uint32, len(ps))
	modseq := s.highest
	next := s.uidNext
	for i, p := range ps {
		if !ok[i] {
			continue
		}
		modseq++
		p.rec.uid = next
		p.rec.modseq = modseq
		uids[i] = next
		next++
		e.add(&p.rec, p.name, p.kws)
	}
	if cerr := f.commit(&e, true); cerr != nil {
		return nil, cerr
	}
	f.cacheParsed(ps, uids)
	for i, sub := range []string{"new", "cur"} {
		if dirty[i] {
			f.touched(sub)
		}
	}
	return uids, err
}

// cacheParsed stores the structures parsed at delivery (lock held). The
// cache is best effort: a failure costs a parse at the first FETCH.
func (f *folder) cacheParsed(ps []pending, uids []uint32) {
	var ms *metaStore
	for i, p := range ps {
		if p.meta == nil || uids[i] == 0 || len(p.meta) > maxMetadata {
			continue
		}
		if ms == nil {
			var err error
			if ms, err = f.metaLoad(); err != nil {
				return
			}
		}
		if ms.set(uids[i], p.meta) != nil {
			return
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m *mbox) SetFlags(ctx context.Context, uids []mailbox.UID, op mailbox.FlagOp, flags []mailbox.Flag, unchangedSince mailbox.ModSeq) (mailbox.FlagResult, error) {
	var res mailbox.FlagResult
	if err := m.begin(ctx); err != nil {
		return res, err
	}
	change, err := mailbox.CanonicalFlags(flags)
	if err != nil {
		return res, err
	}
	if op != mailbox.FlagsReplace && op != mailbox.FlagsAdd && op != mailbox.FlagsRemove {
		return res, fmt.Errorf("maildir: unknown flag operation %d: %w", op, mailbox.ErrNotPermitted)
	}
	if len(change) > MaxKeywords {
		return res, errTooManyKeywords
	}
	want := sortedUIDs(uids)
	f := m.f
	if err := f.lockSynced(); err != nil {
		return res, err
	}
	defer f.unlock()
	s := f.s
	modseq := s.highest + 1
	// A change of system flags only (the usual STORE +FLAGS (\Seen)) is
	// worked out on the flag bits, without building flag lists; keywords
	// then stay as they are.
	cbits, ckws := splitFlags(change)
	fast := len(ckws) == 0
	entries := make([]flagEntry, 0, len(want))
	idx := make([]int, 0, len(want)) // of entries[i] in s.msgs
	var failed error
	keywords := false
	next := 0
	for n, uid := range want {
		if n&255 == 0 && len(entries) == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		i := s.findNext(uid, next)
		if i < 0 {
			continue
		}
		next = i + 1
		r := &s.msgs[i]
		if unchangedSince != 0 && r.modseq > uint64(unchangedSince) {
			res.Modified = append(res.Modified, mailbox.UID(uid))
			continue
		}
		var bits uint8
		var kws []string
		if fast {
			old := r.want & flagMask
			switch op {
			case mailbox.FlagsAdd:
				bits = old | cbits
			case mailbox.FlagsRemove:
				bits = old &^ cbits
			default:
				bits = cbits
			}
			if op == mailbox.FlagsReplace && r.kw != 0 {
				keywords = true // kws stays nil: the keywords go
			} else if bits == old {
				continue // nothing changes: no rename, no record
			} else {
				kws = s.keywords(r)
			}
		} else {
			cur := s.flags(r)
			next, changed := mailbox.ApplyFlags(cur, op, change)
			if !changed {
				continue
			}
			bits, kws = splitFlags(next)
			if len(kws) > MaxKeywords {
				failed = errTooManyKeywords // the changes before it stand
				break
			}
			if !slices.Equal(kws, s.keywords(r)) {
				keywords = true
			}
		}
		entries = append(entries, flagEntry{uid: uid, flags: bits, kws: kws})
		idx = append(idx, i)
	}
	if len(entries) > 0 {
		// The record says what the flags are; the files are renamed to
		// match by the flusher, after we return (see flush.go). System
		// flags need no fsync (as with Dovecot's default: a crash may lose
		// the last few seconds of them); keywords, which only the index
		// keeps, do.
		var e enc
		e.wantsRuns(modseq, entries, idx)
		f.published = nil
		if err := f.commit(&e, keywords); err != nil {
			return res, err
		}
		pub := f.published
		f.published = nil
		if len(pub) == len(entries) && pub[0].UID == mailbox.UID(entries[0].uid) && pub[len(pub)-1].UID == mailbox.UID(entries[len(entries)-1].uid) {
			// The event has just listed the same changes, in the same
			// order (the record's): a copy of its list is the answer
			// (the flag lists are shared; neither side changes them).
			res.Changed = slices.Clone(pub)
			return res, failed
		}
		res.Changed = make([]mailbox.FlagChange, 0, len(entries))
		arena := make([]mailbox.Flag, 0, 2*len(entries))
		for j, fe := range entries {
			r := &s.msgs[idx[j]] // W and V records move no message
			res.Changed = append(res.Changed, mailbox.FlagChange{UID: mailbox.UID(fe.uid), Flags: s.flagsIn(&arena, r), ModSeq: mailbox.ModSeq(modseq)})
		}
	}
	return res, failed
}

// MaxKeywords is how many keywords one message may carry; an Append or
// SetFlags that would pass it fails with mailbox.ErrInvalidFlag.
const MaxKeywords = 1000

// maxFlagBytes is the longest keyword.
const maxFlagBytes = mailbox.MaxFlagLength

var errTooManyKeywords = fmt.Errorf("maildir: more than %d keywords on a message: %w", MaxKeywords, mailbox.ErrInvalidFlag)

func sortedUIDs(uids []mailbox.UID) []uint32 {
	out := make([]uint32, 0, len(uids))
	ascending := true // as IMAP sets like 1:* come: no sort needed
	for _, u := range uids {
		if u != 0 {
			if n := len(out); n > 0 && out[n-1] >= uint32(u) {
				ascending = false
			}
			out = append(out, uint32(u))
		}
	}
	if ascending {
		return out
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *mbox) Expunge(ctx context.Context, uids []mailbox.UID) ([]mailbox.UID, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	f := m.f
	if err := f.lockSynced(); err != nil {
		return nil, err
	}
	defer f.unlock()
	gone, err := f.expungeLocked(sortedUIDs(uids), true)
	return toUIDs(gone), err
}

// expungeLocked removes the files of uids (when remove is set; a move has
// renamed them away already) and records the expunge. The lock is held.
func (f *folder) expungeLocked(uids []uint32, remove bool) ([]uint32, error) {
	s := f.s
	var gone []uint32
	var freed int64
	for _, uid := range uids {
		i := s.find(uid)
		if i < 0 {
			continue
		}
		if remove {
			if err := f.root.Remove(s.path(&s.msgs[i])); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			freed += s.msgs[i].size
		}
		gone = append(gone, uid)
	}
	if remove {
		defer f.t.use.add(-freed, -int64(len(gone)))
	}
	if len(gone) == 0 {
		return nil, nil
	}
	var e enc
	e.expunge(s.highest+1, gone)
	if err := f.commit(&e, true); err != nil {
		return nil, err
	}
	if f.meta != nil {
		f.meta.drop(gone)
	}
	f.touched("new")
	f.touched("cur")
	return gone, nil
}

func (m *mbox) Vanished(ctx context.Context, since mailbox.ModSeq) ([]mailbox.UID, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	f := m.f
	if err := f.readLock(); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	var out []mailbox.UID
	for _, t := range f.s.tombs {
		if t.modseq > uint64(since) {
			out = append(out, mailbox.UID(t.uid))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Metadata implements mailbox.MetadataCache.
func (m *mbox) Metadata(ctx context.Context, uid mailbox.UID) ([]byte, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	f := m.f
	f.acquire()
	defer f.mu.Unlock()
	if f.deleted.Load() || f.log == nil {
		return nil, fmt.Errorf("maildir: %q: %w", f.Name(), mailbox.ErrNotExist)
	}
	if f.s.find(uint32(uid)) < 0 {
		return nil, fmt.Errorf("maildir: UID %d: %w", uid, mailbox.ErrNotExist)
	}
	ms, err := f.metaLoad()
	if err != nil {
		return nil, err
	}
	data, err := ms.get(uint32(uid), f.s)
	if errors.Is(err, mailbox.ErrNotExist) && f.metaReplaced() {
		f.metaReload()
		if ms, err = f.metaLoad(); err != nil {
			return nil, err
		}
		data, err = ms.get(uint32(uid), f.s)
	}
	return data, err
}

// SetMetadata implements mailbox.MetadataCache.
func (m *mbox) SetMetadata(ctx context.Context, uid mailbox.UID, data []byte) error {
	if err := m.begin(ctx); err != nil {
		return err
	}
	if len(data) > maxMetadata {
		return fmt.Errorf("maildir: metadata of %d bytes: %w", len(data), mailbox.ErrTooLarge)
	}
	f := m.f
	if err := f.lock(); err != nil {
		return err
	}
	defer f.unlock()
	if f.s.find(uint32(uid)) < 0 {
		return fmt.Errorf("maildir: UID %d: %w", uid, mailbox.ErrNotExist)
	}
	if f.metaReplaced() {
		f.metaReload()
	}
	ms, err := f.metaLoad()
	if err != nil {
		return err
	}
	if err := ms.set(uint32(uid), data); err != nil {
		return err
	}
	return f.metaCompact(ms)
}

// UIDL implements mailbox.UIDLer: the POP3 unique id of a message is its
// Maildir base name (the file name before ":"), or a hash of it when that
// is longer than 70 characters or holds characters RFC 1939 §7 does not
// allow. It depends on the file alone, so it survives an index rebuild
// (a new UIDVALIDITY) and matches what other Maildir POP3 servers derive.
func (m *mbox) UIDL(ctx context.Context, uid mailbox.UID) (string, error) {
	if err := m.begin(ctx); err != nil {
		return "", err
	}
	f := m.f
	if err := f.readLock(); err != nil {
		return "", err
	}
	defer f.mu.Unlock()
	i := f.s.find(uint32(uid))
	if i < 0 {
		return "", fmt.Errorf("maildir: UID %d: %w", uid, mailbox.ErrNotExist)
	}
	return uidlOf(baseOf(f.s.name(&f.s.msgs[i]))), nil
}

// UIDLs is UIDL for many messages under one look at the folder: the POP3
// listing of a big maildrop costs one check of the directories, not one per
// message. Entry i is the unique id of uids[i], or "" when the folder has no
// such UID (expunged since).
func (m *mbox) UIDLs(ctx context.Context, uids []mailbox.UID) ([]string, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	f := m.f
	if err := f.readLock(); err != nil {
		return nil, err
	}
	// One arena, turned into one string that every id is a slice of.
	var arena []byte
	ends := make([]int, len(uids))
	next := 0 // where the following UID is, when they come in order
	for i, uid := range uids {
		j := next
		if j >= len(f.s.msgs) || f.s.msgs[j].uid != uint32(uid) {
			j = f.s.find(uint32(uid))
		}
		if j >= 0 {
			next = j + 1
			base := f.s.nameBytes(&f.s.msgs[j])
			if k := bytes.IndexByte(base, ':'); k >= 0 {
				base = base[:k]
			}
			arena = appendUIDL(arena, base)
		}
		ends[i] = len(arena)
	}
	f.mu.Unlock()
	all := string(arena)
	out := make([]string, len(uids))
	start := 0
	for i, end := range ends {
		out[i] = all[start:end]
		start = end
	}
	return out, nil
}

// appendUIDL appends the unique id of the message with Maildir base name
// base (see uidlOf).
func appendUIDL(dst, base []byte) []byte {
	ok := len(base) >= 1 && len(base) <= 70
	for i := 0; ok && i < len(base); i++ {
		ok = base[i] >= 0x21 && base[i] <= 0x7e
	}
	if ok {
		return append(dst, base...)
	}
	sum := sha256.Sum256(base)
	return hex.AppendEncode(dst, sum[:16])
}

// uidlOf returns the unique id of the message with Maildir base name base:
// the name itself, or a hash of it when it is no valid POP3 unique id.
func uidlOf(base string) string {
	return string(appendUIDL(nil, []byte(base)))
}
