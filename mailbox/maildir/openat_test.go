package maildir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/stretchr/testify/require"
)

// onlyFile returns the path of the only message file of alice's INBOX.
func onlyFile(t *testing.T, s *Store) string {
	t.Helper()
	var names []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(s.Root, "alice", sub))
		require.NoError(t, err)
		for _, e := range ents {
			names = append(names, filepath.Join(s.Root, "alice", sub, e.Name()))
		}
	}
	require.Len(t, names, 1)
	return names[0]
}

// readWhole reads the message uid whole, as FETCH BODY[] or RETR do, and with
// ReadAt at its end.
func readWhole(m mailbox.Mailbox, uid mailbox.UID) ([]byte, error) {
	r, err := m.Open(context.Background(), uid)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return data, err
	}
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return data, nil
	}
	size := int64(len(data))
	// The whole message again: into a buffer of its size (no room for
	// the octet past the end), and into a larger one; then the tail.
	for _, c := range []struct{ n, off int64 }{{size, 0}, {size + 5, 0}, {10, size - 1}} {
		buf := make([]byte, c.n)
		n, err := ra.ReadAt(buf, c.off)
		if err != nil && err != io.EOF {
			return data, err
		}
		if int64(n) != size-c.off {
			return data, fmt.Errorf("ReadAt(%d octets at %d): %d", c.n, c.off, n)
		}
	}
	return data, nil
}

// A message file changed by another program after it was indexed, shorter
// or longer than the index says, fails the read that meets the difference
// (or Open, for a large file) with a "changed on disk" error: the store
// never hands out fewer or other octets than MessageInfo.Size says without
// saying so.
func TestOpenChangedOnDisk(t *testing.T) {
	small := "Subject: x\r\n\r\n" + strings.Repeat("body line\r\n", 100)
	large := "Subject: x\r\n\r\n" + strings.Repeat("body line\r\n", (statMin+100)/11)
	for _, tc := range []struct {
		name   string
		msg    string
		change func(old string) string
	}{
		{"small shorter", small, func(s string) string { return s[:len(s)-1] }},
		{"small longer", small, func(s string) string { return s + "x" }},
		{"small empty", small, func(string) string { return "" }},
		{"large shorter", large, func(s string) string { return s[:len(s)-1] }},
		{"large longer", large, func(s string) string { return s + "x" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			_, m := openInbox(t, s)
			uid, err := m.Append(context.Background(), strings.NewReader(tc.msg), nil)
			require.NoError(t, err)
			data, err := readWhole(m, uid)
			require.NoError(t, err)
			require.Equal(t, tc.msg, string(data))

			require.NoError(t, os.WriteFile(onlyFile(t, s), []byte(tc.change(tc.msg)), 0o600))
			if len(tc.msg) >= statMin {
				// Large: refused by Open, before anything streams it.
				_, err = m.Open(context.Background(), uid)
				require.ErrorContains(t, err, "changed on disk")
			}
			_, err = readWhole(m, uid)
			require.ErrorContains(t, err, "changed on disk")
			if len(tc.msg) >= statMin {
				return
			}
			// Each way to reach the end notices: a buffer of the
			// message's size, and one with room past it.
			for _, n := range []int{len(tc.msg), len(tc.msg) + 5} {
				r, err := m.Open(context.Background(), uid)
				require.NoError(t, err)
				_, err = r.(io.ReaderAt).ReadAt(make([]byte, n), 0)
				r.Close()
				require.ErrorContains(t, err, "changed on disk", "ReadAt into %d octets", n)
			}
		})
	}
}

// Every way of reading the message gives the same octets: Read in small
// and odd pieces, ReadAt anywhere (io.EOF past the end), Seek.
func TestOpenReadPatterns(t *testing.T) {
	s := newTestStore(t)
	_, m := openInbox(t, s)
	msg := "Subject: x\r\n\r\n" + strings.Repeat("0123456789", 500)
	uid, err := m.Append(context.Background(), strings.NewReader(msg), nil)
	require.NoError(t, err)
	r, err := m.Open(context.Background(), uid)
	require.NoError(t, err)
	defer r.Close()
	var got bytes.Buffer
	buf := make([]byte, 7)
	for {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	require.Equal(t, msg, got.String())
	ra := r.(io.ReaderAt)
	n, err := ra.ReadAt(buf, 3)
	require.NoError(t, err)
	require.Equal(t, msg[3:10], string(buf[:n]))
	n, err = ra.ReadAt(buf, int64(len(msg)-3))
	require.Equal(t, io.EOF, err)
	require.Equal(t, msg[len(msg)-3:], string(buf[:n]))
	_, err = ra.ReadAt(buf, int64(len(msg)))
	require.Equal(t, io.EOF, err)
	sk := r.(io.Seeker)
	pos, err := sk.Seek(-5, io.SeekEnd)
	require.NoError(t, err)
	require.EqualValues(t, len(msg)-5, pos)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, msg[len(msg)-5:], string(rest))
	require.NoError(t, r.Close())
	require.True(t, errors.Is(r.Close(), os.ErrClosed), "a second Close says the file is closed")
}
