package relay

import (
	"os"
	"sync"
)

// groupSync makes files and a directory durable in rounds shared by
// concurrent callers (group commit). A caller hands over what it wrote and
// joins the next round that has not started; the first waiter to find no
// round running leads it: it fsyncs every file of the round, runs each
// caller's follow-up step (a rename), then fsyncs the directory once. On a
// journaling file system the first fsync commits what all the others wrote,
// so a round costs about what one caller's fsyncs used to, whatever the
// number of callers. A round starts only after every caller joined it, so
// it covers what each wrote before calling; each gets its own result.
//
// The zero value is ready to use; a groupSync must not be copied after
// first use.
type groupSync struct {
	mu      sync.Mutex
	cond    sync.Cond
	running bool   // a round is under way
	next    *round // the round callers join; nil until someone does
	waiters int    // callers waiting for a round (tests)
}

// syncReq is one caller's part of a round.
type syncReq struct {
	f    *os.File     // fsynced by the round; nil for none
	then func() error // run once f is synced, before the directory; may be nil
	err  error        // the caller's result
}

type round struct {
	reqs []*syncReq
	done bool
}

// sync waits for a round that starts after this call and covers req,
// leading it when no round is running; finish is the round's last step
// (the directory fsync), whose failure fails every request of the round.
func (g *groupSync) sync(req *syncReq, finish func() error) error {
	g.mu.Lock()
	if g.cond.L == nil {
		g.cond.L = &g.mu
	}
	if g.next == nil {
		g.next = new(round)
	}
	r := g.next
	r.reqs = append(r.reqs, req)
	for !r.done {
		if !g.running && g.next == r {
			g.running = true
			g.next = nil // later callers start the round after this one
			g.mu.Unlock()
			r.run(finish)
			g.mu.Lock()
			r.done = true
			g.running = false
			g.cond.Broadcast()
			break
		}
		g.waiters++
		g.cond.Wait()
		g.waiters--
	}
	g.mu.Unlock()
	return req.err
}

func (r *round) run(finish func() error) {
	for _, q := range r.reqs {
		if q.f != nil {
			q.err = q.f.Sync()
		}
	}
	for _, q := range r.reqs {
		if q.err == nil && q.then != nil {
			q.err = q.then()
		}
	}
	if err := finish(); err != nil {
		for _, q := range r.reqs {
			if q.err == nil {
				q.err = err
			}
		}
	}
}
