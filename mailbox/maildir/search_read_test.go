package maildir

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// TestReadMessage: ReadMessage appends exactly what Open returns, from
// new/ and from cur/, follows a file another process renamed, and fails
// like Open and Read for a file whose size changed and for an unknown UID.
func TestReadMessage(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	mb := aliceInbox(t, s)
	mr := mb.(mailbox.MessageReader)
	bodies := []string{"Subject: a\r\n\r\nfirst\r\n", "Subject: b\r\n\r\n" + strings.Repeat("second\r\n", 3000)}
	var uids []mailbox.UID
	for _, b := range bodies {
		u, err := mb.Append(ctx, strings.NewReader(b), nil)
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, u)
	}
	check := func(what string, uid mailbox.UID, want string) {
		t.Helper()
		got, err := mr.ReadMessage(ctx, uid, []byte("prefix"))
		if err != nil || string(got) != "prefix"+want {
			t.Fatalf("%s: ReadMessage = %.40q…, %v", what, got, err)
		}
	}
	check("in new/", uids[0], bodies[0])
	check("large", uids[1], bodies[1])
	if _, err := mb.SetFlags(ctx, uids[:1], mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if err := mb.(Flusher).Flush(ctx); err != nil { // the rename is written behind
		t.Fatal(err)
	}
	check("in cur/", uids[0], bodies[0])

	// Another program renames the file (a flag change of its own).
	dir := filepath.Join(s.Root, "alice", "cur")
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("cur/ holds %d files", len(ents))
	}
	old := filepath.Join(dir, ents[0].Name())
	if err := os.Rename(old, strings.TrimSuffix(old, "S")+"FS"); err != nil {
		t.Fatal(err)
	}
	check("renamed outside", uids[0], bodies[0])

	// A file whose size changed: the same error as Open.
	ents, _ = os.ReadDir(filepath.Join(s.Root, "alice", "new"))
	if err := os.WriteFile(filepath.Join(s.Root, "alice", "new", ents[0].Name()), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, openErr := mb.Open(ctx, uids[1])
	if openErr == nil {
		_, openErr = io.ReadAll(rc)
		rc.Close()
	}
	if _, err := mr.ReadMessage(ctx, uids[1], nil); err == nil || openErr == nil {
		t.Errorf("changed file: ReadMessage %v, Open and read %v", err, openErr)
	}
	if _, err := mr.ReadMessage(ctx, 99, nil); !errors.Is(err, mailbox.ErrNotExist) {
		t.Errorf("unknown UID: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := mr.ReadMessage(cctx, uids[0], nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// aliceInbox opens alice's INBOX for the test.
func aliceInbox(t *testing.T, s *Store) mailbox.Mailbox {
	t.Helper()
	a, err := s.Open(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	mb, err := a.Mailbox(context.Background(), mailbox.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}

// TestReadMessageAllocs: on Linux a message read into a buffer large
// enough costs no allocation (Open allocates the *os.File and more).
func TestReadMessageAllocs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the allocation-free path is Linux's")
	}
	ctx := context.Background()
	s := newTestStore(t)
	mb := aliceInbox(t, s)
	uid, err := mb.Append(ctx, strings.NewReader("Subject: a\r\n\r\nbody\r\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mr := mb.(mailbox.MessageReader)
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := mr.ReadMessage(ctx, uid, buf[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadMessage allocates %v times", allocs)
	}
}
