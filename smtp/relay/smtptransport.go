package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/smtp"
)

// TLSPolicy says how a remote domain must be reached.
type TLSPolicy int

// TLS policies. The zero value is opportunistic, the port 25 default
// (RFC 7435): STARTTLS when offered, certificate not checked, plaintext
// when not offered.
const (
	TLSOpportunistic TLSPolicy = iota
	// TLSRequired insists on STARTTLS but accepts any certificate.
	TLSRequired
	// TLSVerified insists on STARTTLS with a certificate valid for the MX
	// host name. REQUIRETLS messages (RFC 8689) are always sent this way.
	TLSVerified
)

// SMTPTransport delivers to a domain's mail exchangers: it looks up the MX
// hosts (RFC 5321 §5), tries each host and address in order until one
// gives a verdict, and runs one transaction for all the recipients at the
// domain, with pipelining, BDAT and SMTPUTF8 as the server offers them.
// Connection and TLS failures and 4xx replies to the transaction move on
// to the next host; a 5xx is final.
type SMTPTransport struct {
	// Resolver finds the MX hosts. Required.
	Resolver *mx.Resolver
	// Dialer is the template for connections: LocalName, timeouts,
	// Logger, NetDialer, and TLSConfig (RootCAs for TLSVerified). Its
	// Security, TLSConfig.ServerName and InsecureSkipVerify are set per
	// connection from the policy.
	Dialer smtp.Dialer
	// Port is the TCP port of the MX hosts; 0 → 25.
	Port int
	// Policy gives the TLS policy of a domain; nil → TLSOpportunistic for
	// every domain.
	Policy func(domain string) TLSPolicy
}

var errNoREQUIRETLS = &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 30},
	Message: "REQUIRETLS not supported by the receiving server"}

// Deliver implements Transport.
func (t *SMTPTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	res, err := t.Resolver.Lookup(ctx, d.Domain)
	if err != nil {
		return resultsAll(len(d.Recipients), err, "")
	}
	policy := TLSOpportunistic
	if t.Policy != nil {
		policy = t.Policy(d.Domain)
	}
	if d.Mail.RequireTLS {
		policy = TLSVerified
	}
	port := t.Port
	if port == 0 {
		port = 25
	}
	var lastErr error = errors.New("relay: no mail exchanger to try")
	lastHost := ""
	for _, h := range res.Hosts {
		if len(h.Addrs) == 0 {
			if h.Err != nil {
				lastErr, lastHost = h.Err, h.Name
			}
			continue
		}
		for _, a := range h.Addrs {
			if err := ctx.Err(); err != nil {
				return resultsAll(len(d.Recipients), err, lastHost)
			}
			out, retry, err := t.attempt(ctx, d, h.Name, net.JoinHostPort(a.String(), strconv.Itoa(port)), policy)
			if !retry {
				return out
			}
			lastErr, lastHost = err, h.Name
		}
	}
	return resultsAll(len(d.Recipients), lastErr, lastHost)
}

// attempt runs the transaction with one server. retry is true when the
// next host should be tried (err says why).
func (t *SMTPTransport) attempt(ctx context.Context, d *Delivery, host, addr string, policy TLSPolicy) (out []Result, retry bool, err error) {
	dialer := t.Dialer
	switch policy {
	case TLSOpportunistic:
		dialer.Security = smtp.StartTLSOpportunistic
	default:
		dialer.Security = smtp.StartTLSRequired
	}
	tc := &tls.Config{}
	if dialer.TLSConfig != nil {
		tc = dialer.TLSConfig.Clone()
	}
	tc.ServerName = host
	// RFC 7435: opportunistic and "required but unverified" TLS accept any
	// certificate; only TLSVerified checks it.
	tc.InsecureSkipVerify = policy != TLSVerified
	dialer.TLSConfig = tc

	c, err := dialer.Dial(ctx, addr)
	if err != nil {
		return nil, true, err
	}
	defer c.Close()
	if d.Mail.RequireTLS && !c.Capabilities().RequireTLS {
		c.Quit(ctx)
		return nil, true, errNoREQUIRETLS
	}
	rcpts := make([]smtp.Recipient, len(d.Recipients))
	for i, r := range d.Recipients {
		rcpts[i] = smtp.Recipient{Address: r}
		if i < len(d.RcptOptions) {
			o := d.RcptOptions[i]
			rcpts[i].Options = &o
		}
	}
	mail := d.Mail
	mail.Size = d.Size
	w, results, err := c.Transaction(ctx, d.From, &mail, rcpts)
	out = make([]Result, len(d.Recipients))
	for i := range out {
		out[i].RemoteMTA = host
		if i < len(results) {
			out[i].Err = results[i].Err
		}
	}
	if err != nil {
		if errors.Is(err, smtp.ErrNoRecipients) {
			// Every recipient has its own verdict; retry elsewhere only
			// when none of them is permanent.
			for _, r := range out {
				if perm, _ := Permanent(r.Err); perm {
					return out, false, nil
				}
			}
			return out, true, err
		}
		if perm, _ := Permanent(err); perm {
			return resultsAll(len(out), err, host), false, nil
		}
		return nil, true, err
	}
	body, err := d.Open(ctx)
	if err != nil {
		w.Abort() // never let the receiver take an empty message
		return resultsAll(len(out), err, host), false, nil
	}
	_, err = io.Copy(w, body)
	body.Close()
	if err != nil {
		// A spool read error or a failed write: abort, so that no
		// truncated message is ever accepted (BDAT: RSET; DATA: the
		// connection is dropped before the final dot).
		w.Abort()
	} else {
		err = w.Close()
	}
	if err != nil {
		if perm, _ := Permanent(err); perm {
			for i := range out {
				if out[i].Err == nil {
					out[i].Err = err
				}
			}
			c.Quit(ctx)
			return out, false, nil
		}
		return nil, true, fmt.Errorf("relay: %s: %w", host, err)
	}
	c.Quit(ctx)
	return out, false, nil
}

func resultsAll(n int, err error, host string) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = Result{Err: err, RemoteMTA: host}
	}
	return out
}
