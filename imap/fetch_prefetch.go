package imap

import (
	"context"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// A FETCH of message data from many messages overlaps the store's work
// with the writing of responses, in one of two ways, chosen after timing
// the first prefetchProbe messages. Order and output stay those of a
// plain loop: helpers only fetch bytes; every decision and every write
// happens in order on the connection's goroutine.
//
//   - A store that waits rather than works (a network store, a cold disk:
//     each message took at least prefetchLatency) gets prefetchWorkers
//     workers that open (and, when small enough, read) the next messages,
//     up to prefetchWindow ahead, so that the latency of each Open is
//     hidden.
//   - A store whose Open costs real CPU, mostly in the kernel (the Maildir
//     store with its files in the page cache: openat, pread and close for
//     every message; each message took at least splitLatency), shares the
//     work with one helper on another CPU. The helper takes the newest
//     messages queued, the connection's goroutine fetches the oldest
//     itself when the helper has not, so the two meet wherever their
//     speeds put them and neither waits for the other. On a 2-CPU
//     machine, FETCH 1:* BODY.PEEK[] of 10,000 Maildir messages takes 32
//     to 43 ms instead of 52 to 57, for up to 15 % more CPU, often none
//     (BenchmarkFetchShared).
//     Handing every message to helpers instead (the first way) made the
//     connection's goroutine wait for them: 15 to 40 % more CPU, no
//     faster.
//
// The second way needs a CPU to spare: at most GOMAXPROCS/2 FETCHes use
// it at once (none with GOMAXPROCS 1).
const (
	// prefetchMin is the number of messages from which a FETCH may start
	// helpers: below it, starting them would cost more than it saves.
	prefetchMin = 32
	// prefetchProbe is how many messages a FETCH times before it decides.
	prefetchProbe = 8
	// prefetchWindow is how many messages are in flight at most for a
	// slow store: fetched ahead or being fetched.
	prefetchWindow = 8
	// prefetchWorkers is how many messages are fetched at once for a slow
	// store, so that it sees that many requests in parallel.
	prefetchWorkers = 4
	// prefetchMaxRead is the size up to which a worker reads a message
	// whole for a slow store; a larger one is only opened. In flight at
	// most prefetchWindow messages, so at most 8 × 128 KiB = 1 MiB of
	// message data and 8 open handles.
	prefetchMaxRead = 128 << 10
	// splitWindow is how many messages are queued at most when the work
	// is shared with a helper: room for the helper to keep ahead.
	splitWindow = 32
	// splitMaxRead is the size up to which the helper reads a message
	// whole; a larger one is only opened (its read then costs more than
	// its system calls). At most 32 × 32 KiB = 1 MiB of message data.
	splitMaxRead = 32 << 10
	// splitWake is how many messages the connection's goroutine queues
	// before it wakes a helper that found nothing to take: waking it for
	// each one would cost a system call per message.
	splitWake = 8
)

// prefetchLatency is the time each of the prefetchProbe messages must have
// taken, the fastest included, for the worker to start: far more than the
// few microseconds of a local store, so that neither a fast store nor a
// busy CPU (which slows some messages, not all) starts it. A variable for
// tests, which may raise it.
var prefetchLatency = func() *atomic.Int64 {
	var v atomic.Int64
	v.Store(int64(50 * time.Microsecond))
	return &v
}()

// splitLatency is the time each of the prefetchProbe messages must have
// taken for the work to be shared with a helper: more than a message of
// a few KiB rendered from memory (about 1 µs on the 2-CPU machine of
// bench/), less than the 4 to 7 µs of the system calls of a Maildir read.
// A variable for tests.
var splitLatency = func() *atomic.Int64 {
	var v atomic.Int64
	v.Store(int64(2 * time.Microsecond))
	return &v
}()

// splitSleeps, when set (by tests), is called each time the helper found
// nothing to take, twice, and is about to wait for a wake.
var splitSleeps func()

// prefetchStarted and splitStarted count the FETCHes that started helpers
// of either kind (for tests).
var prefetchStarted, splitStarted atomic.Int64

// fetchLoop calls one on each message of a FETCH, in order: directly, or
// through a prefetcher once the first messages showed a slow store.
type fetchLoop struct {
	c       *conn
	one     func(m *mailbox.MessageInfo, pre *prefetchSlot) error
	each    func(s *prefetchSlot) error // one, on a prefetched slot
	probe   int                         // messages still to time; 0: decided
	fastest time.Duration               // of the messages timed
	pf      *prefetcher
	err     error // of one through the prefetcher: the FETCH stops
}

// newFetchLoop returns the loop of a FETCH of n messages; data says
// whether the FETCH reads message data at all (else no prefetcher).
func (c *conn) newFetchLoop(n int, data bool, one func(*mailbox.MessageInfo, *prefetchSlot) error) *fetchLoop {
	l := &fetchLoop{c: c, one: one}
	if data && n >= prefetchMin {
		l.probe = prefetchProbe
	}
	return l
}

// message answers for m, or queues it.
func (l *fetchLoop) message(m *mailbox.MessageInfo) error {
	if l.pf != nil {
		return l.pf.add(m, l.each)
	}
	if l.probe == 0 {
		return l.one(m, nil)
	}
	start := time.Now()
	err := l.one(m, nil)
	d := time.Since(start)
	if l.fastest == 0 || d < l.fastest {
		l.fastest = d
	}
	if l.probe--; l.probe != 0 || err != nil {
		return err
	}
	switch {
	case l.fastest >= time.Duration(prefetchLatency.Load()):
		l.pf = l.c.newPrefetcher()
	case l.fastest >= time.Duration(splitLatency.Load()):
		if l.pf = l.c.newSplitter(); l.pf == nil {
			return nil // no CPU to spare
		}
	default:
		return nil
	}
	l.each = func(s *prefetchSlot) error {
		l.err = l.one(&s.info, s)
		return l.err
	}
	return nil
}

// end answers for the messages still queued (unless one failed) and stops
// the helpers. err is what the iteration over the messages returned;
// end returns the FETCH's error.
func (l *fetchLoop) end(err error) error {
	if l.pf == nil {
		return err
	}
	defer l.close()
	if l.err == nil {
		// What is queued goes out before a store error, as it would have
		// without the prefetcher.
		if ferr := l.pf.finish(l.each); ferr != nil {
			err = ferr
		}
	}
	return err
}

// close stops the helpers, if any are still running. The FETCH defers it,
// so that a panic leaves no helper running and no handle open.
func (l *fetchLoop) close() {
	if l.pf != nil {
		l.pf.stop()
		l.pf = nil
	}
}

// prefetchSlot is one message in flight.
type prefetchSlot struct {
	info mailbox.MessageInfo
	data []byte        // the whole message, when read; reused from message to message
	read bool          // data holds the message
	rc   io.ReadCloser // open, not read (a large message); owned by whoever holds the slot
	err  error         // from Open or the read
	// panic is what the store's Open or read panicked with in a helper:
	// the connection's goroutine panics with it when it takes the slot,
	// so that the session ends as if it had called the store itself.
	panic any
	done  chan struct{} // a helper fetched it
	// state says who fetches the message, when a helper shares the work:
	// slotQueued until the helper or the connection's goroutine takes it.
	state atomic.Int32
}

// The states of a slot when the work is shared.
const (
	slotFree   = iota // no message
	slotQueued        // a message nobody fetches yet
	slotHelper        // the helper fetches it, and says done
	slotOwn           // the connection's goroutine fetches it itself
)

// prefetcher runs the helpers of one FETCH. Its methods are called by the
// connection's goroutine only; a helper touches a slot from the time it
// is sent to it (or it took it) until it says done.
type prefetcher struct {
	mbox    mailbox.Mailbox
	ctx     context.Context
	cancel  context.CancelFunc
	split   bool               // one helper shares the work (else workers do all of it)
	maxRead int64              // size up to which a helper reads a message whole
	jobs    chan *prefetchSlot // to the workers, in order (not split)
	wg      sync.WaitGroup
	ring    []prefetchSlot
	head    int // the oldest slot in flight
	n       int // slots in flight

	// Split only.
	added atomic.Int64  // messages queued so far: the next one's index
	wake  chan struct{} // to the helper, which found nothing to take
	// slept is added when the helper found nothing to take and went to
	// wait on wake, -1 while it works.
	slept atomic.Int64
}

// newPrefetcher starts the workers for a slow store.
func (c *conn) newPrefetcher() *prefetcher {
	p := c.newRing(prefetchWindow, prefetchMaxRead)
	p.jobs = make(chan *prefetchSlot, prefetchWindow)
	prefetchStarted.Add(1)
	p.wg.Add(prefetchWorkers)
	for range prefetchWorkers {
		go p.work()
	}
	return p
}

// splitRunning counts the FETCHes of the process sharing their work now.
var splitRunning atomic.Int32

// newSplitter starts the helper that shares the work, or returns nil when
// there is no CPU to spare: each such FETCH keeps two CPUs busy, so at
// most GOMAXPROCS/2 share their work at once, and a server busy with many
// large FETCHes does not pay the helpers' overhead (up to 15 % more CPU
// per FETCH) for CPUs it has not got.
func (c *conn) newSplitter() *prefetcher {
	limit := int32(runtime.GOMAXPROCS(0) / 2)
	for {
		n := splitRunning.Load()
		if n >= limit {
			return nil
		}
		if splitRunning.CompareAndSwap(n, n+1) {
			break
		}
	}
	p := c.newRing(splitWindow, splitMaxRead)
	p.split = true
	p.wake = make(chan struct{}, 1)
	p.slept.Store(-1)
	splitStarted.Add(1)
	p.wg.Add(1)
	go p.help()
	return p
}

// newRing returns the prefetcher of a FETCH with room for window messages
// in flight, whose helpers read messages up to maxRead octets whole; it
// starts no helper.
func (c *conn) newRing(window int, maxRead int64) *prefetcher {
	p := &prefetcher{mbox: c.mbox, maxRead: maxRead, ring: make([]prefetchSlot, window)}
	p.ctx, p.cancel = context.WithCancel(c.ctx)
	for i := range p.ring {
		p.ring[i].done = make(chan struct{}, 1)
	}
	return p
}

// work fetches the messages it is handed until jobs is closed.
func (p *prefetcher) work() {
	defer p.wg.Done()
	for s := range p.jobs {
		p.fetch(s)
		s.done <- struct{}{} // never blocks: one signal per message sent
	}
}

// help fetches the newest messages queued that nobody took, until the
// FETCH is over. It waits when it finds none.
func (p *prefetcher) help() {
	defer p.wg.Done()
	defer splitRunning.Add(-1) // before Done: gone once stop returns
	for p.ctx.Err() == nil {
		s := p.take()
		if s == nil {
			// Said before looking once more, so that a message queued
			// meanwhile is either seen here or counted towards a wake.
			p.slept.Store(p.added.Load())
			if s = p.take(); s == nil {
				if splitSleeps != nil {
					splitSleeps()
				}
				select {
				case <-p.wake:
				case <-p.ctx.Done():
				}
			}
			p.slept.Store(-1)
			if s == nil {
				continue
			}
		}
		p.fetch(s)
		s.done <- struct{}{} // never blocks: one signal per message taken
	}
}

// take claims for the helper the newest message queued that nobody took,
// looking back from the newest to the connection's goroutine's, or
// returns nil.
func (p *prefetcher) take() *prefetchSlot {
	end := p.added.Load()
	for i := end - 1; i >= 0 && i >= end-int64(len(p.ring)); i-- {
		s := &p.ring[i%int64(len(p.ring))]
		switch s.state.Load() {
		case slotQueued:
			if s.state.CompareAndSwap(slotQueued, slotHelper) {
				return s
			}
			return nil // taken by the connection's goroutine meanwhile: older ones are too
		case slotHelper:
			continue
		default:
			return nil
		}
	}
	return nil
}

// fetch opens the message of s and reads it when it is small enough.
// Once the FETCH is over it opens nothing more.
func (p *prefetcher) fetch(s *prefetchSlot) {
	var rc io.ReadCloser // open, not yet handed over
	defer func() {
		if r := recover(); r != nil {
			s.panic = r
			if rc != nil {
				rc.Close()
			}
		}
	}()
	if err := p.ctx.Err(); err != nil {
		s.err = err
		return
	}
	var err error
	if rc, err = p.mbox.Open(p.ctx, s.info.UID); err != nil {
		s.err = err
		return
	}
	size := s.info.Size
	if size < 0 || size > p.maxRead {
		s.rc, rc = rc, nil
		return
	}
	buf := slices.Grow(s.data[:0], int(size))[:size]
	_, err = io.ReadFull(rc, buf)
	r := rc
	rc = nil // closed below, even if Close panics
	r.Close()
	s.data = buf
	s.read, s.err = err == nil, err
}

// add queues the message m for fn, after calling fn on the oldest message
// in flight when the window is full. fn is called in the order of add,
// with the slot of each message (valid during the call; fn takes
// ownership of slot.rc).
func (p *prefetcher) add(m *mailbox.MessageInfo, fn func(*prefetchSlot) error) error {
	if p.n == len(p.ring) {
		if err := p.takeOne(fn); err != nil {
			return err
		}
	}
	s := &p.ring[(p.head+p.n)%len(p.ring)]
	s.info, s.read, s.err, s.panic = *m, false, nil, nil
	p.n++
	if !p.split {
		p.jobs <- s // never blocks: room for every slot
		return nil
	}
	s.state.Store(slotQueued)
	added := p.added.Add(1)
	if slept := p.slept.Load(); slept >= 0 && added-slept >= splitWake {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// takeOne waits for the oldest message in flight and calls fn on it. The
// slot is free again after, even when fn fails (its handle closed).
func (p *prefetcher) takeOne(fn func(*prefetchSlot) error) error {
	s := &p.ring[p.head]
	if !p.split || !s.state.CompareAndSwap(slotQueued, slotOwn) {
		<-s.done
	}
	p.head = (p.head + 1) % len(p.ring)
	p.n--
	if r := s.panic; r != nil {
		s.panic = nil
		s.state.Store(slotFree)
		panic(r)
	}
	err := fn(s) // fetches the message itself when the slot holds nothing
	if s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
	s.state.Store(slotFree)
	return err
}

// finish calls fn on the messages still in flight, in order.
func (p *prefetcher) finish(fn func(*prefetchSlot) error) error {
	for p.n > 0 {
		if err := p.takeOne(fn); err != nil {
			return err
		}
	}
	return nil
}

// stop ends the workers and closes every handle opened for a message that
// no fn took. It is called once on every path out of the FETCH.
func (p *prefetcher) stop() {
	p.cancel()
	if !p.split {
		close(p.jobs)
	}
	p.wg.Wait() // the workers went through every slot sent; the helper is gone
	for ; p.n > 0; p.n-- {
		s := &p.ring[p.head]
		if !p.split || s.state.Load() == slotHelper {
			<-s.done
		}
		if s.rc != nil {
			s.rc.Close()
			s.rc = nil
		}
		p.head = (p.head + 1) % len(p.ring)
	}
}
