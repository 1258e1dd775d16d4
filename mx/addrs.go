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

// resolveHosts fills in the addresses of every host, all in parallel, at
// most maxParallel queries at a time. mxTTL and mxAD describe the MX answer
// the hosts came from and bound each host's TTL and Authenticated.
func (r *Resolver) resolveHosts(ctx context.Context, hosts []Host, mxTTL time.Duration, mxAD bool) {
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i := range hosts {
		wg.Go(func() {
			h := &hosts[i]
			h.TTL, h.Authenticated = mxTTL, mxAD
			r.hostAddrs(ctx, h, sem)
		})
	}
	wg.Wait()
}

// hostAddrs resolves h.Name to A and AAAA records in parallel and stores the
// addresses in r.Order. A family that fails temporarily is left out when the
// other gives addresses; h.Err is set only when there are none.
func (r *Resolver) hostAddrs(ctx context.Context, h *Host, sem chan struct{}) {
	types := []uint16{dns.TypeAAAA, dns.TypeA}
	switch r.Order {
	case IPv4First:
		types = []uint16{dns.TypeA, dns.TypeAAAA}
	case IPv4Only:
		types = []uint16{dns.TypeA}
	case IPv6Only:
		types = []uint16{dns.TypeAAAA}
	}
	sets := make([]*rrset, len(types))
	errs := make([]error, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			sets[i], errs[i] = r.resolve(ctx, dns.Fqdn(h.Name), t)
		})
	}
	wg.Wait()
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
