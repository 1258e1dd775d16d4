package smtp

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoRecipients is joined into the error of Transaction when the server
// accepted none of the recipients.
var ErrNoRecipients = errors.New("smtp: no recipient accepted")

// ErrUnsupported is wrapped by the errors for options the server cannot
// honour: 8-bit data without 8BITMIME, UTF-8 addresses without SMTPUTF8,
// REQUIRETLS without the extension or without TLS. The message must not be
// sent to that server as is.
var ErrUnsupported = errors.New("smtp: not supported by the server")

// Recipient is one RCPT TO of a Transaction.
type Recipient struct {
	Address string
	Options *RcptOptions // nil for none
}

// RcptResult is the outcome for one recipient: Err is nil when the server
// accepted it, the *Error of its reply otherwise. In LMTP mode, after
// DataWriter.Close, Err is the delivery result for that recipient.
type RcptResult struct {
	Address string
	Err     error
}

// RecipientError is the failure of one recipient, as joined into the error
// of Transaction (no recipient accepted) and of an LMTP DataWriter.Close.
// It unwraps to the server's *Error.
type RecipientError struct {
	Address string
	Err     error
}

func (e *RecipientError) Error() string {
	return fmt.Sprintf("smtp: recipient <%s>: %v", e.Address, strings.TrimPrefix(e.Err.Error(), "smtp: "))
}

func (e *RecipientError) Unwrap() error { return e.Err }

// formatPath validates a mailbox given by the caller and returns its wire
// form "<addr>" and whether it needs SMTPUTF8. The address is parsed and
// re-serialized: an unnecessary quoted local part is unquoted; anything
// that could break the command line (CR, LF, NUL, "<", ">", an unquoted
// space) is refused. reverse allows "" (the null path <>); a recipient
// may be "postmaster" without a domain (RFC 5321 §4.5.1).
func formatPath(addr string, reverse bool) (string, bool, error) {
	if addr == "" {
		if reverse {
			return "<>", false, nil
		}
		return "", false, errors.New("smtp: empty recipient address")
	}
	if strings.ContainsAny(addr, "<>\r\n\x00") {
		return "", false, fmt.Errorf("smtp: invalid address %q", addr)
	}
	if !reverse && strings.EqualFold(addr, "postmaster") {
		return "<" + addr + ">", false, nil
	}
	nonASCII, ok := checkMailbox(addr)
	if !ok {
		return "", false, fmt.Errorf("smtp: invalid address %q", addr)
	}
	addr = unquoteLocal(addr)
	if len(addr)+2 > maxPathLen {
		return "", false, fmt.Errorf("smtp: address %q longer than %d bytes", addr, maxPathLen-2)
	}
	return "<" + addr + ">", nonASCII, nil
}

// unquoteLocal turns "\"john\"@example.com" into "john@example.com" when
// the quoted content is a plain Dot-string (RFC 5321 §4.1.2: a quoted form
// SHOULD NOT be used when it is not needed). addr is a valid mailbox.
func unquoteLocal(addr string) string {
	if addr[0] != '"' {
		return addr
	}
	at := strings.LastIndexByte(addr, '@')
	local := addr[1 : at-1]
	if strings.IndexByte(local, '\\') >= 0 || !isLocalPart(local) || local[0] == '"' {
		return addr
	}
	return local + addr[at:]
}

// mailParams checks opts against the server's capabilities and returns the
// MAIL parameter text. needUTF8 says an address needs SMTPUTF8.
func (c *Client) mailParams(opts *MailOptions, needUTF8 bool) (string, error) {
	var o MailOptions
	if opts != nil {
		o = *opts
	}
	caps := &c.caps
	switch o.Body {
	case "", Body7Bit:
	case Body8BitMIME:
		if !caps.EightBitMIME {
			return "", fmt.Errorf("%w: BODY=8BITMIME", ErrUnsupported)
		}
	case BodyBinaryMIME:
		if !caps.BinaryMIME || !caps.Chunking || c.d.DisableChunking {
			return "", fmt.Errorf("%w: BODY=BINARYMIME", ErrUnsupported)
		}
	default:
		return "", fmt.Errorf("smtp: invalid BODY %q", o.Body)
	}
	if o.Body == Body7Bit && !caps.EightBitMIME {
		o.Body = "" // 7BIT is the default; do not confuse a server without 8BITMIME
	}
	if o.Size < 0 {
		return "", fmt.Errorf("smtp: invalid SIZE %d", o.Size)
	}
	if !caps.HasSize {
		o.Size = 0
	} else if caps.Size > 0 && o.Size > caps.Size {
		return "", fmt.Errorf("smtp: message of %d bytes exceeds the server's SIZE %d: %w", o.Size, caps.Size, ErrDataTooLarge)
	}
	if needUTF8 {
		o.UTF8 = true
	}
	if o.UTF8 && !caps.SMTPUTF8 {
		return "", fmt.Errorf("%w: SMTPUTF8", ErrUnsupported)
	}
	if o.RequireTLS && (!caps.RequireTLS || c.tls == nil) {
		return "", fmt.Errorf("%w: REQUIRETLS", ErrUnsupported)
	}
	switch o.Return {
	case "", DSNReturnFull, DSNReturnHeaders:
	default:
		return "", fmt.Errorf("smtp: invalid RET %q", o.Return)
	}
	if !caps.DSN {
		// RFC 3461 §4: without DSN the parameters are not sent.
		o.Return, o.EnvelopeID = "", ""
	}
	if o.EnvelopeID != "" && !isPrintableASCII(o.EnvelopeID) {
		return "", fmt.Errorf("smtp: invalid ENVID %q", o.EnvelopeID)
	}
	if _, ok := caps.Extensions["AUTH"]; !ok {
		o.Auth = nil // RFC 4954 §5
	}
	if err := checkExtra(o.Extra); err != nil {
		return "", err
	}
	return formatMailParams(&o), nil
}

// rcptParams checks opts and returns the RCPT parameter text.
func (c *Client) rcptParams(opts *RcptOptions) (string, error) {
	if opts == nil {
		return "", nil
	}
	o := *opts
	if len(o.Notify) > 0 {
		for _, n := range o.Notify {
			switch n {
			case DSNNotifySuccess, DSNNotifyFailure, DSNNotifyDelay:
			case DSNNotifyNever:
				if len(o.Notify) > 1 {
					return "", errors.New("smtp: NOTIFY=NEVER excludes other values")
				}
			default:
				return "", fmt.Errorf("smtp: invalid NOTIFY %q", n)
			}
		}
	}
	if or := o.OriginalRecipient; or != nil {
		if or.Type == "" || !isAtomText(or.Type) || or.Address == "" ||
			strings.ContainsAny(or.Address, "\r\n\x00") {
			return "", fmt.Errorf("smtp: invalid ORCPT %q;%q", or.Type, or.Address)
		}
	}
	if !c.caps.DSN {
		o.Notify, o.OriginalRecipient = nil, nil
	}
	if err := checkExtra(o.Extra); err != nil {
		return "", err
	}
	return formatRcptParams(&o), nil
}

// checkExtra validates custom parameters: esmtp-keyword and esmtp-value of
// RFC 5321 §4.1.2.
func checkExtra(extra map[string]string) error {
	for k, v := range extra {
		if k == "" || !isAlnum(k[0]) {
			return fmt.Errorf("smtp: invalid parameter keyword %q", k)
		}
		for i := 0; i < len(k); i++ {
			if !isAlnum(k[i]) && k[i] != '-' {
				return fmt.Errorf("smtp: invalid parameter keyword %q", k)
			}
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 33 || c > 126 || c == '=' {
				return fmt.Errorf("smtp: invalid value for parameter %s", k)
			}
		}
	}
	return nil
}

// ErrMailMax is returned by Mail and Transaction once the connection has
// run as many transactions as the server's LIMITS MAILMAX (RFC 9422 §4.1)
// allows: send the rest over a new connection.
var ErrMailMax = errors.New("smtp: the server's MAILMAX transactions per connection reached")

// mailCommand builds the MAIL FROM line for from and opts.
func (c *Client) mailCommand(from string, opts *MailOptions, rcptUTF8 bool) (string, error) {
	if max := c.caps.Limits.MailMax; max > 0 && c.mails >= max {
		return "", ErrMailMax
	}
	path, utf8, err := formatPath(from, true)
	if err != nil {
		return "", err
	}
	params, err := c.mailParams(opts, utf8 || rcptUTF8)
	if err != nil {
		return "", err
	}
	return "MAIL FROM:" + path + params, nil
}

// rcptCommand builds the RCPT TO line.
func (c *Client) rcptCommand(to string, opts *RcptOptions) (line string, utf8 bool, err error) {
	path, utf8, err := formatPath(to, false)
	if err != nil {
		return "", false, err
	}
	params, err := c.rcptParams(opts)
	if err != nil {
		return "", false, err
	}
	return "RCPT TO:" + path + params, utf8, nil
}

// Mail sends MAIL FROM (RFC 5321 §4.1.1.2): from is the reverse-path, ""
// for the null sender. SMTPUTF8 is added when from needs it; a recipient
// that needs it must then be announced with opts.UTF8. Options the server
// did not announce are dropped where RFC allows (DSN, SIZE, AUTH) and
// refused otherwise (ErrUnsupported).
func (c *Client) Mail(ctx context.Context, from string, opts *MailOptions) error {
	if err := c.ready(); err != nil {
		return err
	}
	line, err := c.mailCommand(from, opts, false)
	if err != nil {
		return err
	}
	c.rcpts = c.rcpts[:0]
	c.mails++
	if _, err = c.simple(ctx, 250, line); err != nil {
		return err
	}
	c.binary = opts != nil && opts.Body == BodyBinaryMIME
	return nil
}

// Rcpt sends RCPT TO (RFC 5321 §4.1.1.3). A rejected recipient returns its
// *Error and leaves the transaction open for the others.
func (c *Client) Rcpt(ctx context.Context, to string, opts *RcptOptions) error {
	if err := c.ready(); err != nil {
		return err
	}
	line, _, err := c.rcptCommand(to, opts)
	if err != nil {
		return err
	}
	if _, err := c.simple(ctx, 2, line); err != nil {
		return err
	}
	c.rcpts = append(c.rcpts, RcptResult{Address: to})
	return nil
}

// ready refuses a new command while a message body is being written.
func (c *Client) ready() error {
	if c.data != nil {
		return errors.New("smtp: a DataWriter is still open; Close it first")
	}
	return nil
}
