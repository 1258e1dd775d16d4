package relay

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/smtp"
)

// MailboxTransport delivers into a mailbox store: each recipient is mapped
// to a user by Recipients and the message appended to that user's INBOX,
// with a Return-Path: field (RFC 5321 §4.4) in front. Use it as
// Queue.Local for the domains this host receives mail for.
type MailboxTransport struct {
	Store      mailbox.Store
	Recipients mailbox.RecipientResolver
}

// Deliver implements Transport.
func (t *MailboxTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	res := make([]Result, len(d.Recipients))
	for i, rcpt := range d.Recipients {
		res[i].RemoteMTA = "localhost"
		res[i].Err = t.deliverOne(ctx, d, rcpt)
	}
	return res
}

func (t *MailboxTransport) deliverOne(ctx context.Context, d *Delivery, rcpt string) error {
	user, err := t.Recipients.LookupRecipient(ctx, rcpt)
	if errors.Is(err, mailbox.ErrNotExist) {
		return &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	if err != nil {
		return err
	}
	body, err := d.Open(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	rp := "Return-Path: <" + sanitize(d.From) + ">\r\n"
	_, err = mailbox.Deliver(ctx, t.Store, user, io.MultiReader(strings.NewReader(rp), body), nil)
	if errors.Is(err, mailbox.ErrOverQuota) {
		return &smtp.Error{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
	}
	return err
}
