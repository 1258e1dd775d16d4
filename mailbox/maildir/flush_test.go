package maildir

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

// fillNew drops n small messages into new/ of dir, as an MDA would; the
// next access adopts them (UIDs 1..n in this order, on a fresh folder).
func fillNew(t testing.TB, dir string, n int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, makeMaildirDirs(dir))
	for i := range n {
		body := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		name := fmt.Sprintf("17000%05d.M1P1Q%d.host,S=%d", i, i, len(body))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "new", name), []byte(body), 0o600))
	}
}

// gateFlusher holds every flusher that starts until the returned release
// is called (also at cleanup).
func gateFlusher(t *testing.T) (release func()) {
	release, _ = gateFlusherEntered(t)
	return release
}

// gateFlusherEntered is gateFlusher that also says when a flusher has
// reached the gate.
func gateFlusherEntered(t *testing.T) (release func(), entered <-chan struct{}) {
	gate := make(chan struct{})
	in := make(chan struct{}, 16)
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	g := func() {
		select {
		case in <- struct{}{}:
		default:
		}
		<-gate
	}
	flushGate.Store(&g)
	t.Cleanup(func() {
		flushGate.Store(nil)
		release()
	})
	return release, in
}

// setFlushDelay sets the flusher's quiet period and longest wait for the
// test.
func setFlushDelay(t testing.TB, quiet, most time.Duration) {
	q, m := flushQuiet.Load(), flushMaxDelay.Load()
	flushQuiet.Store(int64(quiet))
	flushMaxDelay.Store(int64(most))
	t.Cleanup(func() {
		flushQuiet.Store(q)
		flushMaxDelay.Store(m)
	})
}

// flusherDone returns a channel closed when the folder's flusher (running
// or not) has ended, without hurrying it.
func flusherDone(m mailbox.Mailbox) <-chan struct{} {
	f := m.(*mbox).f
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.flushing {
		done := make(chan struct{})
		close(done)
		return done
	}
	return f.flushed
}

// toggleFlagged adds \Flagged to message uid when i is even, removes it
// when i is odd.
func toggleFlagged(t *testing.T, m mailbox.Mailbox, uid mailbox.UID, i int) {
	t.Helper()
	op := mailbox.FlagsAdd
	if i%2 == 1 {
		op = mailbox.FlagsRemove
	}
	_, err := m.SetFlags(context.Background(), []mailbox.UID{uid}, op, []mailbox.Flag{mailbox.FlagFlagged}, 0)
	require.NoError(t, err)
}

// countRenames counts the renames flushes make, per UID.
func countRenames(t *testing.T) func() map[uint32]int {
	var mu sync.Mutex
	n := map[uint32]int{}
	h := func(uid uint32) {
		mu.Lock()
		n[uid]++
		mu.Unlock()
	}
	renameHook.Store(&h)
	t.Cleanup(func() { renameHook.Store(nil) })
	return func() map[uint32]int {
		mu.Lock()
		defer mu.Unlock()
		return maps(n)
	}
}

func maps(m map[uint32]int) map[uint32]int {
	out := make(map[uint32]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// filesByUID maps each file of the folder in dir to its UID by the
// message's Subject line ("Subject: <uid-1>", as fillNew writes them).
func filesByUID(t *testing.T, dir string) map[mailbox.UID]string {
	t.Helper()
	out := map[mailbox.UID]string{}
	for _, sub := range []string{"new", "cur"} {
		for _, name := range dirNames(t, filepath.Join(dir, sub)) {
			b, err := os.ReadFile(filepath.Join(dir, sub, name))
			require.NoError(t, err)
			var n int
			_, err = fmt.Sscanf(string(b), "Subject: %d", &n)
			require.NoError(t, err)
			out[mailbox.UID(n+1)] = sub + "/" + name
		}
	}
	return out
}

// TestFlushCoalesces: many changes of a message before the flusher's turn
// cost one rename; a change undone before it costs none; the files end up
// carrying the flags.
func TestFlushCoalesces(t *testing.T) {
	ctx := context.Background()
	_, dir, _, m := filledInbox(t, 10)
	set := func(uids []mailbox.UID, op mailbox.FlagOp, f mailbox.Flag) {
		t.Helper()
		_, err := m.SetFlags(ctx, uids, op, []mailbox.Flag{f}, 0)
		require.NoError(t, err)
	}
	three := []mailbox.UID{6, 7, 8}
	set(three, mailbox.FlagsAdd, mailbox.FlagDraft) // into cur/
	require.NoError(t, m.(Flusher).Flush(ctx))
	release := gateFlusher(t)
	renames := countRenames(t)
	five := []mailbox.UID{1, 2, 3, 4, 5}
	set(five, mailbox.FlagsAdd, mailbox.FlagSeen)
	set(five, mailbox.FlagsAdd, mailbox.FlagFlagged)
	set(five, mailbox.FlagsRemove, mailbox.FlagSeen)
	set(three, mailbox.FlagsAdd, mailbox.FlagSeen)
	set(three, mailbox.FlagsRemove, mailbox.FlagSeen)
	assert.Empty(t, renames(), "renamed before the flusher ran")
	release()
	require.NoError(t, m.(Flusher).Flush(ctx))
	assert.Equal(t, map[uint32]int{1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, renames())
	files := filesByUID(t, dir)
	for uid := mailbox.UID(1); uid <= 10; uid++ {
		switch {
		case uid <= 5:
			assert.True(t, strings.HasPrefix(files[uid], "cur/") && strings.HasSuffix(files[uid], ":2,F"), files[uid])
		case uid <= 8:
			assert.True(t, strings.HasPrefix(files[uid], "cur/") && strings.HasSuffix(files[uid], ":2,D"), files[uid])
		default:
			assert.True(t, strings.HasPrefix(files[uid], "new/") && !strings.Contains(files[uid], ":"), files[uid])
		}
	}
}

// TestFlusherExitsWhenIdle: the flusher renames what waits, in several
// batches, without being asked, and then ends: an idle folder holds no
// goroutine.
func TestFlusherExitsWhenIdle(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	dir := filepath.Join(s.Root, "alice")
	n := 2*flushBatch + 10
	fillNew(t, dir, n)
	_, m := openInbox(t, s)
	require.Len(t, listAll(t, m), n)
	base := runtime.NumGoroutine()
	uids := make([]mailbox.UID, n)
	for i := range uids {
		uids[i] = mailbox.UID(i + 1)
	}
	_, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		renamed := 0
		for _, name := range dirNames(t, filepath.Join(dir, "cur")) {
			if strings.HasSuffix(name, ":2,S") {
				renamed++
			}
		}
		if renamed == n && runtime.NumGoroutine() <= base {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d of %d files renamed, %d goroutines (%d before the change)", renamed, n, runtime.NumGoroutine(), base)
		}
		time.Sleep(5 * time.Millisecond)
	}
	f := m.(*mbox).f
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.False(t, f.flushing)
	assert.Empty(t, f.s.pend)
}

// TestCloseFlushes: closing the last handle on a folder waits for its
// renames, so another program finds the flags in the names at once.
func TestCloseFlushes(t *testing.T) {
	ctx := context.Background()
	_, dir, a, m := filledInbox(t, 20)
	release := gateFlusher(t)
	_, err := m.SetFlags(ctx, []mailbox.UID{1, 5, 20}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagAnswered}, 0)
	require.NoError(t, err)
	time.AfterFunc(50*time.Millisecond, release)
	require.NoError(t, m.Close())
	require.NoError(t, a.Close())
	files := filesByUID(t, dir)
	for _, uid := range []mailbox.UID{1, 5, 20} {
		assert.True(t, strings.HasSuffix(files[uid], ":2,R"), files[uid])
	}
}

// TestStoreFlush: Store.Flush renames what waits in every open folder of
// the store.
func TestStoreFlush(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	dir := filepath.Join(s.Root, "alice")
	fillNew(t, dir, 3)
	a, m := openInbox(t, s)
	require.NoError(t, a.Create(ctx, "Work", nil))
	w, err := a.Mailbox(ctx, "Work")
	require.NoError(t, err)
	defer w.Close()
	wuid, err := w.Append(ctx, strings.NewReader("Subject: w\r\n\r\nw\r\n"), nil)
	require.NoError(t, err)
	require.Len(t, listAll(t, m), 3)
	release := gateFlusher(t)
	_, err = m.SetFlags(ctx, []mailbox.UID{2}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagDeleted}, 0)
	require.NoError(t, err)
	_, err = w.SetFlags(ctx, []mailbox.UID{wuid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	time.AfterFunc(20*time.Millisecond, release)
	require.NoError(t, s.Flush(ctx))
	assert.True(t, strings.HasSuffix(filesByUID(t, dir)[2], ":2,T"))
	names := dirNames(t, filepath.Join(dir, ".Work", "cur"))
	require.Len(t, names, 1)
	assert.True(t, strings.HasSuffix(names[0], ":2,S"), names[0])
}

// TestOutsideRenameWhilePending: a file another program renames while our
// change of it waits keeps the other program's flags (with a new MODSEQ
// and an event), whether the rename shows in the directory's mtime or
// not (then our own rename fails and the folder looks again).
func TestOutsideRenameWhilePending(t *testing.T) {
	for _, hidden := range []bool{false, true} {
		t.Run(fmt.Sprint("hidden=", hidden), func(t *testing.T) {
			ctx := context.Background()
			_, dir, a, m := filledInbox(t, 2)
			var evs events
			defer a.Watch(evs.add)()
			release := gateFlusher(t)
			res, err := m.SetFlags(ctx, []mailbox.UID{1, 2}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
			require.NoError(t, err)
			ours := res.Changed[0].ModSeq
			evs.take()
			old := filesByUID(t, dir)[1]
			require.True(t, strings.HasPrefix(old, "new/"), old)
			outside := "cur/" + strings.TrimPrefix(old, "new/") + ":2,F"
			var nfi, cfi os.FileInfo
			if hidden {
				nfi, _ = os.Stat(filepath.Join(dir, "new"))
				cfi, _ = os.Stat(filepath.Join(dir, "cur"))
			}
			require.NoError(t, os.Rename(filepath.Join(dir, old), filepath.Join(dir, outside)))
			if hidden { // as if in the same mtime tick as our last look
				require.NoError(t, os.Chtimes(filepath.Join(dir, "new"), nfi.ModTime(), nfi.ModTime()))
				require.NoError(t, os.Chtimes(filepath.Join(dir, "cur"), cfi.ModTime(), cfi.ModTime()))
			}
			release()
			require.NoError(t, m.(Flusher).Flush(ctx))
			files := filesByUID(t, dir)
			assert.Equal(t, outside, files[1], "the outside rename stands")
			assert.True(t, strings.HasSuffix(files[2], ":2,S"), files[2])
			infos := listAll(t, m)
			assert.Equal(t, []mailbox.Flag{mailbox.FlagFlagged}, infos[0].Flags)
			assert.Greater(t, infos[0].ModSeq, ours)
			assert.Equal(t, []mailbox.Flag{mailbox.FlagSeen}, infos[1].Flags)
			assert.Equal(t, ours, infos[1].ModSeq)
			var got []mailbox.FlagChange
			for _, ev := range evs.take() {
				if ev.Kind == mailbox.EventFlagsChanged {
					got = append(got, ev.Flags...)
				}
			}
			require.Len(t, got, 1)
			assert.Equal(t, mailbox.UID(1), got[0].UID)
			assert.Equal(t, []mailbox.Flag{mailbox.FlagFlagged}, got[0].Flags)
		})
	}
}

// copyDir copies a folder tree (regular files and directories), as a
// crash would leave it on disk.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, os.CopyFS(to, os.DirFS(from)))
}

// TestPendingAfterCrash opens a copy of a folder taken while a flag change
// waited for its rename (the index holds the W record, no K record), with
// the file as it was, renamed as our flusher would have (a crash between
// the rename and its record), or renamed by another program.
func TestPendingAfterCrash(t *testing.T) {
	ctx := context.Background()
	s, dir, _, m := filledInbox(t, 2)
	_, entered := gateFlusherEntered(t)
	res, err := m.SetFlags(ctx, []mailbox.UID{1}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen, "$k"}, 0)
	require.NoError(t, err)
	ours := res.Changed[0].ModSeq
	<-entered
	flushGate.Store(nil) // this folder's flusher waits; the copies' do not
	st, err := m.Status(ctx)
	require.NoError(t, err)
	old := filesByUID(t, dir)[1]
	base := strings.TrimPrefix(old, "new/")
	for _, tc := range []struct {
		name     string
		renameTo string // "" keeps the file as it was
		want     []mailbox.Flag
		bumped   bool
	}{
		{"untouched", "", []mailbox.Flag{mailbox.FlagSeen, "$k"}, false},
		{"renamed-unrecorded", "cur/" + base + ":2,S", []mailbox.Flag{mailbox.FlagSeen, "$k"}, false},
		{"renamed-outside", "cur/" + base + ":2,RS", []mailbox.Flag{mailbox.FlagAnswered, mailbox.FlagSeen, "$k"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s2 := &Store{Root: t.TempDir(), Users: s.Users, PollInterval: -1}
			dir2 := filepath.Join(s2.Root, "alice")
			copyDir(t, dir, dir2)
			if tc.renameTo != "" {
				require.NoError(t, os.Rename(filepath.Join(dir2, old), filepath.Join(dir2, tc.renameTo)))
			}
			a2, m2 := openInbox(t, s2)
			var evs events
			defer a2.Watch(evs.add)()
			infos := listAll(t, m2)
			require.Len(t, infos, 2)
			assert.Equal(t, tc.want, infos[0].Flags)
			st2, err := m2.Status(ctx)
			require.NoError(t, err)
			if tc.bumped {
				assert.Greater(t, infos[0].ModSeq, ours)
				assert.Greater(t, st2.HighestModSeq, st.HighestModSeq)
			} else {
				assert.Equal(t, ours, infos[0].ModSeq)
				assert.Equal(t, st.HighestModSeq, st2.HighestModSeq)
				assert.Empty(t, evs.take())
			}
			require.NoError(t, m2.(Flusher).Flush(ctx))
			want := "cur/" + base + ":2,S"
			if tc.renameTo != "" {
				want = tc.renameTo
			}
			assert.Equal(t, want, filesByUID(t, dir2)[1], "the file carries the flags")
			assert.Equal(t, "Subject: 0\r\n\r\nbody 0\r\n", readAll(t, m2, 1))
		})
	}
}

// TestOpenDuringFlush: Open and read every message while the flusher
// renames them, over and over; every open succeeds with the right bytes.
func TestOpenDuringFlush(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	dir := filepath.Join(s.Root, "alice")
	const n = 400
	fillNew(t, dir, n)
	_, m := openInbox(t, s)
	require.Len(t, listAll(t, m), n)
	uids := make([]mailbox.UID, n)
	for i := range uids {
		uids[i] = mailbox.UID(i + 1)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var opens int
	wg.Go(func() {
		for {
			for _, uid := range uids {
				select {
				case <-stop:
					return
				default:
				}
				r, err := m.Open(ctx, uid)
				if err != nil {
					t.Errorf("open UID %d during a flush: %v", uid, err)
					return
				}
				b, err := io.ReadAll(r)
				r.Close()
				if want := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", uid-1, uid-1); err != nil || string(b) != want {
					t.Errorf("UID %d: %q, %v", uid, b, err)
					return
				}
				opens++
			}
		}
	})
	setFlushDelay(t, 0, 0) // renames start at once: they overlap the reads
	flags := []mailbox.Flag{mailbox.FlagSeen, mailbox.FlagFlagged, mailbox.FlagAnswered}
	for i := range 12 {
		_, err := m.SetFlags(ctx, uids, mailbox.FlagsReplace, flags[:i%3+1], 0)
		require.NoError(t, err)
		time.Sleep(3 * time.Millisecond) // let the flusher get some renames done
	}
	require.NoError(t, m.(Flusher).Flush(ctx))
	close(stop)
	wg.Wait()
	assert.Positive(t, opens)
	for _, name := range dirNames(t, filepath.Join(dir, "cur")) {
		assert.True(t, strings.HasSuffix(name, ":2,FRS"), name)
	}
}

// TestSnapshotKeepsPending: a compaction while changes wait writes them as
// W records: a reload has the same flags and MODSEQs and still knows which
// files to rename.
func TestSnapshotKeepsPending(t *testing.T) {
	h := newState()
	h.uidValidity, h.uidNext, h.highest = 9, 1, 1
	var e enc
	e.header(h)
	e.add(&msgRec{uid: 1, modseq: 2, size: 3}, "1.a.host,S=3", nil)
	e.add(&msgRec{uid: 2, modseq: 3, size: 3, flags: flagSeen | inCur}, "2.b.host,S=3:2,S", nil)
	e.add(&msgRec{uid: 3, modseq: 4, size: 3}, "3.c.host,S=3", nil)
	e.want(5, []flagEntry{{uid: 1, flags: flagSeen}, {uid: 2, flags: flagSeen | flagFlagged, kws: []string{"$x"}}, {uid: 3, flags: flagDraft}})
	e.onDisk([]diskEntry{{uid: 3, disk: flagDraft | inCur}})
	e.want(6, []flagEntry{{uid: 2, flags: flagFlagged, kws: []string{"$x"}}})
	s := newState()
	_, err := s.readLog(e.b, nil)
	require.NoError(t, err)
	check := func(s *state) {
		t.Helper()
		assert.Equal(t, "1.a.host,S=3", s.name(&s.msgs[0]))
		assert.Equal(t, "2.b.host,S=3:2,S", s.name(&s.msgs[1]))
		assert.Equal(t, "3.c.host,S=3:2,D", s.name(&s.msgs[2]))
		assert.Equal(t, "new/1.a.host,S=3", s.path(&s.msgs[0]))
		assert.Equal(t, []bool{true, true, false}, []bool{s.msgs[0].pending(), s.msgs[1].pending(), s.msgs[2].pending()})
		assert.Equal(t, []mailbox.Flag{mailbox.FlagFlagged, "$x"}, s.flags(&s.msgs[1]))
		assert.Equal(t, []uint64{5, 6, 5}, []uint64{s.msgs[0].modseq, s.msgs[1].modseq, s.msgs[2].modseq})
		var pend []uint32
		for _, uid := range s.pend {
			if s.msgs[s.find(uid)].pending() && !slices.Contains(pend, uid) {
				pend = append(pend, uid)
			}
		}
		slices.Sort(pend)
		assert.Equal(t, []uint32{1, 2}, pend)
	}
	check(s)
	again := newState()
	snap := s.snapshot()
	n, err := again.readLog(snap, nil)
	require.NoError(t, err)
	require.Equal(t, len(snap), n)
	check(again)
	assert.True(t, sameState(s, again))
}

// TestRunRecords: a change of many adjacent messages is recorded as runs
// (V records) where it can, single entries (W) where a message keeps
// keywords or a run is short, and replaying the index gives the same
// flags and MODSEQs as the folder in memory.
func TestRunRecords(t *testing.T) {
	ctx := context.Background()
	_, dir, _, m := filledInbox(t, 12)
	_, err := m.SetFlags(ctx, []mailbox.UID{5}, mailbox.FlagsAdd, []mailbox.Flag{"$k"}, 0)
	require.NoError(t, err)
	_, err = m.SetFlags(ctx, []mailbox.UID{8}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	require.NoError(t, m.(Flusher).Flush(ctx)) // no K record comes between
	before, err := os.Stat(filepath.Join(dir, indexFile))
	require.NoError(t, err)
	all := []mailbox.UID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	res, err := m.SetFlags(ctx, all, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	require.Len(t, res.Changed, 11)
	data, err := os.ReadFile(filepath.Join(dir, indexFile))
	require.NoError(t, err)
	var types []byte
	for off := int(before.Size()); off < len(data); {
		n := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16 | int(data[off+3])<<24
		types = append(types, data[off+8])
		off += 8 + n
	}
	assert.Equal(t, "VW", string(types[:2]), "runs 1-4 and 9-12, then UIDs 5, 6 and 7 one by one")
	replayed := newState()
	_, err = replayed.readLog(data, nil)
	require.NoError(t, err)
	for _, info := range listAll(t, m) {
		r := &replayed.msgs[replayed.find(uint32(info.UID))]
		assert.Equal(t, info.Flags, replayed.flags(r), "UID %d", info.UID)
		assert.Equal(t, info.ModSeq, mailbox.ModSeq(r.modseq), "UID %d", info.UID)
	}
	assert.Equal(t, []mailbox.Flag{mailbox.FlagSeen, "$k"}, listAll(t, m)[4].Flags)
}

// TestFlushWaitsForQuiet: the flusher starts renaming only once the folder
// has had no change for flushQuiet, so a change undone within it (a
// message marked read, then unread) renames nothing at all.
func TestFlushWaitsForQuiet(t *testing.T) {
	ctx := context.Background()
	setFlushDelay(t, time.Second, time.Minute)
	_, _, _, m := filledInbox(t, 10)
	uids := []mailbox.UID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// Out of new/ first: that move is a rename no undo cancels.
	_, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagAnswered}, 0)
	require.NoError(t, err)
	require.NoError(t, m.(Flusher).Flush(ctx))
	renames := countRenames(t)
	seen := []mailbox.Flag{mailbox.FlagSeen}
	_, err = m.SetFlags(ctx, uids, mailbox.FlagsAdd, seen, 0)
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // a flusher without the wait renames all ten by now
	assert.Empty(t, renames(), "renamed within the quiet period")
	_, err = m.SetFlags(ctx, uids, mailbox.FlagsRemove, seen, 0)
	require.NoError(t, err)
	select {
	case <-flusherDone(m):
	case <-time.After(30 * time.Second):
		t.Fatal("the flusher did not end")
	}
	assert.Empty(t, renames(), "a change undone within the quiet period renamed files")
}

// TestFlushMaxDelay: changes that never stop for flushQuiet still get
// their files renamed, flushMaxDelay after the flusher started.
func TestFlushMaxDelay(t *testing.T) {
	ctx := context.Background()
	setFlushDelay(t, time.Hour, 100*time.Millisecond)
	_, _, _, m := filledInbox(t, 10)
	renames := countRenames(t)
	start := time.Now()
	_, err := m.SetFlags(ctx, []mailbox.UID{2}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	deadline := start.Add(20 * time.Second)
	for i := 0; renames()[2] == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no rename after 20 s of changes")
		}
		// Message 1 toggles every few milliseconds: never quiet.
		toggleFlagged(t, m, 1, i)
		time.Sleep(5 * time.Millisecond)
	}
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "renamed before flushMaxDelay")
}

// filledInbox returns a test store, the directory of its user alice, and
// her account and INBOX holding n messages (fillNew), listed once.
func filledInbox(t *testing.T, n int) (*Store, string, mailbox.Account, mailbox.Mailbox) {
	t.Helper()
	s := newTestStore(t)
	dir := filepath.Join(s.Root, "alice")
	fillNew(t, dir, n)
	a, m := openInbox(t, s)
	require.Len(t, listAll(t, m), n)
	return s, dir, a, m
}

// lingeringInbox is filledInbox(t, 10) with a flusher that waits an hour
// before its renames.
func lingeringInbox(t *testing.T) (*Store, string, mailbox.Account, mailbox.Mailbox) {
	t.Helper()
	setFlushDelay(t, time.Hour, time.Hour)
	return filledInbox(t, 10)
}

// carrying counts the files of cur/ in dir whose names end with suffix.
func carrying(t *testing.T, dir, suffix string) int {
	t.Helper()
	n := 0
	for _, name := range dirNames(t, filepath.Join(dir, "cur")) {
		if strings.HasSuffix(name, suffix) {
			n++
		}
	}
	return n
}

// TestFlushCutsTheWait: Flush, and the close of the last handle, do not
// wait for the flusher's quiet period.
func TestFlushCutsTheWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, dir, a, m := lingeringInbox(t)
	_, err := m.SetFlags(ctx, []mailbox.UID{1, 2, 3}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	require.NoError(t, m.(Flusher).Flush(ctx), "Flush waited for the quiet period")
	assert.Equal(t, 3, carrying(t, dir, ":2,S"))

	_, err = m.SetFlags(ctx, []mailbox.UID{4, 5}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
	require.NoError(t, err)
	closed := make(chan struct{})
	go func() {
		m.Close()
		a.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("closing the last handle waited for the quiet period")
	}
	assert.Equal(t, 2, carrying(t, dir, ":2,F"))
}

// TestFlusherPausesWhileChangesGoOn: once renaming, the flusher leaves
// changes that keep coming at least half of the time: after each batch
// it pauses as long as the batch took.
func TestFlusherPausesWhileChangesGoOn(t *testing.T) {
	ctx := context.Background()
	setFlushDelay(t, 0, 0)
	_, _, _, m := filledInbox(t, 200)
	const cost = 500 * time.Microsecond // of one rename, made slow here
	var mu sync.Mutex
	var at []time.Time
	var busy time.Duration // spent in renames (their sleeps)
	h := func(uid uint32) {
		if uid == 1 {
			return
		}
		start := time.Now()
		time.Sleep(cost)
		mu.Lock()
		at = append(at, time.Now())
		if len(at) > 1 {
			busy += time.Since(start)
		}
		mu.Unlock()
	}
	renameHook.Store(&h)
	t.Cleanup(func() { renameHook.Store(nil) })
	uids := make([]mailbox.UID, 0, 199)
	for u := mailbox.UID(2); u <= 200; u++ {
		uids = append(uids, u)
	}
	_, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	renamed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(at)
	}
	// Message 1 changes every 2 ms while the others are renamed.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; renamed() < len(uids); i++ {
		require.True(t, time.Now().Before(deadline), "renames did not end")
		toggleFlagged(t, m, 1, i)
		time.Sleep(2 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	elapsed := at[len(at)-1].Sub(at[0])
	assert.GreaterOrEqual(t, elapsed, busy*3/2, "%d renames busy for %v took %v: the flusher did not pause", len(at), busy, elapsed)
}

// TestStoreFlushWaitsForClosingFolder: Store.Flush also waits for the
// renames of a folder whose last handle is closing (it is no longer among
// the open folders; a handle opened meanwhile gets another folder).
func TestStoreFlushWaitsForClosingFolder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, dir, a, m := lingeringInbox(t)
	uids := []mailbox.UID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	_, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	slow := func(uint32) { time.Sleep(20 * time.Millisecond) }
	renameHook.Store(&slow)
	t.Cleanup(func() { renameHook.Store(nil) })
	f := m.(*mbox).f
	closed := make(chan struct{})
	go func() {
		m.Close() // the last handle: renames the ten files, slowly
		close(closed)
	}()
	for {
		f.t.fmu.Lock()
		_, open := f.t.folders[f.dir]
		f.t.fmu.Unlock()
		if !open {
			break
		}
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, 10, carrying(t, dir, ":2,S"), "Store.Flush returned before the closing folder's renames")
	<-closed
	a.Close()
}
