package mx

import (
	"context"
	"net/netip"

	"github.com/miekg/dns"
)

// Lookup returns the hosts that accept mail for domain, in the order a
// sender must try them, following RFC 5321 §5.1 and RFC 7505. domain may be
// internationalised (it is converted to A-labels) or an address literal
// ("[192.0.2.1]", "[IPv6:2001:db8::1]").
//
// Every error is an *Error; test its kind with errors.Is against the Err*
// sentinels, and errors.Is(err, ErrTemporary) tells whether to retry later.
// On success at least one host has addresses; hosts without any stay in the
// list with Host.Err set. On error the Result is nil.
func (r *Resolver) Lookup(ctx context.Context, domain string) (*Result, error) {
	r.init()
	t, err := parseTarget(domain)
	if err != nil {
		return nil, err
	}
	if t.literal.IsValid() {
		return r.literal(t)
	}
	fqdn := dns.Fqdn(t.name)
	set, err := r.resolve(ctx, fqdn, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	if set.rcode == dns.RcodeNameError {
		e := permanent(ErrNotFound, canon(set.name))
		e.Server, e.Rcode = set.server, set.rcode
		return nil, e
	}
	res := &Result{Domain: t.name, CNAMEs: canonAll(set.chain), TTL: set.ttl, Authenticated: set.ad}
	hosts, isNull := plan(set.rrs)
	switch {
	case isNull:
		return nil, permanent(ErrNullMX, t.name)
	case len(hosts) == 0:
		// RFC 5321 §5.1: no MX records, so the domain is its own mail host.
		res.Implicit = true
		hosts = []Host{{Name: t.name}}
	}
	hosts, local := cutLocal(hosts, func(h *Host) bool { return r.isLocalName(h.Name) })
	if local && len(hosts) == 0 {
		return nil, permanent(ErrLoop, t.name)
	}
	hosts = hosts[:min(len(hosts), r.maxHosts())]
	r.resolveHosts(ctx, hosts, set.ttl, set.ad)
	hosts, local = cutLocal(hosts, func(h *Host) bool {
		for _, a := range h.Addrs {
			if r.isLocalAddr(a) {
				return true
			}
		}
		return false
	})
	if local && len(hosts) == 0 {
		return nil, permanent(ErrLoop, t.name)
	}
	if err := usable(t.name, hosts); err != nil {
		return nil, err
	}
	res.Hosts = hosts
	return res, nil
}

// usable returns nil if some host has addresses, else the reason none has:
// temporary if any host failed temporarily (a later try may reach it).
func usable(domain string, hosts []Host) error {
	var tempErr *Error
	for _, h := range hosts {
		if len(h.Addrs) > 0 {
			return nil
		}
		if e, ok := h.Err.(*Error); ok && e.Temporary && tempErr == nil {
			tempErr = e
		}
	}
	if tempErr != nil {
		return tempErr
	}
	return permanent(ErrNoAddress, domain)
}

// literal answers an address literal without querying.
func (r *Resolver) literal(t target) (*Result, error) {
	if r.isLocalAddr(t.literal) {
		return nil, permanent(ErrLoop, t.name)
	}
	h := Host{Name: t.name, Addrs: []netip.Addr{t.literal}}
	return &Result{Domain: t.name, Hosts: []Host{h}, Literal: true}, nil
}
