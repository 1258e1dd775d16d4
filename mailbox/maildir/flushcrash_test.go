package maildir

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// flagCrashN is how many messages the flag crash test works on.
const flagCrashN = 300

// stale counts the files TestFlagCrash found not yet renamed after a kill.
var stale int

// flagOp is change number i of run r of the flag crash child: FLAGS (a
// replace) of a range of UIDs, with a keyword in one change of four (an
// fsynced record) and system flags only otherwise.
func flagOp(run, i int) (lo, hi mailbox.UID, flags []mailbox.Flag) {
	rng := rand.New(rand.NewPCG(uint64(run), uint64(i)))
	lo = mailbox.UID(1 + rng.IntN(flagCrashN))
	hi = min(lo+mailbox.UID(rng.IntN(120)), flagCrashN)
	all := []mailbox.Flag{mailbox.FlagSeen, mailbox.FlagFlagged, mailbox.FlagAnswered, mailbox.FlagDraft, mailbox.FlagDeleted}
	for j, f := range all {
		if rng.IntN(2) == 0 || (j == 0 && i%2 == 0) {
			flags = append(flags, f)
		}
	}
	if i%4 == 0 {
		flags = append(flags, mailbox.Flag("$k"+strconv.Itoa(i%3)))
	}
	flags, _ = mailbox.CanonicalFlags(flags)
	return lo, hi, flags
}

// TestFlagHelperProcess is the child of TestFlagCrash: it changes flags in
// a loop, printing "begin i" before and "ok i" after each SetFlags, until
// killed.
func TestFlagHelperProcess(t *testing.T) {
	root := os.Getenv("POSTHORN_MAILDIR_FLAGCRASH_ROOT")
	if root == "" {
		t.Skip("helper for TestFlagCrash")
	}
	run, _ := strconv.Atoi(os.Getenv("POSTHORN_MAILDIR_FLAGCRASH_RUN"))
	compactSlack = 4 << 10 // compact often: kills land in snapshots holding W records
	flushQuiet.Store(0)    // rename during the burst: kills land in flushes
	ctx := context.Background()
	_, m := helperInbox(root)
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		lo, hi, flags := flagOp(run, i)
		var uids []mailbox.UID
		for u := lo; u <= hi; u++ {
			uids = append(uids, u)
		}
		fmt.Fprintln(w, "begin", i)
		w.Flush()
		if _, err := m.SetFlags(ctx, uids, mailbox.FlagsReplace, flags, 0); err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(w, "ok", i)
		w.Flush()
	}
}

// TestFlagCrash kills a child process changing flags (its files renamed
// behind) with SIGKILL at random moments and checks after each kill, on a
// fresh load of the folder, that every acknowledged flag change is there
// (the change in flight may or may not be), and that after a flush every
// file name carries the flags the index says. In every other run this
// process reads the messages while the child renames them: every Open
// succeeds.
func TestFlagCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root := t.TempDir()
	s := &Store{Root: root, PollInterval: -1}
	ctx := context.Background()
	if err := s.CreateUser(ctx, "crash"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "crash")
	fillNew(t, dir, flagCrashN)
	want := map[mailbox.UID][]mailbox.Flag{} // the acknowledged state
	deadline := time.Now().Add(8 * time.Second)
	kills, acked := 0, 0
	for run := 0; kills < 40 && time.Now().Before(deadline); run++ {
		var reader *readerLoop
		if run%2 == 1 {
			reader = startReader(t, s)
		}
		got := killChildAtRandom(t, run, "TestFlagHelperProcess", "POSTHORN_MAILDIR_FLAGCRASH_ROOT="+root, "POSTHORN_MAILDIR_FLAGCRASH_RUN="+strconv.Itoa(run))
		kills++
		if reader != nil {
			reader.stop(t, run)
		}
		inflight := -1
		for _, l := range got {
			var i int
			switch {
			case strings.HasPrefix(l, "error"), strings.HasPrefix(l, "---"):
				t.Fatalf("run %d: child: %s", run, l)
			case strings.HasPrefix(l, "begin "):
				if _, err := fmt.Sscan(l[6:], &i); err == nil {
					inflight = i
				}
			case strings.HasPrefix(l, "ok "):
				if _, err := fmt.Sscan(l[3:], &i); err == nil && i == inflight {
					lo, hi, flags := flagOp(run, i)
					for u := lo; u <= hi; u++ {
						want[u] = flags
					}
					inflight = -1
					acked++
				}
			}
		}
		checkFlagCrash(t, root, want, run, inflight)
	}
	if kills < 10 {
		t.Fatalf("only %d kills within the time limit", kills)
	}
	t.Logf("%d kills, %d acknowledged flag changes, %d renames left undone by a kill", kills, acked, stale)
	if stale == 0 {
		t.Error("no kill left a rename undone: the test did not test recovery")
	}
}

// readerLoop opens and reads every message over and over.
type readerLoop struct {
	acct mailbox.Account
	m    mailbox.Mailbox
	done chan struct{}
	wg   sync.WaitGroup
	err  error
	n    int
}

func startReader(t *testing.T, s *Store) *readerLoop {
	t.Helper()
	ctx := context.Background()
	acct, err := s.Open(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	m, err := acct.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	r := &readerLoop{acct: acct, m: m, done: make(chan struct{})}
	r.wg.Go(func() {
		for {
			for uid := mailbox.UID(1); uid <= flagCrashN; uid++ {
				select {
				case <-r.done:
					return
				default:
				}
				rc, err := m.Open(ctx, uid)
				if err != nil {
					r.err = fmt.Errorf("open UID %d: %w", uid, err)
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if w := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", uid-1, uid-1); err != nil || string(b) != w {
					r.err = fmt.Errorf("UID %d: %q, %v", uid, b, err)
					return
				}
				r.n++
			}
		}
	})
	return r
}

func (r *readerLoop) stop(t *testing.T, run int) {
	t.Helper()
	close(r.done)
	r.wg.Wait()
	r.m.Close()
	r.acct.Close()
	if r.err != nil {
		t.Fatalf("run %d: reading while the child renamed: %v", run, r.err)
	}
}

// checkFlagCrash loads the folder afresh and compares its flags with the
// acknowledged ones; the change in flight (inflight ≥ 0) may show or not.
// Then it flushes and compares the file names with the flags. want is
// updated to what was found.
func checkFlagCrash(t *testing.T, root string, want map[mailbox.UID][]mailbox.Flag, run, inflight int) {
	t.Helper()
	ctx := context.Background()
	if data, err := os.ReadFile(filepath.Join(root, "crash", indexFile)); err == nil {
		st := newState()
		st.readLog(data, nil)
		for i := range st.msgs {
			if st.msgs[i].pending() {
				stale++ // a rename the kill left undone
			}
		}
	}
	m, closeInbox := reopenCrashInbox(t, root, run)
	defer closeInbox()
	var lo, hi mailbox.UID
	var maybe []mailbox.Flag
	if inflight >= 0 {
		lo, hi, maybe = flagOp(run, inflight)
	}
	got := map[mailbox.UID][]mailbox.Flag{}
	for info, err := range m.Messages(ctx, 1) {
		if err != nil {
			t.Fatal(err)
		}
		got[info.UID] = info.Flags
	}
	if len(got) != flagCrashN {
		t.Fatalf("run %d: %d messages after kill, want %d", run, len(got), flagCrashN)
	}
	for uid, flags := range got {
		ok := slices.Equal(flags, want[uid])
		if !ok && uid >= lo && uid <= hi {
			ok = slices.Equal(flags, maybe)
		}
		if !ok {
			t.Fatalf("run %d: UID %d has flags %v after kill, acknowledged %v (in flight: %v)", run, uid, flags, want[uid], maybe)
		}
		want[uid] = flags
	}
	dir := filepath.Join(root, "crash")
	if err := m.(Flusher).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for uid, name := range filesByUID(t, dir) {
		var bits uint8
		sys, _ := splitFlags(got[uid])
		bits = sys
		fn, _ := parseName(filepath.Base(name))
		if fn.Flags != bits || (len(got[uid]) > 0 && !strings.HasPrefix(name, "cur/")) {
			t.Fatalf("run %d: UID %d file %s after a flush, flags %v", run, uid, name, got[uid])
		}
	}
}
