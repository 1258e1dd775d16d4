package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/stretchr/testify/require"
)

// latencyStore wraps a store so that every Open of a message waits delay
// first (a network store), counts the handles it gives out and those
// closed, and may expunge one message when it is opened (another session's
// EXPUNGE racing the FETCH) or panic on one (a broken store).
type latencyStore struct {
	mailbox.Store
	delay      time.Duration
	victim     mailbox.UID
	panicAt    mailbox.UID   // Open of this message panics,
	panicAfter mailbox.UID   // once this one was opened (or after 200 ms)
	block      chan struct{} // when set, Open waits for it (or ctx) after the first opens

	mu      sync.Mutex
	opened  int
	closed  int
	open    int // handles out now
	maxOpen int
	order   []mailbox.UID
}

func (s *latencyStore) Authenticate(ctx context.Context, user, pass string) (string, error) {
	return s.Store.(mailbox.Authenticator).Authenticate(ctx, user, pass)
}

func (s *latencyStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(ctx, user)
	if err != nil {
		return nil, err
	}
	return &latencyAccount{a, s}, nil
}

type latencyAccount struct {
	mailbox.Account
	s *latencyStore
}

func (a *latencyAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	if err != nil {
		return nil, err
	}
	return &latencyMailbox{m, a.s}, nil
}

type latencyMailbox struct {
	mailbox.Mailbox
	s *latencyStore
}

func (m *latencyMailbox) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	s := m.s
	if s.block != nil && uid > 10 {
		select {
		case <-s.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if uid == s.panicAt {
		for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			s.mu.Lock()
			opened := slices.Contains(s.order, s.panicAfter)
			s.mu.Unlock()
			if opened {
				break
			}
		}
		panic("the store broke")
	}
	if uid == s.victim {
		if _, err := m.Mailbox.Expunge(ctx, []mailbox.UID{uid}); err != nil {
			return nil, err
		}
	}
	rc, err := m.Mailbox.Open(ctx, uid)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened++
	s.open++
	s.maxOpen = max(s.maxOpen, s.open)
	s.order = append(s.order, uid)
	return &countedReader{ReadCloser: rc, s: s}, nil
}

type countedReader struct {
	io.ReadCloser
	s    *latencyStore
	once sync.Once
}

func (r *countedReader) Close() error {
	r.once.Do(func() {
		r.s.mu.Lock()
		r.s.closed++
		r.s.open--
		r.s.mu.Unlock()
	})
	return r.ReadCloser.Close()
}

func (s *latencyStore) counts() (opened, closed, maxOpen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, s.closed, s.maxOpen
}

// prefetchEnv serves n messages of sara's INBOX from a memory store, both
// directly and through a latencyStore; the messages grow with their number,
// and every 50th and the last are larger than prefetchMaxRead (opened, not
// read, ahead).
func prefetchEnv(t *testing.T, n int, ls *latencyStore) (direct, slow *testEnv, msgs []string) {
	st := memstore.New()
	require.NoError(t, st.AddUser("sara", "secret", "sara@example.org"))
	direct = newTestEnvStore(t, st)
	for i := 1; i <= n; i++ {
		body := strings.Repeat(fmt.Sprintf("line %d of the body\r\n", i), i)
		if i == n || i%50 == 0 {
			body = strings.Repeat("x", prefetchMaxRead) + "\r\n"
		}
		m := msg(fmt.Sprintf("message %d", i), body)
		direct.appendMsg("INBOX", m)
		msgs = append(msgs, m)
	}
	ls.Store = st
	slow = newTestEnvStore(t, ls)
	return direct, slow, msgs
}

// fetchAll sends cmd and returns every response line up to the tagged one.
func fetchAll(c *client, tag, cmd string) []string {
	c.send(tag + " " + cmd)
	var lines []string
	for {
		l := c.readLine()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

// On a store slow to open messages, a large FETCH of message data starts
// the prefetcher and answers exactly as without it, in order; each message
// is opened once, every handle opened is closed, and never more than 8 are
// open at once.
func TestFetchPrefetchSlowStore(t *testing.T) {
	ls := &latencyStore{delay: 100 * time.Microsecond}
	direct, slow, _ := prefetchEnv(t, 60, ls)
	for _, cmd := range []string{
		"FETCH 1:* (UID BODY.PEEK[])",
		"FETCH 1:* (FLAGS BODY.PEEK[HEADER] BODY.PEEK[TEXT]<5.20> RFC822.SIZE)",
		"UID FETCH 1:* (BODY.PEEK[1] BINARY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
	} {
		want := fetchAll(direct.selectInbox(), "f", cmd)
		before := prefetchStarted.Load()
		got := fetchAll(slow.selectInbox(), "f", cmd)
		require.Equal(t, int64(1), prefetchStarted.Load()-before, "prefetcher started for %s", cmd)
		require.Equal(t, want, got, cmd)
		require.Len(t, got, 61)
	}
	opened, closed, maxOpen := ls.counts()
	require.Equal(t, 3*60, opened, "each message opened once per FETCH")
	require.Equal(t, opened, closed, "handles opened and closed")
	require.LessOrEqual(t, maxOpen, prefetchWindow+1)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	require.NotEmpty(t, ls.order)
}

// helperThresholds sets prefetchLatency and splitLatency, and GOMAXPROCS
// to at least 2, for the rest of the test.
func helperThresholds(t *testing.T, prefetch, split time.Duration) {
	oldP, oldS := prefetchLatency.Swap(int64(prefetch)), splitLatency.Swap(int64(split))
	t.Cleanup(func() {
		prefetchLatency.Store(oldP)
		splitLatency.Store(oldS)
	})
	setProcs(t, max(2, runtime.GOMAXPROCS(0)))
}

// setProcs sets GOMAXPROCS for the rest of the test.
func setProcs(t *testing.T, n int) {
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// A fast store, or a small FETCH, or one without message data, starts no
// helper of either kind.
func TestFetchPrefetchNotStarted(t *testing.T) {
	ls := &latencyStore{delay: 100 * time.Microsecond}
	direct, slow, _ := prefetchEnv(t, 40, ls)
	before, beforeSplit := prefetchStarted.Load(), splitStarted.Load()
	// Fast: the memory store, under thresholds that a loaded machine
	// running the race detector cannot reach.
	oldP, oldS := prefetchLatency.Swap(int64(time.Second)), splitLatency.Swap(int64(time.Second))
	fetchAll(direct.selectInbox(), "f", "FETCH 1:* BODY.PEEK[]")
	prefetchLatency.Store(oldP)
	splitLatency.Store(oldS)
	c := slow.selectInbox()
	fetchAll(c, "g", fmt.Sprintf("FETCH 1:%d BODY.PEEK[]", prefetchMin-1))
	fetchAll(c, "h", "FETCH 1:* (FLAGS ENVELOPE)")
	require.Equal(t, before, prefetchStarted.Load())
	require.Equal(t, beforeSplit, splitStarted.Load())
}

// On a store whose Open costs a few microseconds, a large FETCH of
// message data shares the work with a helper and answers exactly as
// without it, in order; each message is opened once (by the helper or by
// the connection's goroutine, never both), every handle opened is closed,
// and never more are open at once than the window and one.
func TestFetchSplitSameAnswers(t *testing.T) {
	ls := &latencyStore{}
	direct, shared, _ := prefetchEnv(t, 60, ls)
	cmds := []string{
		"FETCH 1:* (UID BODY.PEEK[])",
		"FETCH 1:* (FLAGS BODY.PEEK[HEADER] BODY.PEEK[TEXT]<5.20> RFC822.SIZE)",
		"UID FETCH 1:* (BODY.PEEK[1] BINARY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
	}
	var want [][]string
	helperThresholds(t, time.Hour, time.Hour)
	for _, cmd := range cmds {
		want = append(want, fetchAll(direct.selectInbox(), "f", cmd))
	}
	helperThresholds(t, time.Hour, 0)
	c := shared.selectInbox()
	for i, cmd := range cmds {
		before, beforeSlow := splitStarted.Load(), prefetchStarted.Load()
		got := fetchAll(c, "f", cmd)
		require.Equal(t, int64(1), splitStarted.Load()-before, "helper started for %s", cmd)
		require.Equal(t, beforeSlow, prefetchStarted.Load())
		require.Equal(t, want[i], got, cmd)
		require.Len(t, got, 61)
	}
	opened, closed, maxOpen := ls.counts()
	require.Equal(t, len(cmds)*60, opened, "each message opened once per FETCH")
	require.Equal(t, opened, closed, "handles opened and closed")
	require.LessOrEqual(t, maxOpen, splitWindow+1)
}

// With a single CPU to run on, the work is not shared: a helper would
// only take turns with the connection's goroutine.
func TestFetchSplitNeedsTwoCPUs(t *testing.T) {
	ls := &latencyStore{}
	_, shared, _ := prefetchEnv(t, 40, ls)
	helperThresholds(t, time.Hour, 0)
	setProcs(t, 1)
	before := splitStarted.Load()
	lines := fetchAll(shared.selectInbox(), "f", "FETCH 1:* BODY.PEEK[]")
	require.Len(t, lines, 41)
	require.Equal(t, before, splitStarted.Load())
}

// A message expunged by another session while helpers of either kind are
// ahead: answered as without them (RFC 2180 §4.1.3): the others go out,
// the FETCH ends NO [EXPUNGEISSUED].
func TestFetchPrefetchExpungedMeanwhile(t *testing.T) {
	helperKinds(t, func(t *testing.T, delay time.Duration, started *atomic.Int64) {
		testExpungedMeanwhile(t, &latencyStore{delay: delay, victim: 20}, started)
	})
}

// helperKinds runs f once for each kind of helpers, with the delay of a
// store's Open that starts them and the counter of the FETCHes that did.
func helperKinds(t *testing.T, f func(t *testing.T, delay time.Duration, started *atomic.Int64)) {
	t.Run("slow store", func(t *testing.T) { f(t, 100*time.Microsecond, &prefetchStarted) })
	t.Run("shared", func(t *testing.T) {
		helperThresholds(t, time.Hour, 0)
		f(t, 0, &splitStarted)
	})
}

func testExpungedMeanwhile(t *testing.T, ls *latencyStore, started *atomic.Int64) {
	_, slow, msgs := prefetchEnv(t, 40, ls)
	before := started.Load()
	lines := fetchAll(slow.selectInbox(), "f", "FETCH 1:* (UID BODY.PEEK[])")
	require.Equal(t, int64(1), started.Load()-before)
	require.Len(t, lines, 40)
	for i, l := range lines[:39] {
		uid := i + 1
		if uid >= 20 {
			uid++
		}
		m := msgs[uid-1]
		require.Equal(t, fmt.Sprintf("* %d FETCH (UID %d BODY[] {%d}%s)", uid, uid, len(m), m), l)
	}
	require.True(t, strings.HasPrefix(lines[39], "f NO [EXPUNGEISSUED] "), lines[39])
	opened, closed, _ := ls.counts()
	require.Equal(t, opened, closed)
}

// The two kinds of helpers, for tests that drive them directly.
var prefetcherKinds = []struct {
	name    string
	start   func(*conn) *prefetcher
	window  int
	maxRead int64 // larger messages are only opened
}{
	{"slow store", (*conn).newPrefetcher, prefetchWindow, prefetchMaxRead},
	{"shared", (*conn).newSplitter, splitWindow, splitMaxRead},
}

// testPrefetcher returns helpers started by start on a mailbox of 100
// messages behind ls, for driving them directly, and the mailbox; every
// seventh message is larger than prefetchMaxRead, some others larger than
// splitMaxRead.
func testPrefetcher(t *testing.T, ctx context.Context, ls *latencyStore, start func(*conn) *prefetcher) (*prefetcher, []mailbox.MessageInfo, mailbox.Mailbox) {
	st := memstore.New()
	require.NoError(t, st.AddUser("sara", "secret", "sara@example.org"))
	ls.Store = st
	a, err := ls.Open(ctx, "sara")
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	mb, err := a.Mailbox(ctx, mailbox.Inbox)
	require.NoError(t, err)
	t.Cleanup(func() { mb.Close() })
	var infos []mailbox.MessageInfo
	for i := range 100 {
		body := fmt.Sprintf("body %d\r\n", i)
		switch {
		case i%7 == 3:
			body += strings.Repeat("x", prefetchMaxRead) // opened ahead, not read
		case i%11 == 5:
			body += strings.Repeat("y", splitMaxRead) // read ahead by the slow store's workers only
		}
		_, err := mb.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\n%s", i, body)), nil)
		require.NoError(t, err)
	}
	for info, err := range mb.Messages(ctx, 1) {
		require.NoError(t, err)
		infos = append(infos, info)
	}
	setProcs(t, max(2, runtime.GOMAXPROCS(0))) // a CPU to spare for the shared kind
	p := start(&conn{ctx: ctx, mbox: mb})
	require.NotNil(t, p)
	return p, infos, mb
}

// slotData returns the start of the message of s: what a helper read or
// opened, or else (the connection's goroutine's own share, when the work
// is shared) what it opens itself from mb.
func slotData(ctx context.Context, mb mailbox.Mailbox, s *prefetchSlot) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.read {
		return s.data, nil
	}
	rc := s.rc
	if rc == nil {
		if s.state.Load() != slotOwn {
			return nil, fmt.Errorf("UID %d: no data", s.info.UID)
		}
		var err error
		if rc, err = mb.Open(ctx, s.info.UID); err != nil {
			return nil, err
		}
		defer rc.Close()
	}
	data := make([]byte, 9)
	_, err := io.ReadFull(rc, data)
	return data, err
}

// The helpers hand the messages to fn in order, each with its bytes (or,
// when the work is shared, for fn to fetch itself); after fn fails they
// call fn no more, and stop closes every handle; at no time are more
// messages in flight than the window, and no message larger than the
// kind's maxRead is read ahead.
func TestPrefetcherOrderAndBound(t *testing.T) {
	for _, kind := range prefetcherKinds {
		for _, failAt := range []int{-1, 0, 5, 50} {
			t.Run(fmt.Sprint(kind.name, "/fail at ", failAt), func(t *testing.T) {
				ctx := context.Background()
				ls := &latencyStore{}
				p, infos, mb := testPrefetcher(t, ctx, ls, kind.start)
				var got []mailbox.UID
				added := 0
				fn := func(s *prefetchSlot) error {
					data, err := slotData(ctx, mb, s)
					if err != nil {
						return err
					}
					if !strings.HasPrefix(string(data), "Subject: ") {
						return fmt.Errorf("UID %d: data %.20q", s.info.UID, data)
					}
					// Bound: what a helper holds in memory.
					if s.read && s.info.Size > kind.maxRead {
						return fmt.Errorf("UID %d: %d octets read ahead", s.info.UID, s.info.Size)
					}
					// Bound: messages added and not yet given to fn.
					if inFlight := added - len(got); inFlight > kind.window {
						return fmt.Errorf("%d messages in flight", inFlight)
					}
					got = append(got, s.info.UID)
					if len(got)-1 == failAt {
						return errors.New("fn failed")
					}
					return nil
				}
				var err error
				for i := range infos {
					if err = p.add(&infos[i], fn); err != nil {
						break
					}
					added++
				}
				if err == nil {
					err = p.finish(fn)
				}
				p.stop()
				if failAt < 0 {
					require.NoError(t, err)
					require.Len(t, got, len(infos))
				} else {
					require.EqualError(t, err, "fn failed")
					require.Len(t, got, failAt+1)
				}
				for i, uid := range got {
					require.Equal(t, infos[i].UID, uid)
				}
				opened, closed, maxOpen := ls.counts()
				require.Equal(t, opened, closed)
				require.LessOrEqual(t, maxOpen, kind.window+1) // + fn's own
			})
		}
	}
}

// Cancelling the FETCH's context while the helpers wait on the store ends
// them: stop returns, nothing more is opened, every handle is closed.
func TestPrefetcherCancel(t *testing.T) {
	for _, kind := range prefetcherKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ls := &latencyStore{block: make(chan struct{})}
			p, infos, mb := testPrefetcher(t, ctx, ls, kind.start)
			var n atomic.Int32
			fn := func(s *prefetchSlot) error {
				if _, err := slotData(ctx, mb, s); err != nil {
					return err
				}
				n.Add(1)
				return nil
			}
			done := make(chan error, 1)
			go func() {
				var err error
				for i := range infos {
					if err = p.add(&infos[i], fn); err != nil {
						break
					}
				}
				if err == nil {
					err = p.finish(fn)
				}
				p.stop()
				done <- err
			}()
			// The first 10 messages open; then the store blocks until
			// cancelled.
			require.Eventually(t, func() bool { o, _, _ := ls.counts(); return o >= 10 }, 5*time.Second, time.Millisecond)
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("the helpers did not stop")
			}
			opened, closed, _ := ls.counts()
			require.Equal(t, opened, closed)
			require.EqualValues(t, 10, n.Load(), "the first 10 messages, and no other, went to fn")
			if kind.name == "slow store" {
				require.Equal(t, 10, opened)
			}
		})
	}
}

// BenchmarkFetchSlowStore fetches 200 messages whole from a store that
// takes 200 µs to open each (a network store): serially, and with the
// prefetcher's workers fetching ahead.
func BenchmarkFetchSlowStore(b *testing.B) {
	st := memstore.New()
	if err := st.AddUser("sara", "secret", "sara@example.org"); err != nil {
		b.Fatal(err)
	}
	mb, done := openInbox(b, st)
	for i := range 200 {
		if _, err := mb.Append(context.Background(), strings.NewReader(benchMessage(i)), nil); err != nil {
			b.Fatal(err)
		}
	}
	done()
	addr := serveBench(b, &latencyStore{Store: st, delay: 200 * time.Microsecond})
	benchFetchHelped(b, addr, prefetchLatency, "prefetch")
}

// benchFetchHelped fetches every message of the INBOX served at addr
// whole: with threshold out of reach (serial), then as it is (helped, the
// second sub-benchmark's name). cpu-ns/op is the CPU time of the whole
// process, client included.
func benchFetchHelped(b *testing.B, addr string, threshold *atomic.Int64, helped string) {
	for _, mode := range []string{"serial", helped} {
		b.Run(mode, func(b *testing.B) {
			if mode == "serial" {
				old := threshold.Swap(int64(time.Hour))
				defer threshold.Store(old)
			}
			c := dialBench(b, addr, "LOGIN sara secret", "SELECT INBOX")
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				c.do(b, "FETCH 1:* BODY.PEEK[]")
			}
			reportCPU(b, cpu)
		})
	}
}

// When the work is shared, the helper takes the newest message nobody
// took, passing over those it took already, and stops looking at the
// connection's goroutine's share: the two meet in the middle.
func TestSplitterTakesNewest(t *testing.T) {
	p := (&conn{ctx: context.Background()}).newRing(8, splitMaxRead)
	p.split = true
	queue := func(uids ...mailbox.UID) {
		for _, uid := range uids {
			s := &p.ring[p.added.Load()%int64(len(p.ring))]
			s.info.UID = uid
			s.state.Store(slotQueued)
			p.added.Add(1)
		}
	}
	takes := func() (uids []mailbox.UID) {
		for s := p.take(); s != nil; s = p.take() {
			require.Equal(t, int32(slotHelper), s.state.Load())
			uids = append(uids, s.info.UID)
		}
		return uids
	}
	require.Nil(t, p.take(), "nothing queued")
	queue(1, 2, 3, 4, 5)
	// The connection's goroutine took message 1 itself.
	p.ring[0].state.Store(slotOwn)
	require.Equal(t, []mailbox.UID{5, 4}, []mailbox.UID{p.take().info.UID, p.take().info.UID})
	queue(6, 7)
	require.Equal(t, []mailbox.UID{7, 6, 3, 2}, takes(), "newest first, over those taken, down to message 1")
	// Messages 1 to 4 are done with; 5 to 7 are in flight; 8 to 12 go
	// round the ring into the slots of 1 to 4 (and 12 into 5's, once 5
	// is done with).
	for i := range 5 {
		p.ring[i].state.Store(slotFree)
	}
	queue(8, 9, 10, 11, 12)
	require.Equal(t, []mailbox.UID{12, 11, 10, 9, 8}, takes())
	require.Nil(t, p.take())
}

// A helper that found nothing to take waits; the connection's goroutine
// wakes it only once splitWake messages are queued, not for each one. It
// reads the messages it takes up to splitMaxRead, and only opens larger
// ones.
func TestSplitterWakesAfterEnough(t *testing.T) {
	sleeps := make(chan struct{}, 10)
	splitSleeps = func() { sleeps <- struct{}{} }
	defer func() { splitSleeps = nil }()
	ctx := context.Background()
	ls := &latencyStore{}
	p, infos, mb := testPrefetcher(t, ctx, ls, (*conn).newSplitter)
	waitSleep := func() {
		t.Helper()
		select {
		case <-sleeps:
		case <-time.After(5 * time.Second):
			t.Fatal("the helper did not go to sleep")
		}
	}
	waitSleep() // nothing queued yet
	fn := func(s *prefetchSlot) error {
		_, err := slotData(ctx, mb, s)
		return err
	}
	for i := range splitWake - 1 {
		require.NoError(t, p.add(&infos[i], fn))
	}
	time.Sleep(20 * time.Millisecond)
	opened, _, _ := ls.counts()
	require.Zero(t, opened, "the helper slept on")
	require.NoError(t, p.add(&infos[splitWake-1], fn))
	waitSleep() // woken, it took all there was, and found nothing more
	opened, _, _ = ls.counts()
	require.Equal(t, splitWake, opened)
	for i := range p.ring[:splitWake] {
		require.Equal(t, int32(slotHelper), p.ring[i].state.Load())
	}
	// The helper read the small messages and only opened those larger
	// than splitMaxRead (message 5 is below prefetchMaxRead, message 3
	// above).
	var readAhead, openedAhead []mailbox.UID
	require.NoError(t, p.finish(func(s *prefetchSlot) error {
		switch {
		case s.read:
			readAhead = append(readAhead, s.info.UID)
		case s.rc != nil:
			openedAhead = append(openedAhead, s.info.UID)
		}
		return fn(s)
	}))
	require.Equal(t, []mailbox.UID{infos[3].UID, infos[5].UID}, openedAhead)
	require.Len(t, readAhead, splitWake-2)
	p.stop()
	opened, closed, _ := ls.counts()
	require.Equal(t, splitWake, opened)
	require.Equal(t, opened, closed)
}

// On the Maildir store, sessions fetching every message whole at the same
// time, with the work shared, each get every message exactly, while
// another session keeps changing flags (so the store renames the files
// being read). Some messages are larger than splitMaxRead: the helper only
// opens those.
func TestFetchSplitMaildirConcurrent(t *testing.T) {
	e := newMaildirEnv(t)
	var msgs []string
	for i := 1; i <= 120; i++ {
		body := strings.Repeat(fmt.Sprintf("line %d of the body\r\n", i), i)
		if i%25 == 0 {
			body = strings.Repeat("y", splitMaxRead+i) + "\r\n"
		}
		m := msg(fmt.Sprintf("message %d", i), body)
		e.appendMsg("INBOX", m)
		msgs = append(msgs, m)
	}
	helperThresholds(t, time.Hour, 0)
	setProcs(t, 8) // a CPU to spare for each of the four at once
	before := splitStarted.Load()
	dial := func(t *testing.T) *client {
		nc, err := net.Dial("tcp", e.addr)
		require.NoError(t, err)
		t.Cleanup(func() { nc.Close() })
		c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
		c.expect("* OK [CAPABILITY *] *")
		c.run("C: L1 LOGIN sara secret", "S: L1 OK [CAPABILITY *] Logged in")
		c.send("S1 SELECT INBOX")
		c.skipUntil("S1 OK *")
		return c
	}
	t.Run("group", func(t *testing.T) {
		for s := range 4 {
			t.Run(fmt.Sprint("fetch ", s), func(t *testing.T) {
				t.Parallel()
				c := dial(t)
				for round := range 3 {
					lines := fetchAll(c, fmt.Sprint("f", round), "FETCH 1:* (UID BODY.PEEK[])")
					var bodies []string // without the flag changes announced meanwhile
					for _, l := range lines {
						if strings.Contains(l, " BODY[] {") {
							bodies = append(bodies, l)
						}
					}
					require.Len(t, bodies, len(msgs))
					for i, m := range msgs {
						want := fmt.Sprintf("* %d FETCH (UID %d BODY[] {%d}%s)", i+1, i+1, len(m), m)
						require.True(t, want == bodies[i], "message %d: %.200q", i+1, bodies[i])
					}
					last := lines[len(lines)-1]
					require.True(t, strings.HasPrefix(last, fmt.Sprintf("f%d OK ", round)), last)
				}
			})
		}
		t.Run("flags", func(t *testing.T) {
			t.Parallel()
			c := dial(t)
			for round := range 20 {
				op := "+"
				if round%2 == 1 {
					op = "-"
				}
				lines := fetchAll(c, fmt.Sprint("s", round), fmt.Sprintf(`STORE 1:* %sFLAGS.SILENT (\Flagged)`, op))
				require.True(t, strings.HasPrefix(lines[len(lines)-1], fmt.Sprintf("s%d OK ", round)), lines)
			}
		})
	})
	require.GreaterOrEqual(t, splitStarted.Load()-before, int64(4*3))
}

// At most GOMAXPROCS/2 FETCHes share their work at once: with 4 CPUs, a
// third finds none to spare until one of the first two is over.
func TestSplitterCap(t *testing.T) {
	setProcs(t, 4)
	c := &conn{ctx: context.Background()}
	a, b := c.newSplitter(), c.newSplitter()
	require.NotNil(t, a)
	require.NotNil(t, b)
	require.Nil(t, c.newSplitter(), "two FETCHes share already")
	a.stop()
	third := c.newSplitter()
	require.NotNil(t, third, "room again once one stopped")
	b.stop()
	third.stop()
	require.Zero(t, splitRunning.Load())
}

// A store that panics while helpers of either kind are at work ends the
// session as if the connection's goroutine alone had called it (a panic
// in a helper is raised again there): BYE [SERVERBUG], the connection
// closed, and, although a helper had a later, large message open (the
// slow store's workers always have: the panic waits for it) while more
// messages were still to come, every handle closed and no helper left;
// the server still serves.
func TestFetchHelperPanics(t *testing.T) {
	helperKinds(t, func(t *testing.T, delay time.Duration, started *atomic.Int64) {
		ls := &latencyStore{delay: delay, panicAt: 45, panicAfter: 50}
		_, env, _ := prefetchEnv(t, 100, ls)
		before := started.Load()
		c := env.selectInbox()
		c.send("f FETCH 1:* (UID BODY.PEEK[])")
		var last string
		for {
			c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := c.br.ReadString('\n')
			if err != nil {
				require.ErrorIs(t, err, io.EOF, "the server closes the connection")
				break
			}
			if strings.HasPrefix(line, "* BYE ") || strings.HasPrefix(line, "f ") {
				last = line
			}
		}
		require.True(t, strings.HasPrefix(last, "* BYE [SERVERBUG] "), "last: %q", last)
		require.Equal(t, int64(1), started.Load()-before)
		o1, c1, _ := ls.counts()
		ls.mu.Lock()
		t.Logf("opened %d closed %d order %v", o1, c1, ls.order)
		ls.mu.Unlock()
		require.Eventually(t, func() bool {
			opened, closed, _ := ls.counts()
			return opened == closed && splitRunning.Load() == 0
		}, 5*time.Second, time.Millisecond, "handles closed, helpers gone")
		lines := fetchAll(env.selectInbox(), "g", "FETCH 1:10 (UID)")
		require.True(t, strings.HasPrefix(lines[len(lines)-1], "g OK "), lines)
	})
}
