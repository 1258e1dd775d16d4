package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// folder is the state of one Maildir folder shared by every handle on it in
// this process: the index in memory, the index log and the lock file.
//
// mu guards everything below it. Changes also hold the folder's lock file
// (flock) so that other processes sharing the tree wait; before any change
// the folder catches up with what they appended to the index (refresh) and
// with what outside programs did to the directories (checkDirs).
type folder struct {
	t    *tree
	dir  string // guarded by t.fmu; changes on rename
	refs int    // guarded by t.fmu
	name atomic.Pointer[string]

	root  *os.Root // the folder directory; follows it across renames
	lockf *os.File

	mu sync.Mutex
	s  *state
	// published is the Flags of the last FlagsChanged event emit made,
	// for SetFlags to answer with a copy instead of building the same
	// list again; SetFlags clears it (mu).
	published []mailbox.FlagChange
	log       *os.File // the index, opened for appending
	logIno    uint64
	logOff    int64 // bytes of the log replayed into s
	seenNew   int64 // mtime of new/ after our last look (ours or a scan)
	seenCur   int64
	scanAt    time.Time     // start of the last full scan
	scanCost  time.Duration // how long it took
	deleted   atomic.Bool
	meta      *metaStore
	subs      [2]*os.Root   // new/ and cur/, for openMsg
	subDirs   [2]*os.File   // the same, as open directories
	renameBuf []byte        // the NUL-terminated names of a rename (mu held)
	nameBuf   []byte        // a new file name being built (mu held)
	flushing  bool          // the flusher runs (mu held)
	closing   bool          // the last handle is closing: no new flusher
	flushed   chan struct{} // closed when the flusher started last ends
	hurry     chan struct{} // closed to start the running flusher's renames now
	lastKick  time.Time     // of the last change that left files to rename (mu held)

	waiting atomic.Int32 // operations waiting for mu: the flusher lets them in first

	qmu        sync.Mutex // guards the group-commit queue of appends
	queue      []*appendReq
	committing bool
}

// Timing of outside-change detection: a directory whose mtime is less than
// mtimeSlack older than the scan that read it may hide a second change in
// the same timestamp tick, so it is scanned again, at most once per
// rescanEvery while that holds.
const (
	mtimeSlack  = 2 * time.Second
	rescanEvery = time.Second
)

func (f *folder) Name() string { return *f.name.Load() }

// openFolder returns the shared state of the folder in dir, loading it on
// first use. It returns ErrNotExist when dir is not a folder (no cur/).
func (t *tree) openFolder(dir, name string) (*folder, error) {
	t.fmu.Lock()
	defer t.fmu.Unlock()
	if f := t.folders[dir]; f != nil {
		f.refs++
		return f, nil
	}
	if dir != "." {
		fi, err := t.root.Lstat(dir)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("maildir: %q: %w", name, mailbox.ErrNotExist)
		}
	}
	root, err := t.root.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("maildir: %q: %w", name, mailbox.ErrNotExist)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		fi, err := root.Lstat(sub)
		if err != nil && errors.Is(err, fs.ErrNotExist) && sub != "cur" {
			err = root.Mkdir(sub, 0o700) // a folder another tool made without it
			fi, _ = root.Lstat(sub)
		}
		if err != nil || fi == nil || !fi.IsDir() {
			root.Close()
			if dir == "." && sub == "cur" {
				return nil, fmt.Errorf("maildir: INBOX of %q has no cur/: %w", t.user, mailbox.ErrNotExist)
			}
			return nil, fmt.Errorf("maildir: %q: %w", name, mailbox.ErrNoSelect)
		}
	}
	f := &folder{t: t, dir: dir, refs: 1, root: root}
	f.name.Store(&name)
	if err := f.load(); err != nil {
		f.closeFiles()
		return nil, err
	}
	t.folders[dir] = f
	f.mu.Lock()
	f.kick() // renames a crash left undone
	f.mu.Unlock()
	return f, nil
}

// release drops a reference; the last one closes the files.
func (f *folder) release() {
	t := f.t
	t.fmu.Lock()
	f.refs--
	last := f.refs == 0
	var done chan struct{}
	if last {
		if t.folders[f.dir] == f {
			delete(t.folders, f.dir)
		}
		// Store.Flush waits for this folder's renames too: a folder
		// opened again meanwhile is another object.
		done = make(chan struct{})
		if t.closing == nil {
			t.closing = map[*folder]chan struct{}{}
		}
		t.closing[f] = done
	}
	t.fmu.Unlock()
	if last {
		// Rename what waits before the files close.
		f.mu.Lock()
		f.closing = true
		f.mu.Unlock()
		if err := f.flush(context.Background()); err != nil && !errors.Is(err, mailbox.ErrNotExist) {
			f.logger().Warn("maildir: renaming files to their flags", slog.String("mailbox", f.Name()), slog.Any("err", err))
		}
		f.mu.Lock()
		f.closeFiles()
		f.mu.Unlock()
		t.fmu.Lock()
		delete(t.closing, f)
		t.fmu.Unlock()
		close(done)
	}
}

func (f *folder) closeFiles() {
	if f.log != nil {
		f.log.Close()
		f.log = nil
	}
	if f.lockf != nil {
		f.lockf.Close()
		f.lockf = nil
	}
	if f.meta != nil {
		f.meta.close()
		f.meta = nil
	}
	f.closeSubs()
	f.root.Close()
}

func (f *folder) logger() *slog.Logger { return f.t.logger }

// load reads the index (rebuilding it when missing or corrupt) and scans
// the directories if they changed since the index last covered them.
func (f *folder) load() error {
	lf, err := f.root.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.lockf = lf
	if err := flock(lf); err != nil {
		return err
	}
	defer funlock(lf)
	s, err := f.readIndex()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := f.rebuild("no index"); err != nil {
			return err
		}
	case errors.Is(err, errCorrupt):
		if err := f.rebuild("index corrupt"); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		f.s = s
	}
	f.seenNew, f.seenCur = f.s.dirs.newMtime, f.s.dirs.curMtime
	f.scanAt = time.Unix(0, f.s.dirs.scanned)
	f.cleanTmp()
	return f.checkDirs(false)
}

// readIndex reads the whole index file into a new state and makes it the
// log this folder appends to. A torn last record is cut off (the lock is
// held).
func (f *folder) readIndex() (*state, error) {
	file, err := f.root.OpenFile(indexFile, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(file, data); err != nil {
		file.Close()
		return nil, err
	}
	s := newState()
	// About 100 bytes of log per message: size the arrays once.
	s.msgs = make([]msgRec, 0, len(data)/100+16)
	s.names = make([]byte, 0, len(data)/2+64)
	n, err := s.readLog(data, nil)
	if err == nil && s.uidValidity == 0 {
		err = errCorrupt // no header
	}
	if err != nil {
		file.Close()
		return nil, err
	}
	if n < len(data) {
		if err := file.Truncate(int64(n)); err != nil {
			file.Close()
			return nil, err
		}
	}
	if f.log != nil {
		f.log.Close()
	}
	f.log, f.logIno, f.logOff = file, inode(fi), int64(n)
	return s, nil
}

// rebuild starts a new index with a new UIDVALIDITY; the scan that follows
// gives every file in the folder a UID. The lock is held.
func (f *folder) rebuild(why string) error {
	uv, err := f.t.newUIDValidity()
	if err != nil {
		return err
	}
	if f.s != nil || why != "no index" {
		f.logger().Warn("maildir: rebuilding index", slog.String("user", f.t.user),
			slog.String("mailbox", f.Name()), slog.String("reason", why))
	}
	s := newState()
	s.uidValidity = uv
	s.highest = 1 // HIGHESTMODSEQ is never 0 (RFC 7162 §3.1.1)
	if err := f.writeSnapshot(s); err != nil {
		return err
	}
	f.s = s
	f.seenNew, f.seenCur, f.scanAt = 0, 0, time.Time{}
	return nil
}

// writeSnapshot replaces the index file with a snapshot of s and reopens
// the log on it.
func (f *folder) writeSnapshot(s *state) error {
	data := s.snapshot()
	if err := writeFileAtomic(f.root, indexFile, data, true); err != nil {
		return err
	}
	file, err := f.root.OpenFile(indexFile, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return err
	}
	if f.log != nil {
		f.log.Close()
	}
	f.log, f.logIno, f.logOff = file, inode(fi), int64(len(data))
	return nil
}

// cleanTmp removes files left in tmp/ for more than 36 hours (the Maildir
// rule): deliveries that never finished.
func (f *folder) cleanTmp() {
	d, err := f.root.Open("tmp")
	if err != nil {
		return
	}
	defer d.Close()
	ents, _ := d.ReadDir(-1)
	limit := time.Now().Add(-36 * time.Hour)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if fi, err := f.root.Lstat("tmp/" + e.Name()); err == nil && fi.ModTime().Before(limit) {
			f.root.Remove("tmp/" + e.Name())
		}
	}
}

// acquire takes mu for an operation, ahead of the flusher's next batch.
func (f *folder) acquire() {
	f.waiting.Add(1)
	f.mu.Lock()
	f.waiting.Add(-1)
}

// lock takes the folder for a change: the mutex, the lock file, and a
// catch-up with the index log. The caller must call unlock.
func (f *folder) lock() error {
	f.acquire()
	if f.deleted.Load() || f.log == nil {
		f.mu.Unlock()
		return fmt.Errorf("maildir: %q: %w", f.Name(), mailbox.ErrNotExist)
	}
	if err := flock(f.lockf); err != nil {
		f.mu.Unlock()
		return err
	}
	if err := f.refresh(); err != nil {
		f.unlock()
		return err
	}
	return nil
}

// unlock releases what lock took, starting the flusher when a change left
// files to rename.
func (f *folder) unlock() {
	if f.lockf != nil {
		funlock(f.lockf)
	}
	f.kick()
	f.mu.Unlock()
}

// lockSynced is lock plus a check of the directories for outside changes.
func (f *folder) lockSynced() error {
	if err := f.lock(); err != nil {
		return err
	}
	if err := f.checkDirs(false); err != nil {
		f.unlock()
		return err
	}
	return nil
}

// readLock takes the mutex for reading the state, first catching up with
// other processes and outside programs when a stat of the index and of the
// two directories says something changed. The caller must f.mu.Unlock().
func (f *folder) readLock() error {
	f.acquire()
	if f.deleted.Load() || f.log == nil {
		f.mu.Unlock()
		return fmt.Errorf("maildir: %q: %w", f.Name(), mailbox.ErrNotExist)
	}
	if !f.stale() {
		return nil
	}
	if err := flock(f.lockf); err != nil {
		f.mu.Unlock()
		return err
	}
	err := f.refresh()
	if err == nil {
		err = f.checkDirs(false)
	}
	funlock(f.lockf)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	return nil
}

// stale reports whether the index file or the directories changed since
// we last looked (mu held).
func (f *folder) stale() bool {
	fi, err := f.root.Stat(indexFile)
	if err != nil || inode(fi) != f.logIno || fi.Size() != f.logOff {
		return true
	}
	return f.dirsChanged()
}

func (f *folder) dirsChanged() bool {
	nfi, err1 := f.root.Stat("new")
	cfi, err2 := f.root.Stat("cur")
	if err1 != nil || err2 != nil {
		return true
	}
	if nfi.ModTime().UnixNano() != f.seenNew || cfi.ModTime().UnixNano() != f.seenCur {
		return true
	}
	return f.suspect() && time.Since(f.scanAt) >= f.rescanEvery()
}

// rescanEvery spaces the rescans of an unsettled directory: at least
// rescanEvery apart, and ten times as long as a scan takes, so that they
// cost a big folder at most a tenth of a core.
func (f *folder) rescanEvery() time.Duration {
	return max(rescanEvery, 10*f.scanCost)
}

// suspect reports whether the last scan may have missed a change made in
// the same mtime tick as one it saw.
func (f *folder) suspect() bool {
	newest := max(f.seenNew, f.seenCur)
	return f.scanAt.UnixNano() < newest+int64(mtimeSlack)
}

// refresh replays what other processes appended to the index since we last
// read it, or reloads it when it was replaced (compacted, rebuilt). The
// lock is held.
func (f *folder) refresh() error {
	fi, err := f.root.Stat(indexFile)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := f.root.Stat("cur"); err != nil {
			f.deleted.Store(true)
			return fmt.Errorf("maildir: %q: %w", f.Name(), mailbox.ErrNotExist)
		}
		old := f.s
		if err := f.rebuild("index removed"); err != nil {
			return err
		}
		f.emitDiff(old, f.s)
		return nil
	}
	if err != nil {
		return err
	}
	if inode(fi) != f.logIno || fi.Size() < f.logOff {
		old := f.s
		s, err := f.readIndex()
		if errors.Is(err, errCorrupt) {
			if err := f.rebuild("index corrupt"); err != nil {
				return err
			}
			s = f.s
		} else if err != nil {
			return err
		}
		f.s = s
		f.emitDiff(old, s)
		return nil
	}
	if fi.Size() == f.logOff {
		return nil
	}
	f.t.use.invalidate() // another process changed the folder
	tail := make([]byte, fi.Size()-f.logOff)
	if _, err := f.log.ReadAt(tail, f.logOff); err != nil {
		return err
	}
	n, err := f.s.readLog(tail, f.emit)
	f.logOff += int64(n)
	if err != nil {
		old := f.s
		if err := f.rebuild("index corrupt"); err != nil {
			return err
		}
		f.emitDiff(old, f.s)
		return nil
	}
	if n < len(tail) {
		return f.log.Truncate(f.logOff) // a writer died mid-record
	}
	return nil
}

// commit appends the records in e to the index, fsyncs it when durable,
// and applies them to the state, publishing their events. The lock is held.
func (f *folder) commit(e *enc, durable bool) error {
	if len(e.b) == 0 {
		return nil
	}
	n, err := f.log.Write(e.b)
	if err == nil && durable {
		err = f.log.Sync()
	}
	if err != nil {
		if n > 0 {
			f.log.Truncate(f.logOff)
		}
		return err
	}
	f.logOff += int64(n)
	// One event per kind for the whole batch (a move of many messages is
	// one MessagesAdded), in the order expunged, flags, added.
	all := new(changes)
	_, err = f.s.readLog(e.b, func(ch *changes) {
		all.added = append(all.added, ch.added...)
		all.flagged = append(all.flagged, ch.flagged...)
		all.expunged = append(all.expunged, ch.expunged...)
	})
	if all.any() {
		f.emit(all)
	}
	if err != nil {
		return fmt.Errorf("maildir: applying own index record: %w", err)
	}
	f.maybeCompact()
	return nil
}

// compactSlack is how far past twice a snapshot's size the log may grow
// before it is compacted (a variable so the crash test can compact often).
var compactSlack int64 = 1 << 20

// maybeCompact rewrites the index as a snapshot once the log is more than
// twice as large as one.
func (f *folder) maybeCompact() {
	s := f.s
	est := int64(len(s.msgs))*(frameHead+48) + int64(len(s.names)-s.garbage) + int64(len(s.tombs))*12
	if f.logOff < 2*est+compactSlack {
		s.compactNames()
		return
	}
	s.compactNames()
	if len(s.tombs) > maxTombs {
		s.tombs = slices.Clone(s.tombs[len(s.tombs)-maxTombs:])
	}
	if err := f.writeSnapshot(s); err != nil {
		f.logger().Warn("maildir: index compaction failed", slog.String("mailbox", f.Name()), slog.Any("err", err))
	}
}

// emit publishes the events of one applied index record.
func (f *folder) emit(ch *changes) {
	s := f.s
	base := mailbox.Event{Mailbox: f.Name(), UIDValidity: s.uidValidity, ModSeq: mailbox.ModSeq(s.highest)}
	if len(ch.expunged) > 0 {
		ev := base
		ev.Kind = mailbox.EventMessagesExpunged
		ev.UIDs = toUIDs(ch.expunged)
		slices.Sort(ev.UIDs)
		f.t.publish(ev)
	}
	if len(ch.flagged) > 0 {
		ev := base
		ev.Kind = mailbox.EventFlagsChanged
		ev.Flags = make([]mailbox.FlagChange, 0, len(ch.flagged))
		var arena []mailbox.Flag
		// Flag lists are shared and never changed: messages with the same
		// flags as the one before (as a STORE over a range leaves them)
		// get the same list.
		var last []mailbox.Flag
		lastBits, lastKw, haveLast := uint8(0), uint32(0), false
		next := 0
		for _, uid := range ch.flagged {
			if i := s.findNext(uid, next); i >= 0 {
				next = i + 1
				m := &s.msgs[i]
				if bits := m.want & flagMask; !haveLast || bits != lastBits || m.kw != lastKw {
					// The arena grows by append: lists already cut from
					// it keep the array they were cut from.
					last, lastBits, lastKw, haveLast = s.flagsIn(&arena, m), bits, m.kw, true
				}
				ev.Flags = append(ev.Flags, mailbox.FlagChange{UID: mailbox.UID(uid), Flags: last, ModSeq: mailbox.ModSeq(m.modseq)})
			}
		}
		f.published = ev.Flags
		f.t.publish(ev)
	}
	if len(ch.added) > 0 {
		ev := base
		ev.Kind = mailbox.EventMessagesAdded
		ev.UIDs = toUIDs(ch.added)
		f.t.publish(ev)
	}
}

// emitDiff publishes what changed between two states of the folder after a
// reload (another process compacted or rebuilt the index).
func (f *folder) emitDiff(old, cur *state) {
	if old == nil {
		return
	}
	ch := new(changes)
	if old.uidValidity != cur.uidValidity {
		for i := range old.msgs {
			ch.expunged = append(ch.expunged, old.msgs[i].uid)
		}
		for i := range cur.msgs {
			ch.added = append(ch.added, cur.msgs[i].uid)
		}
	} else {
		i, j := 0, 0
		for i < len(old.msgs) || j < len(cur.msgs) {
			switch {
			case j >= len(cur.msgs) || (i < len(old.msgs) && old.msgs[i].uid < cur.msgs[j].uid):
				ch.expunged = append(ch.expunged, old.msgs[i].uid)
				i++
			case i >= len(old.msgs) || cur.msgs[j].uid < old.msgs[i].uid:
				ch.added = append(ch.added, cur.msgs[j].uid)
				j++
			default:
				if old.msgs[i].modseq != cur.msgs[j].modseq {
					ch.flagged = append(ch.flagged, cur.msgs[j].uid)
				}
				i++
				j++
			}
		}
	}
	if ch.any() {
		// Expunged UIDs are gone from cur: emit reads flags from cur only.
		f.emit(ch)
	}
}

func toUIDs(u []uint32) []mailbox.UID {
	out := make([]mailbox.UID, len(u))
	for i, v := range u {
		out[i] = mailbox.UID(v)
	}
	return out
}

// touched records the mtime of a directory we just changed ourselves, so
// that our own change does not look like an outside one.
func (f *folder) touched(sub string) {
	fi, err := f.root.Stat(sub)
	if err != nil {
		return
	}
	if sub == "new" {
		f.seenNew = fi.ModTime().UnixNano()
	} else {
		f.seenCur = fi.ModTime().UnixNano()
	}
}
