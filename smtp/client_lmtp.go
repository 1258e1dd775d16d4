package smtp

import (
	"context"
	"errors"
)

// DialLMTP connects to an LMTP server (RFC 2033) at addr, over TCP or, when
// network is "unix", a socket path. LMTP is usually spoken on a trusted
// local link, so it uses Plain security; set up a Dialer with LMTP: true for
// anything else.
func DialLMTP(ctx context.Context, network, addr string) (*Client, error) {
	return (&Dialer{LMTP: true, Network: network, Security: Plain}).Dial(ctx, addr)
}

// readLMTPReplies reads the reply for each accepted recipient after the
// body (RFC 2033 §4.2), in RCPT order. Failures are recorded in the
// results and returned joined as *RecipientError values.
func (w *DataWriter) readLMTPReplies() error {
	var errs []error
	for _, i := range w.accept {
		r, err := w.c.readReply()
		if err != nil {
			return err
		}
		w.reply = r
		err = checkReply(r, 250)
		if err != nil && asError(err) == nil {
			return err
		}
		w.results[i].Err = err
		if err != nil {
			errs = append(errs, &RecipientError{Address: w.results[i].Address, Err: err})
		}
	}
	return errors.Join(errs...)
}
