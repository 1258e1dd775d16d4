package imap

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testcert"
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
		"C: b AUTHENTICATE CRAM-MD5",
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
		"S: * CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN SASL-IR *",
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
