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
// writes the messages of one batch, a worker opens (and, when small
// enough, reads) those of the next, so the latency of each Open is hidden.
// Order and output stay those of a plain loop: the worker only fetches
// bytes; every decision and every write happens in order on the
// connection's goroutine.
//
// The worker starts only when the first messages show that the store
// waits rather than works. On a store whose Open costs only CPU (the
// Maildir store with its files in the page cache: a few system calls), a
// second goroutine gains little even with a CPU to spare (the two contend
// in the kernel for the same descriptor table and directory) and costs
// 20 to 40 % more CPU, which a busy server pays out of its other sessions.
const (
	// prefetchMin is the number of messages from which a FETCH may start
	// the worker: below it, starting it would cost more than it saves.
	prefetchMin = 32
	// prefetchProbe is how many messages a FETCH times before it decides.
	prefetchProbe = 8
	// prefetchBatchLen is how many messages the worker takes at a time.
	prefetchBatchLen = 4
	// prefetchBatches is how many batches are in flight: one being
	// written while the other is fetched.
	prefetchBatches = 2
	// prefetchMaxRead is the size up to which the worker reads a message
	// whole; a larger one is only opened. In flight at most
	// prefetchBatchLen × prefetchBatches = 8 messages, and so at most
	// 8 × 128 KiB = 1 MiB of message data and 8 open handles.
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

// prefetchSlot is one message of a batch.
type prefetchSlot struct {
	info  mailbox.MessageInfo
	claim atomic.Bool   // taken by the worker (from the front) or the connection (from the back)
	data  []byte        // the whole message, when read; reused from batch to batch
	read  bool          // data holds the message
	rc    io.ReadCloser // open, not read (a large message); owned by whoever holds the slot
	err   error         // from Open or the read
}

type prefetchBatch struct {
	slots [prefetchBatchLen]prefetchSlot
	n     int
	done  chan struct{} // the worker is through with the batch
}

// prefetcher runs the worker of one FETCH. Its methods are called by the
// connection's goroutine only. The worker takes the batches in order and
// fetches their messages from the front; the connection's goroutine, when
// it comes to a batch, fetches the messages the worker has not taken yet
// from the back, so that neither waits for the other longer than one
// message takes and the work is shared when both CPUs are free.
type prefetcher struct {
	mbox   mailbox.Mailbox
	ctx    context.Context
	cancel context.CancelFunc
	jobs   chan *prefetchBatch // to the worker, in order
	wg     sync.WaitGroup
	cur    *prefetchBatch   // being filled
	free   []*prefetchBatch // not in flight
	queue  []*prefetchBatch // in flight, oldest first
}

// newPrefetcher starts the worker.
func (c *conn) newPrefetcher() *prefetcher {
	p := &prefetcher{
		mbox: c.mbox,
		jobs: make(chan *prefetchBatch, prefetchBatches),
	}
	p.ctx, p.cancel = context.WithCancel(c.ctx)
	prefetchStarted.Add(1)
	for range prefetchBatches {
		p.free = append(p.free, &prefetchBatch{done: make(chan struct{}, 1)})
	}
	p.wg.Add(1)
	go p.work()
	return p
}

// work fetches the messages of the batches it is handed, in order, from
// the front, until it meets one the connection's goroutine took, and says
// when it is through with each batch. It stops when jobs is closed.
func (p *prefetcher) work() {
	defer p.wg.Done()
	for b := range p.jobs {
		for i := range b.n {
			s := &b.slots[i]
			if !s.claim.CompareAndSwap(false, true) {
				break
			}
			p.fetch(s)
		}
		b.done <- struct{}{} // never blocks: one signal per batch sent
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

// add queues the message m for fn, and calls fn on the messages of the
// oldest batch when the window is full. fn is called in the order of add,
// with the slot of each message (valid during the call; fn takes
// ownership of slot.rc).
func (p *prefetcher) add(m *mailbox.MessageInfo, fn func(*prefetchSlot) error) error {
	if p.cur == nil {
		if len(p.free) == 0 {
			if err := p.takeOne(fn); err != nil {
				return err
			}
		}
		p.cur = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	}
	b := p.cur
	s := &b.slots[b.n]
	s.info, s.read, s.err = *m, false, nil
	s.claim.Store(false)
	b.n++
	if b.n == prefetchBatchLen {
		p.send()
	}
	return nil
}

// send hands the batch being filled to the worker.
func (p *prefetcher) send() {
	p.jobs <- p.cur // never blocks: room for every batch
	p.queue = append(p.queue, p.cur)
	p.cur = nil
}

// takeOne fetches what the worker has not taken of the oldest batch in
// flight, waits until the worker is through with it, and calls fn on each
// of its messages. The batch is free again after, even when fn fails
// (the handles it did not take closed).
func (p *prefetcher) takeOne(fn func(*prefetchSlot) error) error {
	b := p.queue[0]
	p.queue = p.queue[1:]
	for i := b.n - 1; i >= 0; i-- {
		s := &b.slots[i]
		if !s.claim.CompareAndSwap(false, true) {
			break
		}
		p.fetch(s)
	}
	<-b.done
	var err error
	for i := range b.n {
		s := &b.slots[i]
		if err == nil {
			err = fn(s)
		}
		if s.rc != nil {
			s.rc.Close()
			s.rc = nil
		}
	}
	b.n = 0
	p.free = append(p.free, b)
	return err
}

// finish calls fn on the messages still queued, in order.
func (p *prefetcher) finish(fn func(*prefetchSlot) error) error {
	if p.cur != nil && p.cur.n > 0 {
		p.send()
	}
	for len(p.queue) > 0 {
		if err := p.takeOne(fn); err != nil {
			return err
		}
	}
	return nil
}

// stop ends the worker and closes every handle opened for a message that
// no fn took. It is called once on every path out of the FETCH.
func (p *prefetcher) stop() {
	p.cancel()
	close(p.jobs)
	p.wg.Wait()
	for _, b := range p.queue {
		for i := range b.n {
			if s := &b.slots[i]; s.rc != nil {
				s.rc.Close()
				s.rc = nil
			}
		}
	}
	p.queue = nil
}
