package smtp

import "github.com/posthorn/posthorn/internal/sasl"

// PlainAuth returns the PLAIN mechanism (RFC 4616). identity is the
// authorization identity, usually "".
func PlainAuth(identity, username, password string) SASLClient {
	return sasl.NewPlainClient(identity, username, password)
}

// LoginAuth returns the LOGIN mechanism (draft-murchison-sasl-login), for
// servers that offer nothing better.
func LoginAuth(username, password string) SASLClient {
	return sasl.NewLoginClient(username, password)
}

// CRAMMD5Auth returns the CRAM-MD5 mechanism (RFC 2195). Login never picks
// it: it needs the server to store plaintext-equivalent secrets.
func CRAMMD5Auth(username, secret string) SASLClient {
	return sasl.NewCRAMMD5Client(username, secret)
}

// SCRAMSHA256Auth returns the SCRAM-SHA-256 mechanism (RFC 7677) without
// channel binding. It verifies the server's signature.
func SCRAMSHA256Auth(username, password string) SASLClient {
	return sasl.NewSCRAMSHA256Client("", username, password)
}

// XOAuth2Auth returns Google's and Microsoft's XOAUTH2 mechanism with an
// OAuth 2.0 bearer token.
func XOAuth2Auth(username, token string) SASLClient {
	return sasl.NewXOAuth2Client(username, token)
}

// OAuthBearerAuth returns the OAUTHBEARER mechanism (RFC 7628). host and
// port name the server ("" and 0 leave them out).
func OAuthBearerAuth(username, token, host string, port int) SASLClient {
	return sasl.NewOAuthBearerClient(username, token, host, port)
}
