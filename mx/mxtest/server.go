package mxtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/posthorn/posthorn/mx"
)

// Fault is a misbehaviour the server can be switched to.
type Fault int

const (
	NoFault  Fault = iota // answer normally
	ServFail              // answer SERVFAIL
	Refused               // answer REFUSED
	Drop                  // send nothing: the client times out
	Truncate              // over UDP, answer with TC set and no records
	Garble                // answer bytes that do not parse as a DNS message
)

// Server is an in-process DNS server. Its methods are safe for concurrent
// use.
type Server struct {
	addr string

	mu     sync.Mutex
	zone   map[string][]dns.RR // by lower-case owner name
	faults map[string]Fault    // by lower-case FQDN; "" applies to every name
	ad     bool
	delay  time.Duration
	noCh   bool           // do not follow CNAMEs
	counts map[string]int // "name type" → queries
	udp    int
	tcp    int
}

// NewServer starts a server on 127.0.0.1:0 serving zone, which is in master
// file format (RFC 1035 §5) with origin "." and a default TTL of 3600. It
// stops when the test ends. A zone that does not parse fails the test.
func NewServer(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{faults: map[string]Fault{}, counts: map[string]int{}}
	s.SetZone(t, zone)
	pc, l := listen(t)
	s.addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: l, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			t.Fatalf("mxtest: serve: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.ShutdownContext(ctx)
		})
	}
	return s
}

// listen binds UDP and TCP on one free loopback port.
func listen(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var last error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("mxtest: %v", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
		last = err
	}
	t.Fatalf("mxtest: no free port for UDP and TCP: %v", last)
	return nil, nil
}

// SetZone replaces the served records.
func (s *Server) SetZone(t testing.TB, zone string) {
	t.Helper()
	recs := map[string][]dns.RR{}
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "mxtest")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(rr.Header().Name)
		recs[name] = append(recs[name], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("mxtest: zone: %v", err)
	}
	s.mu.Lock()
	s.zone = recs
	s.mu.Unlock()
}

// Addr returns the server's "127.0.0.1:port", the same for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// Resolver returns a new mx.Resolver that asks only this server, with a one
// second timeout, two attempts and logging discarded. Its fields can be
// changed before its first lookup.
func (s *Server) Resolver() *mx.Resolver {
	return &mx.Resolver{
		Servers:  []string{s.addr},
		Timeout:  time.Second,
		Attempts: 2,
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// SetAD sets whether answers carry the AD (authenticated data) bit.
func (s *Server) SetAD(on bool) {
	s.mu.Lock()
	s.ad = on
	s.mu.Unlock()
}

// SetDelay makes the server wait d before each answer.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// SetFault makes queries for name misbehave; name "" means every name
// without a fault of its own. NoFault clears it.
func (s *Server) SetFault(name string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		name = dns.Fqdn(strings.ToLower(name))
	}
	if f == NoFault {
		delete(s.faults, name)
		return
	}
	s.faults[name] = f
}

// SetChase sets whether answers follow CNAMEs within the zone (the default,
// as recursive resolvers do) or stop at the first alias.
func (s *Server) SetChase(on bool) {
	s.mu.Lock()
	s.noCh = !on
	s.mu.Unlock()
}

// Queries returns how many queries arrived for name and type (such as
// "MX"); "" for either means any.
func (s *Server) Queries(name, qtype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		name = dns.Fqdn(strings.ToLower(name))
	}
	n := 0
	for k, c := range s.counts {
		kn, kt, _ := strings.Cut(k, " ")
		if (name == "" || name == kn) && (qtype == "" || strings.EqualFold(qtype, kt)) {
			n += c
		}
	}
	return n
}

// UDPQueries returns how many queries arrived over UDP.
func (s *Server) UDPQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.udp
}

// TCPQueries returns how many queries arrived over TCP.
func (s *Server) TCPQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcp
}

// ResetCounts sets every query counter to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.udp, s.tcp = 0, 0
}

// String describes the server for test logs.
func (s *Server) String() string { return fmt.Sprintf("mxtest.Server(%s)", s.addr) }
