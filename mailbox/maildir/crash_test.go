package maildir

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// crashBody is the message the crash child appends as number n of run r:
// sizes vary from a few bytes to a few hundred KiB so that kills land
// inside writes of every size.
func crashBody(run, n int) []byte {
	size := (run*131 + n*977) % 200_000
	if n%5 == 0 {
		size %= 100
	}
	head := fmt.Sprintf("Subject: run %d message %d\r\n\r\n", run, n)
	b := make([]byte, 0, len(head)+size)
	b = append(b, head...)
	for i := 0; len(b) < len(head)+size; i++ {
		b = append(b, byte('a'+(run+n+i)%26))
	}
	return b
}

// TestHelperProcess is the child of TestCrashRecovery: it appends messages
// in a loop, printing "uid n" after each Append returns, until killed.
func TestHelperProcess(t *testing.T) {
	root := os.Getenv("POSTHORN_MAILDIR_CRASH_ROOT")
	if root == "" {
		t.Skip("helper for TestCrashRecovery")
	}
	run, _ := strconv.Atoi(os.Getenv("POSTHORN_MAILDIR_CRASH_RUN"))
	compactSlack = 4 << 10                                              // compact every few dozen records: kills land in compactions too
	limit, _ := strconv.Atoi(os.Getenv("POSTHORN_MAILDIR_CRASH_COUNT")) // 0: until killed
	ctx := context.Background()
	acct, m := helperInbox(root)
	w := bufio.NewWriter(os.Stdout)
	for n := 0; limit == 0 || n < limit; n++ {
		var flags []mailbox.Flag
		if n%3 == 1 {
			flags = []mailbox.Flag{mailbox.FlagSeen, "$label"}
		}
		uid, err := m.Append(ctx, bytes.NewReader(crashBody(run, n)), &mailbox.AppendOptions{Flags: flags})
		if err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(w, uid, n)
		w.Flush()
		if n%7 == 3 { // some flag changes between appends
			m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
		}
	}
	m.Close()
	acct.Close()
}

// TestTwoProcesses runs two processes appending to the same INBOX at once:
// the lock file keeps their UIDs distinct and the index whole.
func TestTwoProcesses(t *testing.T) {
	root := t.TempDir()
	s := &Store{Root: root, PollInterval: -1}
	ctx := context.Background()
	if err := s.CreateUser(ctx, "crash"); err != nil {
		t.Fatal(err)
	}
	// This process holds the folder open too, and must learn of both.
	acct, err := s.Open(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	defer acct.Close()
	var added []mailbox.UID
	var mu sync.Mutex
	defer acct.Watch(func(ev mailbox.Event) {
		if ev.Kind == mailbox.EventMessagesAdded {
			mu.Lock()
			added = append(added, ev.UIDs...)
			mu.Unlock()
		}
	})()
	m, err := acct.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const each = 40
	outs := make([][]byte, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "POSTHORN_MAILDIR_CRASH_ROOT="+root,
				"POSTHORN_MAILDIR_CRASH_RUN="+strconv.Itoa(i), "POSTHORN_MAILDIR_CRASH_COUNT="+strconv.Itoa(each))
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("child %d: %v\n%s", i, err, out)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	seen := map[mailbox.UID]sent{}
	for i, out := range outs {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var uid, n int
			if _, err := fmt.Sscan(l, &uid, &n); err != nil {
				continue // the test binary's own PASS lines
			}
			if prev, dup := seen[mailbox.UID(uid)]; dup {
				t.Fatalf("UID %d given to child %d message %d and child %d message %d", uid, prev.run, prev.n, i, n)
			}
			seen[mailbox.UID(uid)] = sent{i, n}
		}
	}
	if len(seen) != 2*each {
		t.Fatalf("children reported %d appends, want %d", len(seen), 2*each)
	}
	for uid, w := range seen {
		r, err := m.Open(ctx, uid)
		if err != nil {
			t.Fatalf("UID %d: %v", uid, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(b, crashBody(w.run, w.n)) {
			t.Fatalf("UID %d holds other bytes", uid)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(added) != 2*each {
		t.Errorf("this process's watcher saw %d added UIDs, want %d", len(added), 2*each)
	}
}

// TestCrashRecovery kills an appending child process with SIGKILL at random
// moments, at least 50 times, and checks after each kill that every message
// whose UID the child printed is present and byte-identical, that no UID
// was handed out twice, and that the store opens cleanly.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root := t.TempDir()
	s := &Store{Root: root, PollInterval: -1}
	if err := s.CreateUser(context.Background(), "crash"); err != nil {
		t.Fatal(err)
	}
	acked := map[mailbox.UID]sent{}
	var uidValidity uint32
	deadline := time.Now().Add(20 * time.Second)
	kills := 0
	for run := 0; kills < 60 && time.Now().Before(deadline); run++ {
		// Kill after the child has started appending, at a random moment.
		got := killChildAtRandom(t, run, "TestHelperProcess", "POSTHORN_MAILDIR_CRASH_ROOT="+root, "POSTHORN_MAILDIR_CRASH_RUN="+strconv.Itoa(run))
		kills++
		for _, l := range got {
			if strings.HasPrefix(l, "error") || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "===") {
				t.Fatalf("run %d: child: %s", run, l)
			}
			var uid, n int
			if _, err := fmt.Sscan(l, &uid, &n); err != nil {
				continue // a line cut by the kill
			}
			if prev, dup := acked[mailbox.UID(uid)]; dup {
				t.Fatalf("run %d: UID %d handed out twice (run %d message %d, now run %d message %d)", run, uid, prev.run, prev.n, run, n)
			}
			acked[mailbox.UID(uid)] = sent{run, n}
		}
		uidValidity = checkCrashStore(t, root, acked, uidValidity, run)
	}
	if kills < 50 {
		t.Fatalf("only %d kills within the time limit", kills)
	}
	t.Logf("%d kills, %d acknowledged appends", kills, len(acked))
}

type sent struct{ run, n int }

// reopenCrashInbox opens the INBOX of user crash under root with a new
// Store, as a restart after the kill of run would; closeInbox closes it
// (and its account), so that the next check loads the folder afresh.
func reopenCrashInbox(t *testing.T, root string, run int) (m mailbox.Mailbox, closeInbox func()) {
	t.Helper()
	ctx := context.Background()
	s := &Store{Root: root, PollInterval: -1}
	acct, err := s.Open(ctx, "crash")
	if err != nil {
		t.Fatalf("run %d: reopen: %v", run, err)
	}
	m, err = acct.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		acct.Close()
		t.Fatalf("run %d: INBOX after kill: %v", run, err)
	}
	return m, func() {
		m.Close()
		acct.Close()
	}
}

func checkCrashStore(t *testing.T, root string, acked map[mailbox.UID]sent, uidValidity uint32, run int) uint32 {
	t.Helper()
	ctx := context.Background()
	m, closeInbox := reopenCrashInbox(t, root, run)
	defer closeInbox()
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if uidValidity != 0 && st.UIDValidity != uidValidity {
		t.Fatalf("run %d: UIDVALIDITY changed from %d to %d: the index was rebuilt", run, uidValidity, st.UIDValidity)
	}
	present := map[mailbox.UID]bool{}
	for info, err := range m.Messages(ctx, 1) {
		if err != nil {
			t.Fatal(err)
		}
		present[info.UID] = true
	}
	for uid, w := range acked {
		if !present[uid] {
			t.Fatalf("run %d: UID %d (run %d message %d) lost after kill", run, uid, w.run, w.n)
		}
		if w.run != run { // older runs were checked already
			continue
		}
		r, err := m.Open(ctx, uid)
		if err != nil {
			t.Fatalf("run %d: open UID %d: %v", run, uid, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(b, crashBody(w.run, w.n)) {
			t.Fatalf("run %d: UID %d differs from what was appended (%d bytes, err %v)", run, uid, len(b), err)
		}
	}
	return st.UIDValidity
}

// killChildAtRandom runs the test helper (a test function of this package
// that acts when env is set) in a child process, SIGKILLs it at a random
// moment within 40 ms of its first line of output, and returns every line
// it printed.
func killChildAtRandom(t *testing.T, run int, helper string, env ...string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	first, ok := <-lines
	if !ok {
		cmd.Wait()
		t.Fatalf("run %d: child printed nothing", run)
	}
	time.Sleep(time.Duration(rand.IntN(40_000)) * time.Microsecond)
	cmd.Process.Signal(syscall.SIGKILL)
	got := []string{first}
	for l := range lines {
		got = append(got, l)
	}
	cmd.Wait()
	return got
}

// helperInbox opens user crash's account and INBOX under root for a
// helper process, which exits with status 2 after printing "error …" when
// it cannot.
func helperInbox(root string) (mailbox.Account, mailbox.Mailbox) {
	ctx := context.Background()
	s := &Store{Root: root, PollInterval: -1}
	acct, err := s.Open(ctx, "crash")
	if err == nil {
		var m mailbox.Mailbox
		if m, err = acct.Mailbox(ctx, mailbox.Inbox); err == nil {
			return acct, m
		}
	}
	fmt.Println("error", err)
	os.Exit(2)
	return nil, nil
}
