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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

func selfSigned(t *testing.T) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func serve(t *testing.T, implicit bool) (*memstore.Store, string) {
	st, addr, _ := serveWith(t, implicit)
	return st, addr
}

func serveWith(t *testing.T, implicit bool) (*memstore.Store, string, *imap.Server) {
	st := memstore.New()
	require.NoError(t, st.AddUser("sara", "secret", "sara@example.org"))
	tc := selfSigned(t)
	srv := &imap.Server{Store: st, TLSConfig: tc}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if implicit {
		go srv.Serve(tls.NewListener(ln, tc))
	} else {
		go srv.Serve(ln)
	}
	t.Cleanup(func() { srv.Close() })
	return st, ln.Addr().String(), srv
}

// syncBuffer is an output safe to read while run writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func deliver(t *testing.T, st *memstore.Store, from, subject string) {
	msg := "From: " + from + "\r\nSubject: " + subject + "\r\n\r\nbody\r\n"
	_, err := mailbox.Deliver(context.Background(), st, "sara", strings.NewReader(msg), nil)
	require.NoError(t, err)
}

func watch(t *testing.T, args ...string) (*syncBuffer, func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, args, out) }()
	t.Cleanup(cancel)
	stop := func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("imapwatch did not stop")
			return nil
		}
	}
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "watching") }, 10*time.Second, 5*time.Millisecond,
		"output so far: %s", out)
	return out, stop
}

func TestWatchPrintsNewMessages(t *testing.T) {
	st, addr := serve(t, false)
	deliver(t, st, "Old <old@example.org>", "already there")
	out, stop := watch(t, "-server", addr, "-insecure", "-user", "sara", "-pass", "secret")
	assert.Equal(t, "watching INBOX (1 messages)\n", out.String())

	deliver(t, st, "Jim <jim@jim.example>", "Lunch?")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Lunch?") }, 10*time.Second, 5*time.Millisecond)
	deliver(t, st, "bob@bob.example", "=?UTF-8?Q?Caf=C3=A9?= tomorrow")
	deliver(t, st, "amy@example.org", "third")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "third") }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, stop())
	assert.Equal(t, "watching INBOX (1 messages)\n"+
		"UID 2 From: jim@jim.example Subject: Lunch?\n"+
		"UID 3 From: bob@bob.example Subject: Café tomorrow\n"+
		"UID 4 From: amy@example.org Subject: third\n", out.String())
}

func TestWatchOtherMailboxImplicitTLS(t *testing.T) {
	st, addr := serve(t, true)
	ctx := context.Background()
	acc, err := st.Open(ctx, "sara")
	require.NoError(t, err)
	defer acc.Close()
	require.NoError(t, acc.Create(ctx, "Lists", nil))
	out, stop := watch(t, "-server", addr, "-security", "tls", "-insecure", "-user", "sara", "-pass", "secret", "-mailbox", "Lists")
	assert.Equal(t, "watching Lists (0 messages)\n", out.String())
	deliver(t, st, "jim@jim.example", "to the inbox") // not watched
	mb, err := acc.Mailbox(ctx, "Lists")
	require.NoError(t, err)
	_, err = mb.Append(ctx, strings.NewReader("From: list@example.org\r\nSubject: digest\r\n\r\nx\r\n"), nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "digest") }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, stop())
	assert.Equal(t, "watching Lists (0 messages)\nUID 1 From: list@example.org Subject: digest\n", out.String())
}

func TestWatchErrors(t *testing.T) {
	_, addr := serve(t, false)
	ctx := context.Background()
	for _, args := range [][]string{
		{"-server", addr, "-user", "sara", "-pass", "secret"},                                  // self-signed, not -insecure
		{"-server", addr, "-insecure", "-user", "sara", "-pass", "wrong"},                      // bad password
		{"-server", addr, "-insecure", "-user", "sara", "-pass", "secret", "-mailbox", "Nope"}, // no such mailbox
		{"-server", addr, "-user", "sara", "-security", "ssl"},
		{"-server", addr},
		{"-user", "sara", "extra"},
	} {
		assert.Error(t, run(ctx, args, &strings.Builder{}), "%q", args)
	}
}

func TestWatchServerShutdown(t *testing.T) {
	_, addr, srv := serveWith(t, false)
	ctx := context.Background()
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-server", addr, "-insecure", "-user", "sara", "-pass", "secret"}, out)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "watching") }, 10*time.Second, 5*time.Millisecond)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	select {
	case err := <-errc:
		assert.Error(t, err, "the connection ended")
	case <-time.After(10 * time.Second):
		t.Fatal("imapwatch kept running after the server shut down")
	}
	assert.Contains(t, out.String(), "server says bye: ")
}
