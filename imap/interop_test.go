package imap

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox"
)

func (e *testEnv) hostPort() (string, string) {
	i := strings.LastIndexByte(e.addr, ':')
	return e.addr[:i], e.addr[i+1:]
}

func TestInteropPythonImaplib(t *testing.T) {
	storeKinds(t, testInteropPythonImaplib)
}

func testInteropPythonImaplib(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
	py := testpeer.Require(t, "python3", "python3")
	e := newEnv(t)
	e.appendMsg("INBOX", msg("first", "first body\r\n"))
	e.appendMsg("INBOX", msg("second", "second body\r\n"))
	host, port := e.hostPort()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/imaplib_interop.py", host, port, "sara", "secret").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "imaplib interop OK")
}

func TestInteropCurl(t *testing.T) {
	curl := testpeer.Require(t, "curl", "curl")
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("hello curl", "body for curl\r\n"))
	base := "imap://" + e.addr
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, append([]string{"-sS", "--max-time", "20", "-u", "sara:secret"}, args...)...).CombinedOutput()
		require.NoError(t, err, "curl %v: %s", args, out)
		return string(out)
	}
	assert.Contains(t, run(base+"/"), `"/" INBOX`)
	assert.Equal(t, msg("hello curl", "body for curl\r\n"), run(base+"/INBOX;UID=1"))
	assert.Contains(t, run(base+"/INBOX?SUBJECT%20curl"), "* SEARCH 1")
	assert.Contains(t, run(base+"/INBOX", "-X", "EXAMINE INBOX"), "1 EXISTS")
}

func TestInteropMbsync(t *testing.T) {
	storeKinds(t, testInteropMbsync)
}

func testInteropMbsync(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
	mbsync := testpeer.Require(t, "mbsync", "isync")
	e := newEnv(t)
	ctx := context.Background()
	acct, err := e.store.Open(ctx, "sara")
	require.NoError(t, err)
	defer acct.Close()
	require.NoError(t, acct.Create(ctx, "Lists/Go", nil))
	e.appendMsg("INBOX", msg("one", "1\r\n"), `\Seen`)
	e.appendMsg("INBOX", msg("two", "2\r\n"), `\Flagged`)
	e.appendMsg("INBOX", msg("gone", "3\r\n"), `\Deleted`)
	e.appendMsg("Lists/Go", msg("go", "4\r\n"))

	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	require.NoError(t, os.MkdirAll(local, 0o700))
	host, port := e.hostPort()
	conf := filepath.Join(dir, "mbsyncrc")
	require.NoError(t, os.WriteFile(conf, []byte(`IMAPAccount test
Host `+host+`
Port `+port+`
User sara
Pass secret
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path `+local+`/
Inbox `+local+`/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`), 0o600))
	sync := func() string {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, mbsync, "-c", conf, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "mbsync: %s", out)
		return string(out)
	}
	sync()
	// Local side: the messages arrived with their flags, \Deleted expunged.
	countFiles := func(box, sub string) int {
		ents, _ := os.ReadDir(filepath.Join(local, box, sub))
		return len(ents)
	}
	assert.Equal(t, 2, countFiles("INBOX", "cur")+countFiles("INBOX", "new"))
	assert.Equal(t, 1, countFiles("Lists/Go", "cur")+countFiles("Lists/Go", "new"))

	// A local change travels back: a new local folder with a message.
	require.NoError(t, os.MkdirAll(filepath.Join(local, "Local", "cur"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(local, "Local", "new"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(local, "Local", "tmp"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(local, "Local", "cur", "1.local:2,S"), []byte(msg("local", "5\r\n")), 0o600))
	sync()
	mb, err := acct.Mailbox(ctx, "Local")
	require.NoError(t, err)
	st, err := mb.Status(ctx)
	require.NoError(t, err)
	mb.Close()
	assert.Equal(t, uint32(1), st.Messages)

	// A local deletion is expunged on the server; a server flag change
	// reaches the local side.
	ents, err := os.ReadDir(filepath.Join(local, "INBOX", "cur"))
	require.NoError(t, err)
	require.NotEmpty(t, ents)
	victim := ents[0].Name()
	base, _, _ := strings.Cut(victim, ":2,")
	require.NoError(t, os.Rename(filepath.Join(local, "INBOX", "cur", victim), filepath.Join(local, "INBOX", "cur", base+":2,T")))
	inbox, err := acct.Mailbox(ctx, "INBOX")
	require.NoError(t, err)
	defer inbox.Close()
	_, err = inbox.SetFlags(ctx, []mailbox.UID{1, 2}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagAnswered}, 0)
	require.NoError(t, err)
	sync()
	st, err = inbox.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), st.Messages)
	ents, err = os.ReadDir(filepath.Join(local, "INBOX", "cur"))
	require.NoError(t, err)
	require.Len(t, ents, 1)
	assert.Contains(t, ents[0].Name(), "R", "\\Answered did not reach the local copy")

	// The next run changes nothing on the server.
	var events atomic.Int32
	stop := acct.Watch(func(mailbox.Event) { events.Add(1) })
	sync()
	stop()
	assert.Equal(t, int32(0), events.Load(), "second run changed the server")
}
