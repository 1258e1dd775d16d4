package smtp

import (
	"context"
	"io"
)

// Backend opens a Session for each client connection. It must be safe for
// concurrent use: the server calls it from one goroutine per connection.
type Backend interface {
	// NewSession is called when a client connects, before the greeting,
	// and again after a successful STARTTLS (RFC 3207 §4.2: the client
	// starts afresh). Returning an error refuses the connection: an *Error
	// is sent as the greeting (for example 554 5.7.1), anything else is
	// logged and answered 421 4.3.0. ctx is cancelled when the connection
	// ends.
	NewSession(ctx context.Context, c *ConnInfo) (Session, error)
}

// BackendFunc adapts a function to the Backend interface.
type BackendFunc func(ctx context.Context, c *ConnInfo) (Session, error)

// NewSession calls f(ctx, c).
func (f BackendFunc) NewSession(ctx context.Context, c *ConnInfo) (Session, error) {
	return f(ctx, c)
}

// Session handles the mail transactions of one connection. The server
// never calls a Session concurrently; ctx is the connection's context,
// cancelled when the connection or the server closes.
//
// A callback accepts by returning nil and refuses by returning an error: an
// *Error (found with errors.As, so it may be wrapped) is sent to the client
// as is; any other error is logged and answered 451 4.3.0, so internal text
// never reaches the client.
type Session interface {
	// Mail starts a transaction with the reverse-path from ("" for the
	// null sender <>) and the MAIL parameters.
	Mail(ctx context.Context, from string, opts *MailOptions) error
	// Rcpt adds a recipient. Refuse unknown recipients here (550 5.1.1),
	// never after the data.
	Rcpt(ctx context.Context, to string, opts *RcptOptions) error
	// Data receives the message: the body of DATA with dot-stuffing
	// removed, or the concatenated BDAT chunks, byte for byte with its
	// CRLF line endings. The reader enforces the size and line limits and
	// returns ErrDataTooLarge, ErrBareLineEnding or ErrDataLineTooLong
	// (as *Error) once one is crossed; the message counts as received only
	// when the reader returned io.EOF. The server consumes whatever the
	// session leaves unread. Return nil only once the message is stored
	// durably: the client then forgets it.
	Data(ctx context.Context, body io.Reader) error
	// Reset aborts the current transaction (RSET, a new MAIL after a
	// failure, the end of a transaction).
	Reset(ctx context.Context)
	// Close is called once when the connection ends or a new session
	// replaces this one after STARTTLS.
	Close() error
}

// LMTPSession is implemented by sessions that give LMTP (RFC 2033) a
// status per recipient. Without it, in LMTP mode the result of Data is
// repeated for every recipient.
type LMTPSession interface {
	Session
	// LMTPData receives the message like Data and returns one error per
	// recipient accepted by Rcpt, in order (nil for delivered); a missing
	// entry counts as nil. A non-nil err applies to every recipient.
	LMTPData(ctx context.Context, body io.Reader) (perRecipient []error, err error)
}

// PasswordAuthSession is implemented by sessions that accept AUTH PLAIN
// and AUTH LOGIN (RFC 4616, draft-murchison-sasl-login).
type PasswordAuthSession interface {
	Session
	// AuthPassword checks a password. identity is the authorization
	// identity of PLAIN ("" when the client gave none, or for LOGIN).
	// Return an error (ErrAuthFailed, or anything: the client gets 535
	// 5.7.8 either way unless the error is an *Error) to refuse.
	AuthPassword(ctx context.Context, identity, username, password string) error
}

// SecretAuthSession is implemented by sessions that can give the
// plaintext-equivalent secret of a user, for CRAM-MD5 (RFC 2195) and
// SCRAM-SHA-256 (RFC 7677).
type SecretAuthSession interface {
	Session
	// AuthSecret returns the secret of username. An error refuses the
	// login without telling the client whether the user exists.
	AuthSecret(ctx context.Context, username string) (secret string, err error)
}

// TokenAuthSession is implemented by sessions that accept OAuth 2.0
// bearer tokens through XOAUTH2 and OAUTHBEARER (RFC 7628).
type TokenAuthSession interface {
	Session
	// AuthToken checks a bearer token presented for username.
	AuthToken(ctx context.Context, username, token string) error
}

// Extension adds a custom EHLO keyword, command or MAIL/RCPT parameters to
// the server, for example XCLIENT for trusted proxies, without forking.
type Extension struct {
	// Keyword is the EHLO line advertised, for example
	// "XCLIENT NAME ADDR". Empty advertises nothing.
	Keyword string
	// Command is the verb handled by Handle ("" for none), in upper case.
	Command string
	// MailParams and RcptParams are the MAIL and RCPT parameter keywords
	// (upper case) this extension accepts; their values reach the session
	// in MailOptions.Extra and RcptOptions.Extra. Other unknown parameters
	// are refused with 555 5.5.4.
	MailParams, RcptParams []string
	// Available reports whether the extension is offered on a connection
	// (for example only to trusted proxy addresses); nil means always. An
	// unavailable Command is answered as unknown.
	Available func(c *ConnInfo) bool
	// Handle runs Command with its argument. It may change c (XCLIENT
	// rewrites RemoteAddr and Hello). nil is answered "250 2.0.0 OK"; an
	// *Error is sent as is, even a positive one; a 220 reply restarts the
	// conversation as after the greeting (the transaction and HELO name
	// are forgotten and a new Session is opened with the updated c). Other
	// errors are logged and answered 451 4.3.0.
	Handle func(ctx context.Context, c *ConnInfo, s Session, arg string) error
}
