package pop3

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
)

// runFetchmail polls addr once with fetchmail and returns what its MDA
// received. opts go into the poll entry.
func runFetchmail(t *testing.T, fetchmail, dir, addr, opts string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out := filepath.Join(dir, "delivered")
	os.Remove(out)
	rc := filepath.Join(dir, "fetchmailrc")
	conf := fmt.Sprintf(`set no syslog
set idfile "%s/fetchids"
poll %s with proto POP3 port %s and options uidl timeout 15
  user "sara" there with password "secret" is "root" here
  options %s
  mda "/bin/sh -c 'cat >> %s'"
`, dir, host, port, opts, out)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fetchmail, "-f", rc, "--nodetach", "--nosyslog")
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	log, err := cmd.CombinedOutput()
	// Exit status 1 means "no new mail", which a second poll expects.
	if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
		t.Fatalf("fetchmail: %v\n%s", err, log)
	}
	b, _ := os.ReadFile(out)
	return string(b)
}

// TestFetchmail polls our server with fetchmail over STLS with certificate
// checking, in keep mode (UIDL tells what is new) and in delete mode.
func TestFetchmail(t *testing.T) {
	fetchmail := testpeer.Require(t, "fetchmail", "fetchmail")
	certFile, _ := testcert.WriteFiles(t)
	tlsOpts := fmt.Sprintf("sslproto 'tls1.2+' sslcertck sslcertfile '%s' sslcommonname localhost", certFile)

	t.Run("keep", func(t *testing.T) {
		st := newStore(t, msg1, msg2)
		addr := startServer(t, &Server{Store: st, TLSConfig: testcert.ServerTLS()})
		dir := t.TempDir()
		got := runFetchmail(t, fetchmail, dir, addr, "keep "+tlsOpts)
		if !strings.Contains(got, "Subject: one") || !strings.Contains(got, "Second body") {
			t.Fatalf("first poll delivered %q", got)
		}
		if s := status(t, st); s.Messages != 2 {
			t.Fatalf("keep mode left %d messages", s.Messages)
		}
		// A new message arrives; the next poll fetches only it.
		deliver(t, st, "From: c@example.org\r\nSubject: three\r\n\r\nThird\r\n")
		got = runFetchmail(t, fetchmail, dir, addr, "keep "+tlsOpts)
		if !strings.Contains(got, "Subject: three") || strings.Contains(got, "Subject: one") {
			t.Fatalf("second poll delivered %q", got)
		}
	})
	t.Run("delete", func(t *testing.T) {
		st := newStore(t, msg1, msg2)
		addr := startServer(t, &Server{Store: st, TLSConfig: testcert.ServerTLS()})
		got := runFetchmail(t, fetchmail, t.TempDir(), addr, "nokeep "+tlsOpts)
		if !strings.Contains(got, "Subject: one") || !strings.Contains(got, "Subject: two") {
			t.Fatalf("poll delivered %q", got)
		}
		if s := status(t, st); s.Messages != 0 {
			t.Fatalf("delete mode left %d messages", s.Messages)
		}
	})
}
