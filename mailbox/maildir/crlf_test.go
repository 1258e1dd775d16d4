package maildir

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

// assertCRLF fails unless every line of b ends in CRLF and no CR stands alone.
func assertCRLF(t *testing.T, b []byte) {
	t.Helper()
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			t.Fatalf("bare LF at offset %d of %q", i, b)
		}
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			t.Fatalf("bare CR at offset %d of %q", i, b)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestAdoptConvertsToCRLF: files with bare LF (or bare CR) endings dropped
// into new/ and cur/ are rewritten in CRLF form, their ",S=" fixed and their
// flags kept, so that Size is what Open returns; a CRLF file is untouched.
func TestAdoptConvertsToCRLF(t *testing.T) {
	s, m, dir := settledInbox(t)

	lf := "From: a@example.org\nSubject: lf\n\nline one\nline two\n"
	cr := "Subject: old mac\r\rbody\r"
	crlf := "Subject: crlf\r\n\r\nalready fine\r\n"
	lfFlagged := "Subject: seen\n\nbody\n"
	write := func(rel, data string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), []byte(data), 0o600))
	}
	write("new/1700000010.lf.host", lf)
	write("new/1700000011.cr.host", cr)
	write("new/1700000012.crlf.host", crlf)
	write("cur/1700000013.seen.host,S=20:2,FS", lfFlagged)
	crlfBefore, err := os.Stat(filepath.Join(dir, "new/1700000012.crlf.host"))
	require.NoError(t, err)

	infos := listAll(t, m)
	require.Len(t, infos, 4)
	want := []string{
		strings.ReplaceAll(lf, "\n", "\r\n"),
		"Subject: old mac\r\n\r\nbody\r\n",
		crlf,
		strings.ReplaceAll(lfFlagged, "\n", "\r\n"),
	}
	for i, info := range infos {
		got := []byte(readAll(t, m, info.UID))
		assert.Equal(t, want[i], string(got))
		assert.EqualValues(t, len(got), info.Size, "Size of message %d", i)
		assertCRLF(t, got)
	}
	assert.Equal(t, []mailbox.Flag{mailbox.FlagFlagged, mailbox.FlagSeen}, infos[3].Flags)

	assert.ElementsMatch(t, []string{
		"1700000010.lf.host,S=" + itoa(len(want[0])),
		"1700000011.cr.host,S=" + itoa(len(want[1])),
		"1700000012.crlf.host",
	}, dirNames(t, filepath.Join(dir, "new")))
	assert.Equal(t, []string{"1700000013.seen.host,S=" + itoa(len(want[3])) + ":2,FS"}, dirNames(t, filepath.Join(dir, "cur")))
	assert.Empty(t, dirNames(t, filepath.Join(dir, "tmp")))
	crlfAfter, err := os.Stat(filepath.Join(dir, "new/1700000012.crlf.host"))
	require.NoError(t, err)
	assert.True(t, os.SameFile(crlfBefore, crlfAfter), "a CRLF file was rewritten")

	// A fresh store over the tree (the index reloaded) agrees.
	s2 := &Store{Root: s.Root, Users: s.Users, PollInterval: -1}
	_, m2 := openInbox(t, s2)
	again := listAll(t, m2)
	require.Len(t, again, 4)
	for i := range again {
		assert.Equal(t, infos[i].UID, again[i].UID)
		assert.Equal(t, infos[i].Size, again[i].Size)
	}
}

// TestAdoptConvertedCopyLeftByCrash: a crash between writing the converted
// copy and removing the original leaves both; the next scan keeps one
// message, the CRLF copy.
func TestAdoptConvertedCopyLeftByCrash(t *testing.T) {
	_, m, dir := settledInbox(t)
	lf := "Subject: twice\n\nbody\n"
	conv := strings.ReplaceAll(lf, "\n", "\r\n")
	name := "1700000020.crash.host"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", name), []byte(lf), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", name+",S="+itoa(len(conv))), []byte(conv), 0o600))
	infos := listAll(t, m)
	require.Len(t, infos, 1)
	assert.Equal(t, conv, readAll(t, m, infos[0].UID))
	assert.Equal(t, []string{name + ",S=" + itoa(len(conv))}, dirNames(t, filepath.Join(dir, "new")))
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestWithSize(t *testing.T) {
	for _, c := range []struct {
		name string
		size int64
		want string
	}{
		{"1.x.host", 7, "1.x.host,S=7"},
		{"1.x.host:2,S", 7, "1.x.host,S=7:2,S"},
		{"1.x.host,S=5:2,S", 7, "1.x.host,S=7:2,S"},
		{"1.x.host,S=5,W=7:2,", 7, "1.x.host,S=7,W=7:2,"},
		{"1.x.host,S=:2,a", 12, "1.x.host,S=12:2,a"},
	} {
		assert.Equal(t, c.want, withSize(c.name, c.size), c.name)
	}
}

// crlfConvert runs data through crlfWriter.
func crlfConvert(t *testing.T, data []byte) []byte {
	var out bytes.Buffer
	cw := &crlfWriter{w: bufio.NewWriter(&out)}
	_, err := cw.Write(data)
	require.NoError(t, err)
	require.NoError(t, cw.Close())
	return out.Bytes()
}

func FuzzCRLF(f *testing.F) {
	for _, s := range []string{"", "a", "\n", "\r", "\r\n", "\n\r", "a\nb\r\nc\rd", "\r\r\n\n", "x\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bare, size, err := crlfCheck(bytes.NewReader(data), make([]byte, 3))
		require.NoError(t, err)
		out := crlfConvert(t, data)
		// The conversion has the size crlfCheck predicts, only CRLF line
		// endings, and changes nothing when there is nothing bare.
		assert.EqualValues(t, size, len(out))
		assertCRLF(t, out)
		assert.Equal(t, !bare, bytes.Equal(out, data))
		// It is idempotent, and only adds line-ending bytes.
		bare2, size2, _ := crlfCheck(bytes.NewReader(out), make([]byte, 5))
		assert.False(t, bare2)
		assert.Equal(t, size, size2)
		assert.Equal(t, out, crlfConvert(t, out))
		strip := func(b []byte) []byte {
			return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"), nil)
		}
		assert.Equal(t, string(strip(data)), string(strip(out)))
	})
}

// TestAdoptNoRoomForSize: a bare-LF file whose name has no room for ",S="
// within 255 bytes is adopted as it is, its Size the file's.
func TestAdoptNoRoomForSize(t *testing.T) {
	_, m, dir := settledInbox(t)
	name := "1700000030." + strings.Repeat("x", 239) + ".host"
	require.Len(t, name, 255)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", name), []byte("a\nb\n"), 0o600))
	infos := listAll(t, m)
	require.Len(t, infos, 1)
	assert.EqualValues(t, 4, infos[0].Size)
	assert.Equal(t, "a\nb\n", readAll(t, m, infos[0].UID))
	assert.Equal(t, []string{name}, dirNames(t, filepath.Join(dir, "new")))
}

// settledInbox opens alice's INBOX of a fresh store, its directories
// settled and scanned, and returns its directory too.
func settledInbox(t *testing.T) (*Store, mailbox.Mailbox, string) {
	t.Helper()
	s := newTestStore(t)
	dir := filepath.Join(s.Root, "alice")
	_, m := openInbox(t, s)
	settle(t, dir)
	_, err := m.Status(context.Background())
	require.NoError(t, err)
	return s, m, dir
}
