package imap

import (
	"context"
	"errors"
	"fmt"
	"io"
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
// EXPUNGE racing the FETCH).
type latencyStore struct {
	mailbox.Store
	delay  time.Duration
	victim mailbox.UID
	block  chan struct{} // when set, Open waits for it (or ctx) after the first opens

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
// directly and through a latencyStore; the messages grow with their number
// and the last is larger than prefetchMaxRead (opened, not read, ahead).
func prefetchEnv(t *testing.T, n int, ls *latencyStore) (direct, slow *testEnv, msgs []string) {
	st := memstore.New()
	require.NoError(t, st.AddUser("sara", "secret", "sara@example.org"))
	direct = newTestEnvStore(t, st)
	for i := 1; i <= n; i++ {
		body := strings.Repeat(fmt.Sprintf("line %d of the body\r\n", i), i)
		if i == n {
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

// A fast store, or a small FETCH, or one without message data, never
// starts the prefetcher.
func TestFetchPrefetchNotStarted(t *testing.T) {
	ls := &latencyStore{delay: 100 * time.Microsecond}
	direct, slow, _ := prefetchEnv(t, 40, ls)
	before := prefetchStarted.Load()
	// Fast: the memory store, under a threshold that a loaded machine
	// running the race detector cannot reach.
	old := prefetchLatency.Swap(int64(time.Second))
	fetchAll(direct.selectInbox(), "f", "FETCH 1:* BODY.PEEK[]")
	prefetchLatency.Store(old)
	c := slow.selectInbox()
	fetchAll(c, "g", fmt.Sprintf("FETCH 1:%d BODY.PEEK[]", prefetchMin-1))
	fetchAll(c, "h", "FETCH 1:* (FLAGS ENVELOPE)")
	require.Equal(t, before, prefetchStarted.Load())
}

// A message expunged by another session while the prefetcher is ahead:
// answered as without it (RFC 2180 §4.1.3): the others go out, the FETCH
// ends NO [EXPUNGEISSUED].
func TestFetchPrefetchExpungedMeanwhile(t *testing.T) {
	ls := &latencyStore{delay: 100 * time.Microsecond, victim: 20}
	_, slow, msgs := prefetchEnv(t, 40, ls)
	before := prefetchStarted.Load()
	lines := fetchAll(slow.selectInbox(), "f", "FETCH 1:* (UID BODY.PEEK[])")
	require.Equal(t, int64(1), prefetchStarted.Load()-before)
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

// testPrefetcher returns a prefetcher on a mailbox of 100 messages behind
// ls, for driving it directly; every seventh is larger than
// prefetchMaxRead.
func testPrefetcher(t *testing.T, ctx context.Context, ls *latencyStore) (*prefetcher, []mailbox.MessageInfo) {
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
		if i%7 == 3 {
			body += strings.Repeat("x", prefetchMaxRead) // opened ahead, not read
		}
		_, err := mb.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\n%s", i, body)), nil)
		require.NoError(t, err)
	}
	for info, err := range mb.Messages(ctx, 1) {
		require.NoError(t, err)
		infos = append(infos, info)
	}
	return (&conn{ctx: ctx, mbox: mb}).newPrefetcher(), infos
}

// The prefetcher hands the messages to fn in order, each with its bytes;
// after fn fails it calls fn no more, and stop closes every handle; at no
// time are more than prefetchWindow messages in flight.
func TestPrefetcherOrderAndBound(t *testing.T) {
	for _, failAt := range []int{-1, 0, 5, 50} {
		t.Run(fmt.Sprint("fail at ", failAt), func(t *testing.T) {
			ls := &latencyStore{}
			p, infos := testPrefetcher(t, context.Background(), ls)
			var got []mailbox.UID
			added := 0
			fn := func(s *prefetchSlot) error {
				if s.err != nil {
					return s.err
				}
				data := s.data
				if s.rc != nil {
					// Large: open, for fn to read (and the prefetcher to close).
					data = make([]byte, 9)
					if _, err := io.ReadFull(s.rc, data); err != nil {
						return err
					}
				} else if !s.read {
					return fmt.Errorf("UID %d: no data", s.info.UID)
				}
				if !strings.HasPrefix(string(data), "Subject: ") {
					return fmt.Errorf("UID %d: data %.20q", s.info.UID, data)
				}
				// Bound: messages added and not yet given to fn.
				if inFlight := added - len(got); inFlight > prefetchWindow {
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
			require.LessOrEqual(t, maxOpen, prefetchWindow)
		})
	}
}

// Cancelling the FETCH's context while the worker waits on the store ends
// it: stop returns, nothing more is opened, every handle is closed.
func TestPrefetcherCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ls := &latencyStore{block: make(chan struct{})}
	p, infos := testPrefetcher(t, ctx, ls)
	var n atomic.Int32
	fn := func(s *prefetchSlot) error {
		if s.err != nil {
			return s.err
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
	// The first 10 messages open; then the store blocks until cancelled.
	require.Eventually(t, func() bool { o, _, _ := ls.counts(); return o == 10 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the prefetcher did not stop")
	}
	opened, closed, _ := ls.counts()
	require.Equal(t, 10, opened)
	require.Equal(t, opened, closed)
	require.EqualValues(t, 10, n.Load())
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
	for _, mode := range []string{"serial", "prefetch"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "serial" {
				old := prefetchLatency.Swap(int64(time.Hour))
				defer prefetchLatency.Store(old)
			}
			c := dialBench(b, addr, "LOGIN sara secret", "SELECT INBOX")
			b.ReportAllocs()
			for b.Loop() {
				c.do(b, "FETCH 1:* BODY.PEEK[]")
			}
		})
	}
}
