package mx_test

import (
	"context"
	"testing"

	"github.com/posthorn/posthorn/mx/mxtest"
)

const benchZone = `
example.com.     300 IN SOA ns.example.com. h.example.com. 1 3600 600 86400 300
example.com.     300 IN MX 10 mx1.example.com.
example.com.     300 IN MX 10 mx2.example.com.
example.com.     300 IN MX 20 mx3.example.com.
mx1.example.com. 300 IN A    192.0.2.1
mx1.example.com. 300 IN AAAA 2001:db8::1
mx2.example.com. 300 IN A    192.0.2.2
mx3.example.com. 300 IN A    192.0.2.3
`

// BenchmarkLookupCached measures lookups answered from the cache: three MX
// hosts, three addresses and three denials, no query sent.
func BenchmarkLookupCached(b *testing.B) {
	srv := mxtest.NewServer(b, benchZone)
	r := srv.Resolver()
	ctx := context.Background()
	if _, err := r.Lookup(ctx, "example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Lookup(ctx, "example.com"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if n := srv.Queries("", ""); n != 7 {
		b.Errorf("%d queries sent, want the 7 of the first lookup", n)
	}
}

// BenchmarkLookupUncached measures full lookups against mxtest over
// loopback UDP: one MX and six address queries each.
func BenchmarkLookupUncached(b *testing.B) {
	srv := mxtest.NewServer(b, benchZone)
	r := srv.Resolver()
	r.CacheSize = -1
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Lookup(ctx, "example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
