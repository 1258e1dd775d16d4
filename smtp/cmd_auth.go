package smtp

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/sasl"
	"github.com/posthorn/posthorn/internal/textwire"
	"github.com/posthorn/posthorn/mailbox"
)

// authMech is a SASL mechanism the server can run when the session has the
// matching add-on interface.
type authMech struct {
	name  string
	start func(c *conn) sasl.Server // nil when the session cannot run it
}

// authMechs lists the mechanisms in the order EHLO advertises them.
var authMechs = []authMech{
	{"SCRAM-SHA-256", func(c *conn) sasl.Server {
		if f := secretFunc(c); f != nil {
			return sasl.NewSCRAMSHA256Server(f)
		}
		return nil
	}},
	{"CRAM-MD5", func(c *conn) sasl.Server {
		if f := secretFunc(c); f != nil {
			return sasl.NewCRAMMD5Server(f, c.srv.host())
		}
		return nil
	}},
	{"PLAIN", func(c *conn) sasl.Server {
		if f := passwordFunc(c); f != nil {
			return sasl.NewPlainServer(f)
		}
		return nil
	}},
	{"LOGIN", func(c *conn) sasl.Server {
		if f := passwordFunc(c); f != nil {
			return sasl.NewLoginServer(f)
		}
		return nil
	}},
	{"OAUTHBEARER", func(c *conn) sasl.Server {
		if f := tokenFunc(c); f != nil {
			return sasl.NewOAuthBearerServer(f)
		}
		return nil
	}},
	{"XOAUTH2", func(c *conn) sasl.Server {
		if f := tokenFunc(c); f != nil {
			return sasl.NewXOAuth2Server(f)
		}
		return nil
	}},
}

func secretFunc(c *conn) sasl.SecretFunc {
	s, ok := c.sess.(SecretAuthSession)
	if !ok {
		return nil
	}
	return s.AuthSecret
}

func tokenFunc(c *conn) sasl.TokenFunc {
	s, ok := c.sess.(TokenAuthSession)
	if !ok {
		return nil
	}
	return func(ctx context.Context, authzid, user, token string) error {
		if authzid != "" && authzid != user {
			return ErrAuthFailed
		}
		return s.AuthToken(ctx, user, token)
	}
}

func passwordFunc(c *conn) sasl.PasswordFunc {
	s, ok := c.sess.(PasswordAuthSession)
	if !ok {
		return nil
	}
	return func(ctx context.Context, authzid, user, pass string) error {
		return s.AuthPassword(ctx, authzid, user, pass)
	}
}

// authAllowed reports whether AUTH may be used on this connection now:
// over TLS, or in plaintext when AllowInsecureAuth (RFC 4954 §4).
func (c *conn) authAllowed() bool {
	return c.info.TLS != nil || c.srv.AllowInsecureAuth
}

// authMechanisms lists the SASL mechanisms the session supports.
func (c *conn) authMechanisms() []string {
	var names []string
	for _, m := range authMechs {
		if c.sess != nil && m.start(c) != nil {
			names = append(names, m.name)
		}
	}
	return names
}

var (
	errAuthEncryption = &Error{Code: 538, EnhancedCode: EnhancedCode{5, 7, 11}, Message: "Encryption required for requested authentication mechanism"}
	errAuthCancelled  = &Error{Code: 501, EnhancedCode: EnhancedCode{5, 0, 0}, Message: "Authentication cancelled"}
	errAuthBase64     = &Error{Code: 501, EnhancedCode: EnhancedCode{5, 5, 2}, Message: "Cannot decode response"}
	errAuthMalformed  = &Error{Code: 501, EnhancedCode: EnhancedCode{5, 5, 2}, Message: "Malformed authentication response"}
	errAuthTemporary  = &Error{Code: 454, EnhancedCode: EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
)

// cmdAuth handles AUTH (RFC 4954).
func (c *conn) cmdAuth(arg string) {
	mechName, ir, hasIR := cutSpace(arg)
	switch {
	case !c.helo:
		c.reply(errNeedHelo)
		return
	case c.info.Identity != "":
		c.replyf(503, EnhancedCode{5, 5, 1}, "Already authenticated")
		return
	case c.tx != nil:
		c.replyf(503, EnhancedCode{5, 5, 1}, "AUTH not permitted during a mail transaction")
		return
	case mechName == "":
		c.replyf(501, EnhancedCode{5, 5, 4}, "Syntax: AUTH mechanism [initial-response]")
		return
	case !c.authAllowed():
		c.reply(errAuthEncryption)
		return
	}
	var srv sasl.Server
	mechName = strings.ToUpper(mechName)
	for _, m := range authMechs {
		if m.name == mechName {
			srv = m.start(c)
		}
	}
	if srv == nil {
		c.reply(ErrAuthUnsupported)
		return
	}
	var resp []byte
	if hasIR {
		if ir == "=" {
			resp = []byte{}
		} else {
			b, err := base64.StdEncoding.DecodeString(ir)
			if err != nil {
				c.reply(errAuthBase64)
				return
			}
			resp = b
		}
	}
	for {
		challenge, done, err := srv.Next(c.ctx, resp)
		if err != nil {
			c.authFailed(mechName, err)
			return
		}
		if done {
			id := srv.(sasl.Identifier).Identity()
			c.info.Identity = id.Username
			if id.Authzid != "" {
				c.info.Identity = id.Authzid
			}
			c.info.Mechanism = mechName
			c.logger().LogAttrs(c.ctx, slog.LevelDebug, "smtp: authenticated",
				slog.String("user", c.info.Identity), slog.String("mechanism", mechName))
			c.replyf(235, EnhancedCode{2, 7, 0}, "Authentication successful")
			return
		}
		c.replyf(334, NoEnhancedCode, base64.StdEncoding.EncodeToString(challenge))
		if c.flush() != nil {
			return
		}
		line, err := c.readLine(DefaultMaxAuthLineLength)
		if err != nil {
			if errors.Is(err, textwire.ErrLineTooLong) {
				c.replyf(500, EnhancedCode{5, 5, 6}, "Authentication exchange line is too long")
				return
			}
			c.readFailed(err)
			return
		}
		if string(line) == "*" {
			c.reply(errAuthCancelled) // RFC 4954 §4
			return
		}
		resp, err = base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			c.reply(errAuthBase64)
			return
		}
	}
}

// authFailed answers a failed exchange: after a delay, 535 for bad
// credentials, 501 for a malformed exchange, the session's own *Error, or
// 454 (logged) for an internal failure; too many failures end the
// connection.
func (c *conn) authFailed(mech string, err error) {
	var reply *Error
	switch {
	case asError(err) != nil && !errors.Is(err, ErrAuthFailed):
		reply = asError(err)
	case errors.Is(err, sasl.ErrMalformed):
		reply = errAuthMalformed
	case errors.Is(err, sasl.ErrAuthFailed), errors.Is(err, ErrAuthFailed), errors.Is(err, mailbox.ErrAuthFailed):
		reply = ErrAuthFailed
	default:
		c.logger().LogAttrs(c.ctx, slog.LevelError, "smtp: authentication error",
			slog.String("mechanism", mech), slog.String("err", err.Error()))
		reply = errAuthTemporary
	}
	c.authFails++
	if d := c.srv.authDelay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
		}
	}
	c.reply(reply)
	if m := c.srv.maxAuthFailures(); m > 0 && c.authFails >= m {
		c.replyf(421, EnhancedCode{4, 7, 0}, c.srv.host()+" Too many authentication failures, closing connection")
		c.quit = true
	}
}
