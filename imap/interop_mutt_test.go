package imap

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox"
)

// TestInteropMutt runs mutt (Debian mutt, under tmux for its terminal)
// against the server on a Maildir store with CONDSTORE, QRESYNC and the
// header cache on, asserting both mutt's screen and the server's protocol
// trace: a cold start ENABLEs QRESYNC and fetches every header; a warm
// start after another session changed flags, expunged and appended
// resynchronises from the cached MODSEQ (mutt 2.2: SELECT (CONDSTORE) then
// UID FETCH (CHANGEDSINCE m VANISHED), answered with VANISHED (EARLIER)),
// fetches only the new message's headers and shows the new state; mutt's
// own flag, delete and sync reach the store; a third start fetches no
// header.
func TestInteropMutt(t *testing.T) {
	muttBin := testpeer.Require(t, "mutt", "mutt")
	tmuxBin := testpeer.Require(t, "tmux", "tmux")

	var mu sync.Mutex
	var msgs []string
	e := newMaildirEnv(t, func(s *Server) { s.Logger = slog.New(recordHandler{&mu, &msgs}) })
	const seeded = 30
	uids := make(map[int]mailbox.UID, seeded) // message number → UID
	for i := 1; i <= seeded; i++ {
		var flags []mailbox.Flag
		if i%3 == 0 {
			flags = append(flags, mailbox.FlagSeen)
		}
		if i%7 == 0 {
			flags = append(flags, mailbox.FlagFlagged)
		}
		uids[i] = e.appendMsg("INBOX", msg(muttSubject(i), fmt.Sprintf("body %d\r\n", i)), flags...)
	}

	dir := t.TempDir()
	hcache := filepath.Join(dir, "hcache")
	require.NoError(t, os.Mkdir(hcache, 0o700))
	_, port := e.hostPort()
	tmpl, err := os.ReadFile("testdata/mutt/muttrc")
	require.NoError(t, err)
	muttrc := filepath.Join(dir, "muttrc")
	conf := strings.NewReplacer("@PORT@", port, "@HCACHE@", hcache+"/", "@TMP@", dir).Replace(string(tmpl))
	require.NoError(t, os.WriteFile(muttrc, []byte(conf), 0o600))
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TERM=xterm", "TZ=UTC"}
	mutt := []string{muttBin, "-n", "-F", muttrc}

	// Run 1: cold header cache.
	p := startTmux(t, tmuxBin, env, mutt...)
	scr := p.waitFor("the index with all seeded messages", func(s string) bool {
		ix := parseMuttIndex(s)
		return len(ix) == seeded && ix[muttSubject(1)].num == 1
	})
	ix := parseMuttIndex(scr)
	assert.Equal(t, "N", ix[muttSubject(1)].status(), "unseen message 1")
	assert.Equal(t, " ", ix[muttSubject(3)].status(), "seen message 3")
	assert.True(t, ix[muttSubject(7)].flagged(), "flagged message 7")
	assert.False(t, ix[muttSubject(8)].flagged(), "message 8")
	p.keys("q")
	p.waitExit()

	run1 := traceLines(&mu, &msgs, 0)
	assert.True(t, hasLine(run1, `^C: \S+ ENABLE QRESYNC$`), "mutt did not ENABLE QRESYNC:\n%s", strings.Join(run1, "\n"))
	assert.Equal(t, seeded, countHeaderFetches(run1), "cold start: headers of every message")
	cached, err := os.ReadDir(hcache)
	require.NoError(t, err)
	assert.NotEmpty(t, cached, "mutt wrote no header cache")

	// Another session changes the mailbox while mutt is away.
	var before mailbox.Status
	e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
		var err error
		before, err = mb.Status(ctx)
		require.NoError(t, err)
		_, err = mb.SetFlags(ctx, []mailbox.UID{uids[8]}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
		require.NoError(t, err)
		_, err = mb.SetFlags(ctx, []mailbox.UID{uids[3]}, mailbox.FlagsRemove, []mailbox.Flag{mailbox.FlagSeen}, 0)
		require.NoError(t, err)
		_, err = mb.SetFlags(ctx, []mailbox.UID{uids[7]}, mailbox.FlagsRemove, []mailbox.Flag{mailbox.FlagFlagged}, 0)
		require.NoError(t, err)
		gone, err := mb.Expunge(ctx, []mailbox.UID{uids[5]})
		require.NoError(t, err)
		require.Equal(t, []mailbox.UID{uids[5]}, gone)
	})
	newUID := e.appendMsg("INBOX", msg("mutt-msg-new", "new body\r\n"))

	// Run 2: warm header cache, QRESYNC.
	mark := traceLen(&mu, &msgs)
	p = startTmux(t, tmuxBin, env, mutt...)
	scr = p.waitFor("the index with the other session's changes", func(s string) bool {
		ix := parseMuttIndex(s)
		_, ok := ix["mutt-msg-new"]
		return ok && len(ix) == seeded
	})
	ix = parseMuttIndex(scr)
	assert.NotContains(t, ix, muttSubject(5), "expunged message still listed")
	assert.Equal(t, "N", ix[muttSubject(3)].status(), "message 3 lost \\Seen")
	assert.True(t, ix[muttSubject(8)].flagged(), "message 8 gained \\Flagged")
	assert.False(t, ix[muttSubject(7)].flagged(), "message 7 lost \\Flagged")
	assert.True(t, ix[muttSubject(9)].status() == " " && !ix[muttSubject(9)].flagged(), "message 9 unchanged")
	assert.Equal(t, seeded, ix["mutt-msg-new"].num, "new message last")

	// mutt 2.2 resynchronises as RFC 7162 §3.2.6 allows: SELECT
	// (CONDSTORE), then UID FETCH of the flags changed since the cached
	// MODSEQ with VANISHED; a client may instead send SELECT (QRESYNC
	// (uidvalidity modseq ...)) (§3.2.5). Either way the MODSEQ is the one
	// the first run saw last.
	run2 := traceLines(&mu, &msgs, mark)
	modseq := strconv.FormatUint(uint64(before.HighestModSeq), 10)
	qresyncSelect := regexp.MustCompile(`^C: \S+ SELECT "?INBOX"? \(QRESYNC \((\d+) (\d+)`)
	changedSince := regexp.MustCompile(`^C: \S+ UID FETCH 1:(\d+) \(FLAGS\) \(CHANGEDSINCE (\d+) VANISHED\)$`)
	resynced := false
	for _, l := range run2 {
		if m := qresyncSelect.FindStringSubmatch(l); m != nil {
			assert.Equal(t, strconv.FormatUint(uint64(before.UIDValidity), 10), m[1], "UIDVALIDITY in %s", l)
			assert.Equal(t, modseq, m[2], "MODSEQ in %s", l)
			resynced = true
		}
		if m := changedSince.FindStringSubmatch(l); m != nil {
			assert.Equal(t, strconv.Itoa(int(before.UIDNext-1)), m[1], "UID range in %s", l)
			assert.Equal(t, modseq, m[2], "MODSEQ in %s", l)
			assert.True(t, hasLine(run2, `^C: \S+ SELECT "?INBOX"? \(CONDSTORE\)$`), "UID FETCH VANISHED without SELECT (CONDSTORE)")
			resynced = true
		}
	}
	require.True(t, resynced, "no QRESYNC resynchronisation on the warm start:\n%s", strings.Join(run2, "\n"))
	assert.Equal(t, 1, countHeaderFetches(run2), "warm start: only the new message's headers:\n%s", strings.Join(run2, "\n"))
	assert.True(t, hasLine(run2, `^S: \* VANISHED \(EARLIER\) `+strconv.Itoa(int(uids[5]))+`$`), "no VANISHED (EARLIER) for the expunged UID")

	// mutt changes the mailbox: flag message 10, delete message 12, sync.
	p.jump(ix[muttSubject(10)].num, muttSubject(10))
	p.keys("F")
	p.waitFor("message 10 flagged", func(s string) bool { return parseMuttIndex(s)[muttSubject(10)].flagged() })
	p.jump(ix[muttSubject(12)].num, muttSubject(12))
	p.keys("d")
	p.waitFor("message 12 marked deleted", func(s string) bool { return parseMuttIndex(s)[muttSubject(12)].deleted() })
	p.keys("$")
	p.waitFor("message 12 gone after the sync", func(s string) bool {
		ix := parseMuttIndex(s)
		_, ok := ix[muttSubject(12)]
		return !ok && len(ix) == seeded-1
	})
	p.keys("q")
	p.waitExit()
	// With QRESYNC enabled the expunge is reported as VANISHED, never as
	// EXPUNGE (RFC 7162 §3.2.10).
	run2 = traceLines(&mu, &msgs, mark)
	assert.True(t, hasLine(run2, `^S: \* VANISHED `+strconv.Itoa(int(uids[12]))+`$`), "no VANISHED for mutt's expunge:\n%s", strings.Join(run2, "\n"))
	assert.False(t, hasLine(run2, `^S: \* \d+ EXPUNGE$`), "EXPUNGE response in a QRESYNC session")

	e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
		got := map[mailbox.UID]mailbox.MessageInfo{}
		for mi, err := range mb.Messages(ctx, 1) {
			require.NoError(t, err)
			got[mi.UID] = mi
		}
		assert.Len(t, got, seeded-1)
		assert.NotContains(t, got, uids[12], "deleted and synced message still stored")
		assert.NotContains(t, got, uids[5])
		assert.Contains(t, got, newUID)
		mi := got[uids[10]]
		assert.True(t, mi.HasFlag(mailbox.FlagFlagged), "message 10 not flagged in the store: %v", mi.Flags)
		mi = got[uids[8]]
		assert.True(t, mi.HasFlag(mailbox.FlagFlagged), "message 8 lost its flag: %v", mi.Flags)
	})

	// Run 3: mutt's own changes are in its header cache; no header is
	// fetched again. (mutt keeps the MODSEQ it saw at SELECT, so its own
	// changes come back once as flag updates and VANISHED (EARLIER).)
	mark = traceLen(&mu, &msgs)
	p = startTmux(t, tmuxBin, env, mutt...)
	scr = p.waitFor("the index after mutt's changes", func(s string) bool {
		ix := parseMuttIndex(s)
		_, ok := ix["mutt-msg-new"]
		return ok && len(ix) == seeded-1
	})
	ix = parseMuttIndex(scr)
	assert.NotContains(t, ix, muttSubject(12))
	assert.True(t, ix[muttSubject(10)].flagged(), "message 10 flagged")
	p.keys("q")
	p.waitExit()
	run3 := traceLines(&mu, &msgs, mark)
	assert.Zero(t, countHeaderFetches(run3), "third start fetched headers:\n%s", strings.Join(run3, "\n"))
}

func muttSubject(i int) string { return fmt.Sprintf("mutt-msg-%02d", i) }

// muttLine is one line of mutt's index as muttrc's index_format
// "%4C|%Z|%s" draws it.
type muttLine struct {
	num     int
	flags   string // %Z: status (N, O, r or space), D, flagged (!) or tag
	current bool   // the arrow cursor is on it
}

func (l muttLine) status() string { return l.flags[:1] }
func (l muttLine) deleted() bool  { return strings.Contains(l.flags, "D") }
func (l muttLine) flagged() bool  { return strings.Contains(l.flags, "!") }

var muttIndexLine = regexp.MustCompile(`^(->|  )\s*(\d+)\|(.{3})\|(\S+)`)

// parseMuttIndex reads the index lines of a screen capture, by subject.
func parseMuttIndex(screen string) map[string]muttLine {
	ix := map[string]muttLine{}
	for _, l := range strings.Split(screen, "\n") {
		m := muttIndexLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		ix[m[4]] = muttLine{num: n, flags: m[3], current: m[1] == "->"}
	}
	return ix
}

// countHeaderFetches counts the FETCH responses carrying message headers.
func countHeaderFetches(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "S: * ") && strings.Contains(l, " FETCH ") && strings.Contains(l, "BODY[HEADER") {
			n++
		}
	}
	return n
}

func hasLine(lines []string, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// traceLines returns the protocol trace recorded so far from index from
// on: the "C: ..." and "S: ..." lines the server logs at LevelTrace.
func traceLines(mu *sync.Mutex, msgs *[]string, from int) []string {
	mu.Lock()
	defer mu.Unlock()
	var lines []string
	for _, m := range (*msgs)[from:] {
		if strings.HasPrefix(m, "C: ") || strings.HasPrefix(m, "S: ") {
			lines = append(lines, m)
		}
	}
	return lines
}

func traceLen(mu *sync.Mutex, msgs *[]string) int {
	mu.Lock()
	defer mu.Unlock()
	return len(*msgs)
}

// tmuxPane is a program running in a detached tmux session on a private
// server, for driving a full-screen terminal program from a test.
type tmuxPane struct {
	t    *testing.T
	bin  string
	sock string
	exit string // the file the program's exit status is written to
	env  []string
}

const tmuxWait = 10 * time.Second // bound of every wait for the screen

// startTmux starts argv in a 132×50 pane of a new private tmux server,
// with exactly env as its environment; the server is killed when the test
// ends. A shell runs argv and writes its exit status to a file for
// waitExit: tmux itself sometimes leaves the exited program unreaped, with
// no status to report.
func startTmux(t *testing.T, bin string, env []string, argv ...string) *tmuxPane {
	t.Helper()
	dir, err := os.MkdirTemp("", "tmux") // short: socket paths are length-limited
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "tmux.conf")
	require.NoError(t, os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g status off\nset -g history-limit 0\n"), 0o600))
	p := &tmuxPane{t: t, bin: bin, sock: filepath.Join(dir, "sock"), exit: filepath.Join(dir, "exit"), env: env}
	t.Cleanup(func() { p.tmux("kill-server") })
	args := append([]string{"-f", conf, "new-session", "-d", "-x", "132", "-y", "50", "--", "/bin/sh", "-c", `"$@"; echo $? >"$0"`, p.exit}, argv...)
	out, err := p.tmux(args...)
	require.NoError(t, err, "tmux new-session: %s", out)
	return p
}

func (p *tmuxPane) tmux(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append([]string{"-S", p.sock}, args...)...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// keys sends keys (tmux send-keys names: "Enter", "Escape", or literal text).
func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	out, err := p.tmux(append([]string{"send-keys", "-t", "0"}, keys...)...)
	require.NoError(p.t, err, "tmux send-keys: %s", out)
}

// screen returns the pane's visible text.
func (p *tmuxPane) screen() string {
	p.t.Helper()
	out, err := p.tmux("capture-pane", "-p", "-t", "0")
	require.NoError(p.t, err, "tmux capture-pane: %s", out)
	return out
}

// waitFor polls the screen until ok accepts it, for at most tmuxWait.
func (p *tmuxPane) waitFor(what string, ok func(screen string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(tmuxWait)
	for {
		s := p.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jump moves mutt's cursor to message n and checks it shows subject.
func (p *tmuxPane) jump(n int, subject string) {
	p.t.Helper()
	p.keys(strconv.Itoa(n), "Enter")
	p.waitFor("the cursor on "+subject, func(s string) bool { return parseMuttIndex(s)[subject].current })
}

// waitExit waits for the program to exit and checks it exited with 0.
func (p *tmuxPane) waitExit() {
	p.t.Helper()
	deadline := time.Now().Add(tmuxWait)
	for {
		// echo writes the status and its newline at once.
		if b, err := os.ReadFile(p.exit); err == nil && strings.HasSuffix(string(b), "\n") {
			require.Equal(p.t, "0", strings.TrimSpace(string(b)), "exit status; screen:\n%s", p.screen())
			p.tmux("kill-server")
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for the program to exit; screen:\n%s", p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
