package imap

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/sasl"
	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

func TestLoginDisabledWithoutTLS(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.AllowInsecureAuth = false })
	c := e.dial()
	c.run(
		"C: a CAPABILITY",
		"S: * CAPABILITY IMAP4rev1 IMAP4rev2 LOGINDISABLED *",
		"S: a OK *",
		"C: b LOGIN sara secret",
		"S: b NO [PRIVACYREQUIRED] *",
		"C: c AUTHENTICATE PLAIN AHNhcmEAc2VjcmV0",
		"S: c NO [PRIVACYREQUIRED] *",
	)
}

func TestLoginFailuresThenBye(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxLoginFails = 2 })
	c := e.dial()
	c.run(
		"C: a LOGIN sara wrong",
		"S: a NO [AUTHENTICATIONFAILED] *",
		"C: b LOGIN nobody secret",
		"S: * BYE [AUTHENTICATIONFAILED] *",
	)
	c.expectClosed()
}

func TestLoginQuotedAndLiteral(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.run(
		`C: a LOGIN "sara" {6}`,
		"S: + *",
		"C: secret",
		"S: a OK [CAPABILITY *] Logged in",
		"C: b LOGIN sara secret",
		"S: b BAD *not allowed now",
	)
}

func TestAuthenticatePlain(t *testing.T) {
	e := newTestEnv(t)
	ir := base64.StdEncoding.EncodeToString([]byte("\x00sara\x00secret"))
	c := e.dial()
	c.run("C: a AUTHENTICATE PLAIN "+ir, "S: a OK [CAPABILITY *] Logged in")
	c2 := e.dial()
	c2.run(
		"C: a AUTHENTICATE PLAIN",
		"S: + ",
		"C: "+ir,
		"S: a OK [CAPABILITY *] Logged in",
	)
	c3 := e.dial()
	c3.run(
		"C: a AUTHENTICATE PLAIN",
		"S: + ",
		"C: *",
		"S: a BAD *cancelled",
		"C: b AUTHENTICATE GSSAPI",
		"S: b NO [CANNOT] *",
		"C: c AUTHENTICATE PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00sara\x00bad")),
		"S: c NO [AUTHENTICATIONFAILED] *",
	)
}

func TestUnknownCommandBeforeAuthCloses(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.run("C: EHLO example.org", "S: * BYE *")
	c.expectClosed()
}

func TestCommandNotAllowedInState(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.run(
		"C: a SELECT INBOX",
		"S: a BAD *not allowed now",
		"C: b FETCH 1 FLAGS",
		"S: b BAD *not allowed now",
	)
	c = e.login()
	c.run(
		"C: a FETCH 1 FLAGS",
		"S: a BAD *not allowed now",
		"C: b BOGUS",
		"S: b BAD [CLIENTBUG] *",
		"C: c NOOP",
		"S: c OK *",
	)
}

func TestStartTLS(t *testing.T) {
	e := newTestEnv(t, func(s *Server) {
		s.AllowInsecureAuth = false
		s.TLSConfig = testcert.ServerTLS()
	})
	c := e.dial()
	c.run(
		"C: a CAPABILITY",
		"S: * CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED *",
		"S: a OK *",
		// A command pipelined after STARTTLS must be discarded, not run
		// inside the TLS session.
		"C: b STARTTLS\r\nc LOGIN sara secret",
		"S: b OK *",
	)
	tc := tls.Client(c.nc, testcert.ClientTLS())
	require.NoError(t, tc.Handshake())
	c.nc, c.br = tc, bufio.NewReader(tc)
	c.run(
		"C: d CAPABILITY",
		"S: * CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN AUTH=LOGIN *SASL-IR *",
		"S: d OK *",
		"C: e STARTTLS",
		"S: e BAD *",
		"C: f LOGIN sara secret",
		"S: f OK [CAPABILITY *] Logged in",
	)
}

func TestImplicitTLS(t *testing.T) {
	e := newTestEnv(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", testcert.ServerTLS())
	require.NoError(t, err)
	go e.srv.Serve(l)
	tc, err := tls.Dial("tcp", l.Addr().String(), testcert.ClientTLS())
	require.NoError(t, err)
	t.Cleanup(func() { tc.Close() })
	c := &client{t: t, nc: tc, br: bufio.NewReader(tc)}
	c.run("S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN *] *", "C: a LOGIN sara secret", "S: a OK *")
}

// saslLogin runs AUTHENTICATE with a client mechanism of internal/sasl.
func (c *client) saslLogin(tag string, mc sasl.Client) string {
	c.t.Helper()
	mech, ir, err := mc.Start()
	require.NoError(c.t, err)
	cmd := tag + " AUTHENTICATE " + mech
	if ir != nil {
		cmd += " " + base64.StdEncoding.EncodeToString(ir)
		if len(ir) == 0 {
			cmd += "="
		}
	}
	c.send(cmd)
	for {
		line := c.readLine()
		if !strings.HasPrefix(line, "+ ") && !strings.HasPrefix(line, "+") {
			return line
		}
		chal, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(line, "+")))
		require.NoError(c.t, err)
		resp, err := mc.Next(chal)
		if err != nil {
			resp = []byte{} // let the server finish the exchange
		}
		c.send(base64.StdEncoding.EncodeToString(resp))
	}
}

func TestAuthenticateMechanisms(t *testing.T) {
	e := newTestEnv(t)
	require.NoError(t, e.store.(*memstore.Store).SetToken("sara", "tok3n"))
	for _, tc := range []struct {
		name string
		mc   sasl.Client
		ok   bool
	}{
		{"LOGIN", sasl.NewLoginClient("sara", "secret"), true},
		{"CRAM-MD5", sasl.NewCRAMMD5Client("sara", "secret"), true},
		{"SCRAM-SHA-256", sasl.NewSCRAMSHA256Client("", "sara", "secret"), true},
		{"SCRAM-SHA-256 bad", sasl.NewSCRAMSHA256Client("", "sara", "wrong"), false},
		{"XOAUTH2", sasl.NewXOAuth2Client("sara", "tok3n"), true},
		{"OAUTHBEARER", sasl.NewOAuthBearerClient("sara", "tok3n", "localhost", 143), true},
		{"OAUTHBEARER bad", sasl.NewOAuthBearerClient("sara", "bad", "localhost", 143), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial()
			c.t = t
			line := c.saslLogin("a", tc.mc)
			if tc.ok {
				assert.True(t, strings.HasPrefix(line, "a OK [CAPABILITY"), line)
			} else {
				assert.True(t, strings.HasPrefix(line, "a NO [AUTHENTICATIONFAILED]"), line)
			}
		})
	}
}

func TestTooManyBadCommandsBeforeAuth(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.run(
		"C: a LOGIN", "S: a BAD *",
		"C: b LOGIN (", "S: b BAD *",
		"C: c CAPABILITY x", "S: c BAD *",
		"S: * BYE [CLIENTBUG] *",
	)
	c.expectClosed()
}
