package mx_test

import (
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/posthorn/posthorn/mx"
)

// rawServer answers every UDP query with what reply returns.
func rawServer(t *testing.T, reply func(req *dns.Msg) *dns.Msg) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) { w.WriteMsg(reply(req)) })}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func rr(t *testing.T, s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMalformedAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(t *testing.T, req *dns.Msg) *dns.Msg
	}{
		{"answer to another name", func(t *testing.T, req *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion("evil.example.", req.Question[0].Qtype)
			m.Id, m.Response = req.Id, true
			m.Answer = []dns.RR{rr(t, "evil.example. 60 MX 10 mx.evil.example.")}
			return m
		}},
		{"answer to another type", func(t *testing.T, req *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion(req.Question[0].Name, dns.TypeTXT)
			m.Id, m.Response = req.Id, true
			return m
		}},
		{"no question", func(t *testing.T, req *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Question = nil
			return m
		}},
		{"not a response", func(t *testing.T, req *dns.Msg) *dns.Msg {
			m := req.Copy()
			return m
		}},
		{"rcode NOTIMP", func(t *testing.T, req *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeNotImplemented)
			return m
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawServer(t, func(req *dns.Msg) *dns.Msg { return tc.reply(t, req) })
			r := &mx.Resolver{Servers: []string{addr}, Timeout: time.Second, Attempts: 1}
			_, err := r.Lookup(ctxT(t), "example.com")
			if !errors.Is(err, mx.ErrMalformed) || !errors.Is(err, mx.ErrTemporary) {
				t.Errorf("err = %v, want temporary ErrMalformed", err)
			}
		})
	}
}

// Records the answer section should not hold (other owners, other classes,
// other types) are ignored, not believed.
func TestForeignRecordsIgnored(t *testing.T) {
	addr := rawServer(t, func(req *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		switch {
		case q.Qtype == dns.TypeMX:
			m.Answer = []dns.RR{
				rr(t, "other.example. 60 MX 1 mx.evil.example."),
				rr(t, "example.com. 60 CH MX 1 mx.evil.example."),
				rr(t, "example.com. 60 TXT \"not an MX\""),
				rr(t, "EXAMPLE.COM. 60 MX 10 mx.example.com."),
			}
		case q.Qtype == dns.TypeA && q.Name == "mx.example.com.":
			m.Answer = []dns.RR{rr(t, "mx.example.com. 60 A 192.0.2.1"), rr(t, "mx.evil.example. 60 A 198.51.100.1")}
		}
		return m
	})
	r := &mx.Resolver{Servers: []string{addr}, Timeout: time.Second}
	res, err := r.Lookup(ctxT(t), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := hostLines(res); !slices.Equal(got, []string{"10 mx.example.com 192.0.2.1"}) {
		t.Errorf("hosts %q", got)
	}
}

// A server that does not know EDNS0 answers FORMERR without an OPT record
// (RFC 6891 §7); the query is repeated without EDNS0.
func TestFormErrRetriedWithoutEDNS(t *testing.T) {
	var plain atomic.Int32
	addr := rawServer(t, func(req *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		if req.IsEdns0() != nil {
			m.SetRcode(req, dns.RcodeFormatError)
			m.Extra = nil
			return m
		}
		plain.Add(1)
		m.SetReply(req)
		switch req.Question[0].Qtype {
		case dns.TypeMX:
			m.Answer = []dns.RR{rr(t, "example.com. 60 MX 10 mx.example.com.")}
		case dns.TypeA:
			m.Answer = []dns.RR{rr(t, "mx.example.com. 60 A 192.0.2.1")}
		}
		return m
	})
	r := &mx.Resolver{Servers: []string{addr}, Timeout: time.Second}
	res, err := r.Lookup(ctxT(t), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := hostLines(res); !slices.Equal(got, []string{"10 mx.example.com 192.0.2.1"}) || plain.Load() != 3 {
		t.Errorf("hosts %q after %d plain queries (want 3)", got, plain.Load())
	}
}
