package imap

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"strings"

	"github.com/posthorn/posthorn/internal/sasl"
)

// ErrInsecureAuth is returned by Login and Authenticate on a connection
// without TLS to a non-loopback address, unless
// ClientOptions.AllowInsecureAuth is set.
var ErrInsecureAuth = errors.New("imap: refusing to send credentials over an unencrypted connection")

// SASLClient is a SASL mechanism's client side (RFC 4422). Start returns
// the mechanism name and the initial response (nil for none); Next
// answers a server challenge.
type SASLClient interface {
	Start() (mech string, ir []byte, err error)
	Next(challenge []byte) (response []byte, err error)
}

// PlainAuth returns a SASL PLAIN client (RFC 4616). authzid is usually "".
func PlainAuth(authzid, user, pass string) SASLClient {
	return sasl.NewPlainClient(authzid, user, pass)
}

// LoginAuth returns a SASL LOGIN client (draft-murchison-sasl-login).
func LoginAuth(user, pass string) SASLClient { return sasl.NewLoginClient(user, pass) }

// CRAMMD5Auth returns a CRAM-MD5 client (RFC 2195).
func CRAMMD5Auth(user, secret string) SASLClient { return sasl.NewCRAMMD5Client(user, secret) }

// IsTLS reports whether the connection is protected by TLS.
func (c *Client) IsTLS() bool { return c.secure }

// checkSecure refuses credentials over plaintext except to loopback.
func (c *Client) checkSecure() error {
	if c.opts.AllowInsecureAuth || c.IsTLS() {
		return nil
	}
	if a, ok := c.conn.RemoteAddr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return nil
	}
	return ErrInsecureAuth
}

// StartTLS upgrades the connection (RFC 9051 §6.2.1). cfg nil → system
// roots with no ServerName (set one). Capabilities are forgotten and
// asked again.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) (err error) {
	if c.secure || c.compressed {
		return errors.New("imap: STARTTLS after TLS or COMPRESS")
	}
	end, err := c.beginCaps(ctx)
	if err != nil {
		return err
	}
	defer end(&err)
	if !c.has("STARTTLS") {
		return errors.New("imap: server does not offer STARTTLS")
	}
	cmd, w := c.newCommand("STARTTLS")
	if err := c.run(cmd, w); err != nil {
		return err
	}
	if c.rd.br.Buffered() > 0 {
		// RFC 9051 §6.2.1 / STARTTLS injection: bytes after the OK sent
		// in plaintext must not be trusted.
		err := errors.New("imap: server sent data after STARTTLS before the TLS handshake")
		c.fail(err)
		return err
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	tc := tls.Client(c.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.fail(err)
		return err
	}
	c.setConn(tc)
	c.caps = nil
	return c.ensureCaps()
}

// Login authenticates with LOGIN (RFC 9051 §6.2.3). It refuses when the
// server advertises LOGINDISABLED, and over plaintext (see
// ClientOptions.AllowInsecureAuth).
func (c *Client) Login(ctx context.Context, user, pass string) (err error) {
	if err := c.checkSecure(); err != nil {
		return err
	}
	end, err := c.beginCaps(ctx)
	if err != nil {
		return err
	}
	defer end(&err)
	if c.has("LOGINDISABLED") {
		return errors.New("imap: server disabled LOGIN (LOGINDISABLED)")
	}
	cmd, w := c.newCommand("LOGIN")
	w.sp().astring(user).sp().astring(pass)
	return c.run(cmd, w)
}

// Authenticate authenticates with a SASL mechanism (RFC 9051 §6.2.2),
// sending the initial response on the command line when the server
// offers SASL-IR (RFC 4959). A mechanism the server does not advertise
// is still tried.
func (c *Client) Authenticate(ctx context.Context, mech SASLClient) (err error) {
	if err := c.checkSecure(); err != nil {
		return err
	}
	end, err := c.beginCaps(ctx)
	if err != nil {
		return err
	}
	defer end(&err)
	name, ir, err := mech.Start()
	if err != nil {
		return err
	}
	cmd, w := c.newCommand("AUTHENTICATE")
	w.sp().atom(strings.ToUpper(name))
	sentIR := false
	if ir != nil && c.has("SASL-IR") {
		w.sp().atom(encodeSASL(ir))
		sentIR = true
	}
	if err := c.send(cmd, w); err != nil {
		return err
	}
	for !cmd.done {
		c.cont = nil
		if err := c.readResponse(); err != nil {
			return err
		}
		if c.cont == nil {
			continue
		}
		var resp []byte
		if ir != nil && !sentIR {
			resp, sentIR = ir, true
		} else {
			chal, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(*c.cont))
			if derr == nil {
				resp, derr = mech.Next(chal)
			}
			if derr != nil {
				// Cancel the exchange (RFC 9051 §6.2.2) and read the BAD.
				c.bw.WriteString("*\r\n")
				if err := c.bw.Flush(); err != nil {
					c.fail(err)
					return err
				}
				c.wait(cmd)
				return derr
			}
		}
		c.bw.WriteString(base64.StdEncoding.EncodeToString(resp) + "\r\n")
		if err := c.bw.Flush(); err != nil {
			c.fail(err)
			return err
		}
	}
	return cmd.result()
}

// encodeSASL encodes an initial response; empty is "=" (RFC 4959 §3).
func encodeSASL(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Enable enables extensions (RFC 5161): "IMAP4rev2", "UTF8=ACCEPT",
// "CONDSTORE", "QRESYNC". It returns those the server enabled. Once
// UTF8=ACCEPT or IMAP4rev2 is enabled, mailbox names travel in UTF-8.
func (c *Client) Enable(ctx context.Context, exts ...string) (enabled []string, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand("ENABLE")
	for _, e := range exts {
		if !isAtomString(e) {
			return nil, errors.New("imap: invalid extension name")
		}
		w.sp().atom(e)
	}
	cmd.data = func(u *untagged) bool {
		if u.name == "ENABLED" {
			enabled = append(enabled, u.words...)
			return true
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	return enabled, nil
}

// Enabled reports whether extension ext was enabled with Enable.
func (c *Client) Enabled(ext string) bool { return c.enabled[strings.ToUpper(ext)] }
