package sasl

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
)

// Server is the server side of one SASL exchange.
type Server interface {
	// Next takes the client's next response (base64-decoded) and returns the
	// next challenge, or done=true when the exchange ended successfully. The
	// first call carries the initial response: nil when the client sent none,
	// an empty slice when it sent an empty one ("=").
	//
	// When done is true a non-nil challenge is never returned: mechanisms
	// with server data at the end (SCRAM) send it as a challenge and finish
	// on the client's empty response, which every protocol supports.
	Next(ctx context.Context, response []byte) (challenge []byte, done bool, err error)
}

// Identifier is implemented by every Server in this package. After a
// successful exchange Identity returns who logged in.
type Identifier interface {
	Identity() Identity
}

// Identity is the result of a successful exchange.
type Identity struct {
	Authzid  string // identity to act as; "" when the client asked for none
	Username string // authentication identity
}

// Client is the client side of one SASL exchange.
type Client interface {
	// Start returns the mechanism name and the initial response (nil when
	// the mechanism has none).
	Start() (mech string, ir []byte, err error)
	// Next answers a server challenge (base64-decoded).
	Next(challenge []byte) (response []byte, err error)
}

// Errors returned by the mechanisms. Match them with errors.Is.
var (
	// ErrAuthFailed means the credentials were wrong.
	ErrAuthFailed = errors.New("sasl: authentication failed")
	// ErrMalformed means a message broke the mechanism's syntax or order.
	// Every *Error matches it.
	ErrMalformed = errors.New("sasl: malformed message")
	// ErrCanceled means the client cancelled the exchange ("*"). The
	// protocol layer detects the cancel line and returns it.
	ErrCanceled = errors.New("sasl: exchange canceled by client")
	// ErrUnexpectedChallenge means the server sent a challenge the client
	// mechanism did not expect.
	ErrUnexpectedChallenge = errors.New("sasl: unexpected server challenge")
)

// Error reports a malformed exchange. It matches ErrMalformed.
type Error struct {
	Mech   string // mechanism name, e.g. "PLAIN"
	Reason string // what was wrong, safe to log (never contains secrets)
}

func (e *Error) Error() string { return "sasl: " + e.Mech + ": " + e.Reason }

// Is reports whether target is ErrMalformed.
func (e *Error) Is(target error) bool { return target == ErrMalformed }

// PasswordFunc checks a plaintext password (PLAIN, LOGIN). It returns nil if
// username may log in with password and act as authzid ("" means as
// itself), an error matching ErrAuthFailed for bad credentials, or any other
// error for a failure of its own.
type PasswordFunc func(ctx context.Context, authzid, username, password string) error

// SecretFunc returns the plaintext-equivalent secret of username (CRAM-MD5,
// SCRAM). For an unknown user it returns an error matching ErrAuthFailed.
type SecretFunc func(ctx context.Context, username string) (secret string, err error)

// TokenFunc checks an OAuth 2.0 bearer token (XOAUTH2, OAUTHBEARER) that
// username presents. It returns nil if the token is valid for username, an
// error matching ErrAuthFailed if not.
type TokenFunc func(ctx context.Context, authzid, username, token string) error

// errFinished is returned by Next after the exchange ended.
func errFinished(mech string) error { return &Error{Mech: mech, Reason: "exchange already finished"} }

// randomBytes reads n random bytes from r, or crypto/rand when r is nil.
func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if r == nil {
		rand.Read(b)
		return b, nil
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
