package mxtest

import (
	"context"
	"errors"
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
	srvs []*dns.Server

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
	s, err := Start(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Start is NewServer for programs that are not tests, such as examples:
// the caller stops the server with Close.
func Start(zone string) (*Server, error) {
	s := &Server{faults: map[string]Fault{}, counts: map[string]int{}}
	if err := s.SetZone(zone); err != nil {
		return nil, err
	}
	pc, l, err := listen()
	if err != nil {
		return nil, err
	}
	s.addr = pc.LocalAddr().String()
	s.srvs = []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: l, Handler: s}}
	for i, srv := range s.srvs {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			for _, prev := range s.srvs[:i] {
				prev.Shutdown()
			}
			l.Close()
			return nil, fmt.Errorf("mxtest: serve: %w", err)
		}
	}
	return s, nil
}

// Close stops the server. It waits at most five seconds for answers in
// progress.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range s.srvs {
		errs = append(errs, srv.ShutdownContext(ctx))
	}
	return errors.Join(errs...)
}

// listen binds UDP and TCP on one free loopback port.
func listen() (net.PacketConn, net.Listener, error) {
	var last error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("mxtest: %w", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		last = err
	}
	return nil, nil, fmt.Errorf("mxtest: no free port for both UDP and TCP: %w", last)
}

// SetZone replaces the served records. On a parse error the records stay
// as they were.
func (s *Server) SetZone(zone string) error {
	recs := map[string][]dns.RR{}
	// An explicit $TTL makes records without TTL or class parse, with the
	// documented default TTL.
	zp := dns.NewZoneParser(strings.NewReader("$TTL 3600\n"+zone), ".", "mxtest")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(rr.Header().Name)
		recs[name] = append(recs[name], rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("mxtest: zone: %w", err)
	}
	s.mu.Lock()
	s.zone = recs
	s.mu.Unlock()
	return nil
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
