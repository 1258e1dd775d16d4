package smtp

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startTLS runs STARTTLS on cl and switches it to the TLS connection.
func (cl *client) startTLS() {
	cl.t.Helper()
	cl.cmd("STARTTLS", "220 2.0.0 ")
	tc := tls.Client(cl.c, testcert.ClientTLS())
	require.NoError(cl.t, tc.Handshake())
	cl.c = tc
	cl.br = bufio.NewReader(tc)
}

func TestStartTLS(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, TLSConfig: testcert.ServerTLS()})
	cl := greeted(t, addr)
	cl.cmd("STARTTLS", "503 5.5.1 ") // EHLO first
	r := cl.cmd("EHLO client.test", "250 ")
	assert.Contains(t, r, "STARTTLS")
	assert.NotContains(t, r, "REQUIRETLS")
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.cmd("STARTTLS x", "501 5.5.4 ")
	cl.startTLS()
	// Everything from before TLS is forgotten (RFC 3207 §4.2).
	cl.cmd("MAIL FROM:<a@example.org>", "503 5.5.1 ")
	r = cl.cmd("EHLO client.test", "250 ")
	assert.NotContains(t, r, "STARTTLS")
	assert.Contains(t, r, "REQUIRETLS")
	cl.cmd("STARTTLS", "503 5.5.1 ")
	cl.cmd("MAIL FROM:<a@example.org> REQUIRETLS", "250 ")
	cl.cmd("RCPT TO:<b@example.com>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("secure\r\n.\r\n")
	cl.expect("250 ")
	cl.cmd("QUIT", "221 ")
	cl.closed()
	waitFor(t, func() bool { be.mu.Lock(); defer be.mu.Unlock(); return be.closed == 2 })
	be.mu.Lock()
	defer be.mu.Unlock()
	assert.Equal(t, 2, be.sessions, "a new session after STARTTLS")
	assert.Nil(t, be.infos[0].TLS)
	require.NotNil(t, be.infos[1].TLS)
	assert.True(t, be.infos[1].TLS.HandshakeComplete)
	msgs := be.msgs
	require.Len(t, msgs, 1)
	assert.True(t, msgs[0].MailOpts.RequireTLS)
}

// TestStartTLSInjection: commands pipelined after STARTTLS in plaintext are
// discarded, never run inside the TLS session (CVE-2011-0411 class).
func TestStartTLSInjection(t *testing.T) {
	var mu sync.Mutex
	var senders []string
	be := &testBackend{mail: func(from string, o *MailOptions) error {
		mu.Lock()
		senders = append(senders, from)
		mu.Unlock()
		return nil
	}}
	addr := startServer(t, &Server{Backend: be, TLSConfig: testcert.ServerTLS()})

	// Injected bytes beyond what the server has read make the handshake
	// fail: the connection ends and nothing runs.
	long := ehlo(t, addr)
	long.send("STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\n" + strings.Repeat("NOOP\r\n", 5000))
	long.expect("220 2.0.0 ")
	long.closed()

	// Injected bytes read along with STARTTLS are discarded.
	cl := ehlo(t, addr)
	cl.send("STARTTLS\r\nMAIL FROM:<e@x.org>\r\n")
	cl.expect("220 2.0.0 ")
	tc := tls.Client(cl.c, testcert.ClientTLS())
	require.NoError(t, tc.Handshake())
	cl.c, cl.br = tc, bufio.NewReader(tc)
	// Had the injected MAIL run, this RCPT would be accepted.
	cl.cmd("EHLO client.test", "250 ")
	cl.cmd("RCPT TO:<b@example.com>", "503 5.5.1 ")
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"a@example.org"}, senders)
}

func TestImplicitTLS(t *testing.T) {
	be := &testBackend{}
	srv := &Server{Backend: be, TLSConfig: testcert.ServerTLS(), Hostname: "mx.test"}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l) }()
	t.Cleanup(func() { srv.Close(); <-done })

	tc, err := tls.Dial("tcp", l.Addr().String(), testcert.ClientTLS())
	require.NoError(t, err)
	t.Cleanup(func() { tc.Close() })
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	cl := &client{t: t, c: tc, br: bufio.NewReader(tc)}
	cl.expect("220 ")
	r := cl.cmd("EHLO client.test", "250 ")
	assert.NotContains(t, r, "STARTTLS")
	assert.Contains(t, r, "REQUIRETLS")
	cl.cmd("STARTTLS", "503 5.5.1 ")
	cl.cmd("MAIL FROM:<a@example.org> REQUIRETLS", "250 ")
	cl.cmd("RCPT TO:<b@example.com>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("x\r\n.\r\n")
	cl.expect("250 ")
	require.Len(t, be.messages(), 1)

	// A plaintext client gets nothing and is dropped after the handshake fails.
	raw := dial(t, l.Addr().String())
	raw.send("EHLO x\r\n")
	raw.closed()
}

func TestServeTLSNeedsConfig(t *testing.T) {
	srv := &Server{Backend: &testBackend{}}
	l := nil2Listener(t)
	assert.Error(t, srv.ServeTLS(l))
}

func TestTLSHandshakeTimeout(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, TLSConfig: testcert.ServerTLS(), TLSHandshakeTimeout: 100 * time.Millisecond})
	cl := ehlo(t, addr)
	cl.cmd("STARTTLS", "220 ")
	// Say nothing: the server gives up on the handshake and closes.
	cl.closed()
}

// Over the connection limit, an implicit-TLS client is closed without a
// plaintext reply it could not read.
func TestImplicitTLSOverLimit(t *testing.T) {
	srv := &Server{Backend: &testBackend{}, TLSConfig: testcert.ServerTLS(), Hostname: "mx.test", MaxConnections: 1, MaxConnectionsPerIP: -1}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	first, err := tls.Dial("tcp", l.Addr().String(), testcert.ClientTLS())
	require.NoError(t, err)
	defer first.Close()
	first.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(first).ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "220 "))
	raw := dial(t, l.Addr().String())
	raw.closed() // no bytes at all
}
