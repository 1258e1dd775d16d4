package mx_test

import (
	"testing"

	"github.com/posthorn/posthorn/mx/mxtest"
)

// TestEqualPreferenceShuffled checks RFC 5321 §5.1: hosts of equal
// preference are tried in random order, while preference order holds. With
// 200 lookups each of 3 hosts comes first about 67 times; fewer than 20 is
// a failure of the shuffle (chance under 1e-9 for a fair one).
func TestEqualPreferenceShuffled(t *testing.T) {
	srv := mxtest.NewServer(t, `
example.com. 300 IN MX 10 a.example.com.
example.com. 300 IN MX 10 b.example.com.
example.com. 300 IN MX 10 c.example.com.
example.com. 300 IN MX 5  best.example.com.
example.com. 300 IN MX 20 last.example.com.
a.example.com. 300 IN A 192.0.2.1
b.example.com. 300 IN A 192.0.2.2
c.example.com. 300 IN A 192.0.2.3
best.example.com. 300 IN A 192.0.2.4
last.example.com. 300 IN A 192.0.2.5
`)
	r := srv.Resolver()
	first := map[string]int{}
	for range 200 {
		res, err := r.Lookup(ctxT(t), "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if res.Hosts[0].Name != "best.example.com" || res.Hosts[4].Name != "last.example.com" {
			t.Fatalf("preference order broken: %q", hostLines(res))
		}
		first[res.Hosts[1].Name]++
	}
	for _, h := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		if first[h] < 20 {
			t.Errorf("%s came first among equals %d times in 200, want at least 20 (%v)", h, first[h], first)
		}
	}
}
