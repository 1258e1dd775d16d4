package memstore_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// A store with one user: delivery by address, a watching session, and the
// message read back.
func Example() {
	ctx := context.Background()
	s := memstore.New()
	if err := s.AddUser("sara", "secret", "sara@example.org"); err != nil {
		panic(err)
	}

	// An IMAP session watches Sara's mail.
	acct, _ := s.Open(ctx, "sara")
	defer acct.Close()
	cancel := acct.Watch(func(ev mailbox.Event) {
		fmt.Println("event:", ev.Kind, ev.Mailbox, ev.UIDs)
	})
	defer cancel()

	// An SMTP receiver resolves the recipient and delivers.
	user, _ := s.LookupRecipient(ctx, "Sara@Example.org")
	uid, err := mailbox.Deliver(ctx, s, user, strings.NewReader("Subject: hi\r\n\r\nHello, Sara.\r\n"), nil)
	if err != nil {
		panic(err)
	}

	inbox, _ := acct.Mailbox(ctx, "INBOX")
	defer inbox.Close()
	r, _ := inbox.Open(ctx, uid)
	body, _ := io.ReadAll(r)
	fmt.Printf("%q\n", body)
	// Output:
	// event: MessagesAdded INBOX [1]
	// "Subject: hi\r\n\r\nHello, Sara.\r\n"
}
