package mx

import (
	"strings"
	"time"

	"github.com/miekg/dns"
)

// answer is what one server said to one question: the parts the resolver
// uses, shared through the cache, never modified after creation.
type answer struct {
	rcode   int      // dns.RcodeSuccess or dns.RcodeNameError
	rrs     []dns.RR // the answer section
	ad      bool     // AD bit set by a trusted server
	server  string
	expires time.Time
}

// ttl returns how much longer the answer may be cached.
func (a *answer) ttl(now time.Time) time.Duration {
	return max(a.expires.Sub(now), 0)
}

// newAnswer keeps what the resolver needs from m, the reply to q. Positive
// answers live as long as their shortest TTL; negative ones (NXDOMAIN, or no
// record of the asked type) as long as RFC 2308 §5 allows: the minimum of the
// SOA's TTL and MINIMUM field, or not at all without an SOA.
func newAnswer(m *dns.Msg, q qkey, ad bool, server string, now time.Time) *answer {
	a := &answer{rcode: m.Rcode, rrs: m.Answer, ad: ad, server: server}
	ttl := maxCacheTTL
	found := false
	for _, rr := range m.Answer {
		h := rr.Header()
		ttl = min(ttl, time.Duration(h.Ttl)*time.Second)
		found = found || h.Rrtype == q.qtype
	}
	if m.Rcode != dns.RcodeSuccess || !found {
		ttl = min(ttl, negativeTTL(m))
	}
	a.expires = now.Add(ttl)
	return a
}

// negativeTTL returns the RFC 2308 negative caching time of m, 0 without an SOA.
func negativeTTL(m *dns.Msg) time.Duration {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second, maxNegativeTTL)
		}
	}
	return 0
}

// chase follows the CNAME chain from qname (lower case, fully qualified)
// through rrs and returns the final name, the names followed, and the records
// of qtype owned by the final name. seen holds the names already visited in
// this lookup, including qname; chase adds to it. A name visited twice or
// more than MaxCNAMEs aliases is ErrCNAMELoop.
func chase(qname string, qtype uint16, rrs []dns.RR, seen map[string]bool) (final string, chain []string, recs []dns.RR, err error) {
	cur := qname
	for {
		next := ""
		for _, rr := range rrs {
			h := rr.Header()
			if c, ok := rr.(*dns.CNAME); ok && h.Class == dns.ClassINET && strings.EqualFold(h.Name, cur) {
				next = strings.ToLower(dns.Fqdn(c.Target))
				break
			}
		}
		if next == "" || qtype == dns.TypeCNAME {
			break
		}
		if seen[next] || len(seen) > MaxCNAMEs {
			return cur, chain, nil, ErrCNAMELoop
		}
		seen[next] = true
		chain = append(chain, next)
		cur = next
	}
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype == qtype && h.Class == dns.ClassINET && strings.EqualFold(h.Name, cur) {
			recs = append(recs, rr)
		}
	}
	return cur, chain, recs, nil
}

// canonAll returns the names in result form.
func canonAll(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = canon(n)
	}
	return out
}
