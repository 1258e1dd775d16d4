package smtp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
)

// SASLClient is the client side of one SASL mechanism (RFC 4422).
// PlainAuth, LoginAuth, CRAMMD5Auth, SCRAMSHA256Auth, XOAuth2Auth and
// OAuthBearerAuth return ready-made ones.
type SASLClient interface {
	// Start returns the mechanism name and the initial response (nil for
	// none, empty for an empty one).
	Start() (mech string, ir []byte, err error)
	// Next answers a server challenge.
	Next(challenge []byte) (response []byte, err error)
}

// ErrInsecureAuth is returned when credentials would go over a connection
// that is neither TLS-protected nor to loopback (see Dialer.InsecureAuth).
var ErrInsecureAuth = errors.New("smtp: refusing to send credentials over an unencrypted connection")

// Auth is a way to authenticate, for SendMail. *Credentials and *OAuthToken
// implement it.
type Auth interface {
	Authenticate(ctx context.Context, c *Client) error
}

// Auth authenticates with the given SASL mechanism (RFC 4954). It fails
// with ErrInsecureAuth on a plaintext connection that is not loopback
// unless Dialer.InsecureAuth is set, and with ErrUnsupported when the
// server does not offer the mechanism.
func (c *Client) Auth(ctx context.Context, m SASLClient) error {
	if err := c.ready(); err != nil {
		return err
	}
	if !c.authAllowed() {
		return ErrInsecureAuth
	}
	mech, ir, err := m.Start()
	if err != nil {
		return fmt.Errorf("smtp: AUTH: %w", err)
	}
	if !c.caps.HasAuth(mech) {
		return fmt.Errorf("%w: AUTH %s", ErrUnsupported, mech)
	}
	if err := c.begin(ctx, c.timeout(c.d.CommandTimeout, DefaultCommandTimeout)); err != nil {
		return err
	}
	err = c.authExchange(mech, ir, m)
	if err == nil {
		c.auth = mech
	}
	return c.end(err)
}

func (c *Client) authExchange(mech string, ir []byte, m SASLClient) error {
	arg := ""
	if ir != nil {
		arg = " " + encodeSASL(ir)
	}
	if err := c.writeSecret("AUTH "+mech, arg); err != nil {
		return err
	}
	for {
		if err := c.flush(); err != nil {
			return err
		}
		r, err := c.readReply()
		if err != nil {
			return err
		}
		switch {
		case r.Code == 235:
			return nil
		case r.Code != 334:
			return checkReply(r, 235)
		}
		challenge, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Message()))
		var resp []byte
		if derr == nil {
			resp, err = m.Next(challenge)
		}
		if derr != nil || err != nil {
			// Cancel the exchange (RFC 4954 §4); the server answers 501.
			if werr := c.writeLine("*"); werr != nil {
				return werr
			}
			if ferr := c.flush(); ferr != nil {
				return ferr
			}
			if _, rerr := c.readReply(); rerr != nil {
				return rerr
			}
			if derr != nil {
				return inStep{fmt.Errorf("smtp: AUTH %s: malformed challenge: %w", mech, derr)}
			}
			return inStep{fmt.Errorf("smtp: AUTH %s: %w", mech, err)}
		}
		// A continuation response is plain base64, empty for an empty
		// response ("=" is for the initial response only).
		if err := c.writeSecret("", base64.StdEncoding.EncodeToString(resp)); err != nil {
			return err
		}
	}
}

// encodeSASL encodes an initial response: base64, "=" when empty (RFC
// 4954 §4).
func encodeSASL(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

// writeSecret writes prefix+secret, tracing the secret only at
// LevelTraceAuth.
func (c *Client) writeSecret(prefix, secret string) error {
	if c.trace {
		shown := secret
		if secret != "" && !c.log.Enabled(c.opCtx, LevelTraceAuth) {
			shown = " ***"
			if prefix == "" {
				shown = "***"
			}
		}
		c.traceLine("C: " + prefix + shown)
	}
	c.bw.WriteString(prefix)
	c.bw.WriteString(secret)
	_, err := c.bw.WriteString("\r\n")
	return err
}

// authAllowed reports whether credentials may be sent: over TLS, to
// loopback or a local socket, or when the Dialer allows it.
func (c *Client) authAllowed() bool {
	if c.tls != nil || c.d.InsecureAuth {
		return true
	}
	switch a := c.conn.RemoteAddr().(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// Mechanism returns the SASL mechanism of a successful AUTH, or "".
func (c *Client) Mechanism() string { return c.auth }
