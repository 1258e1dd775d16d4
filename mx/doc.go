// Package mx finds where mail for a domain goes: the mail exchangers a
// sender must try, in order, with their addresses, as RFC 5321 §5 says.
//
// Go's net.LookupMX cannot tell a missing domain from one without MX
// records, hides TTLs and DNSSEC status, and returns a null MX as a record.
// [Resolver.Lookup] asks recursive DNS servers itself (through
// github.com/miekg/dns) and returns a typed [Result], or an [*Error] whose
// kind is one of the Err* sentinels.
//
// # Rules
//
//	Situation                         Result                                     Basis
//	MX records                        hosts by preference, ties shuffled         RFC 5321 §5.1
//	no MX records (NODATA)            implicit MX: the domain, pref 0            RFC 5321 §5.1
//	single "0 ." MX                   ErrNullMX, permanent (556 5.1.10)          RFC 7505 §3-4
//	"." among other MX records        the "." records are ignored                RFC 7505 §3
//	NXDOMAIN                          ErrNotFound, permanent (550 5.1.2)         RFC 1035, RFC 6604
//	SERVFAIL / REFUSED / timeout      next server, then a temporary error        RFC 1035 §4.1.1
//	malformed or mismatched answer    next server, then ErrMalformed, temporary  RFC 1035 §7.3
//	truncated UDP answer (TC)         retried over TCP                           RFC 7766 §5
//	EDNS0                             buffer of UDPSize (1232) advertised        RFC 6891
//	CNAME at the domain               followed (MaxCNAMEs, loops detected)       RFC 1034 §3.6.2
//	MX target is a CNAME              followed, chain in Host.CNAMEs             RFC 5321 §5.1
//	CNAME loop or too long            ErrCNAMELoop, permanent (550 5.4.6)        RFC 1034 §3.6.2
//	internationalised domain          converted to A-labels                      RFC 5890, RFC 6531
//	[192.0.2.1], [IPv6:2001:db8::1]   that address, nothing queried              RFC 5321 §4.1.3
//	host addresses                    A and AAAA in parallel, Order sets order   RFC 5321 §5.1
//	we are an MX                      drop our pref and worse; if none: ErrLoop  RFC 5321 §5.1
//	MX hosts without any address      ErrNoAddress, permanent (550 5.4.4)        RFC 5321 §5.1
//	AD bit                            Authenticated, only from trusted servers   RFC 4035 §3.2.3, RFC 6840 §5.7
//	TLSA for _25._tcp.host            LookupTLSA                                 RFC 6698, RFC 7672
//	caching                           by TTL, LRU-bounded, negative per SOA      RFC 2308 §5
//
// Temporary errors match errors.Is(err, ErrTemporary); [Error.Status] gives
// the SMTP reply a sender should use for any error.
//
// # Quick start
//
//	var r mx.Resolver // servers from /etc/resolv.conf
//	res, err := r.Lookup(ctx, "example.com")
//	switch {
//	case errors.Is(err, mx.ErrTemporary):
//		return err // try again later
//	case err != nil:
//		var e *mx.Error
//		errors.As(err, &e)
//		code, enhanced := e.Status() // e.g. 556 5.1.10 for a null MX
//		return bounce(code, enhanced, err)
//	}
//	for _, h := range res.Hosts {
//		for _, a := range h.Addrs {
//			// connect to a, port 25
//		}
//	}
//
// # Security and concurrency
//
// A Resolver is safe for concurrent use. Concurrent lookups of one name
// share one query, and the cache is bounded (CacheSize), as is the number
// of hosts resolved per domain (MaxHosts), so a hostile zone cannot make a
// lookup send unbounded queries. The AD bit is believed only from servers on
// a loopback address or listed in TrustedServers; the path to any other
// resolver is not secure. Answers are checked against the question; a reply
// for another name or type is treated as malformed.
package mx
