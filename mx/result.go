package mx

import (
	"net/netip"
	"time"
)

// Result is where mail for a domain goes.
type Result struct {
	// Domain is the looked-up domain in A-label form, without trailing dot.
	Domain string
	// CNAMEs is the chain of aliases followed from Domain before the MX
	// records were found, in order; empty when Domain had no CNAME.
	CNAMEs []string
	// Hosts are the delivery targets in the order a sender must try them.
	Hosts []Host
	// Implicit is true when the domain has no MX records and Hosts is its
	// implicit MX: the domain itself at preference 0 (RFC 5321 §5.1).
	Implicit bool
	// Literal is true when the domain was an address literal such as
	// "[192.0.2.1]"; Hosts then holds that address and nothing was queried.
	Literal bool
	// TTL is how much longer the MX answer (or the denial that led to the
	// implicit MX) may be cached.
	TTL time.Duration
	// Authenticated is true when the MX answer (or its denial) carried the
	// AD bit from a trusted resolver (RFC 4035 §3.2.3).
	Authenticated bool
}

// Host is one mail exchanger.
type Host struct {
	// Name is the MX target (lower case, no trailing dot).
	Name string
	// Pref is the MX preference; 0 for an implicit MX or literal.
	Pref uint16
	// CNAMEs is the chain of aliases followed from Name to its addresses.
	// RFC 5321 §5.1 forbids MX targets that are aliases, but senders accept
	// them; the chain lets a caller log or refuse it.
	CNAMEs []string
	// Addrs are the host's addresses in the Resolver's Order.
	Addrs []netip.Addr
	// TTL is how much longer the shortest-lived record behind this host
	// (MX, CNAME, A, AAAA) may be cached.
	TTL time.Duration
	// Authenticated is true when the MX answer and every address answer
	// of this host carried the AD bit from a trusted resolver.
	Authenticated bool
	// Err is why the host has no addresses, when it has none. Such hosts
	// stay in the list so that a caller can report them.
	Err error
}

// TLSAResult holds the TLSA records of a mail host's SMTP port.
type TLSAResult struct {
	// Name is the queried name, e.g. "_25._tcp.mx.example.com".
	Name string
	// CNAMEs is the chain of aliases followed from Name.
	CNAMEs []string
	// Records are the TLSA records; empty when none exist.
	Records []TLSA
	// TTL is how much longer the answer may be cached.
	TTL time.Duration
	// Authenticated is true when the answer (or the denial of existence)
	// carried the AD bit from a trusted resolver. DANE (RFC 7672) applies
	// only to authenticated records.
	Authenticated bool
}

// TLSA is one TLSA record (RFC 6698 §2.1).
type TLSA struct {
	Usage        uint8
	Selector     uint8
	MatchingType uint8
	Data         []byte // certificate association data
}
