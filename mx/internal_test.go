package mx

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTrusted(t *testing.T) {
	r := &Resolver{TrustedServers: []string{"192.0.2.53", "[2001:db8::53]:5353"}}
	for server, want := range map[string]bool{
		"127.0.0.1:53":        true,
		"[::1]:53":            true,
		"127.0.0.53:53":       true,
		"192.0.2.53:53":       true,
		"[2001:db8::53]:5353": true,
		"[2001:db8::53]:53":   false,
		"198.51.100.1:53":     false,
	} {
		if got := r.trusted(server); got != want {
			t.Errorf("trusted(%q) = %v, want %v", server, got, want)
		}
	}
}

func TestCacheBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCache(2)
	a := &answer{expires: now.Add(time.Minute)}
	for _, n := range []string{"a.", "b.", "c."} {
		c.put(qkey{n, 1}, a, now)
		if n == "b." {
			c.get(qkey{"a.", 1}, now) // a is now more recent than b
		}
	}
	if c.len() != 2 {
		t.Fatalf("len = %d, want 2", c.len())
	}
	if _, ok := c.get(qkey{"b.", 1}, now); ok {
		t.Error("least recently used entry b. was kept")
	}
	for _, n := range []string{"a.", "c."} {
		if _, ok := c.get(qkey{n, 1}, now); !ok {
			t.Errorf("%s evicted", n)
		}
	}
	if _, ok := c.get(qkey{"a.", 1}, now.Add(time.Minute)); ok {
		t.Error("expired entry returned")
	}
	c.put(qkey{"d.", 1}, &answer{expires: now}, now)
	if _, ok := c.get(qkey{"d.", 1}, now.Add(-time.Second)); ok {
		t.Error("answer with zero TTL was cached")
	}
}

func TestErrorText(t *testing.T) {
	e := temporary(ErrServerFailure, "example.com", "127.0.0.1:53", 2, nil)
	if got := e.Error(); got != "mx: lookup example.com: DNS server failure (SERVFAIL) (SERVFAIL from 127.0.0.1:53)" {
		t.Errorf("Error() = %q", got)
	}
	cause := errors.New("boom")
	e = temporary(ErrTemporary, "example.com", "", -1, cause)
	if !errors.Is(e, cause) || !strings.HasSuffix(e.Error(), ": boom") {
		t.Errorf("cause not wrapped: %v", e)
	}
	for kind, want := range map[error]string{
		ErrNullMX: "556 5.1.10", ErrNotFound: "550 5.1.2", ErrInvalidDomain: "550 5.1.2",
		ErrLoop: "550 5.4.6", ErrCNAMELoop: "550 5.4.6", ErrNoAddress: "550 5.4.4",
	} {
		code, enh := permanent(kind, "x").Status()
		if got := strconv.Itoa(code) + " " + enh; got != want {
			t.Errorf("%v: Status() = %s, want %s", kind, got, want)
		}
		if errors.Is(permanent(kind, "x"), ErrTemporary) {
			t.Errorf("%v matches ErrTemporary", kind)
		}
	}
}

func TestAddrOrderString(t *testing.T) {
	if IPv4First.String() != "IPv4First" || AddrOrder(9).String() != "AddrOrder(?)" {
		t.Error("AddrOrder.String")
	}
}

func TestServersFromResolvConf(t *testing.T) {
	old := resolvConf
	t.Cleanup(func() { resolvConf = old })
	resolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolvConf, []byte("nameserver 192.0.2.53\nnameserver ::1\noptions ndots:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Resolver{}
	r.init()
	if want := []string{"192.0.2.53:53", "[::1]:53"}; !slices.Equal(r.servers, want) || r.serversErr != nil {
		t.Errorf("servers %q (err %v), want %q", r.servers, r.serversErr, want)
	}
	r = &Resolver{Servers: []string{"192.0.2.1", "192.0.2.2:5353", "[2001:db8::1]"}}
	r.init()
	if want := []string{"192.0.2.1:53", "192.0.2.2:5353", "[2001:db8::1]:53"}; !slices.Equal(r.servers, want) {
		t.Errorf("servers %q, want %q", r.servers, want)
	}
	resolvConf = filepath.Join(t.TempDir(), "missing")
	r = &Resolver{}
	_, err := r.Lookup(t.Context(), "example.com")
	if !errors.Is(err, ErrTemporary) {
		t.Errorf("without resolv.conf: err = %v, want temporary", err)
	}
	r = &Resolver{Servers: []string{}}
	if _, err := r.Lookup(t.Context(), "example.com"); !errors.Is(err, errNoServers) {
		t.Errorf("empty Servers: err = %v, want errNoServers", err)
	}
}
