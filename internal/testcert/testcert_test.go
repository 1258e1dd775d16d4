package testcert

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

func TestHandshake(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := tls.Listen("tcp", net.JoinHostPort(host, "0"), ServerTLS())
		if err != nil {
			t.Logf("%s: %v", host, err) // ::1 may be missing on the machine
			continue
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("ok"))
				c.Close()
			}
		}()
		for _, name := range []string{"localhost", host} {
			cfg := ClientTLS()
			cfg.ServerName = name
			d := &net.Dialer{Timeout: 10 * time.Second}
			c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), cfg)
			if err != nil {
				t.Fatalf("%s as %q: %v", host, name, err)
			}
			c.Close()
		}
	}
}

func TestPEMLoads(t *testing.T) {
	if _, err := tls.X509KeyPair(CertPEM(), KeyPEM()); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := WriteFiles(t)
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
}

func TestSameCertificateEveryCall(t *testing.T) {
	a, b := ServerTLS(), ServerTLS()
	if &a.Certificates[0].Certificate[0][0] != &b.Certificates[0].Certificate[0][0] {
		t.Fatal("certificate generated twice")
	}
	a.ServerName = "changed"
	if b.ServerName != "" {
		t.Fatal("configs share state")
	}
}
