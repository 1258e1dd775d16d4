// Package mxtest runs an in-process DNS server for tests of code that looks
// up mail exchangers.
//
// NewServer starts it on 127.0.0.1 (UDP and TCP on one port) serving zone
// text, answering as a recursive resolver would: CNAMEs are followed within
// the zone, missing names are NXDOMAIN and names without the asked type are
// NODATA, both with the zone's SOA in the authority section when there is
// one (so resolvers can cache the denial, RFC 2308). Wildcards and
// delegations are not supported.
//
// Switches inject what real networks do: the AD bit (SetAD), SERVFAIL,
// REFUSED, silence, truncation and garbage (SetFault), and servers that stop
// at an alias (SetChase). Per-query counters (Queries, UDPQueries,
// TCPQueries) let a test prove what went over the wire, for example that a
// cached lookup sent nothing.
//
//	srv := mxtest.NewServer(t, `
//		example.com.     300 IN MX 10 mx1.example.com.
//		mx1.example.com. 300 IN A  192.0.2.1`)
//	res, err := srv.Resolver().Lookup(ctx, "example.com")
//
// The package uses only the standard testing package, so importing it adds
// no test dependency.
package mxtest
