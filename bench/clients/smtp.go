// Package clients wraps each SMTP and IMAP client library the benchmarks
// compare behind the same small interface.
package clients

import (
	"bytes"
	"context"
	"log/slog"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/smtp"
)

// SMTPSender sends one message per call over an open connection.
type SMTPSender struct {
	Send  func(body []byte) error
	Close func()
}

// SMTP lists the SMTP clients compared, by name.
var SMTP = []struct {
	Name string
	Open func(addr string) (*SMTPSender, error)
}{
	{"posthorn", openPosthorn},
	{"go-smtp", openGoSMTP},
}

func openPosthorn(addr string) (*SMTPSender, error) {
	ctx := context.Background()
	c, err := (&smtp.Dialer{Security: smtp.Plain, Logger: slog.New(slog.DiscardHandler)}).Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	to := []smtp.Recipient{{Address: "sink@example.org"}}
	return &SMTPSender{
		Send: func(body []byte) error {
			_, err := c.Send(ctx, "load@example.org", nil, to, bytes.NewReader(body))
			return err
		},
		Close: func() { c.Quit(ctx); c.Close() },
	}, nil
}

func openGoSMTP(addr string) (*SMTPSender, error) {
	c, err := gosmtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	if err := c.Hello("load.example.org"); err != nil {
		c.Close()
		return nil, err
	}
	to := []string{"sink@example.org"}
	return &SMTPSender{
		Send:  func(body []byte) error { return c.SendMail("load@example.org", to, bytes.NewReader(body)) },
		Close: func() { c.Quit() },
	}, nil
}
