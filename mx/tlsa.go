package mx

import (
	"context"
	"encoding/hex"
	"strconv"

	"github.com/miekg/dns"
)

// LookupTLSA returns the TLSA records of the SMTP service of host on port
// ("_25._tcp.<host>" for port 25; RFC 6698 §3, RFC 7672 §2.2), following
// CNAMEs. A name without TLSA records (NXDOMAIN or NODATA) gives a result
// with no records and a nil error; Authenticated then says whether the
// denial was authenticated. Errors are as for Lookup.
func (r *Resolver) LookupTLSA(ctx context.Context, host string, port int) (*TLSAResult, error) {
	r.init()
	h, err := toASCII(host)
	if err != nil || port <= 0 || port > 65535 {
		return nil, permanent(ErrInvalidDomain, host)
	}
	name := "_" + strconv.Itoa(port) + "._tcp." + h
	if len(name) > maxNameLen {
		return nil, permanent(ErrInvalidDomain, host)
	}
	set, err := r.resolve(ctx, dns.Fqdn(name), dns.TypeTLSA)
	if err != nil {
		return nil, err
	}
	res := &TLSAResult{Name: name, CNAMEs: canonAll(set.chain), TTL: set.ttl, Authenticated: set.ad}
	for _, rr := range set.rrs {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue
		}
		res.Records = append(res.Records, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return res, nil
}
