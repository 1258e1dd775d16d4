package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mx/mxtest"
)

const zone = `
example.com.       300 IN SOA ns.example.com. h.example.com. 1 1 1 1 60
example.com.       300 IN MX 20 mx2.example.com.
example.com.       300 IN MX 10 mx1.example.com.
mx1.example.com.   300 IN A    192.0.2.1
mx1.example.com.   300 IN AAAA 2001:db8::1
mx2.example.com.   300 IN A    192.0.2.2
plain.example.com. 300 IN A    192.0.2.3
null.example.com.  300 IN MX 0 .
loop.example.com.  300 IN CNAME loop.example.com.
`

func TestRun(t *testing.T) {
	srv := mxtest.NewServer(t, zone)
	srv.SetFault("broken.example.com", mxtest.ServFail)
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string // prefix
	}{
		{[]string{"example.com"}, 0, "10 mx1.example.com 2001:db8::1,192.0.2.1\n20 mx2.example.com 192.0.2.2\n", ""},
		{[]string{"-4", "example.com"}, 0, "10 mx1.example.com 192.0.2.1\n20 mx2.example.com 192.0.2.2\n", ""},
		{[]string{"-6", "example.com"}, 0, "10 mx1.example.com 2001:db8::1\n20 mx2.example.com -\n", ""},
		{[]string{"plain.example.com"}, 0, "0 plain.example.com 192.0.2.3 implicit\n", ""},
		{[]string{"[192.0.2.9]"}, 0, "0 [192.0.2.9] 192.0.2.9\n", ""},
		{[]string{"null.example.com"}, 1, "", "error: null MX: "},
		{[]string{"nosuch.example.com"}, 1, "", "error: no such domain: "},
		{[]string{"loop.example.com"}, 1, "", "error: CNAME loop: "},
		{[]string{"a..b"}, 1, "", "error: invalid domain: "},
		{[]string{"broken.example.com"}, 2, "", "error: temporary: "},
		{[]string{}, 64, "", "usage: "},
		{[]string{"-4", "-6", "example.com"}, 64, "", "usage: "},
		{[]string{"-bogus", "example.com"}, 64, "", "flag provided but not defined"},
		{[]string{"-h"}, 0, "", "usage: "},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-server", srv.Addr()}, tc.args...)
		code := run(context.Background(), args, &stdout, &stderr)
		if code != tc.code || stdout.String() != tc.stdout || !strings.HasPrefix(stderr.String(), tc.stderr) {
			t.Errorf("mxlookup %q: exit %d, stdout %q, stderr %q; want %d, %q, %q...",
				tc.args, code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
		}
		if tc.code == 1 || tc.code == 2 {
			if n := strings.Count(stderr.String(), "\n"); n != 1 {
				t.Errorf("mxlookup %q: %d error lines, want 1", tc.args, n)
			}
		}
	}
}

func TestTimeoutIsTemporary(t *testing.T) {
	srv := mxtest.NewServer(t, zone)
	srv.SetFault("", mxtest.Drop)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-server", srv.Addr(), "-timeout", "50ms", "example.com"}, &stdout, &stderr)
	if code != 2 || !strings.HasPrefix(stderr.String(), "error: temporary: ") || !strings.Contains(stderr.String(), "timed out") {
		t.Errorf("exit %d, stderr %q; want 2 and a temporary timeout", code, stderr.String())
	}
}
