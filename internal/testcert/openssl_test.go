package testcert_test

// An external test package: testpeer imports testcert (for Dovecot's TLS).

import (
	"os/exec"
	"testing"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
)

// TestOpenSSLTrusts checks the certificate against OpenSSL's strict
// verification, the path python3, curl and Dovecot take.
func TestOpenSSLTrusts(t *testing.T) {
	openssl := testpeer.Require(t, "openssl", "openssl")
	certFile, _ := testcert.WriteFiles(t)
	out, err := exec.Command(openssl, "verify", "-x509_strict", "-CAfile", certFile, "-purpose", "sslserver", certFile).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}
