package smtp

import (
	"crypto/tls"
	"net"
)

// BodyType is the MAIL BODY= parameter (RFC 6152, RFC 3030).
type BodyType string

// Body types.
const (
	Body7Bit       BodyType = "7BIT"
	Body8BitMIME   BodyType = "8BITMIME"
	BodyBinaryMIME BodyType = "BINARYMIME" // only with BDAT (RFC 3030 §3)
)

// DSNReturn is the MAIL RET= parameter of RFC 3461 §4.3: how much of the
// message a delivery status notification returns.
type DSNReturn string

// DSN return values.
const (
	DSNReturnFull    DSNReturn = "FULL"
	DSNReturnHeaders DSNReturn = "HDRS"
)

// DSNNotify is one value of the RCPT NOTIFY= parameter (RFC 3461 §4.1).
type DSNNotify string

// DSN notify conditions. Never excludes the others.
const (
	DSNNotifyNever   DSNNotify = "NEVER"
	DSNNotifySuccess DSNNotify = "SUCCESS"
	DSNNotifyFailure DSNNotify = "FAILURE"
	DSNNotifyDelay   DSNNotify = "DELAY"
)

// OriginalRecipient is the RCPT ORCPT= parameter (RFC 3461 §4.2):
// addr-type ";" xtext, with the xtext decoded.
type OriginalRecipient struct {
	Type    string // address type, usually "rfc822" (or "utf-8", RFC 6533)
	Address string // decoded address
}

// MailOptions holds the ESMTP parameters of a MAIL FROM command. The
// server fills it from the wire; the client writes it to the wire. The
// zero value means no parameters.
type MailOptions struct {
	// Body is the BODY= parameter (RFC 6152 8BITMIME, RFC 3030
	// BINARYMIME); "" when absent.
	Body BodyType
	// Size is the SIZE= declaration (RFC 1870), 0 when absent.
	Size int64
	// UTF8 is set by the SMTPUTF8 parameter (RFC 6531).
	UTF8 bool
	// RequireTLS is set by the REQUIRETLS parameter (RFC 8689).
	RequireTLS bool
	// Return is the DSN RET= parameter (RFC 3461 §4.3); "" when absent.
	Return DSNReturn
	// EnvelopeID is the DSN ENVID= parameter, xtext-decoded (RFC 3461 §4.4).
	EnvelopeID string
	// Auth is the AUTH= parameter of RFC 4954 §5, xtext-decoded: nil when
	// absent, "<>" when the submitter is unknown.
	Auth *string
	// Extra holds parameters of custom extensions (see Extension.MailParams),
	// keyword in upper case to value ("" for a keyword without value).
	Extra map[string]string
}

// RcptOptions holds the ESMTP parameters of a RCPT TO command.
type RcptOptions struct {
	// Notify is the DSN NOTIFY= parameter (RFC 3461 §4.1); nil when absent.
	Notify []DSNNotify
	// OriginalRecipient is the DSN ORCPT= parameter; nil when absent.
	OriginalRecipient *OriginalRecipient
	// Extra holds parameters of custom extensions (see Extension.RcptParams).
	Extra map[string]string
}

// ConnInfo describes one client connection. The server owns it and updates
// it as the conversation goes on (HELO name, TLS, authenticated identity);
// sessions may read it in any callback but must not modify it, except from
// an Extension handler (XCLIENT-style proxies rewrite RemoteAddr).
type ConnInfo struct {
	// Mode is the role of the server that accepted the connection.
	Mode Mode
	// RemoteAddr and LocalAddr are the connection's addresses.
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	// Hello is the name the client gave in EHLO, HELO or LHLO ("" before).
	Hello string
	// ESMTP is true after EHLO or LHLO, false after HELO.
	ESMTP bool
	// TLS is the state of the TLS connection, nil while in plaintext.
	TLS *tls.ConnectionState
	// Identity is the authenticated user (after a successful AUTH), or "".
	Identity string
	// Mechanism is the SASL mechanism used for AUTH, or "".
	Mechanism string
}
