// Package testpeer finds the independent programs (Dovecot, Postfix's
// smtp-sink, swaks, curl, Python, ...) that interop tests run against.
//
// Interop is part of CI, not an optional extra: .ci/run installs every peer
// with apt-get before it runs the tests. Under CI (the CI environment
// variable is set) a missing peer is therefore a test failure. On a
// developer's machine without the peer installed, the test is skipped with
// the name of the Debian package that provides it, so `go test ./...` works
// with nothing but Go installed.
//
// Dovecot starts a private Dovecot (IMAP and POP3 listeners on free
// loopback ports, passwd-file users, Maildirs filled before it starts,
// optional TLS with the internal/testcert certificate, special-use
// mailboxes, plugins such as COMPRESS), and PreauthIMAP runs its imap
// process on stdin/stdout for one user, without a daemon.
package testpeer

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the absolute path of program, or stops the test: with a
// failure under CI, with a skip elsewhere. pkg names the Debian package that
// provides the program, for the message.
func Require(t testing.TB, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if InCI() {
		t.Fatalf("interop peer %s not found (Debian package %s); .ci/run must install it: %v", program, pkg, err)
	}
	t.Skipf("interop peer %s not installed (apt-get install %s); CI runs this test", program, pkg)
	return ""
}

// InCI reports whether the tests run under CI, where every peer must exist.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "0" && v != "false"
}
