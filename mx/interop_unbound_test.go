package mx_test

import (
	"crypto"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mx"
)

// signedZone is a tiny DNSSEC-signed authoritative server for example.test,
// so that a validating resolver can set (or refuse) the AD bit.
type signedZone struct {
	rrsets map[string][]dns.RR // "name type" → records
	sigs   map[string]dns.RR   // "name type" → RRSIG
}

func (z *signedZone) add(t *testing.T, key *dns.DNSKEY, priv crypto.Signer, rrs ...string) {
	var set []dns.RR
	for _, s := range rrs {
		set = append(set, rr(t, s))
	}
	h := set[0].Header()
	k := strings.ToLower(h.Name) + " " + dns.TypeToString[h.Rrtype]
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Name: h.Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: h.Ttl},
		Inception:  uint32(time.Now().Add(-time.Hour).Unix()),
		Expiration: uint32(time.Now().Add(24 * time.Hour).Unix()),
		KeyTag:     key.KeyTag(), SignerName: key.Hdr.Name, Algorithm: key.Algorithm,
	}
	if err := sig.Sign(priv, set); err != nil {
		t.Fatal(err)
	}
	z.rrsets[k], z.sigs[k] = set, sig
}

func (z *signedZone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	q := req.Question[0]
	k := strings.ToLower(q.Name) + " " + dns.TypeToString[q.Qtype]
	do := false
	if opt := req.IsEdns0(); opt != nil {
		do = opt.Do()
		m.SetEdns0(1232, do)
	}
	if set, ok := z.rrsets[k]; ok {
		m.Answer = append(m.Answer, set...)
		if do {
			m.Answer = append(m.Answer, z.sigs[k])
		}
	} else {
		m.Rcode = dns.RcodeRefused // the test asks only for names that exist
	}
	w.WriteMsg(m)
}

func newKey(t *testing.T) (*dns.DNSKEY, crypto.Signer) {
	key := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "example.test.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 300},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	priv, err := key.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	return key, priv.(crypto.Signer)
}

// TestInteropUnboundAD checks the AD bit end to end with an independent
// validating resolver, unbound (Debian package unbound): records signed with
// the anchored key come back Authenticated; a forged signature makes unbound
// answer SERVFAIL, which is a temporary error, never an unauthenticated
// success.
func TestInteropUnboundAD(t *testing.T) {
	bin := testpeer.Require(t, "unbound", "unbound")
	key, priv := newKey(t)
	_, otherPriv := newKey(t)
	z := &signedZone{rrsets: map[string][]dns.RR{}, sigs: map[string]dns.RR{}}
	z.add(t, key, priv, key.String())
	z.add(t, key, priv, "example.test. 300 IN SOA ns.example.test. h.example.test. 1 3600 600 86400 300")
	z.add(t, key, priv, "example.test. 300 IN NS ns.example.test.")
	z.add(t, key, priv, "ns.example.test. 300 IN A 127.0.0.1")
	z.add(t, key, priv, "example.test. 300 IN MX 10 mx.example.test.")
	z.add(t, key, priv, "mx.example.test. 300 IN A 192.0.2.25")
	z.add(t, key, priv, "_25._tcp.mx.example.test. 300 IN TLSA 3 1 1 0123456789abcdef")
	z.add(t, key, otherPriv, "forged.example.test. 300 IN MX 10 mx.example.test.")

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	auth := &dns.Server{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { close(started) }}
	go auth.ActivateAndServe()
	<-started
	t.Cleanup(func() { auth.Shutdown() })

	addr := startUnbound(t, bin, key.String(), pc.LocalAddr().(*net.UDPAddr).Port)
	r := &mx.Resolver{Servers: []string{addr}, Order: mx.IPv4Only, Timeout: 2 * time.Second, Attempts: 1}

	res, err := r.Lookup(ctxT(t), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	if got := hostLines(res); !slices.Equal(got, []string{"10 mx.example.test 192.0.2.25"}) || !res.Authenticated || !res.Hosts[0].Authenticated {
		t.Errorf("signed zone: hosts %q, Authenticated %v/%v; want authenticated", got, res.Authenticated, res.Hosts[0].Authenticated)
	}
	tlsa, err := r.LookupTLSA(ctxT(t), "mx.example.test", 25)
	if err != nil || len(tlsa.Records) != 1 || !tlsa.Authenticated {
		t.Errorf("TLSA: %+v, %v; want one authenticated record", tlsa, err)
	}
	if _, err := r.Lookup(ctxT(t), "forged.example.test"); !errors.Is(err, mx.ErrServerFailure) || !errors.Is(err, mx.ErrTemporary) {
		t.Errorf("forged signature: err = %v, want a temporary SERVFAIL", err)
	}
}

// startUnbound runs unbound as a validating resolver on a free loopback
// port, with example.test anchored to anchor and served by 127.0.0.1:authPort.
func startUnbound(t *testing.T, bin, anchor string, authPort int) string {
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf(`server:
	interface: 127.0.0.1
	port: %d
	do-ip6: no
	chroot: ""
	username: ""
	directory: %q
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 1
	do-not-query-localhost: no
	qname-minimisation: no
	module-config: "validator iterator"
	trust-anchor: %q
	access-control: 127.0.0.0/8 allow
	local-zone: "test." nodefault
stub-zone:
	name: "example.test."
	stub-addr: 127.0.0.1@%d
`, port, dir, strings.ReplaceAll(anchor, "\t", " "), authPort)
	path := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return runPeer(t, "unbound", port, exec.Command(bin, "-d", "-c", path))
}
