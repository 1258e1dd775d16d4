package mx_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mx"
)

// startDnsmasq runs dnsmasq (Debian package dnsmasq-base) as an
// independent DNS server on a free loopback port, answering from the given
// options only, and returns its address.
func startDnsmasq(t *testing.T, opts ...string) string {
	bin := testpeer.Require(t, "dnsmasq", "dnsmasq-base")
	port := freePort(t)
	args := append([]string{"--no-daemon", "--port=" + strconv.Itoa(port), "--listen-address=127.0.0.1",
		"--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
		"--log-facility=-", "--local-ttl=60"}, opts...)
	return runPeer(t, "dnsmasq", port, exec.Command(bin, args...))
}

// runPeer starts cmd, a DNS server that will listen on 127.0.0.1:port,
// stops it when the test ends (logging its output if the test failed), and
// returns its address once it accepts connections.
func runPeer(t *testing.T, peer string, port int, cmd *exec.Cmd) string {
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", peer, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", peer, out.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitListening(t, peer, addr, out)
	return addr
}

// waitListening waits until a peer accepts TCP connections on addr.
func waitListening(t *testing.T, peer, addr string, out *lockedBuffer) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start listening on %s: %v\n%s", peer, addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a loopback port that was free for both UDP and TCP.
func freePort(t *testing.T) int {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func TestInteropDnsmasq(t *testing.T) {
	opts := []string{
		"--local=/example.test/",
		"--mx-host=example.test,mx2.example.test,20",
		"--mx-host=example.test,mx1.example.test,10",
		"--host-record=mx1.example.test,192.0.2.10,2001:db8::10",
		"--host-record=mx2.example.test,192.0.2.20",
		"--host-record=plain.example.test,192.0.2.30",
		"--cname=alias.example.test,example.test",
		"--mx-host=cnmx.example.test,mxalias.example.test,5",
		"--cname=mxalias.example.test,mx2.example.test",
		"--mx-host=null.example.test,.,0",
	}
	var big []string
	for i := range 40 {
		name := fmt.Sprintf("a-long-mail-exchanger-name-number-%02d.example.test", i)
		big = append(big, "10 "+name+" 192.0.2.40")
		opts = append(opts, "--mx-host=big.example.test,"+name+",10", "--host-record="+name+",192.0.2.40")
	}
	addr := startDnsmasq(t, opts...)
	r := &mx.Resolver{Servers: []string{addr}, Timeout: time.Second, Attempts: 2}

	for _, tc := range []struct {
		domain   string
		want     []string
		implicit bool
		sorted   bool
	}{
		{"example.test", []string{"10 mx1.example.test 2001:db8::10,192.0.2.10", "20 mx2.example.test 192.0.2.20"}, false, false},
		{"plain.example.test", []string{"0 plain.example.test 192.0.2.30"}, true, false},
		{"alias.example.test", []string{"10 mx1.example.test 2001:db8::10,192.0.2.10", "20 mx2.example.test 192.0.2.20"}, false, false},
		{"cnmx.example.test", []string{"5 mxalias.example.test 192.0.2.20"}, false, false},
		{"big.example.test", big, false, true}, // 40 records: only fits over TCP
	} {
		res, err := r.Lookup(ctxT(t), tc.domain)
		if err != nil {
			t.Errorf("%s: %v", tc.domain, err)
			continue
		}
		got := hostLines(res)
		if tc.sorted {
			slices.Sort(got)
		}
		if !slices.Equal(got, tc.want) || res.Implicit != tc.implicit {
			t.Errorf("%s: hosts %q implicit %v; want %q %v", tc.domain, got, res.Implicit, tc.want, tc.implicit)
		}
	}
	for domain, want := range map[string]error{
		"null.example.test":   mx.ErrNullMX,
		"nosuch.example.test": mx.ErrNotFound,
		"elsewhere.invalid":   mx.ErrRefused, // dnsmasq has no upstream to ask
	} {
		if _, err := r.Lookup(ctxT(t), domain); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", domain, err, want)
		}
	}
}
