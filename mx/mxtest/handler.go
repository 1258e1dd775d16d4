package mxtest

import (
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxChase bounds how many CNAMEs one answer follows, so that a looping zone
// still gets an answer.
const maxChase = 16

// ServeDNS answers one query; it implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	if len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	udp := w.LocalAddr().Network() == "udp"

	s.mu.Lock()
	s.counts[name+" "+dns.TypeToString[q.Qtype]]++
	if udp {
		s.udp++
	} else {
		s.tcp++
	}
	fault, ok := s.faults[name]
	if !ok {
		fault = s.faults[""]
	}
	ad, chase, delay := s.ad, !s.noCh, s.delay
	m.SetReply(req)
	m.Authoritative, m.RecursionAvailable = true, true
	if fault != ServFail && fault != Refused {
		s.answer(m, name, q.Qtype, chase)
	}
	s.mu.Unlock()

	time.Sleep(delay)
	switch fault {
	case Drop:
		return
	case Garble:
		// The right ID, so the client reads it; then a header promising
		// one question that never comes.
		w.Write([]byte{byte(req.Id >> 8), byte(req.Id), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 'b', 'a'})
		return
	case ServFail:
		m.Rcode = dns.RcodeServerFailure
	case Refused:
		m.Rcode = dns.RcodeRefused
	}
	m.AuthenticatedData = ad && m.Rcode != dns.RcodeServerFailure
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(4096, false)
		size = max(size, int(opt.UDPSize()))
	}
	if udp {
		if fault == Truncate {
			m.Answer, m.Ns = nil, nil
			m.Truncated = true
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// answer fills in m for name and qtype from the zone, as a recursive
// resolver would. The caller holds s.mu.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16, chase bool) {
	seen := map[string]bool{}
	for range maxChase {
		seen[name] = true
		rrs := s.zone[name]
		var next string
		found := false
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype {
				m.Answer = append(m.Answer, rr)
				found = true
			}
		}
		if found {
			return
		}
		for _, rr := range rrs {
			if c, ok := rr.(*dns.CNAME); ok {
				m.Answer = append(m.Answer, rr)
				next = strings.ToLower(c.Target)
				break
			}
		}
		switch {
		case next != "" && chase && !seen[next]:
			name = next
			continue
		case next != "":
			return
		case !s.exists(name):
			m.Rcode = dns.RcodeNameError
		}
		if soa := s.soa(name); soa != nil {
			m.Ns = append(m.Ns, soa)
		}
		return
	}
}

// exists reports whether name owns records or is an empty non-terminal.
func (s *Server) exists(name string) bool {
	if len(s.zone[name]) > 0 {
		return true
	}
	for owner := range s.zone {
		if strings.HasSuffix(owner, "."+name) {
			return true
		}
	}
	return false
}

// soa returns the SOA of the closest enclosing zone of name, or nil.
func (s *Server) soa(name string) dns.RR {
	for {
		for _, rr := range s.zone[name] {
			if rr.Header().Rrtype == dns.TypeSOA {
				return rr
			}
		}
		_, rest, ok := strings.Cut(name, ".")
		if !ok || rest == "" {
			return nil
		}
		name = rest
	}
}
