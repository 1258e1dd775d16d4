package maildir

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A FIFO put in place of a message file cannot hang Open (O_NONBLOCK): the
// read fails instead.
func TestOpenFIFOInPlace(t *testing.T) {
	s := newTestStore(t)
	_, m := openInbox(t, s)
	uid, err := m.Append(context.Background(), strings.NewReader("Subject: x\r\n\r\nhi\r\n"), nil)
	require.NoError(t, err)
	path := onlyFile(t, s)
	require.NoError(t, os.Remove(path))
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan error, 1)
	go func() {
		_, err := readWhole(m, uid)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		// Unblock the open so the goroutine ends, then fail.
		f, _ := os.OpenFile(path, os.O_WRONLY, 0)
		if f != nil {
			f.Close()
		}
		t.Fatal("Open blocked on a FIFO")
	}
}

// Reading a message leaves its access time alone (O_NOATIME), so that a
// FETCH of a whole mailbox writes no inode.
func TestOpenNoAtime(t *testing.T) {
	s := newTestStore(t)
	_, m := openInbox(t, s)
	uid, err := m.Append(context.Background(), strings.NewReader("Subject: x\r\n\r\nhi\r\n"), nil)
	require.NoError(t, err)
	path := onlyFile(t, s)
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	atime := func(p string) time.Time {
		var st syscall.Stat_t
		require.NoError(t, syscall.Stat(p, &st))
		return time.Unix(st.Atim.Unix())
	}
	// A control file read the ordinary way: does this file system record
	// access times at all (relatime updates an atime older than the mtime)?
	ctl := filepath.Join(t.TempDir(), "control")
	require.NoError(t, os.WriteFile(ctl, []byte("x"), 0o600))
	require.NoError(t, os.Chtimes(ctl, old, time.Now()))
	_, err = os.ReadFile(ctl)
	require.NoError(t, err)
	if atime(ctl).Equal(old) {
		t.Skip("this file system does not record access times")
	}
	require.NoError(t, os.Chtimes(path, old, time.Now()))
	r, err := m.Open(context.Background(), uid)
	require.NoError(t, err)
	_, err = io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	require.Equal(t, old, atime(path).UTC())
}
