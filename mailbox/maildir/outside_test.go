package maildir

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

type events struct {
	mu  sync.Mutex
	evs []mailbox.Event
}

func (e *events) add(ev mailbox.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) kinds() []mailbox.EventKind {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []mailbox.EventKind
	for _, ev := range e.evs {
		out = append(out, ev.Kind)
	}
	return out
}

func (e *events) take() []mailbox.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.evs
	e.evs = nil
	return out
}

// openInbox opens alice's INBOX of a fresh store.
func openInbox(t *testing.T, s *Store) (mailbox.Account, mailbox.Mailbox) {
	t.Helper()
	ctx := context.Background()
	a, err := s.Open(ctx, "alice")
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return a, m
}

func listAll(t *testing.T, m mailbox.Mailbox) []mailbox.MessageInfo {
	t.Helper()
	var out []mailbox.MessageInfo
	for info, err := range m.Messages(context.Background(), 1) {
		require.NoError(t, err)
		out = append(out, info)
	}
	return out
}

// settle moves the mtimes of new/ and cur/ into the past, as if the last
// change happened long ago, so the next change is told apart by mtime alone.
func settle(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, sub := range []string{"new", "cur"} {
		require.NoError(t, os.Chtimes(filepath.Join(dir, sub), old, old))
	}
}

func TestOutsideChanges(t *testing.T) {
	s := newTestStore(t)
	a, m := openInbox(t, s)
	ev := &events{}
	defer a.Watch(ev.add)()
	ctx := context.Background()
	dir := filepath.Join(s.Root, "alice")
	uid, err := m.Append(ctx, strings.NewReader("ours"), nil)
	require.NoError(t, err)
	ev.take()
	settle(t, dir)
	_, err = m.Status(ctx) // the scan that sees the settled state
	require.NoError(t, err)

	// An outside MDA delivers into new/.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tmp", "1700000000.outside.host"), []byte("Subject: outside\r\n\r\nhi\r\n"), 0o600))
	require.NoError(t, os.Rename(filepath.Join(dir, "tmp", "1700000000.outside.host"), filepath.Join(dir, "new", "1700000000.outside.host")))
	infos := listAll(t, m)
	require.Len(t, infos, 2)
	out := infos[1]
	assert.Greater(t, out.UID, uid)
	assert.EqualValues(t, len("Subject: outside\r\n\r\nhi\r\n"), out.Size)
	assert.Equal(t, []mailbox.EventKind{mailbox.EventMessagesAdded}, ev.kinds())
	assert.Equal(t, []mailbox.UID{out.UID}, ev.take()[0].UIDs)

	// A mail reader moves it to cur/ and marks it seen and replied.
	settle(t, dir)
	require.NoError(t, os.Rename(filepath.Join(dir, "new", "1700000000.outside.host"), filepath.Join(dir, "cur", "1700000000.outside.host:2,RS")))
	info := listAll(t, m)[1]
	assert.Equal(t, []mailbox.Flag{mailbox.FlagAnswered, mailbox.FlagSeen}, info.Flags)
	evs := ev.take()
	require.Len(t, evs, 1)
	assert.Equal(t, mailbox.EventFlagsChanged, evs[0].Kind)
	assert.Greater(t, info.ModSeq, out.ModSeq)

	// Its bytes are still readable after the rename.
	r, err := m.Open(ctx, out.UID)
	require.NoError(t, err)
	r.Close()

	// And it deletes it.
	settle(t, dir)
	require.NoError(t, os.Remove(filepath.Join(dir, "cur", "1700000000.outside.host:2,RS")))
	infos = listAll(t, m)
	require.Len(t, infos, 1)
	evs = ev.take()
	require.Len(t, evs, 1)
	assert.Equal(t, mailbox.EventMessagesExpunged, evs[0].Kind)
	assert.Equal(t, []mailbox.UID{out.UID}, evs[0].UIDs)
	van, err := m.Vanished(ctx, info.ModSeq)
	require.NoError(t, err)
	assert.Equal(t, []mailbox.UID{out.UID}, van)
}

// TestOutsideRenameBeforeOpen: a message renamed by another program is
// still opened by UID (the store rescans when the file moved).
func TestOutsideRenameBeforeOpen(t *testing.T) {
	s := newTestStore(t)
	_, m := openInbox(t, s)
	ctx := context.Background()
	uid, err := m.Append(ctx, strings.NewReader("body"), nil)
	require.NoError(t, err)
	dir := filepath.Join(s.Root, "alice")
	ents, err := os.ReadDir(filepath.Join(dir, "new"))
	require.NoError(t, err)
	require.Len(t, ents, 1)
	// Keep new/'s and cur/'s mtimes as the store saw them: only Open's
	// retry can find the file.
	fiNew, _ := os.Stat(filepath.Join(dir, "new"))
	fiCur, _ := os.Stat(filepath.Join(dir, "cur"))
	require.NoError(t, os.Rename(filepath.Join(dir, "new", ents[0].Name()), filepath.Join(dir, "cur", ents[0].Name()+":2,S")))
	os.Chtimes(filepath.Join(dir, "new"), fiNew.ModTime(), fiNew.ModTime())
	os.Chtimes(filepath.Join(dir, "cur"), fiCur.ModTime(), fiCur.ModTime())
	r, err := m.Open(ctx, uid)
	require.NoError(t, err)
	r.Close()
}

// TestWatchPolls: a watcher learns of an outside delivery without any call
// into the store, within the poll interval.
func TestWatchPolls(t *testing.T) {
	s := newTestStore(t)
	s.PollInterval = 20 * time.Millisecond
	a, m := openInbox(t, s)
	_, err := m.Status(context.Background())
	require.NoError(t, err)
	got := make(chan mailbox.Event, 4)
	defer a.Watch(func(ev mailbox.Event) { got <- ev })()
	dir := filepath.Join(s.Root, "alice")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", "1700000001.x.host"), []byte("x"), 0o600))
	select {
	case ev := <-got:
		assert.Equal(t, mailbox.EventMessagesAdded, ev.Kind)
		assert.Equal(t, mailbox.Inbox, ev.Mailbox)
	case <-time.After(5 * time.Second):
		t.Fatal("no event for a message dropped into new/ while watching")
	}
}

// TestSameTickChange: a change landing in the same mtime tick as the
// store's own change is still found once the directory has settled.
func TestSameTickChange(t *testing.T) {
	s := newTestStore(t)
	_, m := openInbox(t, s)
	ctx := context.Background()
	dir := filepath.Join(s.Root, "alice")
	_, err := m.Append(ctx, strings.NewReader("ours"), nil)
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(dir, "new"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", "1700000002.same.host"), []byte("same"), 0o600))
	// Pretend the outside write did not move the mtime (coarse tick).
	require.NoError(t, os.Chtimes(filepath.Join(dir, "new"), fi.ModTime(), fi.ModTime()))
	time.Sleep(rescanEvery + 50*time.Millisecond)
	assert.Len(t, listAll(t, m), 2, "a change hidden in the same mtime tick was not found after %v", rescanEvery)
}

func TestKeepsUnknownInfoLetters(t *testing.T) {
	s := newTestStore(t)
	_, m := openInbox(t, s)
	ctx := context.Background()
	dir := filepath.Join(s.Root, "alice")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cur", "1700000003.kw.host:2,Sab"), []byte("kw"), 0o600))
	infos := listAll(t, m)
	require.Len(t, infos, 1)
	_, err := m.SetFlags(ctx, []mailbox.UID{infos[0].UID}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
	require.NoError(t, err)
	require.NoError(t, m.(Flusher).Flush(ctx))
	ents, _ := os.ReadDir(filepath.Join(dir, "cur"))
	require.Len(t, ents, 1)
	assert.Equal(t, "1700000003.kw.host:2,FSab", ents[0].Name())
}

func TestFlagsOnDisk(t *testing.T) {
	s := newTestStore(t)
	_, m := openInbox(t, s)
	ctx := context.Background()
	uid, err := m.Append(ctx, strings.NewReader("x"), &mailbox.AppendOptions{Flags: []mailbox.Flag{mailbox.FlagSeen, mailbox.FlagDraft, "$Forwarded", "$Work"}})
	require.NoError(t, err)
	dir := filepath.Join(s.Root, "alice")
	ents, _ := os.ReadDir(filepath.Join(dir, "cur"))
	require.Len(t, ents, 1)
	assert.True(t, strings.HasSuffix(ents[0].Name(), ":2,DPS"), ents[0].Name())
	assert.Contains(t, ents[0].Name(), ",S=1")
	info := listAll(t, m)[0]
	assert.Equal(t, []mailbox.Flag{mailbox.FlagDraft, mailbox.FlagSeen, "$Forwarded", "$Work"}, info.Flags)
	_, err = m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsReplace, []mailbox.Flag{mailbox.FlagDeleted, mailbox.FlagAnswered}, 0)
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	ents, _ = os.ReadDir(filepath.Join(dir, "cur"))
	assert.True(t, strings.HasSuffix(ents[0].Name(), ":2,RT"), ents[0].Name())
}

func TestIndexRebuild(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, m := openInbox(t, s)
	for i := range 3 {
		_, err := m.Append(ctx, strings.NewReader("m"+string(rune('0'+i))), nil)
		require.NoError(t, err)
	}
	st, _ := m.Status(ctx)
	m.Close()
	a.Close()
	index := filepath.Join(s.Root, "alice", indexFile)

	// A torn last record: cut off, nothing lost, same UIDVALIDITY.
	data, err := os.ReadFile(index)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(index, append(slices.Clone(data), 40, 0, 0, 0, 1, 2, 3), 0o600))
	_, m = openInbox(t, s)
	st2, _ := m.Status(ctx)
	assert.Equal(t, st.UIDValidity, st2.UIDValidity)
	assert.Equal(t, st.UIDNext, st2.UIDNext)
	assert.Len(t, listAll(t, m), 3)
	// The torn bytes were cut off: what is appended now is found again.
	_, err = m.Append(ctx, strings.NewReader("after the tear"), nil)
	require.NoError(t, err)
	m.Close()
	_, m = openInbox(t, &Store{Root: s.Root, Users: s.Users, PollInterval: -1})
	st2, _ = m.Status(ctx)
	assert.Equal(t, st.UIDValidity, st2.UIDValidity, "appending after a torn record corrupted the index")
	assert.EqualValues(t, 4, st2.Messages)
	m.Close()
	data, err = os.ReadFile(index)
	require.NoError(t, err)

	// Damage in the middle: rebuilt from the files with a new UIDVALIDITY.
	data[len(data)/2] ^= 0xff
	require.NoError(t, os.WriteFile(index, data, 0o600))
	s2 := &Store{Root: s.Root, Users: s.Users, PollInterval: -1}
	_, m = openInbox(t, s2)
	st3, err := m.Status(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, st.UIDValidity, st3.UIDValidity)
	assert.EqualValues(t, 4, st3.Messages)

	// A lost index likewise.
	m.Close()
	require.NoError(t, os.Remove(index))
	_, m = openInbox(t, s2)
	st4, _ := m.Status(ctx)
	assert.NotEqual(t, st3.UIDValidity, st4.UIDValidity)
	assert.EqualValues(t, 4, st4.Messages)
}

// TestCompaction: a log grown past its limit is replaced by a snapshot with
// the same content; another handle in another Store catches up.
func TestCompaction(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	uid, err := m.Append(ctx, strings.NewReader("x"), nil)
	require.NoError(t, err)
	f := m.(*mbox).f
	f.mu.Lock()
	ino := f.logIno
	f.mu.Unlock()
	// Flip long keywords until the log passes 1 MiB.
	var kws []mailbox.Flag
	for k := range 20 {
		kws = append(kws, mailbox.Flag(string(rune('a'+k))+strings.Repeat("x", 250)))
	}
	for i := 0; ; i++ {
		op := mailbox.FlagsAdd
		if i%2 == 1 {
			op = mailbox.FlagsRemove
		}
		_, err := m.SetFlags(ctx, []mailbox.UID{uid}, op, kws, 0)
		require.NoError(t, err)
		f.mu.Lock()
		done := f.logIno != ino
		f.mu.Unlock()
		if done {
			break
		}
		require.Less(t, i, 20000, "no compaction")
	}
	st, _ := m.Status(ctx)
	m.Close()
	s2 := &Store{Root: s.Root, Users: s.Users, PollInterval: -1}
	_, m2 := openInbox(t, s2)
	st2, _ := m2.Status(ctx)
	assert.Equal(t, st, st2)
}

// TestParseOnDelivery: with Store.ParseOnDelivery the MIME structure is in
// the metadata cache as soon as Append returns, exactly as the IMAP
// server would have cached it.
func TestParseOnDelivery(t *testing.T) {
	msg := "From: a@example.org\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n"
	ctx := context.Background()
	for _, parse := range []bool{false, true} {
		s := newTestStore(t)
		s.ParseOnDelivery = parse
		_, m := openInbox(t, s)
		uid, err := m.Append(ctx, strings.NewReader(msg), nil)
		require.NoError(t, err)
		data, err := m.(mailbox.MetadataCache).Metadata(ctx, uid)
		if !parse {
			assert.ErrorIs(t, err, mailbox.ErrNotExist)
			continue
		}
		require.NoError(t, err)
		p, err := mime.Parse(strings.NewReader(msg), nil)
		require.NoError(t, err)
		assert.Equal(t, mime.Marshal(p), data)
		_, err = mime.Unmarshal(data)
		assert.NoError(t, err)
	}
}

// TestMetadataFollowsCopies: copies and moves carry the cached metadata.
func TestMetadataFollowsCopies(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a, m := openInbox(t, s)
	require.NoError(t, a.Create(ctx, "Dst", nil))
	u1, err := m.Append(ctx, strings.NewReader("one"), nil)
	require.NoError(t, err)
	u2, err := m.Append(ctx, strings.NewReader("two"), nil)
	require.NoError(t, err)
	mc := m.(mailbox.MetadataCache)
	require.NoError(t, mc.SetMetadata(ctx, u1, []byte("meta one")))
	require.NoError(t, mc.SetMetadata(ctx, u2, []byte("meta two")))
	cres, err := m.(mailbox.Copier).CopyTo(ctx, []mailbox.UID{u1}, "Dst")
	require.NoError(t, err)
	mres, err := m.(mailbox.Mover).MoveTo(ctx, []mailbox.UID{u2}, "Dst")
	require.NoError(t, err)
	dst, err := a.Mailbox(ctx, "Dst")
	require.NoError(t, err)
	defer dst.Close()
	dc := dst.(mailbox.MetadataCache)
	got, err := dc.Metadata(ctx, cres.Dest[0])
	require.NoError(t, err)
	assert.Equal(t, "meta one", string(got))
	got, err = dc.Metadata(ctx, mres.Dest[0])
	require.NoError(t, err)
	assert.Equal(t, "meta two", string(got))
	_, err = mc.Metadata(ctx, u2)
	assert.ErrorIs(t, err, mailbox.ErrNotExist, "the moved message's metadata stayed in the source")
}

// TestUIDL: the POP3 unique ids come from the file names, so they survive
// an index rebuild that changes every UID.
func TestUIDL(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	home := filepath.Join(s.Root, "alice")
	long := "1700000000." + strings.Repeat("h", 80)
	require.NoError(t, os.WriteFile(filepath.Join(home, "new", long), []byte("long"), 0o600))
	_, err := m.Append(ctx, strings.NewReader("ours"), nil)
	require.NoError(t, err)
	uidls := func(m mailbox.Mailbox) []string {
		var out []string
		for _, info := range listAll(t, m) {
			u, err := m.(mailbox.UIDLer).UIDL(ctx, info.UID)
			require.NoError(t, err)
			assert.True(t, len(u) >= 1 && len(u) <= 70, u)
			for _, c := range []byte(u) {
				assert.True(t, c >= 0x21 && c <= 0x7e, u)
			}
			out = append(out, u)
		}
		return out
	}
	before := uidls(m)
	require.Len(t, before, 2)
	assert.NotEqual(t, before[0], before[1])
	m.Close()
	require.NoError(t, os.Remove(filepath.Join(home, indexFile)))
	_, m = openInbox(t, &Store{Root: s.Root, Users: s.Users, PollInterval: -1})
	assert.ElementsMatch(t, before, uidls(m))
	_, err = m.(mailbox.UIDLer).UIDL(ctx, 99)
	assert.ErrorIs(t, err, mailbox.ErrNotExist)

	// The batch form gives the same ids in the order asked, "" for a UID
	// the folder does not hold.
	infos := listAll(t, m)
	got, err := m.(*mbox).UIDLs(ctx, []mailbox.UID{infos[1].UID, 99, infos[0].UID})
	require.NoError(t, err)
	one := uidls(m)
	assert.Equal(t, []string{one[1], "", one[0]}, got)
	m.Close()
	_, err = m.(*mbox).UIDLs(ctx, nil)
	assert.ErrorIs(t, err, mailbox.ErrClosed)
}

// TestOutsideChangeBeforeOwnChange: a file dropped in just before the
// store's own append or expunge is found at once, not hidden behind the
// directory mtime the store records for its own change.
func TestOutsideChangeBeforeOwnChange(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, m := openInbox(t, s)
	home := filepath.Join(s.Root, "alice")
	uid, err := m.Append(ctx, strings.NewReader("first"), nil)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(home, "new", "1700000000.a.host"), []byte("a"), 0o600))
	_, err = m.Append(ctx, strings.NewReader("ours"), nil)
	require.NoError(t, err)
	assert.Len(t, listAll(t, m), 3, "after an append")
	require.NoError(t, os.WriteFile(filepath.Join(home, "new", "1700000001.b.host"), []byte("b"), 0o600))
	_, err = m.Expunge(ctx, []mailbox.UID{uid})
	require.NoError(t, err)
	assert.Len(t, listAll(t, m), 3, "after an expunge")
}

// TestCancelInsideWatch: a watcher may cancel its watch from inside its
// callback, even when the poller delivers the event.
func TestCancelInsideWatch(t *testing.T) {
	s := newTestStore(t)
	s.PollInterval = 10 * time.Millisecond
	a, m := openInbox(t, s)
	_, err := m.Status(context.Background())
	require.NoError(t, err)
	done := make(chan struct{})
	cancelc := make(chan func(), 1)
	var once sync.Once
	cancelc <- a.Watch(func(mailbox.Event) {
		once.Do(func() {
			(<-cancelc)()
			close(done)
		})
	})
	require.NoError(t, os.WriteFile(filepath.Join(s.Root, "alice", "new", "1700000009.c.host"), []byte("c"), 0o600))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher was not called, or cancel blocked inside it")
	}
}
