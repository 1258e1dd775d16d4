package relay

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/smtp"
)

// Delivery is one attempt to deliver a message to the recipients it has at
// one destination domain: they share one SMTP transaction.
type Delivery struct {
	ID         string // the queued message's ID
	Domain     string // destination domain, lower case (an address literal stays as written)
	From       string
	Mail       smtp.MailOptions
	Recipients []string // addresses, all at Domain
	// RcptOptions holds each recipient's DSN parameters, parallel to Recipients.
	RcptOptions []smtp.RcptOptions
	Size        int64
	// Open returns the message bytes; a transport may call it once per
	// host it tries.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Result is the outcome of a Delivery for one recipient.
type Result struct {
	// Err is nil when the recipient was delivered. Otherwise an *smtp.Error
	// carries the receiver's reply; anything else is a local or network
	// failure (see Permanent).
	Err error
	// RemoteMTA is the host that gave the reply, for logs and DSNs.
	RemoteMTA string
}

// Transport delivers messages for the Queue. SMTPTransport delivers to the
// domain's MX hosts; tests and special routes plug in their own.
type Transport interface {
	// Deliver attempts d and returns one Result per recipient, in order.
	Deliver(ctx context.Context, d *Delivery) []Result
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(ctx context.Context, d *Delivery) []Result

// Deliver calls f.
func (f TransportFunc) Deliver(ctx context.Context, d *Delivery) []Result { return f(ctx, d) }

// PermanentError marks an error as a permanent failure with an RFC 3463
// status, for errors that are not SMTP replies.
type PermanentError struct {
	Status string // "5.1.10"
	Err    error
}

func (e *PermanentError) Error() string { return e.Status + " " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports whether err is a permanent delivery failure, and the
// RFC 3463 status to report: a 5xx reply, a permanent DNS failure (null MX
// 5.1.10 per RFC 7505, no such domain 5.1.2, a mail loop 5.4.6, ...), or a
// PermanentError. Everything else
// (4xx replies, timeouts, refused connections, TLS failures) is temporary.
func Permanent(err error) (bool, string) {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return true, pe.Status
	}
	var se *smtp.Error
	if errors.As(err, &se) {
		status := se.EnhancedCode.String()
		if status == "" {
			status = strconv.Itoa(se.Code/100) + ".0.0"
		}
		return se.Code/100 == 5, status
	}
	var me *mx.Error
	if errors.As(err, &me) {
		code, status := me.Status()
		return code/100 == 5, status
	}
	return false, "4.4.1"
}

// domainOf returns the lower-cased domain of an address.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}
