package relay

import "sync"

// groupSync makes a directory durable in rounds shared by concurrent
// callers (group commit). A caller that fsynced its file joins the next
// round that has not started and waits; rounds run one after the other in
// a goroutine that lives while there is work: it runs each caller's
// follow-up step (a rename), then fsyncs the directory once for all of
// them, and at once starts the round that gathered meanwhile. A round
// starts only after every caller joined it, so it covers what each did
// before calling; each gets its own result. The callers' file fsyncs run
// in parallel, each in its own goroutine, where the file system batches
// them (a journal commit serves all that wait for it); only the directory
// fsync, which would otherwise be one per caller, is shared.
//
// The zero value is ready to use; a groupSync must not be copied after
// first use.
type groupSync struct {
	mu      sync.Mutex
	running bool   // the goroutine running rounds is alive
	next    *round // the round callers join; nil until someone does
	waiters int    // callers waiting for their round (tests)
}

// syncReq is one caller's part of a round.
type syncReq struct {
	then func() error // run before the directory fsync; may be nil
	err  error        // the caller's result
}

type round struct {
	reqs   []*syncReq
	finish func() error  // the directory fsync, from the caller that opened the round
	done   chan struct{} // closed when the round is over
}

// sync waits for a round that starts after this call and covers req;
// finish is the round's last step (the directory fsync), whose failure
// fails every request of the round. It returns req's result.
func (g *groupSync) sync(req *syncReq, finish func() error) error {
	g.mu.Lock()
	if g.next == nil {
		g.next = &round{finish: finish, done: make(chan struct{})}
	}
	r := g.next
	r.reqs = append(r.reqs, req)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.waiters++
	g.mu.Unlock()
	<-r.done
	g.mu.Lock()
	g.waiters--
	g.mu.Unlock()
	return req.err
}

// loop runs rounds while callers wait for one.
func (g *groupSync) loop() {
	g.mu.Lock()
	for g.next != nil {
		r := g.next
		g.next = nil // later callers join the round after this one
		g.mu.Unlock()
		r.run()
		close(r.done)
		g.mu.Lock()
	}
	g.running = false
	g.mu.Unlock()
}

func (r *round) run() {
	for _, q := range r.reqs {
		if q.then != nil {
			q.err = q.then()
		}
	}
	if err := r.finish(); err != nil {
		for _, q := range r.reqs {
			if q.err == nil {
				q.err = err
			}
		}
	}
}
