package smtp

import (
	"context"
	"fmt"
	"net"
)

// Credentials authenticate with a password through Client.Login.
type Credentials struct {
	Username, Password string
}

// Authenticate calls c.Login.
func (a *Credentials) Authenticate(ctx context.Context, c *Client) error {
	return c.Login(ctx, a.Username, a.Password)
}

// OAuthToken authenticates with an OAuth 2.0 bearer token through
// Client.LoginOAuth.
type OAuthToken struct {
	Username, Token string
}

// Authenticate calls c.LoginOAuth.
func (a *OAuthToken) Authenticate(ctx context.Context, c *Client) error {
	return c.LoginOAuth(ctx, a.Username, a.Token)
}

// Login authenticates with a password using the strongest mechanism the
// server offers: SCRAM-SHA-256, then PLAIN, then LOGIN (CRAM-MD5 only when
// asked for with Auth and CRAMMD5Auth). It refuses to send credentials in
// plaintext except to loopback (ErrInsecureAuth).
func (c *Client) Login(ctx context.Context, username, password string) error {
	var m SASLClient
	switch {
	case c.caps.HasAuth("SCRAM-SHA-256"):
		m = SCRAMSHA256Auth(username, password)
	case c.caps.HasAuth("PLAIN"):
		m = PlainAuth("", username, password)
	case c.caps.HasAuth("LOGIN"):
		m = LoginAuth(username, password)
	default:
		return fmt.Errorf("%w: no password mechanism in AUTH %q", ErrUnsupported, c.caps.Auth)
	}
	return c.Auth(ctx, m)
}

// LoginOAuth authenticates with an OAuth 2.0 bearer token: OAUTHBEARER
// (RFC 7628) when offered, else XOAUTH2.
func (c *Client) LoginOAuth(ctx context.Context, username, token string) error {
	var m SASLClient
	switch {
	case c.caps.HasAuth("OAUTHBEARER"):
		host, port := c.host, 0
		if a, ok := c.conn.RemoteAddr().(*net.TCPAddr); ok {
			port = a.Port
		}
		m = OAuthBearerAuth(username, token, host, port)
	case c.caps.HasAuth("XOAUTH2"):
		m = XOAuth2Auth(username, token)
	default:
		return fmt.Errorf("%w: no OAuth mechanism in AUTH %q", ErrUnsupported, c.caps.Auth)
	}
	return c.Auth(ctx, m)
}
