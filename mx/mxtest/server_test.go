package mxtest

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const zone = `
example.com.   300 IN SOA ns.example.com. h.example.com. 1 1 1 1 60
example.com.   300 IN MX 10 mx.example.com.
www.example.com. 300 IN CNAME mx.example.com.
mx.example.com.  300 IN A 192.0.2.1
deep.sub.example.com. 300 IN A 192.0.2.2
`

func ask(t *testing.T, s *Server, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: time.Second}
	in, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return in
}

func TestAnswers(t *testing.T) {
	s := NewServer(t, zone)
	for _, tc := range []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
		soa     bool
	}{
		{"example.com.", dns.TypeMX, dns.RcodeSuccess, 1, false},
		{"EXAMPLE.com.", dns.TypeMX, dns.RcodeSuccess, 1, false},
		{"www.example.com.", dns.TypeA, dns.RcodeSuccess, 2, false},     // CNAME + A
		{"example.com.", dns.TypeAAAA, dns.RcodeSuccess, 0, true},       // NODATA
		{"sub.example.com.", dns.TypeA, dns.RcodeSuccess, 0, true},      // empty non-terminal
		{"nosuch.example.com.", dns.TypeA, dns.RcodeNameError, 0, true}, // NXDOMAIN
		{"other.test.", dns.TypeA, dns.RcodeNameError, 0, false},        // no SOA above
	} {
		for _, network := range []string{"udp", "tcp"} {
			in := ask(t, s, network, tc.name, tc.qtype)
			if in.Rcode != tc.rcode || len(in.Answer) != tc.answers || (len(in.Ns) == 1) != tc.soa {
				t.Errorf("%s %s over %s: rcode %d answers %d ns %d; want %d %d soa=%v",
					tc.name, dns.TypeToString[tc.qtype], network, in.Rcode, len(in.Answer), len(in.Ns), tc.rcode, tc.answers, tc.soa)
			}
		}
	}
	if n := s.Queries("example.com", "MX"); n != 4 {
		t.Errorf("Queries(example.com, MX) = %d, want 4", n)
	}
	if s.UDPQueries() != 7 || s.TCPQueries() != 7 || s.Queries("", "") != 14 {
		t.Errorf("UDP %d TCP %d total %d, want 7 7 14", s.UDPQueries(), s.TCPQueries(), s.Queries("", ""))
	}
	s.ResetCounts()
	if s.Queries("", "") != 0 || s.UDPQueries() != 0 {
		t.Error("ResetCounts left counts")
	}
}

func TestSwitches(t *testing.T) {
	s := NewServer(t, zone)
	s.SetAD(true)
	if in := ask(t, s, "udp", "example.com.", dns.TypeMX); !in.AuthenticatedData {
		t.Error("SetAD(true): AD bit not set")
	}
	s.SetChase(false)
	if in := ask(t, s, "udp", "www.example.com.", dns.TypeA); len(in.Answer) != 1 {
		t.Errorf("SetChase(false): %d answers, want the CNAME alone", len(in.Answer))
	}
	s.SetFault("example.com", ServFail)
	if in := ask(t, s, "udp", "example.com.", dns.TypeMX); in.Rcode != dns.RcodeServerFailure || in.AuthenticatedData {
		t.Errorf("ServFail: rcode %d AD %v", in.Rcode, in.AuthenticatedData)
	}
	if in := ask(t, s, "udp", "mx.example.com.", dns.TypeA); in.Rcode != dns.RcodeSuccess {
		t.Errorf("fault for one name affected another: rcode %d", in.Rcode)
	}
	s.SetFault("", Refused)
	if in := ask(t, s, "udp", "mx.example.com.", dns.TypeA); in.Rcode != dns.RcodeRefused {
		t.Errorf("Refused: rcode %d", in.Rcode)
	}
	s.SetFault("", Truncate)
	if in := ask(t, s, "udp", "mx.example.com.", dns.TypeA); !in.Truncated || len(in.Answer) != 0 {
		t.Errorf("Truncate over UDP: TC %v answers %d", in.Truncated, len(in.Answer))
	}
	if in := ask(t, s, "tcp", "mx.example.com.", dns.TypeA); in.Truncated || len(in.Answer) != 1 {
		t.Errorf("Truncate over TCP: TC %v answers %d", in.Truncated, len(in.Answer))
	}
	s.SetFault("", Drop)
	m := new(dns.Msg)
	m.SetQuestion("mx.example.com.", dns.TypeA)
	c := &dns.Client{Timeout: 100 * time.Millisecond}
	if _, _, err := c.Exchange(m, s.Addr()); err == nil {
		t.Error("Drop: got an answer")
	}
	s.SetFault("", Garble)
	if _, _, err := c.Exchange(m, s.Addr()); err == nil {
		t.Error("Garble: answer parsed")
	}
	s.SetFault("", NoFault)
	s.SetDelay(50 * time.Millisecond)
	start := time.Now()
	ask(t, s, "udp", "mx.example.com.", dns.TypeA)
	if time.Since(start) < 50*time.Millisecond {
		t.Error("SetDelay: answered early")
	}
}

func TestResolver(t *testing.T) {
	s := NewServer(t, zone)
	r := s.Resolver()
	if len(r.Servers) != 1 || r.Servers[0] != s.Addr() {
		t.Errorf("Resolver().Servers = %q, want [%s]", r.Servers, s.Addr())
	}
	res, err := r.Lookup(t.Context(), "example.com")
	if err != nil || len(res.Hosts) != 1 || res.Hosts[0].Name != "mx.example.com" {
		t.Fatalf("Lookup: %+v, %v", res, err)
	}
}

func TestSetZoneErrorKeepsRecords(t *testing.T) {
	s := NewServer(t, zone)
	if err := s.SetZone("example.com. 300 IN MX ten mx.example.com."); err == nil {
		t.Fatal("SetZone accepted a bad record")
	}
	if in := ask(t, s, "udp", "example.com.", dns.TypeMX); len(in.Answer) != 1 {
		t.Error("records lost after a failed SetZone")
	}
	if _, err := Start("bad zone line"); err == nil {
		t.Error("Start accepted a bad zone")
	}
}

func TestStartClose(t *testing.T) {
	s, err := Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	ask(t, s, "tcp", "example.com.", dns.TypeMX)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c := &dns.Client{Net: "tcp", Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeMX)
	if _, _, err := c.Exchange(m, s.Addr()); err == nil {
		t.Error("server still answers after Close")
	}
}

func TestZoneDefaultsTTLAndClass(t *testing.T) {
	s := NewServer(t, "a.example. MX 10 mx.a.example.\nmx.a.example. A 192.0.2.1\n")
	res, err := s.Resolver().Lookup(context.Background(), "a.example")
	if err != nil {
		t.Fatal(err)
	}
	// TTL is what is left of the cache lifetime: just under an hour.
	if len(res.Hosts) != 1 || res.Hosts[0].Name != "mx.a.example" || res.TTL <= 59*time.Minute || res.TTL > time.Hour {
		t.Fatalf("got %+v, want one host mx.a.example with a TTL of 1h", res)
	}
}
