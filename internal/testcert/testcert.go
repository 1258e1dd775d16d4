// Package testcert provides a TLS certificate for tests: an ECDSA P-256
// certificate for localhost, 127.0.0.1 and ::1, generated once per process
// at first use.
//
// The certificate is self-signed and is its own CA, so a client trusts it by
// adding it to its roots ([ClientTLS] does so). External tools (python3's
// ssl, swaks, curl, fetchmail, Dovecot) can use the PEM bytes through a file:
// [WriteFiles] puts both in a test's temporary directory.
//
// Every function is safe for concurrent use; each call returns a fresh
// *tls.Config that the caller may change.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type material struct {
	cert    tls.Certificate
	leaf    *x509.Certificate
	certPEM []byte
	keyPEM  []byte
}

var get = sync.OnceValue(generate)

func generate() material {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("testcert: " + err.Error())
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		panic("testcert: " + err.Error())
	}
	ski := sha256.Sum256(pub)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"Posthorn tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski[:20],
		AuthorityKeyId:        ski[:20],
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("testcert: " + err.Error())
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic("testcert: " + err.Error())
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic("testcert: " + err.Error())
	}
	return material{
		cert:    tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		leaf:    leaf,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// Config returns a server configuration; it is the same as [ServerTLS].
func Config() *tls.Config { return ServerTLS() }

// ServerTLS returns a server configuration that presents the certificate.
func ServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{get().cert}}
}

// ClientTLS returns a client configuration that trusts the certificate and
// expects the server name "localhost" (the certificate is also valid for
// 127.0.0.1 and ::1, if the caller sets ServerName to one of them).
func ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: Pool(), ServerName: "localhost"}
}

// Pool returns a certificate pool holding only the certificate.
func Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(get().leaf)
	return p
}

// CertPEM returns the certificate in PEM form. It is also the CA to trust.
func CertPEM() []byte { return append([]byte(nil), get().certPEM...) }

// KeyPEM returns the private key in PKCS #8 PEM form.
func KeyPEM() []byte { return append([]byte(nil), get().keyPEM...) }

// WriteFiles writes the certificate and key as PEM files into a temporary
// directory that is removed when the test ends, and returns their paths.
func WriteFiles(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
