package mx_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/mx/mxtest"
)

func TestLookupTLSA(t *testing.T) {
	srv := mxtest.NewServer(t, `
example.com.                 300 IN SOA ns.example.com. h.example.com. 1 1 1 1 60
_25._tcp.mx1.example.com.    300 IN TLSA 3 1 1 0123456789abcdef
_25._tcp.mx1.example.com.    300 IN TLSA 2 0 1 fedcba
_25._tcp.alias.example.com.  300 IN CNAME _25._tcp.mx1.example.com.
mx2.example.com.             300 IN A 192.0.2.2
`)
	srv.SetAD(true)
	r := srv.Resolver()
	res, err := r.LookupTLSA(ctxT(t), "MX1.example.com.", 25)
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "_25._tcp.mx1.example.com" || len(res.Records) != 2 || !res.Authenticated {
		t.Fatalf("result %+v", res)
	}
	want := mx.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}}
	if got := res.Records[0]; got.Usage != want.Usage || got.Selector != want.Selector || got.MatchingType != want.MatchingType || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("record %+v, want %+v", got, want)
	}
	res, err = r.LookupTLSA(ctxT(t), "alias.example.com", 25)
	if err != nil || len(res.Records) != 2 || len(res.CNAMEs) != 1 {
		t.Errorf("through a CNAME: %+v, %v", res, err)
	}
	// No TLSA records: an empty, authenticated denial, not an error.
	for _, host := range []string{"mx2.example.com", "nosuch.example.com"} {
		res, err = r.LookupTLSA(ctxT(t), host, 25)
		if err != nil || len(res.Records) != 0 || !res.Authenticated {
			t.Errorf("%s: %+v, %v; want no records, authenticated", host, res, err)
		}
	}
	if srv.Queries("_25._tcp.mx2.example.com", "TLSA") != 1 {
		t.Error("TLSA query not sent for _25._tcp.mx2.example.com")
	}
	if _, err := r.LookupTLSA(ctxT(t), "mx1.example.com", 0); !errors.Is(err, mx.ErrInvalidDomain) {
		t.Errorf("port 0: err = %v", err)
	}
	srv.SetFault("", mxtest.ServFail)
	r2 := srv.Resolver()
	if _, err := r2.LookupTLSA(ctxT(t), "mx9.example.com", 25); !errors.Is(err, mx.ErrTemporary) {
		t.Errorf("SERVFAIL: err = %v, want temporary", err)
	}
}
