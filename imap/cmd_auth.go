package imap

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/sasl"
	"github.com/posthorn/posthorn/mailbox"
)

// STARTTLS (RFC 9051 §6.2.1). Bytes the client pipelined after the
// command are discarded, never read as commands (RFC 9051 §6.2.1, the
// STARTTLS command injection defence), and the session starts over.
func cmdStartTLS(c *conn, cmd *command) error {
	if err := c.expectEOL(); err != nil {
		return err
	}
	cfg := c.srv.tlsConf()
	if cfg == nil || c.isTLS {
		return errBad("STARTTLS not available")
	}
	c.w.statusLine(cmd.tag, StatusOK, "", "", "Begin TLS negotiation now")
	if err := c.flush(); err != nil {
		c.state = stateLogout
		return nil
	}
	if n := c.br.Buffered(); n > 0 {
		c.br.Discard(n)
	}
	tc := tls.Server(c.nc, cfg)
	hctx, cancel := handshakeContext(c.ctx, c.srv.handshakeTimeout(false))
	err := tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		c.log.LogAttrs(c.ctx, slog.LevelDebug, "imap: STARTTLS handshake failed", slog.Any("err", err))
		c.state = stateLogout
		return nil
	}
	c.isTLS = true
	c.setStream(tc)
	// The tagged OK has been sent: tell readCommand not to send another.
	c.state = stateNotAuth
	return errAlreadyAnswered
}

// errAlreadyAnswered tells the dispatcher the handler wrote its own tagged
// response.
var errAlreadyAnswered = errors.New("imap: already answered")

// LOGIN (RFC 9051 §6.2.3).
func cmdLogin(c *conn, cmd *command) error {
	d := c.dec
	var user, pass string
	if !d.ExpectSP() || !d.ExpectAString(&user) || !d.ExpectSP() || !d.ExpectAString(&pass) {
		return d.Err()
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if !c.authAllowed() {
		return &Error{Type: StatusNO, Code: CodePrivacyRequired, Text: "LOGIN not allowed without TLS"}
	}
	return c.login(cmd, user, pass)
}

// login verifies credentials and enters the authenticated state.
func (c *conn) login(cmd *command, username, password string) error {
	auth := c.srv.authenticator()
	var user string
	err := mailbox.ErrAuthFailed
	if auth != nil {
		user, err = auth.Authenticate(c.ctx, username, password)
	}
	if err != nil {
		return c.loginFailed(err)
	}
	return c.startSession(cmd, user)
}

// loginFailed delays the answer to a failed login and ends the connection
// after too many.
func (c *conn) loginFailed(err error) error {
	if !errors.Is(err, mailbox.ErrAuthFailed) && !errors.Is(err, mailbox.ErrNotExist) {
		return err // a store failure: NO [SERVERBUG], logged
	}
	c.loginFails++
	c.log.LogAttrs(c.ctx, slog.LevelDebug, "imap: authentication failed", slog.Int("failures", c.loginFails))
	if d := c.srv.loginFailDelay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
		}
	}
	if c.loginFails >= c.srv.maxLoginFails() {
		return &Error{Type: StatusBYE, Code: CodeAuthenticationFailed, Text: "Too many failed logins"}
	}
	return &Error{Type: StatusNO, Code: CodeAuthenticationFailed, Text: "Authentication failed"}
}

// startSession opens the user's account and watches its changes.
func (c *conn) startSession(cmd *command, user string) error {
	if !c.srv.addUser(user) {
		return &Error{Type: StatusNO, Code: CodeLimit, Text: "Too many sessions for this user"}
	}
	acct, err := c.srv.Store.Open(c.ctx, user)
	if err != nil {
		c.srv.releaseUser(user)
		return err
	}
	c.user, c.counted = user, true
	c.acct = acct
	c.cancelWatch = acct.Watch(c.queue.push)
	c.state = stateAuth
	c.log = c.log.With(slog.String("user", user))
	cmd.okCode = CodeCapability
	cmd.okArg = joinCaps(c.srv.capabilities(c))
	cmd.okText = "Logged in"
	return nil
}

// saslMechs lists the SASL mechanisms the authenticator supports, in the
// order they are advertised.
func (s *Server) saslMechs() []string {
	auth := s.authenticator()
	if auth == nil {
		return nil
	}
	mechs := []string{"PLAIN", "LOGIN"}
	if _, ok := auth.(mailbox.SecretAuthenticator); ok {
		mechs = append(mechs, "SCRAM-SHA-256", "CRAM-MD5")
	}
	if _, ok := auth.(mailbox.TokenAuthenticator); ok {
		mechs = append(mechs, "OAUTHBEARER", "XOAUTH2")
	}
	return mechs
}

// newSASL returns the server side of mech; *user receives the account to
// open once the exchange succeeds.
func (c *conn) newSASL(mech string, user *string) sasl.Server {
	auth := c.srv.authenticator()
	failed := func(err error) error {
		if errors.Is(err, mailbox.ErrAuthFailed) || errors.Is(err, mailbox.ErrNotExist) {
			return fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
		}
		return err
	}
	checkAuthz := func(authzid, username string) error {
		if authzid != "" && authzid != username {
			return &Error{Type: StatusNO, Code: CodeAuthorizationFailed, Text: "Proxy authorization not supported"}
		}
		return nil
	}
	password := func(ctx context.Context, authzid, username, pass string) error {
		if err := checkAuthz(authzid, username); err != nil {
			return err
		}
		u, err := auth.Authenticate(ctx, username, pass)
		if err != nil {
			return failed(err)
		}
		*user = u
		return nil
	}
	secret := func(ctx context.Context, username string) (string, error) {
		u, sec, err := auth.(mailbox.SecretAuthenticator).Secret(ctx, username)
		if err != nil {
			return "", failed(err)
		}
		*user = u
		return sec, nil
	}
	token := func(ctx context.Context, authzid, username, tok string) error {
		if err := checkAuthz(authzid, username); err != nil {
			return err
		}
		u, err := auth.(mailbox.TokenAuthenticator).AuthenticateToken(ctx, username, tok)
		if err != nil {
			return failed(err)
		}
		*user = u
		return nil
	}
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(password)
	case "LOGIN":
		return sasl.NewLoginServer(password)
	case "CRAM-MD5":
		return sasl.NewCRAMMD5Server(secret, "posthorn")
	case "SCRAM-SHA-256":
		return sasl.NewSCRAMSHA256Server(secret)
	case "OAUTHBEARER":
		return sasl.NewOAuthBearerServer(token)
	case "XOAUTH2":
		return sasl.NewXOAuth2Server(token)
	}
	return nil
}

// maxSASLRounds bounds the challenges of one AUTHENTICATE.
const maxSASLRounds = 8

// AUTHENTICATE (RFC 9051 §6.2.2) with SASL-IR (RFC 4959), over the
// mechanisms of internal/sasl that the authenticator supports.
func cmdAuthenticate(c *conn, cmd *command) error {
	d := c.dec
	var mech, ir string
	hasIR := false
	if !d.ExpectSP() || !d.ExpectAtom(&mech) {
		return d.Err()
	}
	if d.SP() {
		hasIR = true
		if !d.Special('=') && !d.ExpectAtom(&ir) { // base64 chars are atom chars
			return d.Err()
		}
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if !c.authAllowed() {
		return &Error{Type: StatusNO, Code: CodePrivacyRequired, Text: "Authentication not allowed without TLS"}
	}
	mech = strings.ToUpper(mech)
	var user string
	var srv sasl.Server
	if slices.Contains(c.srv.saslMechs(), mech) {
		srv = c.newSASL(mech, &user)
	}
	if srv == nil {
		return &Error{Type: StatusNO, Code: CodeCannot, Text: "Unsupported mechanism"}
	}
	var resp []byte
	if hasIR {
		var err error
		if resp, err = base64.StdEncoding.DecodeString(ir); err != nil {
			return errBad("Invalid base64")
		}
		if resp == nil {
			resp = []byte{}
		}
	}
	for round := 0; ; round++ {
		chal, done, err := srv.Next(c.ctx, resp)
		switch {
		case errors.Is(err, sasl.ErrAuthFailed):
			return c.loginFailed(mailbox.ErrAuthFailed)
		case errors.Is(err, sasl.ErrMalformed):
			return errBad("Malformed SASL response")
		case err != nil:
			return err
		case done:
			return c.startSession(cmd, user)
		case round >= maxSASLRounds:
			return errBad("Too many SASL rounds")
		}
		if resp, err = c.saslExchange(chal); err != nil {
			return err
		}
	}
}

// saslExchange sends a continuation with challenge (base64) and reads the
// client's base64 response line. "*" cancels (RFC 9051 §6.2.2).
func (c *conn) saslExchange(challenge []byte) ([]byte, error) {
	c.w.raw("+ ")
	c.w.raw(base64.StdEncoding.EncodeToString(challenge))
	c.w.crlf()
	if err := c.flush(); err != nil {
		return nil, err
	}
	d := c.dec
	var line string
	d.Text(&line) // base64 and "*" only hold text chars
	if err := c.expectEOL(); err != nil {
		return nil, err
	}
	if line == "*" {
		return nil, errBad("Authentication cancelled")
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		return nil, errBad("Invalid base64")
	}
	return b, nil
}
