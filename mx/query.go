package mx

import (
	"context"
	"errors"
	"time"

	"github.com/miekg/dns"
)

// query answers one question from the cache, or by one exchange shared with
// concurrent callers asking the same.
func (r *Resolver) query(ctx context.Context, q qkey) (*answer, error) {
	if a, err := r.cached(q); err == nil {
		return a, nil
	}
	a, err := r.flight.do(ctx, q, func(ctx context.Context) (*answer, error) {
		m, server, err := r.exchange(ctx, q)
		if err != nil {
			return nil, err
		}
		now := r.now()
		a := newAnswer(m, q, m.AuthenticatedData && r.trusted(server), server, now)
		if r.cache != nil {
			r.cache.put(q, a, now)
		}
		return a, nil
	})
	if err != nil && ctx.Err() != nil && err == ctx.Err() {
		return nil, temporary(ErrTimeout, canon(q.name), "", -1, err)
	}
	return a, err
}

// cached returns the cached answer to q, or errMiss.
func (r *Resolver) cached(q qkey) (*answer, error) {
	if r.cache != nil {
		if a, ok := r.cache.get(q, r.now()); ok {
			return a, nil
		}
	}
	return nil, errMiss
}

// rrset is the outcome of resolving one name and type, CNAMEs followed.
type rrset struct {
	name   string   // final owner name, fully qualified
	chain  []string // aliases followed, fully qualified
	rrs    []dns.RR // records of the asked type at name
	rcode  int      // dns.RcodeSuccess or dns.RcodeNameError (for name)
	ttl    time.Duration
	ad     bool // every answer used was authenticated
	server string
}

// resolve looks up name (lower case, fully qualified) and qtype, following
// CNAMEs within answers and, when a server stops at an alias, across
// queries, at most MaxCNAMEs in all. Per RFC 6604 the rcode refers to the
// last name of the chain.
func (r *Resolver) resolve(ctx context.Context, name string, qtype uint16) (*rrset, error) {
	return r.resolveFrom(ctx, name, qtype, false)
}

// resolveCached is resolve from the cache alone; ok is false when an answer
// it needs is not cached.
func (r *Resolver) resolveCached(name string, qtype uint16) (set *rrset, ok bool, err error) {
	set, err = r.resolveFrom(context.Background(), name, qtype, true)
	if err == errMiss {
		return nil, false, nil
	}
	return set, true, err
}

// errMiss is resolveFrom's answer when cachedOnly and an answer is not cached.
var errMiss = errors.New("mx: not cached")

func (r *Resolver) resolveFrom(ctx context.Context, name string, qtype uint16, cachedOnly bool) (*rrset, error) {
	seen := map[string]bool{name: true}
	set := &rrset{name: name, ttl: maxCacheTTL, ad: true}
	for {
		var a *answer
		var err error
		if cachedOnly {
			a, err = r.cached(qkey{set.name, qtype})
		} else {
			a, err = r.query(ctx, qkey{set.name, qtype})
		}
		if err != nil {
			return nil, err
		}
		set.ttl = min(set.ttl, a.ttl(r.now()))
		set.ad = set.ad && a.ad
		set.rcode, set.server = a.rcode, a.server
		final, chain, recs, err := chase(set.name, qtype, a.rrs, seen)
		set.chain = append(set.chain, chain...)
		if err != nil {
			return nil, &Error{Kind: ErrCNAMELoop, Name: canon(name), Server: a.server, Rcode: -1}
		}
		set.name, set.rrs = final, recs
		if len(recs) > 0 || len(chain) == 0 || a.rcode != dns.RcodeSuccess {
			return set, nil
		}
		// The server stopped at an alias without its data: ask for the target.
	}
}
