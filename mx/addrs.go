package mx

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// maxParallel bounds the address queries one lookup has in flight.
const maxParallel = 16

// families lists the address record types to query, in r.Order.
func (r *Resolver) families() []uint16 {
	switch r.Order {
	case IPv4First:
		return []uint16{dns.TypeA, dns.TypeAAAA}
	case IPv4Only:
		return []uint16{dns.TypeA}
	case IPv6Only:
		return []uint16{dns.TypeAAAA}
	}
	return []uint16{dns.TypeAAAA, dns.TypeA}
}

// hostSets holds the address answers of one host, one per family.
type hostSets struct {
	sets []*rrset
	errs []error
}

// resolveHosts fills in the addresses of every host: A and AAAA of all
// hosts in parallel, at most maxParallel queries at a time; answers in the
// cache are taken without starting a goroutine. mxTTL and mxAD describe the
// MX answer the hosts came from and bound each host's TTL and Authenticated.
func (r *Resolver) resolveHosts(ctx context.Context, hosts []Host, mxTTL time.Duration, mxAD bool) {
	types := r.families()
	all := make([]hostSets, len(hosts))
	var sem chan struct{}
	var wg sync.WaitGroup
	for i := range hosts {
		name := dns.Fqdn(hosts[i].Name)
		hs := &all[i]
		hs.sets, hs.errs = make([]*rrset, len(types)), make([]error, len(types))
		for j, t := range types {
			if set, ok, err := r.resolveCached(name, t); ok {
				hs.sets[j], hs.errs[j] = set, err
				continue
			}
			if sem == nil {
				sem = make(chan struct{}, maxParallel)
			}
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				hs.sets[j], hs.errs[j] = r.resolve(ctx, name, t)
			})
		}
	}
	wg.Wait()
	for i := range hosts {
		hosts[i].TTL, hosts[i].Authenticated = mxTTL, mxAD
		fillHost(&hosts[i], all[i].sets, all[i].errs)
	}
}

// fillHost stores the addresses of the answers in h, in the order given. A
// family that fails temporarily is left out when another gives addresses;
// h.Err is set only when there are none.
func fillHost(h *Host, sets []*rrset, errs []error) {
	nxdomain := false
	for i, set := range sets {
		if set == nil {
			continue
		}
		h.TTL = min(h.TTL, set.ttl)
		h.Authenticated = h.Authenticated && set.ad
		if len(set.chain) > len(h.CNAMEs) {
			h.CNAMEs = canonAll(set.chain)
		}
		nxdomain = nxdomain || set.rcode == dns.RcodeNameError
		for _, rr := range set.rrs {
			if a, ok := rrAddr(rr); ok {
				h.Addrs = append(h.Addrs, a)
			}
		}
		errs[i] = nil
	}
	if len(h.Addrs) > 0 {
		return
	}
	h.Authenticated = false
	if err := errors.Join(errs...); err != nil {
		h.Err = err
		if first := (*Error)(nil); errors.As(err, &first) {
			h.Err = first
		}
		return
	}
	e := permanent(ErrNoAddress, h.Name)
	if nxdomain {
		e = permanent(ErrNotFound, h.Name)
	}
	h.Err = e
}

// rrAddr returns the address of an A or AAAA record.
func rrAddr(rr dns.RR) (netip.Addr, bool) {
	switch rr := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(rr.A.To4())
		return a, ok
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(rr.AAAA.To16())
		return a, ok
	}
	return netip.Addr{}, false
}
