package maildir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox"
)

type pyMessage struct {
	Subject string `json:"subject"`
	Flags   string `json:"flags"`
	Subdir  string `json:"subdir"`
	SHA256  string `json:"sha256"`
}

// TestPythonMaildir: Python's mailbox.Maildir reads what the store wrote
// (flags, bytes, folders), and the store sees what Python writes into the
// tree (new messages in new/ and cur/, a flag change by rename, a removal,
// a new folder).
func TestPythonMaildir(t *testing.T) {
	python := testpeer.Require(t, "python3", "python3")
	s := newTestStore(t)
	ctx := context.Background()
	a, m := openInbox(t, s)
	flags := [][]mailbox.Flag{
		nil,
		{mailbox.FlagSeen, mailbox.FlagAnswered},
		{mailbox.FlagFlagged, mailbox.FlagDraft, mailbox.FlagDeleted, "$Forwarded", "$Work"},
	}
	want := map[string]string{} // subject → sha256
	for i, fl := range flags {
		body := fmt.Sprintf("Subject: go-%d\r\n\r\nbody %d\r\n\xff8-bit\r\n", i, i)
		_, err := m.Append(ctx, strings.NewReader(body), &mailbox.AppendOptions{Flags: fl})
		require.NoError(t, err)
		sum := sha256.Sum256([]byte(body))
		want[fmt.Sprintf("go-%d", i)] = hex.EncodeToString(sum[:])
	}
	// A flag change is written behind: Flush hands the files over.
	_, err := m.SetFlags(ctx, []mailbox.UID{2}, mailbox.FlagsRemove, []mailbox.Flag{mailbox.FlagAnswered}, 0)
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	require.NoError(t, a.Create(ctx, "Work/Sub", nil))
	home := filepath.Join(s.Root, "alice")

	out, err := exec.Command(python, "testdata/maildir_interop.py", "read", home).Output()
	require.NoError(t, err, "python read: %s", out)
	var got struct {
		Folders  []string    `json:"folders"`
		Messages []pyMessage `json:"messages"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, []string{"Work", "Work.Sub"}, got.Folders)
	require.Len(t, got.Messages, 3)
	wantFlags := []string{"", "S", "DFPT"}
	wantDir := []string{"new", "cur", "cur"}
	for i, pm := range got.Messages {
		assert.Equal(t, fmt.Sprintf("go-%d", i), pm.Subject)
		assert.Equal(t, wantFlags[i], pm.Flags, pm.Subject)
		assert.Equal(t, wantDir[i], pm.Subdir, pm.Subject)
		assert.Equal(t, want[pm.Subject], pm.SHA256, "bytes of %s differ", pm.Subject)
	}

	out, err = exec.Command(python, "testdata/maildir_interop.py", "write", home).CombinedOutput()
	require.NoError(t, err, "python write: %s", out)
	settle(t, home) // Python's writes may share our last mtime tick
	subjects := map[string]mailbox.MessageInfo{}
	for _, info := range listAll(t, m) {
		b := readAll(t, m, info.UID)
		assert.EqualValues(t, len(b), info.Size)
		subj, _, _ := strings.Cut(strings.TrimPrefix(b, "Subject: "), "\n")
		subj = strings.TrimSuffix(subj, "\r") // Python writes LF line ends
		subjects[subj] = info
	}
	require.Contains(t, subjects, "py-new")
	require.Contains(t, subjects, "py-seen")
	assert.Empty(t, subjects["py-new"].Flags)
	assert.Equal(t, []mailbox.Flag{mailbox.FlagAnswered, mailbox.FlagSeen}, subjects["py-seen"].Flags)
	assert.Equal(t, []mailbox.Flag{mailbox.FlagFlagged}, subjects["go-0"].Flags)
	assert.NotContains(t, subjects, "go-2", "a message Python removed is still listed")
	assert.Len(t, subjects, 4)

	infos, err := a.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, info := range infos {
		names = append(names, info.Name)
	}
	assert.Contains(t, names, "Py")
	py, err := a.Mailbox(ctx, "Py")
	require.NoError(t, err)
	defer py.Close()
	st, err := py.Status(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Messages)
}

func readAll(t *testing.T, m mailbox.Mailbox, uid mailbox.UID) string {
	t.Helper()
	r, err := m.Open(context.Background(), uid)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}
