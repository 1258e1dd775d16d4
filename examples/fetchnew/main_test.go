package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/pop3"
)

// selfSigned returns a TLS config with a fresh certificate for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// serve starts a POP3 server for sara on a memstore holding msgs.
func serve(t *testing.T, implicit bool, msgs ...string) (*memstore.Store, string) {
	st := memstore.New()
	require.NoError(t, st.AddUser("sara", "secret", "sara@example.org"))
	deliver(t, st, msgs...)
	srv := &pop3.Server{Hostname: "pop.example", Store: st, TLSConfig: selfSigned(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if implicit {
		go srv.ServeTLS(ln, "", "")
	} else {
		go srv.Serve(ln)
	}
	t.Cleanup(func() { srv.Close() })
	return st, ln.Addr().String()
}

func deliver(t *testing.T, st *memstore.Store, msgs ...string) {
	for _, m := range msgs {
		_, err := mailbox.Deliver(context.Background(), st, "sara", strings.NewReader(m), nil)
		require.NoError(t, err)
	}
}

func inbox(t *testing.T, st *memstore.Store) uint32 {
	ctx := context.Background()
	acc, err := st.Open(ctx, "sara")
	require.NoError(t, err)
	defer acc.Close()
	mb, err := acc.Mailbox(ctx, "INBOX")
	require.NoError(t, err)
	s, err := mb.Status(ctx)
	require.NoError(t, err)
	return s.Messages
}

// files returns the contents of the messages in dir/new, sorted.
func files(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, "new"))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		require.NoError(t, err)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

func msg(n string) string { return "Subject: " + n + "\r\n\r\n.body of " + n + "\r\n" }

func TestFetchKeepThenDelete(t *testing.T) {
	st, addr := serve(t, false, msg("a"), msg("b"))
	dir := filepath.Join(t.TempDir(), "Mail")
	args := []string{"-server", addr, "-insecure", "-user", "sara", "-pass", "secret", "-dir", dir}
	ctx := context.Background()

	var out strings.Builder
	require.NoError(t, run(ctx, args, &out))
	assert.Equal(t, "2 new messages\n", out.String())
	assert.Equal(t, []string{msg("a"), msg("b")}, files(t, dir), "stored byte for byte")
	assert.Equal(t, uint32(2), inbox(t, st), "kept on the server")

	out.Reset()
	require.NoError(t, run(ctx, args, &out))
	assert.Equal(t, "0 new messages\n", out.String(), "UIDLs remembered")

	deliver(t, st, msg("c"))
	out.Reset()
	require.NoError(t, run(ctx, append(args, "-delete"), &out))
	assert.Equal(t, "1 new messages\n", out.String())
	assert.Equal(t, []string{msg("a"), msg("b"), msg("c")}, files(t, dir))
	assert.Equal(t, uint32(2), inbox(t, st), "the downloaded message deleted, the others kept")
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestFetchImplicitTLS(t *testing.T) {
	_, addr := serve(t, true, msg("a"))
	var out strings.Builder
	require.NoError(t, run(context.Background(), []string{"-server", addr, "-security", "tls", "-insecure",
		"-user", "sara@example.org", "-pass", "secret", "-dir", t.TempDir()}, &out))
	assert.Equal(t, "1 new messages\n", out.String())
}

func TestFetchErrors(t *testing.T) {
	st, addr := serve(t, false, msg("a"))
	ctx := context.Background()
	dir := t.TempDir()
	base := []string{"-server", addr, "-user", "sara", "-pass", "secret", "-dir", dir}
	// The certificate is self-signed: without -insecure it is refused.
	assert.Error(t, run(ctx, base, &strings.Builder{}))
	assert.Error(t, run(ctx, []string{"-server", addr, "-insecure", "-user", "sara", "-pass", "wrong", "-dir", dir}, &strings.Builder{}))
	// Plaintext with a server that does not allow it: no login.
	assert.Error(t, run(ctx, append(base, "-security", "plain"), &strings.Builder{}))
	for _, args := range [][]string{
		{"-user", "sara"},
		{"-dir", dir},
		{"-dir", dir, "-user", "sara", "-security", "ssl"},
		{"-dir", dir, "-user", "sara", "extra"},
	} {
		assert.Error(t, run(ctx, args, &strings.Builder{}), "%q", args)
	}
	assert.Equal(t, uint32(1), inbox(t, st))
	assert.Empty(t, files(t, dir))
}
