package mx_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/mx/mxtest"
)

const cacheZone = `
example.com.     300 IN SOA ns.example.com. h.example.com. 1 3600 600 86400 60
example.com.     300 IN MX 10 mx1.example.com.
mx1.example.com. 100 IN A  192.0.2.1
nosoa.test.      300 IN MX 10 mx1.example.com.
`

func newClockedResolver(srv *mxtest.Server) (*mx.Resolver, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := srv.Resolver()
	r.Time = c.now
	return r, c
}

func TestCacheHitSendsNoQuery(t *testing.T) {
	srv := mxtest.NewServer(t, cacheZone)
	r, c := newClockedResolver(srv)
	if _, err := r.Lookup(ctxT(t), "example.com"); err != nil {
		t.Fatal(err)
	}
	sent := srv.Queries("", "")
	c.advance(50 * time.Second)
	res, err := r.Lookup(ctxT(t), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Queries("", ""); n != sent {
		t.Errorf("second lookup sent %d queries, want 0", n-sent)
	}
	if res.TTL != 250*time.Second || res.Hosts[0].TTL != 10*time.Second {
		t.Errorf("TTLs after 50 s: result %v (want 250s), host %v (want 10s: the AAAA denial lives 60 s)", res.TTL, res.Hosts[0].TTL)
	}
}

func TestCacheExpiry(t *testing.T) {
	srv := mxtest.NewServer(t, cacheZone)
	r, c := newClockedResolver(srv)
	if _, err := r.Lookup(ctxT(t), "example.com"); err != nil {
		t.Fatal(err)
	}
	// The A record (TTL 100) expires, the MX (TTL 300) does not.
	c.advance(100 * time.Second)
	if _, err := r.Lookup(ctxT(t), "example.com"); err != nil {
		t.Fatal(err)
	}
	if mxq, aq := srv.Queries("example.com", "MX"), srv.Queries("mx1.example.com", "A"); mxq != 1 || aq != 2 {
		t.Errorf("after 100 s: %d MX queries (want 1), %d A queries (want 2)", mxq, aq)
	}
	// New data is seen once the MX record expires.
	if err := srv.SetZone("example.com. 300 IN MX 20 mx1.example.com.\nmx1.example.com. 100 IN A 192.0.2.1\n"); err != nil {
		t.Fatal(err)
	}
	c.advance(200 * time.Second)
	res, err := r.Lookup(ctxT(t), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if res.Hosts[0].Pref != 20 || srv.Queries("example.com", "MX") != 2 {
		t.Errorf("after expiry: pref %d (want 20), %d MX queries (want 2)", res.Hosts[0].Pref, srv.Queries("example.com", "MX"))
	}
}

func TestNegativeCaching(t *testing.T) {
	srv := mxtest.NewServer(t, cacheZone)
	r, c := newClockedResolver(srv)
	for range 2 {
		if _, err := r.Lookup(ctxT(t), "nosuch.example.com"); !errors.Is(err, mx.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if n := srv.Queries("nosuch.example.com", "MX"); n != 1 {
		t.Errorf("NXDOMAIN with SOA: %d queries, want 1 (cached)", n)
	}
	// RFC 2308 §5: cached for min(SOA TTL, MINIMUM) = 60 s.
	c.advance(60 * time.Second)
	r.Lookup(ctxT(t), "nosuch.example.com")
	if n := srv.Queries("nosuch.example.com", "MX"); n != 2 {
		t.Errorf("after the negative TTL: %d queries, want 2", n)
	}
	// Without an SOA a denial is not cached.
	for range 2 {
		if _, err := r.Lookup(ctxT(t), "gone.nosoa.test"); !errors.Is(err, mx.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if n := srv.Queries("gone.nosoa.test", "MX"); n != 2 {
		t.Errorf("NXDOMAIN without SOA: %d queries, want 2 (not cached)", n)
	}
}

func TestTemporaryFailureNotCached(t *testing.T) {
	srv := mxtest.NewServer(t, cacheZone)
	srv.SetFault("", mxtest.ServFail)
	r, _ := newClockedResolver(srv)
	r.Attempts = 1
	if _, err := r.Lookup(ctxT(t), "example.com"); !errors.Is(err, mx.ErrServerFailure) {
		t.Fatalf("err = %v", err)
	}
	srv.SetFault("", mxtest.NoFault)
	if _, err := r.Lookup(ctxT(t), "example.com"); err != nil {
		t.Fatalf("after the failure cleared: %v", err)
	}
}

func TestCacheDisabled(t *testing.T) {
	srv := mxtest.NewServer(t, cacheZone)
	r := srv.Resolver()
	r.CacheSize = -1
	for range 2 {
		if _, err := r.Lookup(ctxT(t), "example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Queries("example.com", "MX"); n != 2 {
		t.Errorf("%d MX queries with the cache off, want 2", n)
	}
}

func TestConcurrentLookupsShareOneQuery(t *testing.T) {
	srv := mxtest.NewServer(t, cacheZone)
	srv.SetDelay(300 * time.Millisecond)
	r := srv.Resolver()
	r.CacheSize = -1 // only the in-flight sharing can save queries
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			<-start
			if _, err := r.Lookup(ctxT(t), "example.com"); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := srv.Queries("example.com", "MX"); n != 1 {
		t.Errorf("20 concurrent lookups sent %d MX queries, want 1", n)
	}
}
