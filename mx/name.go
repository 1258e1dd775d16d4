package mx

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxNameLen is the longest domain name in presentation form without the
// trailing dot (RFC 1035 §2.3.4: 255 octets on the wire).
const maxNameLen = 253

// target is a normalised Lookup argument: a domain in A-label form, or an
// address literal.
type target struct {
	name    string     // lower-case A-labels, no trailing dot; or the literal as given
	literal netip.Addr // valid for an address literal
}

// parseTarget normalises the domain part of a mail address. Internationalised
// names become A-labels (RFC 5890); "[192.0.2.1]" and "[IPv6:2001:db8::1]"
// are address literals (RFC 5321 §4.1.3).
func parseTarget(domain string) (target, error) {
	if strings.HasPrefix(domain, "[") {
		a, ok := parseLiteral(domain)
		if !ok {
			return target{}, permanent(ErrInvalidDomain, domain)
		}
		return target{name: domain, literal: a}, nil
	}
	name, err := toASCII(domain)
	if err != nil {
		return target{}, permanent(ErrInvalidDomain, domain)
	}
	return target{name: name}, nil
}

// parseLiteral parses an RFC 5321 address literal.
func parseLiteral(s string) (netip.Addr, bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, false
	}
	s = s[1 : len(s)-1]
	want4 := true
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		s, want4 = s[5:], false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4() != want4 {
		return netip.Addr{}, false
	}
	return a, true
}

// toASCII converts a domain to lower-case A-labels without a trailing dot
// and checks its length limits.
func toASCII(domain string) (string, error) {
	if !utf8.ValidString(domain) {
		return "", ErrInvalidDomain
	}
	domain = strings.TrimSuffix(domain, ".")
	name, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", err
	}
	name = strings.ToLower(name)
	if name == "" || len(name) > maxNameLen {
		return "", ErrInvalidDomain
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return "", ErrInvalidDomain
		}
	}
	return name, nil
}

// canon returns name in the form results use: lower case, no trailing dot.
func canon(name string) string {
	name = strings.ToLower(name)
	if len(name) > 1 {
		name = strings.TrimSuffix(name, ".")
	}
	return name
}
