package mx_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/mx/mxtest"
)

const baseZone = `
example.com.        300 IN SOA ns.example.com. host.example.com. 1 3600 600 86400 60
example.com.        300 IN MX 20 mx2.example.com.
example.com.        300 IN MX 10 mx1.example.com.
example.com.        300 IN MX 30 mx3.example.com.
mx1.example.com.    300 IN A    192.0.2.1
mx1.example.com.    300 IN AAAA 2001:db8::1
mx2.example.com.    300 IN A    192.0.2.2
mx3.example.com.    300 IN AAAA 2001:db8::3
implicit.example.com. 300 IN A  192.0.2.10
implicit.example.com. 300 IN AAAA 2001:db8::10
noaddr.example.com. 300 IN TXT "no address records"
null.example.com.   300 IN MX 0 .
mixnull.example.com. 300 IN MX 0 .
mixnull.example.com. 300 IN MX 10 mx1.example.com.
alias.example.com.  300 IN CNAME example.com.
cnmx.example.com.   300 IN MX 10 mxalias.example.com.
mxalias.example.com. 300 IN CNAME mx1.example.com.
loop1.example.com.  300 IN CNAME loop2.example.com.
loop2.example.com.  300 IN CNAME loop1.example.com.
dup.example.com.    300 IN MX 20 mx1.example.com.
dup.example.com.    300 IN MX 10 mx1.example.com.
dup.example.com.    300 IN MX 15 mx2.example.com.
deadmx.example.com. 300 IN MX 10 gone.example.com.
deadmx.example.com. 300 IN MX 20 mx2.example.com.
allgone.example.com. 300 IN MX 10 gone.example.com.
allgone.example.com. 300 IN MX 20 gone2.example.com.
self.example.com.   300 IN MX 10 mx1.example.com.
self.example.com.   300 IN MX 20 us.example.com.
self.example.com.   300 IN MX 20 mx2.example.com.
self.example.com.   300 IN MX 30 mx3.example.com.
selfbest.example.com. 300 IN MX 10 us.example.com.
selfbest.example.com. 300 IN MX 20 mx2.example.com.
us.example.com.     300 IN A    192.0.2.99
xn--bcher-kva.example.com. 300 IN MX 10 mx1.example.com.
`

func TestLookupRules(t *testing.T) {
	srv := mxtest.NewServer(t, baseZone)
	for _, tc := range []struct {
		name     string
		domain   string
		setup    func(r *mx.Resolver)
		want     []string
		wantErr  error
		implicit bool
		check    func(t *testing.T, res *mx.Result)
	}{
		{name: "sorted by preference, IPv6 first", domain: "example.com",
			want: []string{"10 mx1.example.com 2001:db8::1,192.0.2.1", "20 mx2.example.com 192.0.2.2", "30 mx3.example.com 2001:db8::3"}},
		{name: "IPv4 first", domain: "example.com", setup: func(r *mx.Resolver) { r.Order = mx.IPv4First },
			want: []string{"10 mx1.example.com 192.0.2.1,2001:db8::1", "20 mx2.example.com 192.0.2.2", "30 mx3.example.com 2001:db8::3"}},
		{name: "IPv4 only leaves a v6-only host without addresses", domain: "example.com", setup: func(r *mx.Resolver) { r.Order = mx.IPv4Only },
			want: []string{"10 mx1.example.com 192.0.2.1", "20 mx2.example.com 192.0.2.2", "30 mx3.example.com "},
			check: func(t *testing.T, res *mx.Result) {
				if !errors.Is(res.Hosts[2].Err, mx.ErrNoAddress) {
					t.Errorf("host without A: Err = %v, want ErrNoAddress", res.Hosts[2].Err)
				}
			}},
		{name: "IPv6 only", domain: "example.com", setup: func(r *mx.Resolver) { r.Order = mx.IPv6Only },
			want: []string{"10 mx1.example.com 2001:db8::1", "20 mx2.example.com ", "30 mx3.example.com 2001:db8::3"}},
		{name: "trailing dot and upper case", domain: "EXAMPLE.com.",
			want: []string{"10 mx1.example.com 2001:db8::1,192.0.2.1", "20 mx2.example.com 192.0.2.2", "30 mx3.example.com 2001:db8::3"}},
		{name: "implicit MX", domain: "implicit.example.com", implicit: true,
			want: []string{"0 implicit.example.com 2001:db8::10,192.0.2.10"}},
		{name: "implicit MX without addresses", domain: "noaddr.example.com", wantErr: mx.ErrNoAddress},
		{name: "null MX", domain: "null.example.com", wantErr: mx.ErrNullMX},
		{name: "null MX among other records is ignored", domain: "mixnull.example.com",
			want: []string{"10 mx1.example.com 2001:db8::1,192.0.2.1"}},
		{name: "NXDOMAIN", domain: "nosuch.example.com", wantErr: mx.ErrNotFound},
		{name: "CNAME at the domain", domain: "alias.example.com",
			want: []string{"10 mx1.example.com 2001:db8::1,192.0.2.1", "20 mx2.example.com 192.0.2.2", "30 mx3.example.com 2001:db8::3"},
			check: func(t *testing.T, res *mx.Result) {
				if !slices.Equal(res.CNAMEs, []string{"example.com"}) {
					t.Errorf("CNAMEs = %q, want [example.com]", res.CNAMEs)
				}
			}},
		{name: "MX target is a CNAME", domain: "cnmx.example.com",
			want: []string{"10 mxalias.example.com 2001:db8::1,192.0.2.1"},
			check: func(t *testing.T, res *mx.Result) {
				if !slices.Equal(res.Hosts[0].CNAMEs, []string{"mx1.example.com"}) {
					t.Errorf("host CNAMEs = %q, want [mx1.example.com]", res.Hosts[0].CNAMEs)
				}
			}},
		{name: "CNAME loop", domain: "loop1.example.com", wantErr: mx.ErrCNAMELoop},
		{name: "duplicate targets kept once at best preference", domain: "dup.example.com",
			want: []string{"10 mx1.example.com 2001:db8::1,192.0.2.1", "15 mx2.example.com 192.0.2.2"}},
		{name: "MX host that does not exist stays with Err", domain: "deadmx.example.com",
			want: []string{"10 gone.example.com ", "20 mx2.example.com 192.0.2.2"},
			check: func(t *testing.T, res *mx.Result) {
				if !errors.Is(res.Hosts[0].Err, mx.ErrNotFound) {
					t.Errorf("Err = %v, want ErrNotFound", res.Hosts[0].Err)
				}
			}},
		{name: "no MX host has an address", domain: "allgone.example.com", wantErr: mx.ErrNoAddress},
		{name: "we are an MX by name", domain: "self.example.com",
			setup: func(r *mx.Resolver) { r.LocalNames = []string{"US.example.com."} },
			want:  []string{"10 mx1.example.com 2001:db8::1,192.0.2.1"}},
		{name: "we are an MX by address", domain: "self.example.com",
			setup: func(r *mx.Resolver) { r.LocalAddrs = addrs("192.0.2.99") },
			want:  []string{"10 mx1.example.com 2001:db8::1,192.0.2.1"}},
		{name: "we are the best MX", domain: "selfbest.example.com",
			setup: func(r *mx.Resolver) { r.LocalNames = []string{"us.example.com"} }, wantErr: mx.ErrLoop},
		{name: "we are the best MX by address", domain: "selfbest.example.com",
			setup: func(r *mx.Resolver) { r.LocalAddrs = addrs("::ffff:192.0.2.99") }, wantErr: mx.ErrLoop},
		{name: "we are the implicit MX", domain: "implicit.example.com",
			setup: func(r *mx.Resolver) { r.LocalNames = []string{"implicit.example.com"} }, wantErr: mx.ErrLoop},
		{name: "internationalised domain", domain: "bücher.example.com",
			want: []string{"10 mx1.example.com 2001:db8::1,192.0.2.1"},
			check: func(t *testing.T, res *mx.Result) {
				if res.Domain != "xn--bcher-kva.example.com" {
					t.Errorf("Domain = %q, want the A-label form", res.Domain)
				}
			}},
		{name: "IPv4 literal", domain: "[192.0.2.7]", want: []string{"0 [192.0.2.7] 192.0.2.7"},
			check: func(t *testing.T, res *mx.Result) {
				if !res.Literal {
					t.Error("Literal = false")
				}
			}},
		{name: "IPv6 literal", domain: "[IPv6:2001:db8::7]", want: []string{"0 [IPv6:2001:db8::7] 2001:db8::7"}},
		{name: "literal of this host", domain: "[192.0.2.99]",
			setup: func(r *mx.Resolver) { r.LocalAddrs = addrs("192.0.2.99") }, wantErr: mx.ErrLoop},
		{name: "IPv6 literal without tag", domain: "[2001:db8::7]", wantErr: mx.ErrInvalidDomain},
		{name: "IPv4 address under IPv6 tag", domain: "[IPv6:192.0.2.1]", wantErr: mx.ErrInvalidDomain},
		{name: "empty label", domain: "a..example.com", wantErr: mx.ErrInvalidDomain},
		{name: "empty", domain: "", wantErr: mx.ErrInvalidDomain},
		{name: "label over 63", domain: string(make63()) + "x.example.com", wantErr: mx.ErrInvalidDomain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Resolver()
			if tc.setup != nil {
				tc.setup(r)
			}
			res, err := r.Lookup(ctxT(t), tc.domain)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var e *mx.Error
				if !errors.As(err, &e) || e.Temporary || errors.Is(err, mx.ErrTemporary) {
					t.Errorf("err = %#v, want a permanent *mx.Error", err)
				}
				if res != nil {
					t.Errorf("res = %+v with an error", res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hostLines(res); !slices.Equal(got, tc.want) {
				t.Errorf("hosts:\n got %q\nwant %q", got, tc.want)
			}
			if res.Implicit != tc.implicit {
				t.Errorf("Implicit = %v, want %v", res.Implicit, tc.implicit)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func make63() []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 'a'
	}
	return append(b, '.')
}
