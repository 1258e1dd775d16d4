package mx

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fuzzSeeds are replies the answer processing must handle: plain MX sets,
// null MX, CNAME chains and loops, NXDOMAIN with an SOA, mixed-case names.
func fuzzSeeds(t testing.TB) [][]byte {
	zones := []struct {
		q     string
		qtype uint16
		rcode int
		rrs   []string
		ns    []string
	}{
		{"example.com.", dns.TypeMX, 0, []string{"example.com. 300 MX 10 mx1.example.com.", "example.com. 300 MX 10 mx2.example.com.", "example.com. 300 MX 5 MX1.example.com."}, nil},
		{"null.example.", dns.TypeMX, 0, []string{"null.example. 60 MX 0 ."}, nil},
		{"a.example.", dns.TypeMX, 0, []string{"a.example. 60 CNAME b.example.", "B.example. 60 CNAME c.example.", "c.example. 30 MX 1 mx.c.example."}, nil},
		{"l.example.", dns.TypeA, 0, []string{"l.example. 60 CNAME m.example.", "m.example. 60 CNAME l.example."}, nil},
		{"gone.example.", dns.TypeMX, dns.RcodeNameError, nil, []string{"example. 300 SOA ns. h. 1 1 1 1 60"}},
		{"mx.example.", dns.TypeAAAA, 0, []string{"mx.example. 300 AAAA 2001:db8::1", "other.example. 300 AAAA 2001:db8::2"}, nil},
	}
	var out [][]byte
	for _, z := range zones {
		m := new(dns.Msg)
		m.SetQuestion(z.q, z.qtype)
		m.Response, m.Rcode = true, z.rcode
		for _, s := range z.rrs {
			m.Answer = append(m.Answer, mustRR(t, s))
		}
		for _, s := range z.ns {
			m.Ns = append(m.Ns, mustRR(t, s))
		}
		wire, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wire)
	}
	return out
}

func mustRR(t testing.TB, s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// FuzzAnswer feeds arbitrary DNS replies to the answer processing (cache
// lifetime, CNAME chasing, MX planning, the we-are-an-MX cut) and checks the
// properties the resolver relies on.
func FuzzAnswer(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		m := new(dns.Msg)
		if m.Unpack(wire) != nil || len(m.Question) != 1 {
			return
		}
		q := qkey{strings.ToLower(m.Question[0].Name), m.Question[0].Qtype}
		now := time.Unix(1e9, 0)
		a := newAnswer(m, q, false, "s", now)
		if ttl := a.ttl(now); ttl < 0 || ttl > maxCacheTTL {
			t.Fatalf("cache lifetime %v out of bounds", ttl)
		}
		if m.Rcode != dns.RcodeSuccess && a.ttl(now) > maxNegativeTTL {
			t.Fatalf("negative answer cached %v, over %v", a.ttl(now), maxNegativeTTL)
		}
		checkChase(t, q, m.Answer)
		checkPlan(t, m.Answer)
	})
}

func checkChase(t *testing.T, q qkey, rrs []dns.RR) {
	seen := map[string]bool{q.name: true}
	final, chain, recs, err := chase(q.name, q.qtype, rrs, seen)
	if err != nil {
		if !errors.Is(err, ErrCNAMELoop) {
			t.Fatalf("chase error %v", err)
		}
		return
	}
	if len(chain) > MaxCNAMEs {
		t.Fatalf("followed %d aliases, more than %d", len(chain), MaxCNAMEs)
	}
	names := map[string]bool{q.name: true}
	for _, n := range chain {
		if names[n] {
			t.Fatalf("chain %q visits %q twice", chain, n)
		}
		names[n] = true
	}
	if len(chain) > 0 && final != chain[len(chain)-1] || len(chain) == 0 && final != q.name {
		t.Fatalf("final %q does not end chain %q from %q", final, chain, q.name)
	}
	for _, rr := range recs {
		if h := rr.Header(); h.Rrtype != q.qtype || !strings.EqualFold(h.Name, final) {
			t.Fatalf("record %v is not %s at %s", rr, dns.TypeToString[q.qtype], final)
		}
	}
}

func checkPlan(t *testing.T, rrs []dns.RR) {
	best := map[string]uint16{}
	nulls := 0
	for _, rr := range rrs {
		if m, ok := rr.(*dns.MX); ok {
			if m.Mx == "." {
				nulls++
			} else if p, ok := best[canon(m.Mx)]; !ok || m.Preference < p {
				best[canon(m.Mx)] = m.Preference
			}
		}
	}
	hosts, isNull := plan(rrs)
	if isNull != (nulls > 0 && len(best) == 0) {
		t.Fatalf("isNull %v with %d null and %d other targets", isNull, nulls, len(best))
	}
	if len(hosts) != len(best) {
		t.Fatalf("%d hosts from %d distinct targets", len(hosts), len(best))
	}
	for i, h := range hosts {
		if p, ok := best[h.Name]; !ok || p != h.Pref {
			t.Fatalf("host %+v not at its best preference %d", h, p)
		}
		if i > 0 && hosts[i-1].Pref > h.Pref {
			t.Fatalf("hosts out of preference order: %+v", hosts)
		}
	}
	if len(hosts) == 0 {
		return
	}
	local := hosts[len(hosts)/2]
	kept, found := cutLocal(hosts, func(h *Host) bool { return h.Name == local.Name })
	if !found {
		t.Fatal("local host not found")
	}
	for _, h := range kept {
		if h.Pref >= local.Pref {
			t.Fatalf("kept %+v at or after local preference %d", h, local.Pref)
		}
	}
	if want := countBelow(hosts, local.Pref); len(kept) != want {
		t.Fatalf("kept %d hosts, want %d better than %d", len(kept), want, local.Pref)
	}
}

func countBelow(hosts []Host, pref uint16) int {
	n := 0
	for _, h := range hosts {
		if h.Pref < pref {
			n++
		}
	}
	return n
}
