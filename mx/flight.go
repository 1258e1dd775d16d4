package mx

import (
	"context"
	"sync"
)

// group makes concurrent queries for one question share a single exchange.
// The zero value is ready to use.
type group struct {
	mu sync.Mutex
	m  map[qkey]*call
}

type call struct {
	done chan struct{}
	a    *answer
	err  error
}

// do runs fn once for concurrent callers with the same key. fn runs in its
// own goroutine with a context that is not cancelled when a caller gives up,
// so one caller's cancellation does not fail the others; each caller waits
// until fn finishes or its own ctx ends. fn must bound its own run time.
func (g *group) do(ctx context.Context, k qkey, fn func(context.Context) (*answer, error)) (*answer, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[qkey]*call)
	}
	c, ok := g.m[k]
	if !ok {
		c = &call{done: make(chan struct{})}
		g.m[k] = c
		go func() {
			c.a, c.err = fn(context.WithoutCancel(ctx))
			g.mu.Lock()
			delete(g.m, k)
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.a, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
