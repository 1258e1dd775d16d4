package pop3

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/sasl"
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

// PlainAuth returns the PLAIN mechanism (RFC 4616); authzid may be empty.
func PlainAuth(authzid, user, pass string) SASLClient {
	return sasl.NewPlainClient(authzid, user, pass)
}

// LoginAuth returns the LOGIN mechanism.
func LoginAuth(user, pass string) SASLClient { return sasl.NewLoginClient(user, pass) }

// CRAMMD5Auth returns the CRAM-MD5 mechanism (RFC 2195).
func CRAMMD5Auth(user, secret string) SASLClient { return sasl.NewCRAMMD5Client(user, secret) }

// SCRAMSHA256Auth returns the SCRAM-SHA-256 mechanism (RFC 7677), without
// channel binding.
func SCRAMSHA256Auth(authzid, user, pass string) SASLClient {
	return sasl.NewSCRAMSHA256Client(authzid, user, pass)
}

// XOAuth2Auth returns the XOAUTH2 mechanism.
func XOAuth2Auth(user, token string) SASLClient { return sasl.NewXOAuth2Client(user, token) }

// OAuthBearerAuth returns the OAUTHBEARER mechanism (RFC 7628).
func OAuthBearerAuth(user, token, host string, port int) SASLClient {
	return sasl.NewOAuthBearerClient(user, token, host, port)
}

// Auth authenticates with a SASL mechanism (RFC 5034), sending the initial
// response on the AUTH line. It fails with ErrInsecureAuth on a plaintext
// connection that is not loopback unless Dialer.InsecureAuth is set, and
// with ErrUnsupported when the server's CAPA does not list the mechanism.
func (c *Client) Auth(ctx context.Context, m SASLClient) error {
	if !c.authAllowed() {
		return ErrInsecureAuth
	}
	mech, ir, err := m.Start()
	if err != nil {
		return fmt.Errorf("pop3: AUTH: %w", err)
	}
	if c.caps != nil && !containsFold(c.caps.SASL(), mech) {
		return fmt.Errorf("%w: AUTH %s", ErrUnsupported, mech)
	}
	done, err := c.begin(ctx)
	if err != nil {
		return err
	}
	line := "AUTH " + mech
	if ir != nil {
		line += " " + encodeResponse(ir)
	}
	c.send(line, true)
	err = c.authExchange(m)
	if err = c.end(done, err); err != nil {
		return err
	}
	return c.loggedIn(ctx)
}

func (c *Client) authExchange(m SASLClient) error {
	for {
		if err := c.bw.Flush(); err != nil {
			return err
		}
		line, err := c.readChallengeLine()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+ ") && line != "+" {
			_, err := parseReply(line)
			return err // +OK → nil, -ERR → *Error
		}
		chal, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(line, "+")))
		if err != nil {
			c.send("*", false)
			c.flushRead()
			return fmt.Errorf("pop3: AUTH: invalid base64 challenge")
		}
		resp, err := m.Next(chal)
		if err != nil {
			c.send("*", false)
			c.flushRead()
			return fmt.Errorf("pop3: AUTH: %w", err)
		}
		// RFC 5034 §4: only the initial response spells empty as "=";
		// later an empty response is an empty line.
		c.send(base64.StdEncoding.EncodeToString(resp), true)
	}
}

// encodeResponse encodes the initial response of the AUTH line, where an
// empty one is "=" (RFC 5034 §4).
func encodeResponse(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (c *Client) readChallengeLine() (string, error) {
	line, err := c.readRawLine()
	if err != nil {
		return "", err
	}
	if c.log != nil {
		c.log.LogAttrs(context.Background(), LevelTrace, "S: "+truncate(line))
	}
	return line, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// APOP authenticates with APOP (RFC 1939 §7): the secret never crosses the
// wire. It fails with ErrUnsupported when the greeting had no timestamp.
func (c *Client) APOP(ctx context.Context, user, secret string) error {
	if c.timestamp == "" {
		return fmt.Errorf("%w: APOP", ErrUnsupported)
	}
	if !c.authAllowed() {
		return ErrInsecureAuth
	}
	sum := md5.Sum([]byte(c.timestamp + secret))
	done, err := c.begin(ctx)
	if err != nil {
		return err
	}
	if err := c.send("APOP "+user+" "+hex.EncodeToString(sum[:]), true); err != nil {
		done()
		return err
	}
	_, err = c.flushRead()
	if err = c.end(done, err); err != nil {
		return err
	}
	return c.loggedIn(ctx)
}
