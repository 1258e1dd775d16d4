package mx

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Defaults for the zero values of Resolver's fields.
const (
	DefaultTimeout   = 2 * time.Second
	DefaultAttempts  = 2
	DefaultUDPSize   = 1232 // DNS flag day 2020: avoids IP fragmentation
	DefaultCacheSize = 4096
	DefaultMaxHosts  = 50
	// MaxCNAMEs is how many CNAME records a lookup follows for one name.
	MaxCNAMEs = 8
)

// resolvConf is read when Servers is nil; a variable for tests.
var resolvConf = "/etc/resolv.conf"

// Resolver looks up where mail for a domain goes. The zero value is ready to
// use: it asks the servers in /etc/resolv.conf and caches answers.
//
// A Resolver is safe for concurrent use. Set its fields before the first
// lookup and do not change them afterwards; do not copy a Resolver after use.
type Resolver struct {
	// Servers are the recursive DNS servers to ask, as "host:port" or
	// "host" (port 53), tried in order. Nil means the nameservers of
	// /etc/resolv.conf.
	Servers []string

	// Timeout bounds one query to one server. Zero means DefaultTimeout.
	Timeout time.Duration

	// Attempts is how many times the whole server list is tried before a
	// lookup fails temporarily. Zero means DefaultAttempts.
	Attempts int

	// UDPSize is the EDNS0 buffer size advertised in queries (RFC 6891).
	// Zero means DefaultUDPSize. Truncated answers are retried over TCP.
	UDPSize uint16

	// Logger receives debug records of failed queries. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Order sets which address family a host's addresses list first.
	// The zero value is IPv6First.
	Order AddrOrder

	// LocalNames and LocalAddrs identify this host for the "we are an MX"
	// rule of RFC 5321 §5.1: when a domain's MX records name this host,
	// that record and every record of equal or worse preference are
	// dropped, and if none is left the lookup fails with ErrLoop.
	LocalNames []string
	LocalAddrs []netip.Addr

	// TrustedServers are servers (as in Servers) whose AD bit is believed,
	// in addition to servers on a loopback address. The AD bit of any other
	// server is ignored: Authenticated is then always false (RFC 6698 §4.1
	// requires a secure path to the validating resolver).
	TrustedServers []string

	// CacheSize bounds the number of cached answers. Zero means
	// DefaultCacheSize; negative disables the cache.
	CacheSize int

	// MaxHosts bounds how many MX hosts of one domain are resolved to
	// addresses; the best are kept. Zero means DefaultMaxHosts.
	MaxHosts int

	// Time returns the current time for the cache's expiry. Nil means
	// time.Now.
	Time func() time.Time

	once       sync.Once
	servers    []string // normalised Servers, or resolv.conf's
	serversErr error
	cache      *cache
	flight     group
}

// AddrOrder says in which order the address families of a host are listed,
// and whether one of them is left out.
type AddrOrder int

const (
	IPv6First AddrOrder = iota // AAAA then A
	IPv4First                  // A then AAAA
	IPv4Only                   // A only
	IPv6Only                   // AAAA only
)

var orderNames = [...]string{"IPv6First", "IPv4First", "IPv4Only", "IPv6Only"}

func (o AddrOrder) String() string {
	if o >= 0 && int(o) < len(orderNames) {
		return orderNames[o]
	}
	return "AddrOrder(?)"
}

func (r *Resolver) init() {
	r.once.Do(func() {
		src := r.Servers
		if src == nil {
			cfg, err := dns.ClientConfigFromFile(resolvConf)
			if err != nil {
				r.serversErr = err
			} else {
				for _, s := range cfg.Servers {
					src = append(src, net.JoinHostPort(s, cfg.Port))
				}
			}
		}
		for _, s := range src {
			r.servers = append(r.servers, hostPort(s))
		}
		if len(r.servers) == 0 && r.serversErr == nil {
			r.serversErr = errNoServers
		}
		size := r.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		if size > 0 {
			r.cache = newCache(size)
		}
	})
}

// hostPort adds port 53 to a server address without one.
func hostPort(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), "53")
}

// trusted reports whether server's AD bit is believed.
func (r *Resolver) trusted(server string) bool {
	host, _, err := net.SplitHostPort(server)
	if err == nil {
		if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
			return true
		}
	}
	for _, s := range r.TrustedServers {
		if hostPort(s) == server {
			return true
		}
	}
	return false
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

func (r *Resolver) attempts() int {
	if r.Attempts > 0 {
		return r.Attempts
	}
	return DefaultAttempts
}

func (r *Resolver) udpSize() uint16 {
	if r.UDPSize >= dns.MinMsgSize {
		return r.UDPSize
	}
	return DefaultUDPSize
}

func (r *Resolver) maxHosts() int {
	if r.MaxHosts > 0 {
		return r.MaxHosts
	}
	return DefaultMaxHosts
}

func (r *Resolver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Resolver) now() time.Time {
	if r.Time != nil {
		return r.Time()
	}
	return time.Now()
}

// isLocalName reports whether host (canonical form) names this host.
func (r *Resolver) isLocalName(host string) bool {
	for _, n := range r.LocalNames {
		if canon(n) == host {
			return true
		}
	}
	return false
}

// isLocalAddr reports whether a is one of this host's addresses.
func (r *Resolver) isLocalAddr(a netip.Addr) bool {
	for _, l := range r.LocalAddrs {
		if l.Unmap() == a.Unmap() {
			return true
		}
	}
	return false
}
