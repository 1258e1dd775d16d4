package maildir

import (
	"sync"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

func nowNano() int64 { return time.Now().UnixNano() }

// poller looks for outside changes in the open folders of a tree (and its
// INBOX) while someone watches the account, so that an IDLE session learns
// of mail an outside MDA dropped into new/ without touching the store.
type poller struct {
	t       *tree
	mu      sync.Mutex
	every   time.Duration
	watches int
	stopc   chan struct{}
	done    chan struct{}
}

// setInterval keeps the shortest positive interval asked for.
func (p *poller) setInterval(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d > 0 && (p.every == 0 || d < p.every) {
		p.every = d
	}
}

func (p *poller) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watches++
	if p.watches == 1 && p.every > 0 {
		p.stopc, p.done = make(chan struct{}), make(chan struct{})
		go p.run(p.every, p.stopc, p.done)
	}
}

// remove ends a watch; the last one stops the poller without waiting for
// it, so that a watcher may cancel from inside its callback (which the
// poller may be running).
func (p *poller) remove() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watches--
	if p.watches == 0 && p.stopc != nil {
		close(p.stopc)
		p.stopc, p.done = nil, nil
	}
}

func (p *poller) stop() {
	p.mu.Lock()
	stopc, done := p.stopc, p.done
	p.stopc, p.done, p.watches = nil, nil, 0
	p.mu.Unlock()
	if stopc != nil {
		close(stopc)
		<-done
	}
}

func (p *poller) run(every time.Duration, stopc, done chan struct{}) {
	defer close(done)
	t := p.t
	inbox, err := t.openFolder(".", mailbox.Inbox)
	if err == nil {
		defer inbox.release()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stopc:
			return
		case <-tick.C:
		}
		t.fmu.Lock()
		fs := make([]*folder, 0, len(t.folders))
		for _, f := range t.folders {
			f.refs++
			fs = append(fs, f)
		}
		t.fmu.Unlock()
		for _, f := range fs {
			if err := f.readLock(); err == nil {
				f.mu.Unlock()
			}
			f.release()
		}
	}
}
