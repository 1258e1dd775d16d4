package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// sniffSize is how much of the body SendMail looks at to choose BODY= and
// SMTPUTF8.
const sniffSize = 64 << 10

// SendMail connects to addr, authenticates with auth unless it is nil, and
// sends one message from from to the recipients to, then QUITs. It uses
// STARTTLS when the server offers it (StartTLSOpportunistic); credentials
// are still refused over plaintext except to loopback. Use Dialer.SendMail
// for other settings.
//
// See Dialer.SendMail for how the body is read and what the error means.
func SendMail(ctx context.Context, addr string, auth Auth, from string, to []string, body io.Reader) error {
	return (&Dialer{Security: StartTLSOpportunistic}).SendMail(ctx, addr, auth, from, to, body)
}

// SendMail is SendMail with the Dialer's settings.
//
// body is streamed (see Client.Send), with lone LF turned into CRLF. Its first 64 KiB are
// looked at: 8-bit bytes there select BODY=8BITMIME, and 8-bit bytes in
// the header request SMTPUTF8 (RFC 6532); a server without the extension
// then refuses the message with ErrUnsupported rather than receive
// something it cannot handle. If body has a Len() int method (bytes.Reader,
// strings.Reader, bytes.Buffer), SIZE is declared.
//
// The error is nil only when every recipient was accepted and the server
// took the message. When some recipients were refused but the message was
// sent to the others, the error joins a *RecipientError per refused one.
func (d *Dialer) SendMail(ctx context.Context, addr string, auth Auth, from string, to []string, body io.Reader) error {
	if len(to) == 0 {
		return errors.New("smtp: SendMail without recipients")
	}
	c, err := d.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if auth != nil {
		if err := auth.Authenticate(ctx, c); err != nil {
			return err
		}
	}
	opts := &MailOptions{}
	if l, ok := body.(interface{ Len() int }); ok {
		opts.Size = int64(l.Len())
	}
	br := bufio.NewReaderSize(body, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return fmt.Errorf("smtp: reading message: %w", err)
	}
	hdr8, any8 := sniff8Bit(head)
	if any8 {
		opts.Body = Body8BitMIME
	}
	opts.UTF8 = hdr8
	rcpts := make([]Recipient, len(to))
	for i, a := range to {
		rcpts[i].Address = a
	}
	results, err := c.Send(ctx, from, opts, rcpts, br)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, &RecipientError{Address: r.Address, Err: r.Err})
		}
	}
	if err := c.Quit(ctx); err != nil && len(errs) == 0 {
		// The message is accepted; a failed QUIT loses nothing.
		c.log.LogAttrs(ctx, slog.LevelDebug, "smtp: QUIT after SendMail failed", slog.String("err", err.Error()))
	}
	return errors.Join(errs...)
}

// sniff8Bit reports 8-bit bytes in the header part of head and anywhere in
// head.
func sniff8Bit(head []byte) (header, any bool) {
	i := 0
	for ; i < len(head) && head[i] < 0x80; i++ {
	}
	if i == len(head) {
		return false, false
	}
	end := bytes.Index(head, []byte("\r\n\r\n"))
	if e := bytes.Index(head, []byte("\n\n")); e >= 0 && (end < 0 || e < end) {
		end = e
	}
	if end < 0 {
		end = len(head)
	}
	return i < end, true
}
