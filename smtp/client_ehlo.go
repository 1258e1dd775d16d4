package smtp

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Capabilities are the service extensions a server announced in its EHLO
// (or LHLO) reply (RFC 5321 §4.1.1.1). After a HELO fallback all are off.
type Capabilities struct {
	// Size is the SIZE limit (RFC 1870) in bytes; 0 when the server has
	// none or did not say. HasSize tells whether SIZE was offered.
	Size    int64
	HasSize bool
	// Auth lists the SASL mechanisms of AUTH (RFC 4954), upper case.
	Auth []string

	StartTLS            bool // RFC 3207
	Pipelining          bool // RFC 2920
	Chunking            bool // RFC 3030 BDAT
	BinaryMIME          bool // RFC 3030
	EightBitMIME        bool // RFC 6152
	SMTPUTF8            bool // RFC 6531
	DSN                 bool // RFC 3461
	RequireTLS          bool // RFC 8689
	EnhancedStatusCodes bool // RFC 2034

	// Limits holds the LIMITS values of RFC 9422; 0 means not given.
	Limits Limits

	// Extensions maps every keyword (upper case) to its parameters as
	// sent ("" when none), including those listed above.
	Extensions map[string]string
}

// Limits are the RFC 9422 LIMITS parameters.
type Limits struct {
	MailMax       int // transactions per connection
	RcptMax       int // recipients per transaction
	RcptDomainMax int // recipient domains per transaction
}

// Has reports whether the server announced the extension keyword.
func (c *Capabilities) Has(keyword string) bool {
	_, ok := c.Extensions[strings.ToUpper(keyword)]
	return ok
}

// HasAuth reports whether the server offers the SASL mechanism.
func (c *Capabilities) HasAuth(mech string) bool {
	for _, m := range c.Auth {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

// parseCapabilities reads the EHLO reply lines after the first (the
// greeting line). Unknown or malformed values are kept in Extensions and
// otherwise ignored: a client must not fail on a server's odd keyword.
func parseCapabilities(lines []string) Capabilities {
	caps := Capabilities{Extensions: make(map[string]string, len(lines))}
	for _, line := range lines {
		kw, params, _ := strings.Cut(strings.TrimSpace(line), " ")
		if kw == "" {
			continue // Postfix's smtp-sink ends EHLO with an empty line
		}
		kw = strings.ToUpper(kw)
		params = strings.TrimSpace(params)
		if _, dup := caps.Extensions[kw]; dup && kw != "AUTH" {
			continue // a repeated keyword: the first line stands (AUTH adds up)
		}
		caps.Extensions[kw] = params
		switch kw {
		case "SIZE":
			caps.HasSize = true
			if n, err := strconv.ParseInt(params, 10, 64); err == nil && n > 0 {
				caps.Size = n
			}
		case "AUTH":
			for _, m := range strings.Fields(params) {
				m = strings.ToUpper(m)
				if !caps.HasAuth(m) {
					caps.Auth = append(caps.Auth, m)
				}
			}
			// A server may list AUTH more than once: the mechanisms add
			// up, and Extensions says the same as Auth.
			caps.Extensions[kw] = strings.Join(caps.Auth, " ")
		case "STARTTLS":
			caps.StartTLS = true
		case "PIPELINING":
			caps.Pipelining = true
		case "CHUNKING":
			caps.Chunking = true
		case "BINARYMIME":
			caps.BinaryMIME = true
		case "8BITMIME":
			caps.EightBitMIME = true
		case "SMTPUTF8":
			caps.SMTPUTF8 = true
		case "DSN":
			caps.DSN = true
		case "REQUIRETLS":
			caps.RequireTLS = true
		case "ENHANCEDSTATUSCODES":
			caps.EnhancedStatusCodes = true
		case "LIMITS":
			caps.Limits = parseLimits(params)
		}
	}
	return caps
}

// parseLimits reads "MAILMAX=n RCPTMAX=n RCPTDOMAINMAX=n" (RFC 9422 §4).
func parseLimits(params string) Limits {
	var l Limits
	for _, f := range strings.Fields(params) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			continue
		}
		switch strings.ToUpper(k) {
		case "MAILMAX":
			l.MailMax = n
		case "RCPTMAX":
			l.RcptMax = n
		case "RCPTDOMAINMAX":
			l.RcptDomainMax = n
		}
	}
	return l
}

// hello sends EHLO (LHLO in LMTP mode), falling back to HELO when the
// server rejects EHLO as unknown (RFC 5321 §4.1.4). A 421 or a network
// error is final.
func (c *Client) hello(ctx context.Context) error {
	name := c.d.LocalName
	if name == "" {
		name = "localhost"
	}
	if err := checkArg(name); err != nil || strings.ContainsAny(name, " \t") {
		return errInvalidLocalName
	}
	verb := "EHLO "
	if c.d.LMTP {
		verb = "LHLO "
	}
	r, err := c.simple(ctx, 250, verb, name)
	if err == nil {
		c.esmtp = true
		c.caps = parseCapabilities(r.Lines[1:])
		return nil
	}
	se := asError(err)
	if se == nil || c.d.LMTP || se.Code == 421 {
		return err
	}
	if _, err := c.simple(ctx, 250, "HELO ", name); err != nil {
		return err
	}
	c.esmtp = false
	c.caps = Capabilities{}
	return nil
}

var errInvalidLocalName = errors.New("smtp: invalid Dialer.LocalName")

// Capabilities returns what the server announced. The value is replaced
// after STARTTLS; the caller must not modify it.
func (c *Client) Capabilities() *Capabilities { return &c.caps }

// ESMTP reports whether the server accepted EHLO (or LHLO); false after a
// HELO fallback.
func (c *Client) ESMTP() bool { return c.esmtp }
