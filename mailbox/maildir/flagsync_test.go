package maildir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

// TestFlagChangeLostInCrash: flag changes are not fsynced, so a crash may
// lose the index record, the rename, or both; the store reopened over the
// tree then agrees with the file names.
func TestFlagChangeLostInCrash(t *testing.T) {
	for _, lost := range []string{"record", "rename"} {
		t.Run(lost, func(t *testing.T) {
			s := newTestStore(t)
			ctx := context.Background()
			dir := filepath.Join(s.Root, "alice")
			a, err := s.Open(ctx, "alice")
			require.NoError(t, err)
			m, err := a.Mailbox(ctx, mailbox.Inbox)
			require.NoError(t, err)
			uid, err := m.Append(ctx, strings.NewReader("Subject: x\r\n\r\nx\r\n"), nil)
			require.NoError(t, err)
			settle(t, dir)
			_, err = m.Status(ctx) // records the settled directories
			require.NoError(t, err)
			before, err := os.Stat(filepath.Join(dir, indexFile))
			require.NoError(t, err)
			oldNames := dirNames(t, filepath.Join(dir, "new"))
			require.Len(t, oldNames, 1)
			_, err = m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
			require.NoError(t, err)
			m.Close()
			a.Close()

			want := []mailbox.Flag{mailbox.FlagSeen}
			switch lost {
			case "record":
				require.NoError(t, os.Truncate(filepath.Join(dir, indexFile), before.Size()))
			case "rename":
				cur := dirNames(t, filepath.Join(dir, "cur"))
				require.Len(t, cur, 1)
				require.NoError(t, os.Rename(filepath.Join(dir, "cur", cur[0]), filepath.Join(dir, "new", oldNames[0])))
				want = nil
			}
			s2 := &Store{Root: s.Root, Users: s.Users, PollInterval: -1}
			_, m2 := openInbox(t, s2)
			infos := listAll(t, m2)
			require.Len(t, infos, 1)
			assert.Equal(t, uid, infos[0].UID, "the UID survives")
			assert.Equal(t, want, infos[0].Flags)
			assert.Equal(t, "Subject: x\r\n\r\nx\r\n", readAll(t, m2, uid))
		})
	}
}

// TestCurReplaced: Open and SetFlags keep new/ and cur/ open; when another
// program replaces cur/ with a new directory holding the same files, they
// open it again.
func TestCurReplaced(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	uid, err := m.Append(ctx, strings.NewReader("Subject: y\r\n\r\ny\r\n"), &mailbox.AppendOptions{Flags: []mailbox.Flag{mailbox.FlagSeen}})
	require.NoError(t, err)
	assert.Equal(t, "Subject: y\r\n\r\ny\r\n", readAll(t, m, uid)) // cur/ now held open
	dir := filepath.Join(s.Root, "alice")
	replace := func() {
		require.NoError(t, os.Rename(filepath.Join(dir, "cur"), filepath.Join(dir, "cur.old")))
		require.NoError(t, os.Mkdir(filepath.Join(dir, "cur"), 0o700))
		for _, name := range dirNames(t, filepath.Join(dir, "cur.old")) {
			require.NoError(t, os.Rename(filepath.Join(dir, "cur.old", name), filepath.Join(dir, "cur", name)))
		}
		require.NoError(t, os.Remove(filepath.Join(dir, "cur.old")))
	}
	replace()
	assert.Equal(t, "Subject: y\r\n\r\ny\r\n", readAll(t, m, uid))
	replace()
	_, err = m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
	require.NoError(t, err)
	require.NoError(t, m.(Flusher).Flush(ctx))
	names := dirNames(t, filepath.Join(dir, "cur"))
	require.Len(t, names, 1)
	assert.True(t, strings.HasSuffix(names[0], ":2,FS"), names[0])
}
