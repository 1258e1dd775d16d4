package imap

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// A FETCH of message data from many messages on a store that is slow to
// answer (a network store, a cold disk) overlaps the store's work with the
// writing of responses: while the connection's goroutine renders and
// writes one message, prefetchWorkers workers open (and, when small
// enough, read) the next ones, up to prefetchWindow ahead, so the latency
// of each Open is hidden. Order and output stay those of a plain loop: the
// workers only fetch bytes; every decision and every write happens in
// order on the connection's goroutine.
//
// The workers start only when the first messages show that the store
// waits rather than works. On a store whose Open costs only CPU (the
// Maildir store with its files in the page cache: three system calls of
// a few microseconds), handing messages to other goroutines measured 20 to
// 40 % more CPU per FETCH, and a slower FETCH, on a 2-CPU machine shared
// with other work: a busy server would pay it out of its other sessions.
const (
	// prefetchMin is the number of messages from which a FETCH may start
	// the worker: below it, starting it would cost more than it saves.
	prefetchMin = 32
	// prefetchProbe is how many messages a FETCH times before it decides.
	prefetchProbe = 8
	// prefetchWindow is how many messages are in flight at most: fetched
	// ahead or being fetched.
	prefetchWindow = 8
	// prefetchWorkers is how many messages are fetched at once, so that a
	// store with latency sees that many requests in parallel.
	prefetchWorkers = 4
	// prefetchMaxRead is the size up to which a worker reads a message
	// whole; a larger one is only opened. In flight at most
	// prefetchWindow messages, so at most 8 × 128 KiB = 1 MiB of message
	// data and 8 open handles.
	prefetchMaxRead = 128 << 10
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

// prefetchStarted counts the prefetchers started (for tests).
var prefetchStarted atomic.Int64

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
	if l.probe--; l.probe == 0 && err == nil && l.fastest >= time.Duration(prefetchLatency.Load()) {
		l.pf = l.c.newPrefetcher()
		l.each = func(s *prefetchSlot) error {
			l.err = l.one(&s.info, s)
			return l.err
		}
	}
	return err
}

// end answers for the messages still queued (unless one failed) and stops
// the prefetcher. err is what the iteration over the messages returned;
// end returns the FETCH's error.
func (l *fetchLoop) end(err error) error {
	if l.pf == nil {
		return err
	}
	defer l.pf.stop()
	if l.err == nil {
		// What is queued goes out before a store error, as it would have
		// without the prefetcher.
		if ferr := l.pf.finish(l.each); ferr != nil {
			err = ferr
		}
	}
	return err
}

// prefetchSlot is one message in flight.
type prefetchSlot struct {
	info mailbox.MessageInfo
	data []byte        // the whole message, when read; reused from message to message
	read bool          // data holds the message
	rc   io.ReadCloser // open, not read (a large message); owned by whoever holds the slot
	err  error         // from Open or the read
	done chan struct{} // a worker fetched it
}

// prefetcher runs the workers of one FETCH. Its methods are called by the
// connection's goroutine only; a worker touches a slot from the time it is
// sent to it until it says done.
type prefetcher struct {
	mbox   mailbox.Mailbox
	ctx    context.Context
	cancel context.CancelFunc
	jobs   chan *prefetchSlot // to the workers, in order
	wg     sync.WaitGroup
	ring   [prefetchWindow]prefetchSlot
	head   int // the oldest slot in flight
	n      int // slots in flight
}

// newPrefetcher starts the workers.
func (c *conn) newPrefetcher() *prefetcher {
	p := &prefetcher{
		mbox: c.mbox,
		jobs: make(chan *prefetchSlot, prefetchWindow),
	}
	p.ctx, p.cancel = context.WithCancel(c.ctx)
	prefetchStarted.Add(1)
	for i := range p.ring {
		p.ring[i].done = make(chan struct{}, 1)
	}
	p.wg.Add(prefetchWorkers)
	for range prefetchWorkers {
		go p.work()
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

// fetch opens the message of s and reads it when it is small enough.
// Once the FETCH is over it opens nothing more.
func (p *prefetcher) fetch(s *prefetchSlot) {
	if err := p.ctx.Err(); err != nil {
		s.err = err
		return
	}
	rc, err := p.mbox.Open(p.ctx, s.info.UID)
	if err != nil {
		s.err = err
		return
	}
	size := s.info.Size
	if size < 0 || size > prefetchMaxRead {
		s.rc = rc
		return
	}
	buf := slices.Grow(s.data[:0], int(size))[:size]
	_, err = io.ReadFull(rc, buf)
	rc.Close()
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
	s.info, s.read, s.err = *m, false, nil
	p.n++
	p.jobs <- s // never blocks: room for every slot
	return nil
}

// takeOne waits for the oldest message in flight and calls fn on it. The
// slot is free again after, even when fn fails (its handle closed).
func (p *prefetcher) takeOne(fn func(*prefetchSlot) error) error {
	s := &p.ring[p.head]
	<-s.done
	p.head = (p.head + 1) % len(p.ring)
	p.n--
	err := fn(s)
	if s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
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
	close(p.jobs)
	p.wg.Wait() // the workers went through every slot sent
	for ; p.n > 0; p.n-- {
		s := &p.ring[p.head]
		<-s.done
		if s.rc != nil {
			s.rc.Close()
			s.rc = nil
		}
		p.head = (p.head + 1) % len(p.ring)
	}
}
