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

// A FIFO put in place of a message file cannot hang Open or ReadMessage
// (O_NONBLOCK): the read fails instead.
func TestOpenFIFOInPlace(t *testing.T) {
	for _, how := range []string{"Open", "ReadMessage"} {
		t.Run(how, func(t *testing.T) {
			s := newTestStore(t)
			_, m := openInbox(t, s)
			uid, err := m.Append(context.Background(), strings.NewReader("Subject: x\r\n\r\nhi\r\n"), nil)
			require.NoError(t, err)
			path := onlyFile(t, s)
			require.NoError(t, os.Remove(path))
			require.NoError(t, syscall.Mkfifo(path, 0o600))
			done := make(chan error, 1)
			go func() {
				var err error
				if how == "Open" {
					_, err = readWhole(m, uid)
				} else {
					_, err = m.(*mbox).ReadMessage(context.Background(), uid, nil)
				}
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
				t.Fatal(how + " blocked on a FIFO")
			}
		})
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
	require.Equal(t, old, atime(path).UTC(), "Open")
	_, err = m.(*mbox).ReadMessage(context.Background(), uid, nil)
	require.NoError(t, err)
	require.Equal(t, old, atime(path).UTC(), "ReadMessage")
}

// BenchmarkOpenRead opens a 4 KiB message and reads it whole, as FETCH
// BODY[] does: into a buffer with room past the end (one pread(2) checks
// the size), and into one of the exact size (preadv(2) with a second
// buffer of one octet).
func BenchmarkOpenRead(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	a, err := s.Open(ctx, "alice")
	require.NoError(b, err)
	defer a.Close()
	m, err := a.Mailbox(ctx, "INBOX")
	require.NoError(b, err)
	defer m.Close()
	msg := "Subject: x\r\n\r\n" + strings.Repeat("0123456789abcde\r\n", 4096/17)
	uid, err := m.Append(ctx, strings.NewReader(msg), nil)
	require.NoError(b, err)
	for _, mode := range []string{"room", "exact"} {
		b.Run(mode, func(b *testing.B) {
			buf := make([]byte, len(msg)+1)
			if mode == "exact" {
				buf = buf[:len(msg)]
			}
			b.ReportAllocs()
			for b.Loop() {
				r, err := m.Open(ctx, uid)
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := r.(io.ReaderAt).ReadAt(buf, 0); n != len(msg) {
					b.Fatal(n)
				}
				r.Close()
			}
		})
	}
}
