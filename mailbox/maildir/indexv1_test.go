package maildir

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

// v1Fixture is a folder written by the store before write-behind flag
// renames (index records H, A, F, N and X): UIDs 1-5 were
// appended, 2 got \Flagged and 3 got +$label through SetFlags, 4 was renamed
// by an outside program to :2,RS, 5 was expunged.
const v1Fixture = "testdata/index-v1"

// TestMakeV1Fixture writes the fixture again when POSTHORN_WRITE_V1_FIXTURE
// is set (only meaningful with the store as it was when the format was 1
// without write-behind records; kept to document how it was made).
func TestMakeV1Fixture(t *testing.T) {
	if os.Getenv("POSTHORN_WRITE_V1_FIXTURE") == "" {
		t.Skip("set POSTHORN_WRITE_V1_FIXTURE=1 to write " + v1Fixture)
	}
	ctx := context.Background()
	s := newTestStore(t)
	_, m := openInbox(t, s)
	var uids []mailbox.UID
	for i, fl := range [][]mailbox.Flag{nil, nil, {mailbox.FlagSeen}, nil, nil} {
		uid, err := m.Append(ctx, strings.NewReader("Subject: "+itoa(i)+"\r\n\r\nbody\r\n"), &mailbox.AppendOptions{Flags: fl})
		require.NoError(t, err)
		uids = append(uids, uid)
	}
	_, err := m.SetFlags(ctx, uids[1:2], mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
	require.NoError(t, err)
	_, err = m.SetFlags(ctx, uids[2:3], mailbox.FlagsAdd, []mailbox.Flag{"$label"}, 0)
	require.NoError(t, err)
	_, err = m.Expunge(ctx, uids[4:5])
	require.NoError(t, err)
	dir := filepath.Join(s.Root, "alice")
	old := dirNames(t, filepath.Join(dir, "new")) // UIDs 1 and 4, in time order
	slices.Sort(old)
	require.Len(t, old, 2)
	require.NoError(t, os.Rename(filepath.Join(dir, "new", old[1]), filepath.Join(dir, "cur", old[1]+":2,RS")))
	_, err = m.Status(ctx) // scans: an N record with a MODSEQ
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(v1Fixture))
	for _, sub := range []string{"new", "cur"} {
		require.NoError(t, os.MkdirAll(filepath.Join(v1Fixture, sub), 0o755))
		for _, n := range dirNames(t, filepath.Join(dir, sub)) {
			b, err := os.ReadFile(filepath.Join(dir, sub, n))
			require.NoError(t, err)
			// ":" may not appear in a Go module's file names: "!" stands for it.
			require.NoError(t, os.WriteFile(filepath.Join(v1Fixture, sub, strings.ReplaceAll(n, ":", "!")), b, 0o644))
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, indexFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(v1Fixture, indexFile), b, 0o644))
}

// TestLoadV1Index loads an index written by the store before write-behind
// renames: every UID, flag, keyword and MODSEQ is read back, the scan finds
// the files where the index says (no change, no event), and the folder
// works on.
func TestLoadV1Index(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	dir := filepath.Join(s.Root, "alice")
	require.NoError(t, fs.WalkDir(os.DirFS(v1Fixture), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join(v1Fixture, p))
		if err != nil {
			return err
		}
		to := filepath.Join(dir, strings.ReplaceAll(p, "!", ":"))
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	}))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tmp"), 0o700))
	a, m := openInbox(t, s)
	var evs events
	defer a.Watch(evs.add)()
	infos := listAll(t, m)
	require.Len(t, infos, 4)
	want := []struct {
		uid    mailbox.UID
		flags  []mailbox.Flag
		modseq mailbox.ModSeq
	}{
		{1, nil, 2},
		{2, []mailbox.Flag{mailbox.FlagFlagged}, 7},
		{3, []mailbox.Flag{mailbox.FlagSeen, "$label"}, 8},
		{4, []mailbox.Flag{mailbox.FlagAnswered, mailbox.FlagSeen}, 10},
	}
	for i, w := range want {
		assert.Equal(t, w.uid, infos[i].UID)
		assert.Equal(t, w.flags, infos[i].Flags, "UID %d", w.uid)
		assert.Equal(t, w.modseq, infos[i].ModSeq, "UID %d", w.uid)
		assert.Equal(t, "Subject: "+itoa(int(w.uid)-1)+"\r\n\r\nbody\r\n", readAll(t, m, w.uid))
	}
	st, err := m.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, mailbox.UID(6), st.UIDNext)
	assert.Equal(t, mailbox.ModSeq(10), st.HighestModSeq)
	gone, err := m.Vanished(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, []mailbox.UID{5}, gone)
	assert.Empty(t, evs.take(), "loading an old index changes nothing")
	// The folder goes on working on the old log.
	_, err = m.SetFlags(ctx, []mailbox.UID{1}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagDeleted}, 0)
	require.NoError(t, err)
	_, m2 := openInbox(t, &Store{Root: s.Root, Users: s.Users, PollInterval: -1})
	assert.Equal(t, []mailbox.Flag{mailbox.FlagDeleted}, listAll(t, m2)[0].Flags)
}
