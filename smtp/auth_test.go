package smtp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/internal/sasl"
	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// authTestSession accepts jim/secret by password and by CRAM-MD5.
type authTestSession struct {
	testSession
}

func (s *authTestSession) AuthPassword(ctx context.Context, identity, user, pass string) error {
	switch {
	case user == "broken":
		return errors.New("ldap down: bind password hunter2")
	case user == "locked":
		return &Error{Code: 454, EnhancedCode: EnhancedCode{4, 7, 0}, Message: "Try later"}
	case user == "jim" && pass == "secret" && (identity == "" || identity == "jim"):
		return nil
	}
	return ErrAuthFailed
}

func (s *authTestSession) AuthSecret(ctx context.Context, user string) (string, error) {
	if user == "jim" {
		return "secret", nil
	}
	return "", ErrAuthFailed
}

func authBackend(be *testBackend) Backend {
	return BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) {
		be.mu.Lock()
		be.sessions++
		be.mu.Unlock()
		return &authTestSession{testSession{b: be, info: c}}, nil
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthRefusedInPlaintext(t *testing.T) {
	addr := startServer(t, &Server{Backend: authBackend(&testBackend{}), TLSConfig: testcert.ServerTLS()})
	cl := greeted(t, addr)
	r := cl.cmd("EHLO client.test", "250 ")
	assert.NotContains(t, r, "AUTH")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "538 5.7.11 ")
	cl.startTLS()
	r = cl.cmd("EHLO client.test", "250 ")
	assert.Contains(t, r, "250-AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN OAUTHBEARER XOAUTH2")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "235 2.7.0 ")
}

func TestAuthMechanisms(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: authBackend(be), AllowInsecureAuth: true, MaxAuthFailures: -1})

	cl := greeted(t, addr)
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "503 5.5.1 ") // EHLO first
	cl.cmd("EHLO client.test", "250 ")
	cl.cmd("AUTH", "501 5.5.4 ")
	cl.cmd("AUTH GSSAPI", "504 5.5.4 ")
	cl.cmd("AUTH PLAIN !!!", "501 5.5.2 ")
	cl.cmd("AUTH PLAIN "+b64("nonul"), "501 5.5.2 ")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00wrong"), "535 5.7.8 ")
	cl.cmd("AUTH PLAIN", "334 ")
	cl.cmd("*", "501 5.0.0 ")
	cl.cmd("AUTH PLAIN", "334 ")
	cl.cmd("%%%", "501 5.5.2 ")
	cl.cmd("AUTH PLAIN", "334 ")
	cl.cmd(b64("jim\x00jim\x00secret"), "235 2.7.0 ")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "503 5.5.1 ") // once only
	cl.cmd("MAIL FROM:<jim@example.com>", "250 ")
	cl.cmd("QUIT", "221 ")

	cl = ehlo(t, addr)
	assert.Equal(t, "334 "+b64("Username:"), cl.cmd("AUTH LOGIN", "334 "))
	assert.Equal(t, "334 "+b64("Password:"), cl.cmd(b64("jim"), "334 "))
	cl.cmd(b64("secret"), "235 2.7.0 ")

	cl = ehlo(t, addr)
	ch := cl.cmd("AUTH CRAM-MD5", "334 ")
	challenge, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ch, "334 "))
	require.NoError(t, err)
	mac := hmac.New(md5.New, []byte("secret"))
	mac.Write(challenge)
	cl.cmd(b64("jim "+hex.EncodeToString(mac.Sum(nil))), "235 2.7.0 ")

	// A transaction in progress blocks AUTH.
	cl = ehlo(t, addr)
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "503 5.5.1 ")

	// Session errors: an *Error is sent, anything else is hidden (454).
	cl = ehlo(t, addr)
	cl.cmd("AUTH PLAIN "+b64("\x00locked\x00x"), "454 4.7.0 Try later")
	r := cl.cmd("AUTH PLAIN "+b64("\x00broken\x00x"), "454 4.7.0 ")
	assert.NotContains(t, r, "hunter2")
}

func TestAuthIdentityReachesSession(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: authBackend(be), AllowInsecureAuth: true})
	cl := ehlo(t, addr)
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "235 ")
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send("x\r\n.\r\n")
	cl.expect("250 ")
	cl.cmd("QUIT", "221 ")
	cl.closed()
	waitFor(t, func() bool { be.mu.Lock(); defer be.mu.Unlock(); return be.closed == 1 })
	be.mu.Lock()
	defer be.mu.Unlock()
	assert.Equal(t, "jim", be.infos[0].Identity)
	assert.Equal(t, "PLAIN", be.infos[0].Mechanism)
}

func TestAuthFailureLimit(t *testing.T) {
	addr := startServer(t, &Server{Backend: authBackend(&testBackend{}), AllowInsecureAuth: true, MaxAuthFailures: 2})
	cl := ehlo(t, addr)
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00x"), "535 5.7.8 ")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00y"), "535 5.7.8 ")
	cl.expect("421 4.7.0 ")
	cl.closed()
}

func TestSubmissionRequiresAuth(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: authBackend(be), Mode: ModeSubmission, TLSConfig: testcert.ServerTLS()})
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:<jim@example.com>", "530 5.7.0 ")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "538 5.7.11 ")
	cl.startTLS()
	cl.cmd("EHLO client.test", "250 ")
	cl.cmd("MAIL FROM:<jim@example.com>", "530 5.7.0 ")
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "235 ")
	cl.cmd("MAIL FROM:<jim@example.com>", "250 ")
}

func TestStartTLSAfterAuthRefused(t *testing.T) {
	addr := startServer(t, &Server{Backend: authBackend(&testBackend{}), AllowInsecureAuth: true, TLSConfig: testcert.ServerTLS()})
	cl := ehlo(t, addr)
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "235 ")
	cl.cmd("STARTTLS", "503 5.5.1 ")
}

// lockedBuffer is an io.Writer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTraceRedactsAuth: the wire trace shows commands but no credentials
// and no message body.
func TestTraceRedactsAuth(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: LevelTrace}))
	addr := startServer(t, &Server{Backend: authBackend(&testBackend{}), AllowInsecureAuth: true, Logger: logger})
	cl := ehlo(t, addr)
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00secret"), "235 ")
	cl.cmd("AUTH LOGIN", "503 ")
	cl2 := ehlo(t, addr)
	cl2.cmd("AUTH LOGIN", "334 ")
	cl2.cmd(b64("jim"), "334 ")
	cl2.cmd(b64("secret"), "235 ")
	startTx(cl2)
	cl2.cmd("DATA", "354 ")
	cl2.send("top secret body\r\n.\r\n")
	cl2.expect("250 ")
	cl2.cmd("QUIT", "221 ")
	cl2.closed()
	out := logs.String()
	assert.Contains(t, out, "C: MAIL FROM:<a@example.org>")
	assert.Contains(t, out, "C: AUTH PLAIN ***")
	for _, secret := range []string{b64("\x00jim\x00secret"), b64("secret"), "top secret body"} {
		assert.NotContains(t, out, secret)
	}
}

func (s *authTestSession) AuthToken(ctx context.Context, user, token string) error {
	if user == "jim" && token == "tok3n" {
		return nil
	}
	return ErrAuthFailed
}

// saslLogin runs a whole AUTH exchange with one of our SASL clients and
// returns the final reply.
func saslLogin(t *testing.T, cl *client, c sasl.Client) string {
	t.Helper()
	mech, ir, err := c.Start()
	require.NoError(t, err)
	line := "AUTH " + mech
	if ir != nil {
		line += " " + b64(string(ir))
		if len(ir) == 0 {
			line = "AUTH " + mech + " ="
		}
	}
	cl.send(line + "\r\n")
	for {
		r := cl.reply()
		if !strings.HasPrefix(r, "334 ") {
			return r
		}
		ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r, "334 "))
		require.NoError(t, err)
		resp, err := c.Next(ch)
		if err != nil {
			cl.send("*\r\n")
			continue
		}
		cl.send(b64(string(resp)) + "\r\n")
	}
}

func TestAuthSASLClients(t *testing.T) {
	addr := startServer(t, &Server{Backend: authBackend(&testBackend{}), AllowInsecureAuth: true, MaxAuthFailures: -1})
	cl := ehlo(t, addr)
	assert.Contains(t, cl.cmd("EHLO client.test", "250 "), "AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN OAUTHBEARER XOAUTH2")
	for _, tc := range []struct {
		name   string
		client sasl.Client
		want   string
	}{
		{"scram", sasl.NewSCRAMSHA256Client("", "jim", "secret"), "235 2.7.0 "},
		{"scram-bad", sasl.NewSCRAMSHA256Client("", "jim", "wrong"), "535 5.7.8 "},
		{"cram", sasl.NewCRAMMD5Client("jim", "secret"), "235 2.7.0 "},
		{"plain", sasl.NewPlainClient("", "jim", "secret"), "235 2.7.0 "},
		{"login", sasl.NewLoginClient("jim", "secret"), "235 2.7.0 "},
		{"xoauth2", sasl.NewXOAuth2Client("jim", "tok3n"), "235 2.7.0 "},
		{"xoauth2-bad", sasl.NewXOAuth2Client("jim", "nope"), "535 5.7.8 "},
		{"oauthbearer", sasl.NewOAuthBearerClient("jim", "tok3n", "localhost", 25), "235 2.7.0 "},
		{"oauthbearer-bad", sasl.NewOAuthBearerClient("jim", "nope", "localhost", 25), "535 5.7.8 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := ehlo(t, addr)
			r := saslLogin(t, cl, tc.client)
			assert.True(t, strings.HasPrefix(r, tc.want), "got %q, want %q", r, tc.want)
		})
	}
}
