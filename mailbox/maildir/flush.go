package maildir

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Write-behind renames. SetFlags records the flags a message should have
// (a W record) and returns; the folder's flusher, a goroutine started when
// a change leaves files to rename and ending when none are left, renames
// them to carry their flags and records that (a K record). It works in
// batches of flushBatch renames, each under the folder's mutex and lock
// file, so readers and writers interleave with it and always see a file
// under the name the state gives it. Many changes of one message before
// its turn cost one rename, and a change undone before its turn none.

// flushBatch is how many files the flusher renames per hold of the lock
// (about 0.5-1 ms); between batches it lets the operations waiting for the
// folder go first, for at most yieldMax.
const (
	flushBatch = 64
	yieldMax   = 20 * time.Millisecond
)

// The flusher starts renaming once the folder has had no flag change for
// flushQuiet, and at the latest flushMaxDelay after it started: a burst of
// changes (a client marking messages one by one, "+FLAGS" then "-FLAGS",
// a message read, then deleted and expunged) is renamed once, or not at
// all, after it, instead of competing with it for the CPU. Flush, and the
// close of the last handle, cut the wait. Variables so that tests can
// change them.
var (
	flushQuiet    atomic.Int64 // time.Duration
	flushMaxDelay atomic.Int64 // time.Duration
)

func init() {
	flushQuiet.Store(int64(50 * time.Millisecond))
	flushMaxDelay.Store(int64(time.Second))
}

// Test hooks: renameHook is called before each rename the flusher or a
// synchronous flush makes, flushGate when the flusher starts, before it
// takes the lock.
var (
	renameHook atomic.Pointer[func(uid uint32)]
	flushGate  atomic.Pointer[func()]
)

// kick starts the flusher when files wait for a rename and it is not
// running (mu held).
func (f *folder) kick() {
	if f.closing || f.s == nil || len(f.s.pend) == 0 || f.log == nil || f.deleted.Load() {
		return
	}
	f.lastKick = time.Now()
	if f.flushing {
		return
	}
	f.flushing = true
	f.flushed = make(chan struct{})
	f.hurry = make(chan struct{})
	go f.flushLoop(f.flushed, f.hurry)
}

// hurryFlusher cuts the wait of a running flusher before its first rename
// (mu held).
func (f *folder) hurryFlusher() {
	if f.flushing && f.hurry != nil {
		close(f.hurry)
		f.hurry = nil
	}
}

// quietWait waits until the folder has had no change for flushQuiet, at
// most flushMaxDelay, or until hurry is closed.
func (f *folder) quietWait(hurry <-chan struct{}) {
	quiet, most := time.Duration(flushQuiet.Load()), time.Duration(flushMaxDelay.Load())
	deadline := time.Now().Add(most)
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		f.mu.Lock()
		until := f.lastKick.Add(quiet)
		f.mu.Unlock()
		if until.After(deadline) {
			until = deadline
		}
		d := time.Until(until)
		if d <= 0 || !sleepOr(&t, d, hurry) {
			return
		}
	}
}

// sleepOr waits for d on the timer *t (made on first use, stopped by the
// caller) and reports true, or false when hurry is closed first.
func sleepOr(t **time.Timer, d time.Duration, hurry <-chan struct{}) bool {
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	select {
	case <-(*t).C:
		return true
	case <-hurry:
		return false
	}
}

// flushLoop renames waiting files batch by batch until none is left, the
// folder is closing or a batch fails.
func (f *folder) flushLoop(done, hurry chan struct{}) {
	defer close(done)
	if g := flushGate.Load(); g != nil {
		(*g)()
	}
	f.quietWait(hurry)
	var pause *time.Timer
	defer func() {
		if pause != nil {
			pause.Stop()
		}
	}()
	prev := time.Now() // start of the previous batch
	for {
		batchStart := time.Now()
		f.mu.Lock()
		// Changes since the previous batch began: they keep coming.
		busy := f.lastKick.After(prev)
		prev = batchStart
		more := false
		if !f.closing && f.log != nil && !f.deleted.Load() {
			if err := flock(f.lockf); err == nil {
				err = f.refresh()
				if err == nil {
					// Outside changes first, or recording the mtimes our
					// renames leave would hide them.
					err = f.checkDirs(false)
				}
				if err == nil {
					more, err = f.flushSome(flushBatch)
				}
				funlock(f.lockf)
				if err != nil {
					f.logger().Warn("maildir: renaming files to their flags", slog.String("mailbox", f.Name()), slog.Any("err", err))
					more = false
				}
			}
		}
		if !more {
			f.flushing = false
			f.hurry = nil
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		if busy {
			// Changes keep coming (the flusher started at
			// flushMaxDelay): it pauses as long as its batch took,
			// leaving them at least half of the time.
			sleepOr(&pause, time.Since(batchStart), hurry)
		}
		for start := time.Now(); f.waiting.Load() > 0 && time.Since(start) < yieldMax; {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// flushSome renames up to limit waiting files (limit ≤ 0: all) and records
// the renames. It reports whether files still wait. The lock is held.
func (f *folder) flushSome(limit int) (bool, error) {
	s := f.s
	var (
		done   []diskEntry
		failed bool
	)
	n, next := 0, 0
	for len(s.pend) > 0 && (limit <= 0 || n < limit) {
		uid := s.pend[0]
		s.pend = s.pend[1:]
		i := s.findNext(uid, next) // the list is mostly in UID order
		if i < 0 {
			continue
		}
		next = i + 1
		if !s.msgs[i].pending() {
			continue
		}
		n++
		if err := f.flushOne(&s.msgs[i]); err != nil {
			// Moved or removed by another program: the scan below tells.
			// It stays waiting, out of the list, until the next load.
			failed = true
			continue
		}
		done = append(done, diskEntry{uid: uid, disk: s.msgs[i].want})
	}
	if len(s.pend) == 0 {
		s.pend = nil // let a big list go
	}
	err := f.recordRenames(done)
	if err == nil && failed {
		err = f.checkDirs(true)
	}
	return len(s.pend) > 0, err
}

// flushOne renames the file of m to carry m's flags (lock held); the state
// learns the new name from the K record.
func (f *folder) flushOne(m *msgRec) error {
	if h := renameHook.Load(); h != nil {
		(*h)(m.uid)
	}
	f.nameBuf = appendWithFlags(f.nameBuf[:0], f.s.nameBytes(m), m.want&flagMask)
	if err := f.renameMsg(m, f.nameBuf); err != nil {
		// cur/ replaced: try again with it opened anew.
		f.closeSubs()
		return f.renameMsg(m, f.nameBuf)
	}
	return nil
}

// recordRenames appends the K record for renames done (lock held). It is
// not fsynced: after a crash the scan recognises our renames by name.
func (f *folder) recordRenames(done []diskEntry) error {
	if len(done) == 0 {
		return nil
	}
	var e enc
	for start := 0; start < len(done); start += maxRecord / 8 {
		e.onDisk(done[start:min(start+maxRecord/8, len(done))])
	}
	if err := f.commit(&e, false); err != nil {
		return err
	}
	f.touched("new")
	f.touched("cur")
	return nil
}

// flushUIDs renames now the waiting files among uids (sorted), so that a
// copy or a move can use their names (lock held).
func (f *folder) flushUIDs(uids []uint32) error {
	s := f.s
	var done []diskEntry
	var failed bool
	for _, uid := range uids {
		i := s.find(uid)
		if i < 0 || !s.msgs[i].pending() {
			continue
		}
		if err := f.flushOne(&s.msgs[i]); err != nil {
			failed = true
			continue
		}
		done = append(done, diskEntry{uid: uid, disk: s.msgs[i].want})
	}
	err := f.recordRenames(done)
	if err == nil && failed {
		err = f.checkDirs(true)
	}
	return err
}

// waitFlusher hurries the flusher and waits until it is not running (mu
// not held).
func (f *folder) waitFlusher(ctx context.Context) error {
	f.mu.Lock()
	done := f.flushed
	running := f.flushing
	f.hurryFlusher()
	f.mu.Unlock()
	if !running {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush renames every waiting file of the folder before it returns.
func (f *folder) flush(ctx context.Context) error {
	if err := f.waitFlusher(ctx); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.lockSynced(); err != nil {
			if errors.Is(err, mailbox.ErrNotExist) {
				return nil // deleted: nothing to rename
			}
			return err
		}
		more, err := f.flushSome(flushBatch)
		f.unlockQuiet()
		if err != nil || !more {
			return err
		}
	}
}

// unlockQuiet is unlock without starting the flusher.
func (f *folder) unlockQuiet() {
	if f.lockf != nil {
		funlock(f.lockf)
	}
	f.mu.Unlock()
}

// Flusher is implemented by every Mailbox this package returns: Flush
// renames now the files of the mailbox whose flag changes are still
// waiting for the flusher, and returns once they are all renamed (or ctx
// ends). See "Flag changes are written behind" in the package
// documentation.
type Flusher interface {
	Flush(ctx context.Context) error
}

var _ Flusher = (*mbox)(nil)

// Flush implements Flusher.
func (m *mbox) Flush(ctx context.Context) error {
	if err := m.begin(ctx); err != nil {
		return err
	}
	return m.f.flush(ctx)
}

// Flush renames the files of every folder of the store open in this
// process whose flag changes are still waiting for the flusher, and
// returns once they carry their flags: call it before another program
// (mbsync, a backup, a migration to another server) reads the Maildirs
// while this process keeps them open. Closing the last handle on a folder
// does the same for it, and Flush also waits for such closes under way.
func (s *Store) Flush(ctx context.Context) error {
	if err := s.init(); err != nil {
		return err
	}
	root := s.root + string(filepath.Separator)
	var folders []*folder
	var closing []chan struct{}
	registry.mu.Lock()
	for path, t := range registry.trees {
		if !strings.HasPrefix(path, root) {
			continue
		}
		t.fmu.Lock()
		for _, f := range t.folders {
			f.refs++
			folders = append(folders, f)
		}
		for _, done := range t.closing {
			closing = append(closing, done)
		}
		t.fmu.Unlock()
	}
	registry.mu.Unlock()
	var err error
	for _, f := range folders {
		if err == nil {
			if ferr := f.flush(ctx); ferr != nil && !errors.Is(ferr, mailbox.ErrNotExist) {
				err = ferr
			}
		}
		f.release()
	}
	// Folders whose last handle was closing flush themselves (see
	// release): wait for them.
	for _, done := range closing {
		if err != nil {
			break
		}
		select {
		case <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	return err
}
