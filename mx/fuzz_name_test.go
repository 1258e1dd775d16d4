package mx

import (
	"strings"
	"testing"
)

// FuzzParseTarget checks the normalisation of a mail domain: the result is
// lower-case A-labels within the RFC 1035 limits, and normalising it again
// changes nothing; literals give back exactly their address.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.com.", "bücher.example", "xn--bcher-kva.example",
		"[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:::ffff:192.0.2.1]", "[2001:db8::1]", "a..b", "", ".", "-a.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := parseTarget(s)
		if err != nil {
			return
		}
		if tg.literal.IsValid() {
			if tg.name != s {
				t.Fatalf("literal %q named %q", s, tg.name)
			}
			a, ok := parseLiteral(s)
			if !ok || a != tg.literal {
				t.Fatalf("literal %q re-parses to %v", s, a)
			}
			return
		}
		n := tg.name
		if n != strings.ToLower(n) || strings.HasSuffix(n, ".") || len(n) > maxNameLen || n == "" {
			t.Fatalf("%q normalised to %q", s, n)
		}
		for label := range strings.SplitSeq(n, ".") {
			if label == "" || len(label) > 63 {
				t.Fatalf("%q normalised to %q with label %q", s, n, label)
			}
		}
		again, err := parseTarget(n)
		if err != nil || again.name != n {
			t.Fatalf("%q → %q → %q (%v): not idempotent", s, n, again.name, err)
		}
	})
}
