package maildir

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox"
)

// nearFile finds the file in a Maildir (new/ or cur/) whose content starts
// with "Subject: subj\r\n".
func nearFile(t *testing.T, dir, subj string) string {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			p := filepath.Join(dir, sub, e.Name())
			b, err := os.ReadFile(p)
			if err == nil && strings.HasPrefix(string(b), "Subject: "+subj+"\r\n") {
				return p
			}
		}
	}
	t.Fatalf("no message %q in %s", subj, dir)
	return ""
}

// TestMbsync: mbsync (isync) copies the store's tree, flags included, to
// another Maildir; then a flag set and a message delivered on the other
// side come back into the tree, and the store sees them.
func TestMbsync(t *testing.T) {
	mbsync := testpeer.Require(t, "mbsync", "isync")
	s := newTestStore(t)
	ctx := context.Background()
	a, m := openInbox(t, s)
	flags := [][]mailbox.Flag{nil, {mailbox.FlagSeen}, {mailbox.FlagFlagged, mailbox.FlagAnswered}}
	for i, fl := range flags {
		_, err := m.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i)), &mailbox.AppendOptions{Flags: fl})
		require.NoError(t, err)
	}
	require.NoError(t, a.Create(ctx, "Work", nil))
	w, err := a.Mailbox(ctx, "Work")
	require.NoError(t, err)
	defer w.Close()
	_, err = w.Append(ctx, strings.NewReader("Subject: w0\r\n\r\nwork\r\n"), nil)
	require.NoError(t, err)

	home := filepath.Join(s.Root, "alice")
	near := t.TempDir()
	conf := filepath.Join(t.TempDir(), "mbsyncrc")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`MaildirStore far
Inbox %[1]s
SubFolders Maildir++
AltMap yes

MaildirStore near
Path %[2]s/
Inbox %[2]s/INBOX
SubFolders Verbatim

Channel c
Far :far:
Near :near:
Patterns *
Create Near
Sync All
SyncState *
`, home, near)), 0o600))
	run := func() {
		t.Helper()
		cmd := exec.Command(mbsync, "-c", conf, "-a", "-q")
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "mbsync: %s", out)
	}
	run()

	infoOf := func(p string) string {
		_, info, _ := strings.Cut(filepath.Base(p), ":2,")
		return info
	}
	assert.Equal(t, "", infoOf(nearFile(t, filepath.Join(near, "INBOX"), "m0")))
	assert.Equal(t, "S", infoOf(nearFile(t, filepath.Join(near, "INBOX"), "m1")))
	assert.Equal(t, "FR", infoOf(nearFile(t, filepath.Join(near, "INBOX"), "m2")))
	nearFile(t, filepath.Join(near, "Work"), "w0")

	// On the near side: flag m0, deliver a new message.
	p := nearFile(t, filepath.Join(near, "INBOX"), "m0")
	base, _, _ := strings.Cut(filepath.Base(p), ":")
	require.NoError(t, os.Rename(p, filepath.Join(near, "INBOX", "cur", base+":2,FS")))
	require.NoError(t, os.WriteFile(filepath.Join(near, "INBOX", "new", "1700000000.near.host"), []byte("Subject: n0\r\n\r\nfrom near\r\n"), 0o600))
	run()
	settle(t, home)

	bySubject := map[string]mailbox.MessageInfo{}
	for _, info := range listAll(t, m) {
		b := readAll(t, m, info.UID)
		subj, _, _ := strings.Cut(strings.TrimPrefix(b, "Subject: "), "\r\n")
		bySubject[subj] = info
	}
	require.Len(t, bySubject, 4)
	assert.Equal(t, []mailbox.Flag{mailbox.FlagFlagged, mailbox.FlagSeen}, bySubject["m0"].Flags)
	assert.Equal(t, []mailbox.Flag{mailbox.FlagAnswered, mailbox.FlagFlagged}, bySubject["m2"].Flags)
	assert.Contains(t, bySubject, "n0")
	assert.Less(t, bySubject["m2"].UID, bySubject["n0"].UID)
}
