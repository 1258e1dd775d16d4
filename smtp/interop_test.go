package smtp

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runPeer runs an interop peer with a time bound and returns its output.
func runPeer(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// TestInteropSMTPSource: Postfix's smtp-source sends 5,000 messages over 20
// parallel sessions into the Receiver; every one must land in the store.
func TestInteropSMTPSource(t *testing.T) {
	bin := testpeer.Require(t, "smtp-source", "postfix")
	store := newTestStore(t)
	addr := startServer(t, &Server{Backend: &Receiver{Store: store, Hostname: "mx.example.com"}})
	const msgs = 5000
	runPeer(t, 120*time.Second, bin, "-s", "20", "-m", strconv.Itoa(msgs), "-l", "512",
		"-f", "sender@example.org", "-t", "jim@example.com", "-M", "source.test", addr)
	got := inbox(t, store, "jim")
	require.Len(t, got, msgs)
	assert.Contains(t, got[0], "Received: from source.test")
}

// interopPasswordStore wraps the test store's users as PasswordAuthSession
// for the Receiver-based interop tests.
type interopBackend struct{ r *Receiver }

func (b interopBackend) NewSession(ctx context.Context, c *ConnInfo) (Session, error) {
	s, err := b.r.NewSession(ctx, c)
	if err != nil {
		return nil, err
	}
	return &interopSession{Session: s}, nil
}

type interopSession struct{ Session }

func (s *interopSession) AuthPassword(ctx context.Context, identity, user, pass string) error {
	if user == "jim" && pass == "secret" && (identity == "" || identity == user) {
		return nil
	}
	return ErrAuthFailed
}

// TestInteropPythonSMTPLib: Python's smtplib does EHLO, STARTTLS (checking
// our certificate), AUTH PLAIN and LOGIN, a multi-recipient message and an
// SMTPUTF8 message.
func TestInteropPythonSMTPLib(t *testing.T) {
	py := testpeer.Require(t, "python3", "python3")
	store := newTestStore(t)
	srv := &Server{Backend: interopBackend{&Receiver{Store: store, Hostname: "mx.example.com"}}, TLSConfig: testcert.ServerTLS()}
	addr := startServer(t, srv)
	host, port, _ := strings.Cut(addr, ":")
	certFile, _ := testcert.WriteFiles(t)
	out := runPeer(t, 60*time.Second, py, "testdata/smtplib_client.py", host, port, certFile, "jim", "secret")
	assert.Contains(t, out, "smtputf8 ok")
	assert.Contains(t, out, "bad password refused")

	jim := inbox(t, store, "jim")
	require.Len(t, jim, 2)
	assert.Contains(t, jim[0], "with ESMTPSA id")
	assert.True(t, strings.HasSuffix(jim[0], "Subject: from python\r\n\r\nHello from smtplib\r\n"), jim[0])
	assert.Contains(t, jim[1], "Return-Path: <jörg@example.org>")
	assert.Contains(t, jim[1], "Subject: Grüße")
	require.Len(t, inbox(t, store, "sara"), 1)
}

// TestInteropSwaks: swaks with PIPELINING, with STARTTLS, and with AUTH.
func TestInteropSwaks(t *testing.T) {
	swaks := testpeer.Require(t, "swaks", "swaks")
	store := newTestStore(t)
	srv := &Server{Backend: interopBackend{&Receiver{Store: store, Hostname: "mx.example.com"}}, TLSConfig: testcert.ServerTLS()}
	addr := startServer(t, srv)
	base := []string{"--server", addr, "--from", "bob@example.org", "--helo", "swaks.test", "--timeout", "20"}
	run := func(args ...string) string {
		return runPeer(t, 60*time.Second, swaks, append(append([]string{}, base...), args...)...)
	}
	out := run("--to", "jim@example.com,sara@example.com", "--pipeline", "--header", "Subject: pipelined")
	assert.Contains(t, out, "250 2.0.0 Message accepted")
	out = run("--to", "jim@example.com", "--tls", "--header", "Subject: tls")
	assert.Contains(t, out, "TLS started")
	out = run("--to", "jim@example.com", "--tls", "--auth", "PLAIN", "--auth-user", "jim", "--auth-password", "secret", "--header", "Subject: auth plain")
	assert.Contains(t, out, "235 2.7.0")
	out = run("--to", "jim@example.com", "--tls", "--pipeline", "--auth", "LOGIN", "--auth-user", "jim", "--auth-password", "secret", "--header", "Subject: auth login")
	assert.Contains(t, out, "235 2.7.0")

	jim := inbox(t, store, "jim")
	require.Len(t, jim, 4)
	for i, subj := range []string{"pipelined", "tls", "auth plain", "auth login"} {
		assert.Contains(t, jim[i], "Subject: "+subj)
	}
	assert.Contains(t, jim[1], "with ESMTPS id")
	assert.Contains(t, jim[3], "with ESMTPSA id")
	require.Len(t, inbox(t, store, "sara"), 1)
}

// TestInteropSMTPSourceLMTP: smtp-source speaking LMTP (-L) into the
// Receiver in LMTP mode.
func TestInteropSMTPSourceLMTP(t *testing.T) {
	bin := testpeer.Require(t, "smtp-source", "postfix")
	store := newTestStore(t)
	addr := startServer(t, &Server{Backend: &Receiver{Store: store, Hostname: "lmtp.example.com"}, Mode: ModeLMTP})
	runPeer(t, 60*time.Second, bin, "-L", "-s", "5", "-m", "500", "-f", "sender@example.org", "-t", "sara@example.com", addr)
	got := inbox(t, store, "sara")
	require.Len(t, got, 500)
	assert.Contains(t, got[0], " with LMTP id ")
}
