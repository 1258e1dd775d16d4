package smtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// EnhancedCode is an RFC 3463 enhanced status code: class.subject.detail,
// for example {5, 1, 1} for "5.1.1 bad destination mailbox address".
//
// The zero value means "derive it from the reply code": class.0.0, where
// class is the first digit of the reply code (2, 4 or 5). NoEnhancedCode
// means "send no enhanced code at all" (greetings, 3xx replies).
type EnhancedCode [3]int

// NoEnhancedCode marks a reply that carries no enhanced status code.
var NoEnhancedCode = EnhancedCode{-1, -1, -1}

// String formats c as "class.subject.detail", or "" for NoEnhancedCode and
// the zero value.
func (c EnhancedCode) String() string {
	if c == NoEnhancedCode || c == (EnhancedCode{}) {
		return ""
	}
	return strconv.Itoa(c[0]) + "." + strconv.Itoa(c[1]) + "." + strconv.Itoa(c[2])
}

// ParseEnhancedCode parses "class.subject.detail" (RFC 3463 §2): class is
// 2, 4 or 5, subject is 0-999 and detail is 0-999, without leading zeros.
func ParseEnhancedCode(s string) (EnhancedCode, error) {
	var c EnhancedCode
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return c, fmt.Errorf("smtp: malformed enhanced status code %q", s)
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return c, fmt.Errorf("smtp: malformed enhanced status code %q", s)
		}
		n := 0
		for _, ch := range []byte(p) {
			if ch < '0' || ch > '9' {
				return c, fmt.Errorf("smtp: malformed enhanced status code %q", s)
			}
			n = n*10 + int(ch-'0')
		}
		c[i] = n
	}
	if c[0] != 2 && c[0] != 4 && c[0] != 5 {
		return c, fmt.Errorf("smtp: enhanced status code %q has class %d, want 2, 4 or 5", s, c[0])
	}
	return c, nil
}

// Error is an SMTP reply: a three-digit code, an optional enhanced status
// code and a human-readable message. Sessions return it to choose the reply
// the client gets; the client returns it for every negative reply.
//
// Match it with errors.As, never with a type assertion, so that wrapped
// errors keep their code:
//
//	var se *smtp.Error
//	if errors.As(err, &se) && se.Temporary() { ... }
type Error struct {
	// Code is the reply code, 200..599.
	Code int
	// EnhancedCode is the RFC 3463 code; the zero value means class.0.0
	// (derived from Code), NoEnhancedCode means none.
	EnhancedCode EnhancedCode
	// Message is the reply text. A message with several lines (separated
	// by "\n") becomes a multi-line reply; other control characters are
	// sent as spaces.
	Message string
}

// Error formats e as "smtp: 550 5.1.1 message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("smtp: ")
	b.WriteString(strconv.Itoa(e.Code))
	if enh := e.enhanced(); enh != NoEnhancedCode {
		b.WriteByte(' ')
		b.WriteString(enh.String())
	}
	if e.Message != "" {
		b.WriteByte(' ')
		b.WriteString(strings.ReplaceAll(e.Message, "\n", " "))
	}
	return b.String()
}

// Temporary reports whether e is a transient failure (4xx): the client may
// try again later.
func (e *Error) Temporary() bool { return e.Code/100 == 4 }

// Permanent reports whether e is a permanent failure (5xx).
func (e *Error) Permanent() bool { return e.Code/100 == 5 }

// enhanced returns the enhanced code to send: the explicit one, or
// class.0.0 derived from the reply code, or NoEnhancedCode for codes that
// have no class (1xx, 3xx).
func (e *Error) enhanced() EnhancedCode {
	if e.EnhancedCode != (EnhancedCode{}) {
		return e.EnhancedCode
	}
	switch class := e.Code / 100; class {
	case 2, 4, 5:
		return EnhancedCode{class, 0, 0}
	}
	return NoEnhancedCode
}

// appendReply appends the wire form of e (one or more CRLF-terminated
// lines, "250-..." continued, "250 ..." last) to b.
func (e *Error) appendReply(b []byte) []byte {
	enh := e.enhanced()
	msg := e.Message
	for {
		line, rest, more := strings.Cut(msg, "\n")
		b = strconv.AppendInt(b, int64(e.Code), 10)
		if more {
			b = append(b, '-')
		} else {
			b = append(b, ' ')
		}
		if enh != NoEnhancedCode {
			b = strconv.AppendInt(b, int64(enh[0]), 10)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(enh[1]), 10)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(enh[2]), 10)
			if line != "" {
				b = append(b, ' ')
			}
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c < ' ' || c == 0x7f {
				if c == '\r' && i == len(line)-1 {
					continue // a CRLF-separated message
				}
				b = append(b, ' ') // never let reply text break the framing
			} else {
				b = append(b, c)
			}
		}
		b = append(b, '\r', '\n')
		if !more {
			return b
		}
		msg = rest
	}
}

// Errors a Session may return as is, or the server sends itself.
var (
	// ErrDataTooLarge is the error a message body reader returns once the
	// message exceeds the size limit (RFC 1870).
	ErrDataTooLarge = &Error{Code: 552, EnhancedCode: EnhancedCode{5, 3, 4}, Message: "Message size exceeds fixed limit"}
	// ErrBareLineEnding is returned by the body reader when the message
	// holds a CR or LF that is not part of a CRLF pair (SMTP smuggling).
	ErrBareLineEnding = &Error{Code: 554, EnhancedCode: EnhancedCode{5, 6, 0}, Message: "Bare CR or LF not allowed in message; use CRLF line endings"}
	// ErrDataLineTooLong is returned by the body reader when a text line
	// is longer than the server's limit.
	ErrDataLineTooLong = &Error{Code: 554, EnhancedCode: EnhancedCode{5, 6, 0}, Message: "Message line too long"}
	// ErrAuthRequired is the reply to MAIL when authentication is required.
	ErrAuthRequired = &Error{Code: 530, EnhancedCode: EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	// ErrAuthFailed is the reply to failed credentials (RFC 4954 §6).
	ErrAuthFailed = &Error{Code: 535, EnhancedCode: EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	// ErrAuthUnsupported means the server offers no such mechanism.
	ErrAuthUnsupported = &Error{Code: 504, EnhancedCode: EnhancedCode{5, 5, 4}, Message: "Unrecognized authentication mechanism"}
	// ErrNoSuchUser is the usual reply to RCPT for an unknown mailbox.
	ErrNoSuchUser = &Error{Code: 550, EnhancedCode: EnhancedCode{5, 1, 1}, Message: "No such user here"}
	// ErrTooManyRecipients is the reply to the RCPT past the limit
	// (RFC 5321 §4.5.3.1.10).
	ErrTooManyRecipients = &Error{Code: 452, EnhancedCode: EnhancedCode{4, 5, 3}, Message: "Too many recipients"}
	// errInternal is the reply whenever a session returns an error that is
	// not an *Error: the text stays in the log.
	errInternal = &Error{Code: 451, EnhancedCode: EnhancedCode{4, 3, 0}, Message: "Requested action aborted: local error in processing"}
)

// asError returns the *Error in err's chain, or nil.
func asError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// SyntaxError reports a malformed command, path or parameter. The server
// answers it with its Code and EnhancedCode (501 5.5.2 unless said
// otherwise); the Msg says what was wrong.
type SyntaxError struct {
	Code         int
	EnhancedCode EnhancedCode
	Msg          string
}

// Error formats the syntax error.
func (e *SyntaxError) Error() string { return "smtp: syntax error: " + e.Msg }

func (e *SyntaxError) reply() *Error {
	code, enh := e.Code, e.EnhancedCode
	if code == 0 {
		code = 501
	}
	if enh == (EnhancedCode{}) {
		enh = EnhancedCode{5, 5, 2}
	}
	return &Error{Code: code, EnhancedCode: enh, Message: e.Msg}
}
