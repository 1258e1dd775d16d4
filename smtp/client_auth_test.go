package smtp

// Authentication against this package's Server.

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientAuthBackend wraps testBackend's sessions with password, secret and token
// checks for user "u".
type clientAuthBackend struct {
	*testBackend
}

type clientAuthSession struct {
	*testSession
	b *clientAuthBackend
}

func (b *clientAuthBackend) NewSession(ctx context.Context, c *ConnInfo) (Session, error) {
	s, err := b.testBackend.NewSession(ctx, c)
	if err != nil {
		return nil, err
	}
	return &clientAuthSession{testSession: s.(*testSession), b: b}, nil
}

func (s *clientAuthSession) AuthPassword(ctx context.Context, identity, user, pass string) error {
	if user != "u" || pass != "secret pass" {
		return ErrAuthFailed
	}
	return nil
}

func (s *clientAuthSession) AuthSecret(ctx context.Context, user string) (string, error) {
	if user != "u" {
		return "", ErrAuthFailed
	}
	return "secret pass", nil
}

func (s *clientAuthSession) AuthToken(ctx context.Context, user, token string) error {
	if user != "u" || token != "tok" {
		return ErrAuthFailed
	}
	return nil
}

func TestClientServerStartTLSAndLogin(t *testing.T) {
	be := &clientAuthBackend{testBackend: &testBackend{}}
	addr := startServer(t, &Server{Backend: be, TLSConfig: testcert.ServerTLS(), Mode: ModeSubmission})
	ctx := context.Background()

	c, err := quietDialer(StartTLSRequired).Dial(ctx, addr)
	require.NoError(t, err)
	defer c.Close()
	require.NotNil(t, c.TLSConnectionState())
	assert.False(t, c.Capabilities().StartTLS, "capabilities re-read after STARTTLS")
	assert.NotEmpty(t, c.Capabilities().Auth)

	err = c.Login(ctx, "u", "wrong")
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 535, se.Code)
	require.NoError(t, c.Login(ctx, "u", "secret pass"))
	assert.Equal(t, "SCRAM-SHA-256", c.Mechanism(), "the strongest mechanism offered")
	w, _, err := c.Transaction(ctx, "u@example.org", &MailOptions{RequireTLS: c.Capabilities().RequireTLS}, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "hi\r\n")
	require.NoError(t, w.Close())
	require.NoError(t, c.Quit(ctx))
	require.Len(t, be.messages(), 1)
	// The session after STARTTLS knows the user once it closes.
	waitFor(t, func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		return slices.ContainsFunc(be.infos, func(i ConnInfo) bool { return i.Identity == "u" && i.TLS != nil })
	})
}

func TestClientServerMechanisms(t *testing.T) {
	be := &clientAuthBackend{testBackend: &testBackend{}}
	addr := startServer(t, &Server{Backend: be, TLSConfig: testcert.ServerTLS()})
	ctx := context.Background()
	for _, m := range []SASLClient{
		PlainAuth("", "u", "secret pass"),
		LoginAuth("u", "secret pass"),
		CRAMMD5Auth("u", "secret pass"),
		SCRAMSHA256Auth("u", "secret pass"),
		XOAuth2Auth("u", "tok"),
		OAuthBearerAuth("u", "tok", "localhost", 25),
	} {
		c, err := quietDialer(StartTLSRequired).Dial(ctx, addr)
		require.NoError(t, err)
		mech, _, _ := m.Start()
		if !c.Capabilities().HasAuth(mech) {
			c.Close()
			continue
		}
		require.NoError(t, c.Auth(ctx, m), mech)
		assert.Equal(t, mech, c.Mechanism())
		c.Close()
	}
	c, err := quietDialer(StartTLSRequired).Dial(ctx, addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.LoginOAuth(ctx, "u", "tok"))
}

func TestClientServerSendMail(t *testing.T) {
	be := &clientAuthBackend{testBackend: &testBackend{}}
	addr := startServer(t, &Server{Backend: be, TLSConfig: testcert.ServerTLS(), Mode: ModeSubmission})
	d := quietDialer(StartTLSOpportunistic)
	body := "From: a@example.org\r\nSubject: gr\xc3\xbc\xc3\x9fe\r\n\r\nbody\r\n"
	err := d.SendMail(context.Background(), addr, &Credentials{Username: "u", Password: "secret pass"},
		"u@example.org", []string{"b@example.com", "c@example.com"}, strings.NewReader(body))
	require.NoError(t, err)
	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, body, msgs[0].Data)
	assert.True(t, msgs[0].MailOpts.UTF8, "8-bit header needs SMTPUTF8")
	assert.Equal(t, Body8BitMIME, msgs[0].MailOpts.Body)
	assert.Equal(t, int64(len(body)), msgs[0].MailOpts.Size)

	err = d.SendMail(context.Background(), addr, &OAuthToken{Username: "u", Token: "bad"},
		"u@example.org", []string{"b@example.com"}, strings.NewReader(body))
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 535, se.Code)

	// Without credentials the submission server refuses MAIL.
	err = d.SendMail(context.Background(), addr, nil, "u@example.org", []string{"b@example.com"}, strings.NewReader("x\r\n"))
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 530, se.Code)
}
