package imap

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/posthorn/posthorn/mailbox"
)

// Parallel SEARCH. When the criteria read message contents (header fields,
// BODY, TEXT, SENT*) and the mailbox is large, the messages are cut into
// chunks in UID order and evaluated by up to GOMAXPROCS workers (at most
// maxSearchWorkers), each with its own searchCtx and buffers. The
// connection's goroutine lists the messages, hands out the chunks and
// merges the results in order, so that the answer and the error returned
// (that of the first failing message in UID order) are those of a serial
// search. It works with any store: Mailbox implementations are safe for
// concurrent use.
//
// Bounds: at most 2×workers+1 chunks of searchChunk messages are listed
// and not yet merged; each worker holds one message of at most maxPreload
// octets, its lower-cased copy and its decoded text; the messages larger
// than maxPreload, whose decoded text may reach maxSearchBody, are
// evaluated one at a time. The workers end before the command answers;
// they stop early after an error and when the connection's context ends.

// Tuning. Variables so that tests can make small mailboxes parallel.
var (
	searchParallelMin atomic.Int32 // fewer messages are searched serially
	searchChunk       atomic.Int32 // messages per chunk
	searchWorkersSet  atomic.Int32 // when > 0, the number of workers
)

const maxSearchWorkers = 8

func init() {
	searchParallelMin.Store(256)
	searchChunk.Store(64)
}

// searchWorkers returns how many workers should evaluate key over n
// messages: 0 for a serial search.
func searchWorkers(key *SearchKey, n int) int {
	w := min(runtime.GOMAXPROCS(0), maxSearchWorkers)
	if n := searchWorkersSet.Load(); n > 0 {
		w = int(n)
	}
	if w < 2 || n < int(searchParallelMin.Load()) || !readsContent(key) {
		return 0
	}
	return w
}

// readsContent reports whether evaluating k reads message contents.
func readsContent(k *SearchKey) bool {
	switch k.Key {
	case "SENTBEFORE", "SENTON", "SENTSINCE", "FROM", "TO", "CC", "BCC", "SUBJECT", "HEADER", "BODY", "TEXT":
		return true
	}
	for i := range k.Keys {
		if readsContent(&k.Keys[i]) {
			return true
		}
	}
	return false
}

// searchItem is one message to evaluate.
type searchItem struct {
	info mailbox.MessageInfo
	seq  uint32
}

// searchJob is a chunk of messages and, once done is closed, its result.
type searchJob struct {
	items []searchItem
	found []mailbox.UID
	err   error
	panic any
	done  chan struct{}
}

// mergedErr carries an error of a merged chunk out of eachMessage.
type mergedErr struct{ err error }

func (e mergedErr) Error() string { return e.err.Error() }

// searchParallel evaluates key over the view's messages with workers
// goroutines. proto is the prepared serial context whose sets and
// needles the workers share.
func (c *conn) searchParallel(proto *searchCtx, key *SearchKey, workers int) (uids []mailbox.UID, err error) {
	v := c.view
	chunk := max(1, int(searchChunk.Load()))
	maxPending := 2 * workers
	jobs := make(chan *searchJob)
	big := make(chan struct{}, 1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &searchCtx{c: c, now: proto.now, seqSets: proto.seqSets, needles: proto.needles}
			for j := range jobs {
				s.runJob(j, key, &stop, big)
			}
		}()
	}
	var panicked any
	defer func() {
		stop.Store(true)
		close(jobs)
		wg.Wait()
		if panicked != nil {
			panic(panicked)
		}
	}()

	var pending, free []*searchJob
	take := func(j *searchJob) error {
		<-j.done
		if j.panic != nil {
			panicked = j.panic
			return errBad("internal error") // replaced by the panic
		}
		uids = append(uids, j.found...)
		err := j.err
		j.items, j.found, j.err = j.items[:0], j.found[:0], nil
		free = append(free, j)
		return err
	}
	newJob := func() *searchJob {
		if n := len(free); n > 0 {
			j := free[n-1]
			free = free[:n-1]
			j.done = make(chan struct{})
			return j
		}
		return &searchJob{items: make([]searchItem, 0, chunk), done: make(chan struct{})}
	}
	// dispatch merges the chunks already done at the head of the queue
	// (waiting while too many are pending) and hands j to a worker.
	dispatch := func(j *searchJob) error {
	merge:
		for len(pending) > 0 {
			if len(pending) < maxPending {
				select {
				case <-pending[0].done:
				default:
					break merge
				}
			}
			head := pending[0]
			pending = pending[1:]
			if err := take(head); err != nil {
				return err
			}
		}
		jobs <- j
		pending = append(pending, j)
		return nil
	}
	drain := func() error {
		for len(pending) > 0 {
			head := pending[0]
			pending = pending[1:]
			if err := take(head); err != nil {
				return err
			}
		}
		return nil
	}

	cur := newJob()
	err = c.eachMessage(v.uids, func(m *mailbox.MessageInfo) error {
		n := v.seq(m.UID)
		if n == 0 || v.isExpunged(m.UID) {
			return nil
		}
		cur.items = append(cur.items, searchItem{info: *m, seq: n})
		if len(cur.items) < chunk {
			return nil
		}
		j := cur
		cur = nil
		if err := dispatch(j); err != nil {
			return mergedErr{err}
		}
		cur = newJob()
		return nil
	})
	if me, ok := err.(mergedErr); ok {
		return uids, me.err
	}
	if err != nil {
		// The listing failed after the chunks dispatched: an error of
		// one of them comes first in UID order.
		if derr := drain(); derr != nil {
			return uids, derr
		}
		return uids, err
	}
	if len(cur.items) > 0 {
		if err := dispatch(cur); err != nil {
			return uids, err
		}
	}
	return uids, drain()
}

// runJob evaluates key over the chunk j; it stops at the first error.
// Messages larger than maxPreload take the big token, one at a time.
func (s *searchCtx) runJob(j *searchJob, key *SearchKey, stop *atomic.Bool, big chan struct{}) {
	defer close(j.done)
	defer func() {
		if p := recover(); p != nil {
			j.panic = p
			stop.Store(true)
		}
	}()
	for i := range j.items {
		if stop.Load() {
			return
		}
		if err := s.c.ctx.Err(); err != nil {
			j.err = err
			return
		}
		it := &j.items[i]
		ok, err := s.matchItem(it, key, big)
		if err != nil {
			j.err = err
			return
		}
		if ok {
			j.found = append(j.found, it.info.UID)
		}
	}
}

func (s *searchCtx) matchItem(it *searchItem, key *SearchKey, big chan struct{}) (bool, error) {
	if it.info.Size > maxPreload {
		big <- struct{}{}
		defer func() { <-big }()
	}
	s.reset(&it.info, it.seq)
	return s.match(key)
}
