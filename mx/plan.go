package mx

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/miekg/dns"
)

// plan turns an MX RRset into hosts in try order: sorted by preference,
// equal preferences shuffled (RFC 5321 §5.1), duplicate targets kept once at
// their best preference, "." targets removed. A set of nothing but "."
// targets is a null MX (RFC 7505 §3) and yields isNull. Hosts carry Name and
// Pref only.
func plan(rrs []dns.RR) (hosts []Host, isNull bool) {
	best := make(map[string]uint16, len(rrs))
	nulls := 0
	for _, rr := range rrs {
		m, ok := rr.(*dns.MX)
		if !ok {
			continue
		}
		if m.Mx == "." {
			nulls++
			continue
		}
		name := canon(m.Mx)
		if p, ok := best[name]; !ok || m.Preference < p {
			if !ok {
				hosts = append(hosts, Host{Name: name})
			}
			best[name] = m.Preference
		}
	}
	if len(hosts) == 0 {
		return nil, nulls > 0
	}
	for i := range hosts {
		hosts[i].Pref = best[hosts[i].Name]
	}
	slices.SortStableFunc(hosts, func(a, b Host) int { return cmp.Compare(a.Pref, b.Pref) })
	for i := 0; i < len(hosts); {
		j := i + 1
		for j < len(hosts) && hosts[j].Pref == hosts[i].Pref {
			j++
		}
		run := hosts[i:j]
		rand.Shuffle(len(run), func(a, b int) { run[a], run[b] = run[b], run[a] })
		i = j
	}
	return hosts, false
}

// cutLocal applies the "we are an MX" rule of RFC 5321 §5.1: if a host is
// this one (isLocal), it and every host of equal or worse preference go.
// found reports whether a local host was seen.
func cutLocal(hosts []Host, isLocal func(*Host) bool) (kept []Host, found bool) {
	for i := range hosts {
		if isLocal(&hosts[i]) {
			cut := hosts[i].Pref
			kept = hosts[:0:0]
			for _, h := range hosts {
				if h.Pref < cut {
					kept = append(kept, h)
				}
			}
			return kept, true
		}
	}
	return hosts, false
}
