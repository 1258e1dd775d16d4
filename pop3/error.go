package pop3

import (
	"errors"
	"github.com/posthorn/posthorn/mailbox"
	"strings"
)

// Response codes (RFC 2449 §8, RFC 3206) carried in brackets after -ERR.
const (
	CodeInUse      = "IN-USE"      // the maildrop is locked by another session
	CodeLoginDelay = "LOGIN-DELAY" // logged in too recently
	CodeSysTemp    = "SYS/TEMP"    // a temporary system problem
	CodeSysPerm    = "SYS/PERM"    // a permanent system problem
	CodeAuth       = "AUTH"        // the credentials were refused
)

// Error is a -ERR reply: from the server to a Client, or from a Server's
// callbacks to the client.
type Error struct {
	Code string // response code without brackets, e.g. "IN-USE"; "" when none
	Text string // human-readable text
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pop3: -ERR")
	if e.Code != "" {
		b.WriteString(" [" + e.Code + "]")
	}
	if e.Text != "" {
		b.WriteString(" " + e.Text)
	}
	return b.String()
}

// Temporary reports whether trying again later may succeed: [IN-USE],
// [LOGIN-DELAY] and [SYS/TEMP].
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeInUse, CodeLoginDelay, CodeSysTemp:
		return true
	}
	return false
}

// ErrUnsupported is returned by a Client when the server does not offer
// what a method needs (STLS, a SASL mechanism, TOP, UIDL, APOP).
var ErrUnsupported = errors.New("pop3: not supported by the server")

// ErrInsecureAuth is returned by a Client instead of sending credentials
// over a connection that is neither TLS-protected nor to loopback.
var ErrInsecureAuth = errors.New("pop3: refusing to send credentials over an unencrypted connection")

// parseErrReply splits the text after "-ERR" into a response code and text.
// Servers that send "-ERR" with nothing after it are accepted.
func parseErrReply(rest string) *Error {
	rest = strings.TrimLeft(rest, " ")
	if strings.HasPrefix(rest, "[") {
		if i := strings.IndexByte(rest, ']'); i > 0 && !strings.ContainsAny(rest[1:i], " ") {
			return &Error{Code: rest[1:i], Text: strings.TrimLeft(rest[i+1:], " ")}
		}
	}
	return &Error{Text: rest}
}

func isNotExist(err error) bool { return errors.Is(err, mailbox.ErrNotExist) }
