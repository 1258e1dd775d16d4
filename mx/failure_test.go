package mx_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/mx/mxtest"
)

const smallZone = `
example.com.     300 IN MX 10 mx1.example.com.
mx1.example.com. 300 IN A  192.0.2.1
`

func TestTemporaryFailures(t *testing.T) {
	for _, tc := range []struct {
		fault   mxtest.Fault
		want    error
		rcode   int
		timeout bool
	}{
		{mxtest.ServFail, mx.ErrServerFailure, 2, false},
		{mxtest.Refused, mx.ErrRefused, 5, false},
		{mxtest.Drop, mx.ErrTimeout, -1, true},
		{mxtest.Garble, mx.ErrMalformed, -1, false},
	} {
		t.Run(tc.want.Error(), func(t *testing.T) {
			srv := mxtest.NewServer(t, smallZone)
			srv.SetFault("", tc.fault)
			r := srv.Resolver()
			if tc.timeout {
				r.Timeout = 100 * time.Millisecond
			}
			_, err := r.Lookup(ctxT(t), "example.com")
			if !errors.Is(err, tc.want) || !errors.Is(err, mx.ErrTemporary) {
				t.Fatalf("err = %v, want temporary %v", err, tc.want)
			}
			var e *mx.Error
			errors.As(err, &e)
			if !e.Temporary || e.NotFound || e.Timeout != tc.timeout || e.Rcode != tc.rcode || e.Server != srv.Addr() {
				t.Errorf("error fields = %+v", e)
			}
			if code, enh := e.Status(); code != 451 || enh != "4.4.3" {
				t.Errorf("Status() = %d %s, want 451 4.4.3", code, enh)
			}
			// Attempts (2) passes over the one server.
			if n := srv.Queries("example.com", "MX"); n != 2 {
				t.Errorf("%d MX queries, want 2 (one per attempt)", n)
			}
		})
	}
}

func TestFailoverToNextServer(t *testing.T) {
	for _, fault := range []mxtest.Fault{mxtest.ServFail, mxtest.Refused, mxtest.Drop, mxtest.Garble} {
		bad := mxtest.NewServer(t, smallZone)
		bad.SetFault("", fault)
		good := mxtest.NewServer(t, smallZone)
		r := good.Resolver()
		r.Servers = []string{bad.Addr(), good.Addr()}
		r.Timeout = 300 * time.Millisecond
		res, err := r.Lookup(ctxT(t), "example.com")
		if err != nil {
			t.Fatalf("fault %d: %v", fault, err)
		}
		if got := hostLines(res); !slices.Equal(got, []string{"10 mx1.example.com 192.0.2.1"}) {
			t.Errorf("fault %d: hosts %q", fault, got)
		}
		if bad.Queries("example.com", "MX") != 1 || good.Queries("example.com", "MX") != 1 {
			t.Errorf("fault %d: queries bad=%d good=%d, want 1 each", fault, bad.Queries("example.com", "MX"), good.Queries("example.com", "MX"))
		}
	}
}

func TestHostAddressFailures(t *testing.T) {
	zone := `
example.com.     300 IN MX 10 mx1.example.com.
example.com.     300 IN MX 20 mx2.example.com.
mx1.example.com. 300 IN A  192.0.2.1
mx2.example.com. 300 IN A  192.0.2.2
mx2.example.com. 300 IN AAAA 2001:db8::2
`
	t.Run("one host fails, the other is used", func(t *testing.T) {
		srv := mxtest.NewServer(t, zone)
		srv.SetFault("mx1.example.com", mxtest.ServFail)
		res, err := srv.Resolver().Lookup(ctxT(t), "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res.Hosts[0].Err, mx.ErrServerFailure) || len(res.Hosts[1].Addrs) != 2 {
			t.Errorf("hosts = %+v", res.Hosts)
		}
	})
	t.Run("one family fails, the other is used", func(t *testing.T) {
		srv := mxtest.NewServer(t, zone)
		srv.SetFault("mx2.example.com", mxtest.Refused)
		srv.SetFault("mx1.example.com", mxtest.ServFail)
		_, err := srv.Resolver().Lookup(ctxT(t), "example.com")
		if !errors.Is(err, mx.ErrTemporary) {
			t.Fatalf("every host failing temporarily: err = %v, want temporary", err)
		}
	})
}

func TestTruncatedAnswerRetriedOverTCP(t *testing.T) {
	zone := "example.com. 300 IN SOA ns.example.com. h.example.com. 1 1 1 1 60\n"
	var want []string
	for i := range 40 {
		name := "a-rather-long-mail-exchanger-name-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example.com"
		zone += "example.com. 300 IN MX 10 " + name + ".\n" + name + ". 300 IN A 192.0.2.1\n"
		want = append(want, name)
	}
	srv := mxtest.NewServer(t, zone)
	res, err := srv.Resolver().Lookup(ctxT(t), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range res.Hosts {
		got = append(got, h.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d hosts, want all 40: %q", len(got), got)
	}
	if srv.Queries("example.com", "MX") != 2 || srv.TCPQueries() != 1 {
		t.Errorf("MX queries %d (want UDP then TCP), TCP queries %d (want 1)", srv.Queries("example.com", "MX"), srv.TCPQueries())
	}
}

func TestForcedTruncation(t *testing.T) {
	srv := mxtest.NewServer(t, smallZone)
	srv.SetFault("", mxtest.Truncate)
	res, err := srv.Resolver().Lookup(ctxT(t), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hosts) != 1 || srv.TCPQueries() != 3 || srv.UDPQueries() != 3 {
		t.Errorf("hosts %+v; UDP %d TCP %d queries, want 3 each (MX, A, AAAA)", res.Hosts, srv.UDPQueries(), srv.TCPQueries())
	}
}

func TestMaxHosts(t *testing.T) {
	zone := `
example.com. 300 IN MX 30 c.example.com.
example.com. 300 IN MX 10 a.example.com.
example.com. 300 IN MX 20 b.example.com.
example.com. 300 IN MX 40 d.example.com.
a.example.com. 300 IN A 192.0.2.1
b.example.com. 300 IN A 192.0.2.2
c.example.com. 300 IN A 192.0.2.3
d.example.com. 300 IN A 192.0.2.4
`
	srv := mxtest.NewServer(t, zone)
	r := srv.Resolver()
	r.MaxHosts = 2
	res, err := r.Lookup(ctxT(t), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := hostLines(res); !slices.Equal(got, []string{"10 a.example.com 192.0.2.1", "20 b.example.com 192.0.2.2"}) {
		t.Errorf("hosts %q, want the best two", got)
	}
	if n := srv.Queries("c.example.com", "") + srv.Queries("d.example.com", ""); n != 0 {
		t.Errorf("%d queries for hosts beyond MaxHosts", n)
	}
}

func TestCNAMEChains(t *testing.T) {
	zone := `
a0.example.com. 300 IN CNAME a1.example.com.
a1.example.com. 300 IN CNAME a2.example.com.
a2.example.com. 300 IN CNAME a3.example.com.
a3.example.com. 300 IN MX 10 mx.example.com.
mx.example.com. 300 IN A 192.0.2.1
`
	for i := range 10 {
		zone += "l" + string(rune('0'+i)) + ".example.com. 300 IN CNAME l" + string(rune('1'+i)) + ".example.com.\n"
	}
	zone += "l:.example.com. 300 IN MX 10 mx.example.com.\n"
	for _, chase := range []bool{true, false} {
		srv := mxtest.NewServer(t, zone)
		srv.SetChase(chase)
		res, err := srv.Resolver().Lookup(ctxT(t), "a0.example.com")
		if err != nil {
			t.Fatalf("chase=%v: %v", chase, err)
		}
		if want := []string{"a1.example.com", "a2.example.com", "a3.example.com"}; !slices.Equal(res.CNAMEs, want) {
			t.Errorf("chase=%v: CNAMEs %q, want %q", chase, res.CNAMEs, want)
		}
		// Ten aliases are more than MaxCNAMEs (8).
		if _, err := srv.Resolver().Lookup(ctxT(t), "l0.example.com"); !errors.Is(err, mx.ErrCNAMELoop) {
			t.Errorf("chase=%v: chain of 10: err = %v, want ErrCNAMELoop", chase, err)
		}
	}
	// A loop across queries: the server answers one alias at a time.
	srv := mxtest.NewServer(t, "x.example.com. 300 IN CNAME y.example.com.\ny.example.com. 300 IN CNAME x.example.com.\n")
	srv.SetChase(false)
	if _, err := srv.Resolver().Lookup(ctxT(t), "x.example.com"); !errors.Is(err, mx.ErrCNAMELoop) {
		t.Errorf("loop across queries: err = %v, want ErrCNAMELoop", err)
	}
	if n := srv.Queries("", "MX"); n != 2 {
		t.Errorf("loop across queries sent %d queries, want 2", n)
	}
}

func TestCancelledContext(t *testing.T) {
	srv := mxtest.NewServer(t, smallZone)
	srv.SetFault("", mxtest.Drop)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := srv.Resolver().Lookup(ctx, "example.com")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, mx.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout wrapping context.Canceled", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("lookup returned after %v, not when ctx was cancelled", d)
	}
}

func TestAuthenticated(t *testing.T) {
	srv := mxtest.NewServer(t, smallZone)
	res, err := srv.Resolver().Lookup(ctxT(t), "example.com")
	if err != nil || res.Authenticated || res.Hosts[0].Authenticated {
		t.Fatalf("without AD: res %+v, err %v; want unauthenticated", res, err)
	}
	srv2 := mxtest.NewServer(t, smallZone)
	srv2.SetAD(true)
	res, err = srv2.Resolver().Lookup(ctxT(t), "example.com")
	if err != nil || !res.Authenticated || !res.Hosts[0].Authenticated {
		t.Fatalf("with AD from loopback: res %+v, err %v; want authenticated", res, err)
	}
}
