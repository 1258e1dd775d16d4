package mx

import (
	"container/list"
	"sync"
	"time"
)

// Bounds on how long answers are cached, whatever their TTLs say.
const (
	maxCacheTTL    = 24 * time.Hour
	maxNegativeTTL = 3 * time.Hour // RFC 2308 §5: 1–3 hours is typical
)

// qkey identifies a question.
type qkey struct {
	name  string // lower case, fully qualified
	qtype uint16
}

// cache is a bounded LRU of answers that expire at their TTL. It is safe for
// concurrent use; cached answers are shared and must not be modified.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *centry
	m     map[qkey]*list.Element
}

type centry struct {
	key qkey
	a   *answer
}

func newCache(max int) *cache {
	return &cache{max: max, order: list.New(), m: make(map[qkey]*list.Element)}
}

// get returns the unexpired answer for k.
func (c *cache) get(k qkey, now time.Time) (*answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil, false
	}
	ce := e.Value.(*centry)
	if !now.Before(ce.a.expires) {
		c.order.Remove(e)
		delete(c.m, k)
		return nil, false
	}
	c.order.MoveToFront(e)
	return ce.a, true
}

// put stores a, evicting the least recently used entry when full. Answers
// whose expiry is not after now are not stored.
func (c *cache) put(k qkey, a *answer, now time.Time) {
	if !now.Before(a.expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.Value.(*centry).a = a
		c.order.MoveToFront(e)
		return
	}
	c.m[k] = c.order.PushFront(&centry{key: k, a: a})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.m, old.Value.(*centry).key)
	}
}

// len returns the number of entries, expired or not.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
