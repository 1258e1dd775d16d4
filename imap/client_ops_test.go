package imap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClient runs the client suite against every peer: our own server
// on a memory store and, where installed (always under CI), a private
// Dovecot. Both get the same cases.
func TestClient(t *testing.T) {
	cases := []struct {
		name string
		f    func(t *testing.T, p *ctPeer)
	}{
		{"Login", ctLoginAndCapabilities},
		{"Authenticate", ctAuthenticate},
		{"TLS", ctTLS},
		{"Mailboxes", ctMailboxes},
		{"Fetch", ctSelectAndFetch},
		{"MIME", ctMIME},
		{"LargeLiteral", ctLargeLiteral},
		{"Store", ctStore},
		{"Search", ctSearch},
		{"CopyMove", ctCopyMove},
		{"Expunge", ctExpunge},
		{"Updates", ctUpdates},
		{"Idle", ctIdle},
		{"Sync", ctSync},
		{"Misc", ctMisc},
		{"Compress", ctCompress},
		{"IMAP4rev2", ctRev2},
	}
	ctRunCases(t, cases)
}

func ctRunCases(t *testing.T, cases []struct {
	name string
	f    func(t *testing.T, p *ctPeer)
}) {
	for _, ps := range ctPeerStarters {
		t.Run(ps.name, func(t *testing.T) {
			p := ps.start(t)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.f(t, p) })
			}
		})
	}
}

func all() NumSet { return span(1, Star) }

func one(n uint32) NumSet { return span(n, n) }

func span(lo, hi uint32) NumSet { return NumSet{Ranges: []Range{{Start: lo, Stop: hi}}} }

// ctLargeLiteral appends and fetches an 8 MiB message: both directions
// stream, so the client allocates far less than the message size.
func ctLargeLiteral(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	const size = 8 << 20
	head := "Subject: big\r\n\r\n"
	body := func() io.Reader {
		return io.MultiReader(strings.NewReader(head), io.LimitReader(&patternReader{}, size-int64(len(head))))
	}
	want := sha256.New()
	io.Copy(want, body())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.Append(ctx, "INBOX", AppendMessage{Body: body(), Size: size, Flags: []Flag{FlagSeen}})
	require.NoError(t, err)
	_, err = c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	got := sha256.New()
	var n int64
	for m, err := range c.Fetch(ctx, one(1), &FetchOptions{RFC822Size: true, Sections: []FetchSection{{}}}) {
		require.NoError(t, err)
		assert.EqualValues(t, size, m.RFC822Size)
		sb, err := m.NextBody()
		require.NoError(t, err)
		require.NotNil(t, sb)
		assert.EqualValues(t, size, sb.Size)
		n, err = io.Copy(got, sb.Reader)
		require.NoError(t, err)
	}
	runtime.ReadMemStats(&after)
	assert.EqualValues(t, size, n)
	assert.Equal(t, want.Sum(nil), got.Sum(nil))
	if p.name == "dovecot" { // our own server shares the process
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(size/4), "client allocations while moving 2×8 MiB")
	}
}

// patternReader yields an endless CRLF-terminated text.
type patternReader struct{ i int }

func (r *patternReader) Read(p []byte) (int, error) {
	const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-\r\n"
	for i := range p {
		p[i] = line[r.i%len(line)]
		r.i++
	}
	return len(p), nil
}

func ctStore(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	ctAppend(t, c, "INBOX", ctMessage("a", "a\r\n"), ctMessage("b", "b\r\n"), ctMessage("c", "c\r\n"))
	condstore := c.Has(ctx, "CONDSTORE")
	_, err := c.Select(ctx, "INBOX", &SelectOptions{CondStore: condstore})
	require.NoError(t, err)

	res, err := c.Store(ctx, span(1, 2), StoreAdd, []Flag{FlagFlagged, "$Work"}, nil)
	require.NoError(t, err)
	require.Len(t, res.Messages, 2)
	for _, m := range res.Messages {
		assert.True(t, m.HasFlag(FlagFlagged))
		assert.True(t, m.HasFlag("$work"), "keywords compare case-insensitively")
	}
	res, err = c.Store(ctx, one(1), StoreRemove, []Flag{FlagFlagged}, &StoreOptions{Silent: true})
	require.NoError(t, err)
	for _, m := range res.Messages { // with CONDSTORE, MODSEQ still comes
		assert.Nil(t, m.Flags, ".SILENT")
	}
	res, err = c.Store(ctx, one(3), StoreReplace, []Flag{FlagAnswered}, nil)
	require.NoError(t, err)
	require.Len(t, res.Messages, 1)
	assert.True(t, res.Messages[0].HasFlag(FlagAnswered))

	// Invalid flags never reach the wire.
	_, err = c.Store(ctx, one(1), StoreAdd, []Flag{"bad flag"}, nil)
	require.Error(t, err)
	require.NoError(t, c.Noop(ctx), "a refused argument leaves the client usable")

	if !condstore {
		return
	}
	var modseq uint64
	for m, err := range c.Fetch(ctx, one(2), &FetchOptions{ModSeq: true}) {
		require.NoError(t, err)
		modseq = m.ModSeq
	}
	require.NotZero(t, modseq)
	// Change message 2, then a conditional store against the old MODSEQ
	// must leave it alone and report it in MODIFIED.
	_, err = c.Store(ctx, one(2), StoreAdd, []Flag{FlagSeen}, nil)
	require.NoError(t, err)
	res, err = c.Store(ctx, span(1, 2), StoreAdd, []Flag{FlagDraft}, &StoreOptions{UnchangedSince: modseq})
	require.NoError(t, err)
	assert.True(t, res.Modified.Contains(2, 3), "message 2 changed since %d: %v", modseq, res.Modified)
	for m, err := range c.Fetch(ctx, one(2), &FetchOptions{Flags: true}) {
		require.NoError(t, err)
		assert.False(t, m.HasFlag(FlagDraft))
	}
}

func ctSearch(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	uids := ctAppend(t, c, "INBOX", ctMessage("apple pie", "sweet\r\n"), ctMessage("banana bread", "also sweet\r\n"), ctMessage("cherry", "sour\r\n"))
	_, err := c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	_, err = c.Store(ctx, one(2), StoreAdd, []Flag{FlagFlagged}, nil)
	require.NoError(t, err)

	res, err := c.Search(ctx, nil, KeyText("SUBJECT", "banana"))
	require.NoError(t, err)
	assert.Equal(t, []uint32{2}, res.Nums())

	res, err = c.Search(ctx, nil, KeyOr(KeyFlag(FlagFlagged), KeyText("subject", "cherry")))
	require.NoError(t, err)
	assert.Equal(t, []uint32{2, 3}, res.Nums())

	res, err = c.Search(ctx, nil, KeyNot(KeyFlag(FlagFlagged)), KeyDate("SINCE", time.Now().Add(-48*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, []uint32{1, 3}, res.Nums())

	res, err = c.UIDSearch(ctx, nil, KeyHeader("Message-ID", "apple.pie@example.org"))
	require.NoError(t, err)
	if len(uids) == 3 {
		assert.Equal(t, []uint32{uids[0]}, res.Nums())
	}
	assert.True(t, res.UID)

	res, err = c.Search(ctx, nil, KeyText("body", "nothing like this"))
	require.NoError(t, err)
	assert.Empty(t, res.Nums())

	// A non-ASCII string goes out as a literal with CHARSET UTF-8 (or
	// in UTF-8 once enabled).
	res, err = c.Search(ctx, nil, KeyText("subject", "äpfel"))
	require.NoError(t, err)
	assert.Empty(t, res.Nums())

	if c.Has(ctx, "ESEARCH") || c.Has(ctx, "IMAP4REV2") {
		res, err = c.Search(ctx, &SearchOptions{Min: true, Max: true, Count: true}, KeyText("body", "sweet"))
		require.NoError(t, err)
		assert.EqualValues(t, 1, res.Min)
		assert.EqualValues(t, 2, res.Max)
		assert.EqualValues(t, 2, res.Count)
	}
	if c.Has(ctx, "PARTIAL") { // RFC 9394
		res, err = c.Search(ctx, &SearchOptions{Partial: "-1:-2", Count: true}, KeyAll())
		require.NoError(t, err)
		assert.Equal(t, "2:3", res.Partial.String())
		assert.EqualValues(t, 3, res.Count)
		res, err = c.Search(ctx, &SearchOptions{Partial: "5:9"}, KeyAll())
		require.NoError(t, err)
		assert.True(t, res.Partial.IsEmpty(), res.Partial)
	}
	if c.Has(ctx, "SORT") {
		nums, err := c.Sort(ctx, false, []SortKey{{Key: "SUBJECT", Reverse: true}})
		require.NoError(t, err)
		assert.Equal(t, []uint32{3, 2, 1}, nums)
	}
	if c.Has(ctx, "THREAD=REFERENCES") {
		reply := "Subject: Re: apple pie\r\nMessage-ID: <reply@example.org>\r\nIn-Reply-To: <apple.pie@example.org>\r\n" +
			"References: <apple.pie@example.org>\r\nDate: Tue, 5 Mar 2024 11:00:00 +0000\r\n\r\nyes\r\n"
		ctAppend(t, c, "INBOX", reply)
		require.NoError(t, c.Noop(ctx))
		threads, err := c.Thread(ctx, false, "REFERENCES")
		require.NoError(t, err)
		require.Len(t, threads, 3, "%+v", threads)
		assert.Contains(t, threads, Thread{Num: 1, Children: []Thread{{Num: 4}}})
	} else if p.name == "dovecot" {
		t.Error("dovecot offers THREAD=REFERENCES")
	}
}

func ctCopyMove(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	require.NoError(t, c.Create(ctx, "Archive"))
	ctAppend(t, c, "INBOX", ctMessage("a", "a\r\n"), ctMessage("b", "b\r\n"), ctMessage("c", "c\r\n"))
	_, err := c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)

	cp, err := c.Copy(ctx, one(1), "Archive")
	require.NoError(t, err)
	if c.Has(ctx, "UIDPLUS") {
		require.NotNil(t, cp)
		assert.Len(t, cp.Map(), 1)
		assert.NotZero(t, cp.UIDValidity)
	}
	var expunged []uint32
	c.opts.Handler = func(u Update) {
		if u.Kind == UpdateExpunge {
			expunged = append(expunged, u.Seq)
		}
	}
	mv, err := c.Move(ctx, span(2, 3), "Archive")
	require.NoError(t, err)
	if c.Has(ctx, "UIDPLUS") {
		require.NotNil(t, mv)
		assert.Len(t, mv.Source, 2)
		assert.Len(t, mv.Dest, 2)
	}
	assert.EqualValues(t, 1, c.Mailbox().Exists, "view follows the EXPUNGEs of MOVE")
	assert.Len(t, expunged, 2)
	st, err := c.Status(ctx, "Archive", []StatusItem{StatusMessages})
	require.NoError(t, err)
	assert.EqualValues(t, 3, st.Messages)

	err = func() error { _, err := c.Copy(ctx, one(1), "NoSuchBox"); return err }()
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, CodeTryCreate, ie.Code)
}

func ctExpunge(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	uids := ctAppend(t, c, "INBOX", ctMessage("a", "a\r\n"), ctMessage("b", "b\r\n"), ctMessage("c", "c\r\n"), ctMessage("d", "d\r\n"))
	_, err := c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	_, err = c.Store(ctx, span(2, 3), StoreAdd, []Flag{FlagDeleted}, &StoreOptions{Silent: true})
	require.NoError(t, err)
	seqs, _, err := c.Expunge(ctx)
	require.NoError(t, err)
	assert.Len(t, seqs, 2)
	assert.Contains(t, seqs, uint32(2))
	assert.EqualValues(t, 2, c.Mailbox().Exists)

	if len(uids) == 4 && (c.Has(ctx, "UIDPLUS") || c.Has(ctx, "IMAP4REV2")) {
		_, err = c.Store(ctx, all(), StoreAdd, []Flag{FlagDeleted}, &StoreOptions{Silent: true})
		require.NoError(t, err)
		seqs, _, err = c.UIDExpunge(ctx, one(uids[3]))
		require.NoError(t, err)
		assert.Equal(t, []uint32{2}, seqs, "only the UID given goes")
	}
	require.NoError(t, c.CloseMailbox(ctx))
	assert.Nil(t, c.Mailbox())
	st, err := c.Status(ctx, "INBOX", []StatusItem{StatusMessages})
	require.NoError(t, err)
	assert.EqualValues(t, 0, st.Messages, "CLOSE expunged the last \\Deleted message")
}

// ctUpdates checks that changes made by another session reach the
// handler and keep the view consistent.
func ctUpdates(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	u, pass := p.newUser(t)
	var ups []Update
	a := p.loginAs(t, u, pass, &ClientOptions{Handler: func(up Update) { ups = append(ups, up) }})
	b := p.loginAs(t, u, pass, nil)
	ctAppend(t, b, "INBOX", ctMessage("a", "a\r\n"), ctMessage("b", "b\r\n"))
	_, err := a.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	for _, err := range a.Fetch(ctx, all(), &FetchOptions{UID: true}) {
		require.NoError(t, err)
	}
	ctAppend(t, b, "INBOX", ctMessage("c", "c\r\n"))
	_, err = b.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	_, err = b.Store(ctx, one(1), StoreAdd, []Flag{FlagDeleted}, nil)
	require.NoError(t, err)
	_, _, err = b.Expunge(ctx)
	require.NoError(t, err)

	require.NoError(t, a.Noop(ctx))
	kinds := map[UpdateKind]int{}
	for _, up := range ups {
		kinds[up.Kind]++
	}
	assert.Positive(t, kinds[UpdateExists], "%v", ups)
	assert.Positive(t, kinds[UpdateExpunge], "%v", ups)
	assert.EqualValues(t, 2, a.Mailbox().Exists)
	uid, ok := a.SeqUID(1)
	assert.True(t, ok, "message b kept its UID, renumbered to 1")
	assert.NotZero(t, uid)

	if !a.Has(ctx, "QRESYNC") {
		return
	}
	// With QRESYNC enabled, expunges arrive as VANISHED.
	var vups []Update
	q := p.loginAs(t, u, pass, &ClientOptions{Handler: func(up Update) { vups = append(vups, up) }})
	_, err = q.Enable(ctx, "QRESYNC")
	require.NoError(t, err)
	_, err = q.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	for _, err := range q.Fetch(ctx, all(), &FetchOptions{UID: true}) {
		require.NoError(t, err)
	}
	last, _ := q.SeqUID(2)
	_, err = b.Store(ctx, one(1), StoreAdd, []Flag{FlagDeleted}, nil)
	require.NoError(t, err)
	_, _, err = b.Expunge(ctx)
	require.NoError(t, err)
	require.NoError(t, q.Noop(ctx))
	require.NotEmpty(t, vups)
	assert.Equal(t, UpdateVanished, vups[len(vups)-1].Kind, "%v", vups)
	assert.EqualValues(t, 1, q.Mailbox().Exists)
	uid, ok = q.SeqUID(1)
	assert.True(t, ok)
	assert.Equal(t, last, uid)
}

func ctIdle(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	u, pass := p.newUser(t)
	a := p.loginAs(t, u, pass, nil)
	b := p.loginAs(t, u, pass, nil)
	_, err := a.Select(ctx, "INBOX", nil)
	require.NoError(t, err)

	idleCtx, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	var got []Update
	done := make(chan error, 1)
	go func() {
		done <- a.Idle(idleCtx, 0, func(up Update) {
			mu.Lock()
			got = append(got, up)
			mu.Unlock()
			if up.Kind == UpdateExists {
				stop()
			}
		})
	}()
	time.Sleep(100 * time.Millisecond) // let IDLE start; the append is seen either way
	ctAppend(t, b, "INBOX", ctMessage("new", "news\r\n"))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("no EXISTS during IDLE")
	}
	mu.Lock()
	assert.NotEmpty(t, got)
	mu.Unlock()
	assert.EqualValues(t, 1, a.Mailbox().Exists)
	require.NoError(t, a.Noop(ctx), "client usable after IDLE")

	// Restart: IDLE is ended and begun again at the interval, with the
	// client still receiving updates afterwards.
	rctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	require.NoError(t, a.Idle(rctx, 200*time.Millisecond, nil))
	require.NoError(t, a.Noop(ctx))
}

func ctSync(t *testing.T, p *ctPeer) {
	for _, method := range []SyncMethod{SyncQResync, SyncCondStore, SyncFull} {
		t.Run(string(method), func(t *testing.T) {
			ctx := ctxT(t)
			c := p.login(t, nil)
			// Hide the better methods to test each path.
			c.Capability(ctx)
			if method != SyncQResync {
				delete(c.caps, "QRESYNC")
			}
			if method == SyncFull {
				delete(c.caps, "CONDSTORE")
			}
			if method != SyncFull && !c.has(strings.Split(string(method), "/")[0]) {
				t.Skipf("%s does not offer %s", p.name, method)
			}
			b := ctAppend(t, c, "INBOX", ctMessage("a", "a\r\n"), ctMessage("b", "b\r\n"), ctMessage("c", "c\r\n"))
			res, err := c.Sync(ctx, "INBOX", nil)
			require.NoError(t, err)
			assert.Len(t, res.Added, 3)
			assert.Empty(t, res.Vanished)
			if len(b) == 3 {
				assert.Equal(t, b, res.State.UIDs)
			}
			state := res.State
			require.NoError(t, c.Unselect(ctx))

			// Changes: one added, one flagged, one expunged.
			ctAppend(t, c, "INBOX", ctMessage("d", "d\r\n"))
			_, err = c.Select(ctx, "INBOX", nil)
			require.NoError(t, err)
			_, err = c.UIDStore(ctx, one(state.UIDs[1]), StoreAdd, []Flag{FlagFlagged}, nil)
			require.NoError(t, err)
			_, err = c.UIDStore(ctx, one(state.UIDs[0]), StoreAdd, []Flag{FlagDeleted}, nil)
			require.NoError(t, err)
			_, _, err = c.Expunge(ctx)
			require.NoError(t, err)
			require.NoError(t, c.Unselect(ctx))

			res, err = c.Sync(ctx, "INBOX", &state)
			require.NoError(t, err)
			assert.Equal(t, method, res.Method)
			assert.False(t, res.Reset)
			require.Len(t, res.Added, 1)
			assert.Equal(t, []uint32{state.UIDs[0]}, res.Vanished)
			changed := map[uint32]*FetchMessage{}
			for _, m := range res.Changed {
				changed[m.UID] = m
			}
			require.Contains(t, changed, state.UIDs[1])
			assert.True(t, changed[state.UIDs[1]].HasFlag(FlagFlagged))
			if method != SyncFull {
				assert.NotContains(t, changed, state.UIDs[2], "unchanged message not reported")
			}
			assert.Len(t, res.State.UIDs, 3)

			if method == SyncFull {
				// With the local flags, only real changes are reported.
				known := res.State
				known.Flags = map[uint32][]Flag{}
				for _, m := range res.Added {
					known.Flags[m.UID] = m.Flags
				}
				for _, m := range res.Changed {
					known.Flags[m.UID] = m.Flags
				}
				require.NoError(t, c.Unselect(ctx))
				_, err = c.Select(ctx, "INBOX", nil)
				require.NoError(t, err)
				_, err = c.UIDStore(ctx, one(state.UIDs[2]), StoreAdd, []Flag{FlagAnswered}, nil)
				require.NoError(t, err)
				require.NoError(t, c.Unselect(ctx))
				res2, err := c.Sync(ctx, "INBOX", &known)
				require.NoError(t, err)
				require.Len(t, res2.Changed, 1)
				assert.Equal(t, state.UIDs[2], res2.Changed[0].UID)
				assert.Empty(t, res2.Added)
			}

			// A different UIDVALIDITY resets.
			res, err = c.Sync(ctx, "INBOX", &SyncState{UIDValidity: state.UIDValidity + 1, HighestModSeq: 1, UIDs: []uint32{1}})
			require.NoError(t, err)
			assert.True(t, res.Reset)
			assert.Len(t, res.Added, 3)
		})
	}
}

func ctMisc(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	if c.Has(ctx, "ID") {
		id, err := c.ID(ctx, map[string]string{"name": "posthorn-test"})
		require.NoError(t, err)
		if p.name == "dovecot" {
			assert.Equal(t, "Dovecot", id["name"])
		}
	}
	if c.Has(ctx, "ENABLE") {
		en, err := c.Enable(ctx, "CONDSTORE")
		require.NoError(t, err)
		if c.Has(ctx, "CONDSTORE") {
			assert.Contains(t, en, "CONDSTORE")
			assert.True(t, c.Enabled("condstore"))
		}
	}
	if c.Has(ctx, "MULTIAPPEND") {
		msgs := []AppendMessage{
			{Body: strings.NewReader(ctMessage("m1", "1\r\n")), Size: int64(len(ctMessage("m1", "1\r\n"))), Flags: []Flag{FlagSeen}, Date: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)},
			{Body: bytes.NewReader([]byte(ctMessage("m2", "2\r\n"))), Size: int64(len(ctMessage("m2", "2\r\n")))},
		}
		res, err := c.AppendMulti(ctx, "INBOX", msgs)
		require.NoError(t, err)
		if c.Has(ctx, "UIDPLUS") {
			assert.Len(t, res.UIDs, 2)
		}
		_, err = c.Select(ctx, "INBOX", nil)
		require.NoError(t, err)
		for m, err := range c.Fetch(ctx, one(1), &FetchOptions{Flags: true, InternalDate: true}) {
			require.NoError(t, err)
			assert.True(t, m.HasFlag(FlagSeen))
			assert.True(t, m.InternalDate.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)), "%v", m.InternalDate)
		}
	}
	each := []AppendMessage{
		{Body: strings.NewReader(ctMessage("e1", "1\r\n")), Size: int64(len(ctMessage("e1", "1\r\n")))},
		{Body: strings.NewReader(ctMessage("e2", "2\r\n")), Size: int64(len(ctMessage("e2", "2\r\n")))},
	}
	eres, err := c.AppendEach(ctx, "INBOX", each)
	require.NoError(t, err)
	require.Len(t, eres, 2)
	if c.Has(ctx, "UIDPLUS") {
		assert.Len(t, eres[1].UIDs, 1)
	}
	// Appending to a missing mailbox: NO [TRYCREATE], client still usable.
	_, err = c.Append(ctx, "Missing", AppendMessage{Body: strings.NewReader("x\r\n"), Size: 3})
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, CodeTryCreate, ie.Code)
	require.NoError(t, c.Noop(ctx))
}

func ctCompress(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	if !c.Has(ctx, "COMPRESS=DEFLATE") {
		if p.name == "dovecot" {
			t.Fatal("dovecot with imap_zlib offers COMPRESS=DEFLATE")
		}
		require.Error(t, c.Compress(ctx))
		return
	}
	require.NoError(t, c.Compress(ctx))
	msg := ctMessage("compressed", strings.Repeat("the same line again and again\r\n", 2000))
	ctAppend(t, c, "INBOX", msg)
	_, err := c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	for m, err := range c.Fetch(ctx, one(1), &FetchOptions{Sections: []FetchSection{{}}}) {
		require.NoError(t, err)
		b, err := m.ReadBody(1 << 20)
		require.NoError(t, err)
		assert.Equal(t, msg, string(b))
	}
	_, ok := c.conn.(*deflateConn)
	assert.True(t, ok, "the connection is compressed")
	// IDLE ends by a read deadline: the compressed stream survives it.
	ictx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	require.NoError(t, c.Idle(ictx, 0, nil))
	require.NoError(t, c.Noop(ctx))
	require.Error(t, c.Compress(ctx), "only once")
	require.NoError(t, c.Logout(ctx))
}

// ctMIME fetches parts of a multipart message: BODYSTRUCTURE, nested
// sections, MIME headers, BINARY (decoded by the server) and BINARY.SIZE.
func ctMIME(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	msg := "From: sara@example.org\r\nSubject: with attachment\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"preamble\r\n--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello Jim.\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\nAAECA/8=\r\n--b1--\r\n"
	ctAppend(t, c, "INBOX", msg)
	_, err := c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	opts := &FetchOptions{BodyStructure: true, BinarySize: []Section{{Path: []int{2}}},
		Sections: []FetchSection{
			{Section: Section{Path: []int{1}}},
			{Section: Section{Path: []int{2}, Specifier: PartMIME}},
			{Section: Section{Path: []int{2}}, Binary: true},
		}}
	n := 0
	for m, err := range c.Fetch(ctx, one(1), opts) {
		require.NoError(t, err)
		n++
		bs := m.BodyStructure
		require.NotNil(t, bs)
		assert.True(t, bs.IsMultipart())
		assert.True(t, strings.EqualFold("mixed", bs.Subtype))
		require.Len(t, bs.Parts, 2)
		assert.True(t, strings.EqualFold("base64", bs.Parts[1].Encoding))
		assert.True(t, strings.EqualFold("attachment", bs.Parts[1].Disposition), bs.Parts[1].Disposition)

		var got []string
		for {
			sb, err := m.NextBody()
			require.NoError(t, err)
			if sb == nil {
				break
			}
			b, err := io.ReadAll(sb.Reader)
			require.NoError(t, err)
			got = append(got, string(b))
		}
		require.Len(t, got, 3)
		assert.Equal(t, "Hello Jim.", got[0])
		assert.Contains(t, got[1], "Content-Transfer-Encoding: base64")
		assert.Equal(t, "\x00\x01\x02\x03\xff", got[2], "BINARY[2] is decoded")
		assert.Equal(t, map[string]int64{"2": 5}, m.BinarySize)
	}
	assert.Equal(t, 1, n)
}

// ctRev2 enables IMAP4rev2 where offered: SEARCH then answers with
// ESEARCH, names travel in UTF-8, and the client follows.
func ctRev2(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	if !c.Has(ctx, "IMAP4REV2") {
		t.Skipf("%s does not offer IMAP4rev2", p.name)
	}
	en, err := c.Enable(ctx, "IMAP4rev2")
	require.NoError(t, err)
	require.Contains(t, en, "IMAP4REV2")
	name := "Ärger/日本"
	require.NoError(t, c.Create(ctx, name))
	ctAppend(t, c, name, ctMessage("x", "x\r\n"), ctMessage("y", "y\r\n"))
	list, err := c.List(ctx, "", "Ärger/*", nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, name, list[0].Name)
	_, err = c.Select(ctx, name, nil)
	require.NoError(t, err)
	res, err := c.Search(ctx, nil, KeyText("subject", "y"))
	require.NoError(t, err)
	assert.Equal(t, []uint32{2}, res.Nums())
	uid, err := c.UIDSearch(ctx, &SearchOptions{Count: true}, KeyAll())
	require.NoError(t, err)
	assert.EqualValues(t, 2, uid.Count)
}
