package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

func TestUserNamesStayInRoot(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	parent := filepath.Dir(s.Root)
	for _, user := range []string{"", ".", "..", "../x", "a/b", "/etc", "a\x00b", ".hidden", `a\b`, "tab\tx", strings.Repeat("u", MaxUserLength+1)} {
		_, err := s.Open(ctx, user)
		assert.ErrorIs(t, err, mailbox.ErrNotExist, "Open(%q)", user)
		assert.Error(t, s.CreateUser(ctx, user), "CreateUser(%q)", user)
	}
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		assert.NotEqual(t, "x", e.Name(), "a user name created a directory outside Root")
	}
}

// TestPlantedSymlinks: symbolic links planted in a tree never make the
// store read or write outside it.
func TestPlantedSymlinks(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, m := openInbox(t, s)
	home := filepath.Join(s.Root, "alice")

	outside := t.TempDir()
	for _, sub := range []string{"cur", "new", "tmp"} {
		require.NoError(t, os.Mkdir(filepath.Join(outside, sub), 0o700))
	}
	secret := filepath.Join(outside, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("top secret"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "new", "1700000000.leak.host"), []byte("leak"), 0o600))

	// A folder that is a link to a Maildir outside.
	require.NoError(t, os.Symlink(outside, filepath.Join(home, ".Evil")))
	infos, err := a.List(ctx)
	require.NoError(t, err)
	for _, info := range infos {
		assert.NotEqual(t, "Evil", info.Name, "a symlinked folder is listed")
	}
	_, err = a.Mailbox(ctx, "Evil")
	assert.Error(t, err, "a symlinked folder opens")

	// Message files that are links, to a file outside and to a file inside.
	require.NoError(t, os.Symlink(secret, filepath.Join(home, "new", "1700000001.abs.host")))
	require.NoError(t, os.Symlink("../"+indexFile, filepath.Join(home, "cur", "1700000002.rel.host:2,S")))
	st, err := m.Status(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 0, st.Messages, "symlinks taken as messages")

	// A cur/ that is a link in a folder.
	require.NoError(t, a.Create(ctx, "Box", nil))
	box := filepath.Join(home, ".Box")
	require.NoError(t, os.RemoveAll(filepath.Join(box, "cur")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "cur"), filepath.Join(box, "cur")))
	_, err = a.Mailbox(ctx, "Box")
	assert.Error(t, err, "a folder whose cur/ is a symlink opens")

	// A user tree that is a link.
	require.NoError(t, os.Symlink(outside, filepath.Join(s.Root, "mallory")))
	_, err = s.Open(ctx, "mallory")
	assert.ErrorIs(t, err, mailbox.ErrNotExist)

	// Keywords that look like paths stay in the index.
	uid, err := m.Append(ctx, strings.NewReader("x"), &mailbox.AppendOptions{Flags: []mailbox.Flag{"../../escape", "/etc/passwd"}})
	require.NoError(t, err)
	_, err = m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{"..", mailbox.FlagSeen}, 0)
	require.NoError(t, err)
	_, err = os.Lstat(filepath.Join(s.Root, "escape"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
	b, err := os.ReadFile(secret)
	require.NoError(t, err)
	assert.Equal(t, "top secret", string(b))
	ents, _ := os.ReadDir(filepath.Join(outside, "new"))
	assert.Len(t, ents, 1, "the store wrote into a directory outside the tree")
}

// TestMessageFileSwappedForSymlink: a message file replaced by a link after
// it was indexed is not followed.
func TestMessageFileSwappedForSymlink(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	uid, err := m.Append(ctx, strings.NewReader("mine"), nil)
	require.NoError(t, err)
	home := filepath.Join(s.Root, "alice")
	ents, _ := os.ReadDir(filepath.Join(home, "new"))
	require.Len(t, ents, 1)
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("secret"), 0o600))
	p := filepath.Join(home, "new", ents[0].Name())
	fi, _ := os.Stat(filepath.Join(home, "new"))
	require.NoError(t, os.Remove(p))
	require.NoError(t, os.Symlink(secret, p))
	os.Chtimes(filepath.Join(home, "new"), fi.ModTime(), fi.ModTime())
	r, err := m.Open(ctx, uid)
	if err == nil {
		b, _ := io.ReadAll(r)
		r.Close()
		assert.NotEqual(t, "secret", string(b), "followed a symlink out of the tree")
	}
}

func TestDotInNameRoundTrips(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, _ := openInbox(t, s)
	for _, n := range []string{"v1.2", "a.b/c.d", "..x", "&amp;.&"} {
		require.NoError(t, a.Create(ctx, n, nil), n)
	}
	infos, err := a.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, info := range infos {
		names = append(names, info.Name)
	}
	for _, n := range []string{"v1.2", "a.b", "a.b/c.d", "..x", "&amp;.&"} {
		assert.Contains(t, names, n)
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root, "alice"))
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, e.Name())
		}
	}
	assert.ElementsMatch(t, []string{".v1&AC4-2", ".a&AC4-b", ".a&AC4-b.c&AC4-d", ".&AC4ALg-x", ".&-amp;&AC4-&-"}, dirs)
}

func TestLongNames(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, _ := openInbox(t, s)
	long := strings.Repeat("ü", 400)
	require.NoError(t, a.Create(ctx, long+"/kid", nil))
	m, err := a.Mailbox(ctx, long+"/kid")
	require.NoError(t, err)
	_, err = m.Append(ctx, strings.NewReader("x"), nil)
	require.NoError(t, err)
	m.Close()
	require.NoError(t, a.Rename(ctx, long, "short"))
	m, err = a.Mailbox(ctx, "short/kid")
	require.NoError(t, err)
	st, _ := m.Status(ctx)
	assert.EqualValues(t, 1, st.Messages)
	m.Close()
	require.NoError(t, a.Rename(ctx, "short", long+"2"))
	infos, _ := a.List(ctx)
	var names []string
	for _, info := range infos {
		names = append(names, info.Name)
	}
	assert.ElementsMatch(t, []string{"INBOX", long + "2", long + "2/kid"}, names)
}

// TestMailboxOutlivesAccount: a mailbox handle stays usable, copies
// included, after the account handle it came from is closed.
func TestMailboxOutlivesAccount(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, err := s.Open(ctx, "alice")
	require.NoError(t, err)
	require.NoError(t, a.Create(ctx, "Other", nil))
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	require.NoError(t, err)
	defer m.Close()
	require.NoError(t, a.Close())
	uid, err := m.Append(ctx, strings.NewReader("after close"), nil)
	require.NoError(t, err)
	res, err := m.(mailbox.Copier).CopyTo(ctx, []mailbox.UID{uid}, "Other")
	require.NoError(t, err)
	assert.Len(t, res.Dest, 1)
}

func TestMaxMessageSize(t *testing.T) {
	s := newTestStore(t)
	s.MaxMessageSize = 100
	ctx := context.Background()
	_, m := openInbox(t, s)
	_, err := m.Append(ctx, strings.NewReader(strings.Repeat("x", 100)), nil)
	require.NoError(t, err, "a message of exactly the limit")
	_, err = m.Append(ctx, strings.NewReader(strings.Repeat("x", 101)), nil)
	assert.ErrorIs(t, err, mailbox.ErrTooLarge)
	st, _ := m.Status(ctx)
	assert.EqualValues(t, 1, st.Messages)
	tmp, _ := os.ReadDir(filepath.Join(s.Root, "alice", "tmp"))
	assert.Empty(t, tmp, "the refused message left a file in tmp/")
	assert.EqualValues(t, 64<<20, (&Store{}).maxMessageSize())
}

func TestMetadataLimit(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	uid, err := m.Append(ctx, strings.NewReader("x"), nil)
	require.NoError(t, err)
	mc := m.(mailbox.MetadataCache)
	err = mc.SetMetadata(ctx, uid, make([]byte, maxMetadata+1))
	assert.ErrorIs(t, err, mailbox.ErrTooLarge)
	require.NoError(t, mc.SetMetadata(ctx, uid, make([]byte, maxMetadata)))
	got, err := mc.Metadata(ctx, uid)
	require.NoError(t, err)
	assert.Len(t, got, maxMetadata)
	_, err = mc.Metadata(ctx, uid+1)
	assert.ErrorIs(t, err, mailbox.ErrNotExist)
	assert.ErrorIs(t, mc.SetMetadata(ctx, uid+1, []byte("x")), mailbox.ErrNotExist)
}

// TestUIDSpaceExhausted: the last UID is 2³²-2; past it Append fails with
// a clear error instead of wrapping around.
func TestUIDSpaceExhausted(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, err := s.Open(ctx, "alice")
	require.NoError(t, err)
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	require.NoError(t, err)
	f := m.(*mbox).f
	f.mu.Lock()
	st := newState()
	st.uidValidity, st.uidNext, st.highest = f.s.uidValidity, 1<<32-2, 1
	require.NoError(t, f.writeSnapshot(st))
	f.s = st
	f.mu.Unlock()
	uid, err := m.Append(ctx, strings.NewReader("last"), nil)
	require.NoError(t, err)
	assert.EqualValues(t, uint32(1<<32-2), uid)
	_, err = m.Append(ctx, strings.NewReader("one too many"), nil)
	assert.ErrorIs(t, err, errUIDsExhausted)
	m.Close()
	a.Close()
	// The index with the highest UID loads again.
	_, m2 := openInbox(t, s)
	info := listAll(t, m2)
	require.Len(t, info, 1)
	assert.EqualValues(t, uint32(1<<32-2), info[0].UID)
}

// TestMaildropLockAcrossProcesses: a maildrop lock held through another
// open file description (as another process holds it) refuses LockMaildrop.
func TestMaildropLockAcrossProcesses(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, _ := openInbox(t, s)
	other, err := os.OpenFile(filepath.Join(s.Root, "alice", maildropLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, tryFlock(other))
	_, err = a.LockMaildrop(ctx)
	assert.ErrorIs(t, err, mailbox.ErrInUse)
	require.NoError(t, funlock(other))
	release, err := a.LockMaildrop(ctx)
	require.NoError(t, err)
	assert.Error(t, tryFlock(other), "the lock is not visible to other processes")
	release()
	assert.NoError(t, tryFlock(other))
}

// TestInterruptedDelete: a folder whose deletion was cut short after its
// rename out of the hierarchy is removed when the tree is next opened.
func TestInterruptedDelete(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	home := filepath.Join(s.Root, "alice")
	require.NoError(t, s.CreateUser(ctx, "alice"))
	trash := filepath.Join(home, trashPrefix+"x")
	require.NoError(t, os.MkdirAll(filepath.Join(trash, "cur"), 0o700))
	a, err := s.Open(ctx, "alice")
	require.NoError(t, err)
	defer a.Close()
	_, err = os.Stat(trash)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestKeywordLimits: keywords past MaxKeywords are refused, and a change of
// many messages with many long keywords (far more than one index record
// may hold) is recorded and reloads.
func TestKeywordLimits(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	kw := func(n int) []mailbox.Flag {
		out := make([]mailbox.Flag, n)
		for i := range out {
			out[i] = mailbox.Flag(fmt.Sprintf("k%04d", i) + strings.Repeat("x", 250))
		}
		return out
	}
	_, err := m.Append(ctx, strings.NewReader("x"), &mailbox.AppendOptions{Flags: kw(MaxKeywords + 1)})
	assert.ErrorIs(t, err, mailbox.ErrInvalidFlag)
	var (
		uids []mailbox.UID
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	defer func(old int) { maxRecord = old }(maxRecord)
	maxRecord = 1 << 20 // 20 messages × 1000 long keywords are 5 MB: several records
	for range 4 {       // concurrent appends share their fsyncs
		wg.Go(func() {
			for range 5 {
				uid, err := m.Append(ctx, strings.NewReader("x"), nil)
				assert.NoError(t, err)
				mu.Lock()
				uids = append(uids, uid)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	many := kw(MaxKeywords)
	res, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, many, 0)
	require.NoError(t, err)
	assert.Len(t, res.Changed, 20)
	_, err = m.SetFlags(ctx, uids[:1], mailbox.FlagsAdd, []mailbox.Flag{"one-more"}, 0)
	assert.ErrorIs(t, err, mailbox.ErrInvalidFlag)
	st, _ := m.Status(ctx)
	m.Close()
	_, m2 := openInbox(t, &Store{Root: s.Root, Users: s.Users, PollInterval: -1})
	st2, _ := m2.Status(ctx)
	assert.Equal(t, st, st2, "the index did not reload as it was")
	info := listAll(t, m2)
	assert.Len(t, info[19].Flags, MaxKeywords)
}

// TestMetadataCompaction: replaced and expunged metadata is reclaimed once
// it is the majority of the cache file, and what is live survives.
func TestMetadataCompaction(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	mc := m.(mailbox.MetadataCache)
	u1, err := m.Append(ctx, strings.NewReader("one"), nil)
	require.NoError(t, err)
	u2, err := m.Append(ctx, strings.NewReader("two"), nil)
	require.NoError(t, err)
	require.NoError(t, mc.SetMetadata(ctx, u1, []byte("keep")))
	big := make([]byte, 64<<10)
	for i := range 40 {
		big[0] = byte(i)
		require.NoError(t, mc.SetMetadata(ctx, u2, big))
	}
	fi, err := os.Stat(filepath.Join(s.Root, "alice", metaFile))
	require.NoError(t, err)
	assert.Less(t, fi.Size(), int64(1<<20), "the metadata cache was not compacted")
	got, err := mc.Metadata(ctx, u1)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(got))
	got, err = mc.Metadata(ctx, u2)
	require.NoError(t, err)
	assert.Equal(t, byte(39), got[0])
	// Expunged entries go too, and a reload of the cache agrees.
	_, err = m.Expunge(ctx, []mailbox.UID{u2})
	require.NoError(t, err)
	m.Close()
	_, m = openInbox(t, &Store{Root: s.Root, Users: s.Users, PollInterval: -1})
	mc = m.(mailbox.MetadataCache)
	got, err = mc.Metadata(ctx, u1)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(got))
	_, err = mc.Metadata(ctx, u2)
	assert.ErrorIs(t, err, mailbox.ErrNotExist)
}

// TestMetadataReplacedByOtherProcess: after another process compacted the
// metadata cache (a new file), this one reads and writes the new file.
func TestMetadataReplacedByOtherProcess(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	mc := m.(mailbox.MetadataCache)
	uid, err := m.Append(ctx, strings.NewReader("x"), nil)
	require.NoError(t, err)
	require.NoError(t, mc.SetMetadata(ctx, uid, []byte("old")))
	// The other process: a fresh cache file holding another value.
	f := m.(*mbox).f
	path := filepath.Join(s.Root, "alice", metaFile)
	tmp := path + ".other"
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	require.NoError(t, err)
	other := &metaStore{file: nf, uv: f.meta.uv}
	require.NoError(t, other.reset())
	require.NoError(t, other.set(uint32(uid)+1, []byte("from the other process")))
	nf.Close()
	require.NoError(t, os.Rename(tmp, path))
	uid2, err := m.Append(ctx, strings.NewReader("y"), nil)
	require.NoError(t, err)
	require.Equal(t, uid+1, uid2)
	got, err := mc.Metadata(ctx, uid2)
	require.NoError(t, err)
	assert.Equal(t, "from the other process", string(got))
	require.NoError(t, mc.SetMetadata(ctx, uid, []byte("new")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), "new", "SetMetadata wrote into the replaced file")
}

// TestQuota: appends and copies that would pass a limit fail with
// ErrOverQuota and store nothing; expunges make room again; moves use none.
func TestQuota(t *testing.T) {
	s := newTestStore(t)
	s.QuotaStorage, s.QuotaMessages = 100, 3
	ctx := context.Background()
	a, m := openInbox(t, s)
	require.NoError(t, a.Create(ctx, "Other", nil))
	q := a.(mailbox.Quotaer)
	u1, err := m.Append(ctx, strings.NewReader(strings.Repeat("a", 60)), nil)
	require.NoError(t, err)
	_, err = m.Append(ctx, strings.NewReader(strings.Repeat("b", 41)), nil)
	assert.ErrorIs(t, err, mailbox.ErrOverQuota, "past the storage limit")
	_, err = m.(mailbox.Copier).CopyTo(ctx, []mailbox.UID{u1}, "Other")
	assert.ErrorIs(t, err, mailbox.ErrOverQuota, "a copy past the storage limit")
	u2, err := m.Append(ctx, strings.NewReader(strings.Repeat("c", 40)), nil)
	require.NoError(t, err, "exactly at the storage limit")
	_, err = m.(mailbox.Mover).MoveTo(ctx, []mailbox.UID{u2}, "Other")
	require.NoError(t, err, "a move takes no room")
	got, err := q.Quota(ctx)
	require.NoError(t, err)
	assert.Equal(t, mailbox.Quota{StorageUsed: 100, StorageLimit: 100, MessagesUsed: 2, MessagesLimit: 3}, got)
	_, err = m.Expunge(ctx, []mailbox.UID{u1})
	require.NoError(t, err)
	for i := range 3 {
		_, err = m.Append(ctx, strings.NewReader("x"), nil)
		if i < 2 {
			require.NoError(t, err)
		} else {
			assert.ErrorIs(t, err, mailbox.ErrOverQuota, "past the message limit")
		}
	}
	st, _ := m.Status(ctx)
	assert.EqualValues(t, 2, st.Messages)
	tmp, _ := os.ReadDir(filepath.Join(s.Root, "alice", "tmp"))
	assert.Empty(t, tmp)
	// A store without limits reports its use with zero (unlimited) limits.
	a2, m2 := openInbox(t, newTestStore(t))
	_, err = m2.Append(ctx, strings.NewReader("12345"), nil)
	require.NoError(t, err)
	got, err = a2.(mailbox.Quotaer).Quota(ctx)
	require.NoError(t, err)
	assert.Equal(t, mailbox.Quota{StorageUsed: 5, MessagesUsed: 1}, got)
}
