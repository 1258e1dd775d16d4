package mx

import (
	"errors"
	"strings"

	"github.com/miekg/dns"
)

// Sentinel errors. Every error Lookup and LookupTLSA return is an *Error
// whose Kind is one of these, so callers test with errors.Is. ErrTemporary
// matches every temporary *Error whatever its Kind.
var (
	// ErrNullMX: the domain publishes a null MX (RFC 7505) and accepts no
	// mail. Permanent; a sender bounces with 556 5.1.10.
	ErrNullMX = errors.New("mx: domain accepts no mail (null MX)")
	// ErrNotFound: the domain does not exist (NXDOMAIN). Permanent, 550 5.1.2.
	ErrNotFound = errors.New("mx: no such domain")
	// ErrNoAddress: no mail host of the domain (or, without MX records, the
	// domain itself) has an address record. Permanent, 550 5.4.4.
	ErrNoAddress = errors.New("mx: no mail host has an address")
	// ErrLoop: this host is the best mail exchanger for the domain, so
	// relaying would loop (RFC 5321 §5.1). Permanent, 550 5.4.6.
	ErrLoop = errors.New("mx: mail for the domain loops back to this host")
	// ErrCNAMELoop: a CNAME chain loops or is longer than the resolver
	// follows. Permanent, 550 5.4.6.
	ErrCNAMELoop = errors.New("mx: CNAME chain loops or is too long")
	// ErrInvalidDomain: the name is not a valid domain or address literal.
	// Permanent, 550 5.1.2.
	ErrInvalidDomain = errors.New("mx: invalid domain name")

	// ErrTemporary matches every temporary failure; it is also the Kind of
	// network errors that are neither timeouts nor DNS answers. 451 4.4.3.
	ErrTemporary = errors.New("mx: temporary DNS failure")
	// ErrTimeout: no server answered in time, or ctx ended. Temporary.
	ErrTimeout = errors.New("mx: DNS query timed out")
	// ErrServerFailure: every server answered SERVFAIL. Temporary.
	ErrServerFailure = errors.New("mx: DNS server failure (SERVFAIL)")
	// ErrRefused: every server answered REFUSED. Temporary.
	ErrRefused = errors.New("mx: DNS query refused")
	// ErrMalformed: the answer could not be parsed or did not match the
	// question. Temporary.
	ErrMalformed = errors.New("mx: malformed DNS answer")
)

// Error describes a failed lookup. It is shaped like net.DNSError.
type Error struct {
	Kind      error  // one of the Err* sentinels
	Name      string // the name being resolved when the failure happened
	Server    string // the server that gave the last answer, if any
	Rcode     int    // DNS response code of that answer; -1 if there was none
	Temporary bool   // retrying later may succeed
	NotFound  bool   // the name or the records do not exist
	Timeout   bool   // no answer in time
	Err       error  // underlying cause (network error, ctx.Err()), may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("mx: lookup ")
	b.WriteString(e.Name)
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Kind.Error(), "mx: "))
	if e.Rcode > 0 {
		b.WriteString(" (")
		b.WriteString(dns.RcodeToString[e.Rcode])
		if e.Server != "" {
			b.WriteString(" from ")
			b.WriteString(e.Server)
		}
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As the Kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Is reports whether target is ErrTemporary and e is temporary.
func (e *Error) Is(target error) bool {
	return target == ErrTemporary && e.Temporary
}

// Status returns the SMTP reply code and enhanced status code (RFC 3463)
// that a sender uses when this error ends a delivery attempt.
func (e *Error) Status() (code int, enhanced string) {
	switch {
	case e.Temporary:
		return 451, "4.4.3"
	case e.Kind == ErrNullMX:
		return 556, "5.1.10"
	case e.Kind == ErrNotFound, e.Kind == ErrInvalidDomain:
		return 550, "5.1.2"
	case e.Kind == ErrLoop, e.Kind == ErrCNAMELoop:
		return 550, "5.4.6"
	default:
		return 550, "5.4.4"
	}
}

// permanent builds a permanent *Error of kind for name.
func permanent(kind error, name string) *Error {
	return &Error{Kind: kind, Name: name, Rcode: -1, NotFound: kind == ErrNotFound || kind == ErrNoAddress}
}

// temporary builds a temporary *Error of kind for name.
func temporary(kind error, name, server string, rcode int, cause error) *Error {
	return &Error{Kind: kind, Name: name, Server: server, Rcode: rcode, Temporary: true,
		Timeout: kind == ErrTimeout, Err: cause}
}
