package mx

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"

	"github.com/miekg/dns"
)

var errNoServers = errors.New("mx: no DNS servers configured")

// exchange asks the servers one question: over UDP with EDNS0, again over TCP
// when the answer is truncated, and on to the next server after a timeout,
// SERVFAIL, REFUSED or a malformed answer, for r.attempts() passes. It
// returns a NOERROR or NXDOMAIN reply, or a temporary *Error describing the
// last failure.
func (r *Resolver) exchange(ctx context.Context, q qkey) (*dns.Msg, string, error) {
	name := canon(q.name)
	if r.serversErr != nil {
		return nil, "", temporary(ErrTemporary, name, "", -1, r.serversErr)
	}
	var last *Error
	for range r.attempts() {
		for _, server := range r.servers {
			m, err := r.ask(ctx, q, server)
			if err == nil {
				return m, server, nil
			}
			last = err
			r.logger().LogAttrs(ctx, slog.LevelDebug, "mx: query failed",
				slog.String("server", server), slog.String("name", q.name),
				slog.String("type", dns.TypeToString[q.qtype]), slog.String("err", err.Error()))
			if ctx.Err() != nil {
				return nil, "", temporary(ErrTimeout, name, server, -1, ctx.Err())
			}
		}
	}
	return nil, "", last
}

// ask sends q to one server and checks the reply.
func (r *Resolver) ask(ctx context.Context, q qkey, server string) (*dns.Msg, *Error) {
	name := canon(q.name)
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true // RFC 6840 §5.7: ask for the AD bit
	m.SetEdns0(r.udpSize(), false)
	in, err := r.send(ctx, m, server, "udp")
	if err == nil && in.Truncated {
		in, err = r.send(ctx, m, server, "tcp")
	}
	if err == nil && in.Rcode == dns.RcodeFormatError && in.IsEdns0() == nil {
		// RFC 6891 §7: a server that does not know EDNS0 answers FORMERR.
		m.Extra = nil
		in, err = r.send(ctx, m, server, "udp")
		if err == nil && in.Truncated {
			in, err = r.send(ctx, m, server, "tcp")
		}
	}
	if err != nil {
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return nil, temporary(ErrTimeout, name, server, -1, ctx.Err())
		case errors.As(err, &ne) && ne.Timeout():
			return nil, temporary(ErrTimeout, name, server, -1, err)
		case errors.As(err, &ne):
			return nil, temporary(ErrTemporary, name, server, -1, err)
		default:
			return nil, temporary(ErrMalformed, name, server, -1, err)
		}
	}
	switch {
	case !in.Response || len(in.Question) != 1 || in.Question[0].Qtype != q.qtype ||
		!strings.EqualFold(in.Question[0].Name, q.name):
		return nil, temporary(ErrMalformed, name, server, in.Rcode, errors.New("reply does not match the question"))
	case in.Rcode == dns.RcodeSuccess, in.Rcode == dns.RcodeNameError:
		return in, nil
	case in.Rcode == dns.RcodeServerFailure:
		return nil, temporary(ErrServerFailure, name, server, in.Rcode, nil)
	case in.Rcode == dns.RcodeRefused:
		return nil, temporary(ErrRefused, name, server, in.Rcode, nil)
	default:
		return nil, temporary(ErrMalformed, name, server, in.Rcode, nil)
	}
}

// send exchanges m with server over network, abandoning it when ctx ends.
func (r *Resolver) send(ctx context.Context, m *dns.Msg, server, network string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: r.timeout(), UDPSize: r.udpSize()}
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	in, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return in, err
}
