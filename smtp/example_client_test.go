package smtp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/posthorn/posthorn/smtp"
)

// A transaction with a result per recipient, against an in-process server
// (the printSession of ExampleServer). With PIPELINING, MAIL, both RCPTs and
// DATA leave in one write:
//
//	C: MAIL FROM:<alice@example.org>
//	C: RCPT TO:<bob@example.com>
//	C: RCPT TO:<carol@example.net>
//	C: DATA
//	S: 250 2.1.0 Sender <alice@example.org> OK
//	S: 250 2.1.5 Recipient <bob@example.com> OK
//	S: 550 5.1.1 No such user here
//	S: 354 Start mail input; end with <CRLF>.<CRLF>
func ExampleClient_Transaction() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &smtp.Server{
		Hostname: "mx.example.com",
		Logger:   slog.New(slog.DiscardHandler),
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			return &printSession{}, nil
		}),
	}
	go srv.Serve(l)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := &smtp.Dialer{Security: smtp.Plain, LocalName: "client.example.org"}
	c, err := d.Dial(ctx, l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	w, results, err := c.Transaction(ctx, "alice@example.org", nil, []smtp.Recipient{
		{Address: "bob@example.com"},
		{Address: "carol@example.net"},
	})
	if err != nil {
		log.Fatal(err) // MAIL refused, or no recipient accepted
	}
	io.WriteString(w, "Subject: hi\r\n\r\nHello Bob\r\n")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		var se *smtp.Error
		switch {
		case r.Err == nil:
			fmt.Printf("%s: accepted\n", r.Address)
		case errors.As(r.Err, &se):
			fmt.Printf("%s: %d %s (temporary: %v)\n", r.Address, se.Code, se.EnhancedCode, se.Temporary())
		}
	}
	if err := c.Quit(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// from alice@example.org: 26 bytes
	// bob@example.com: accepted
	// carol@example.net: 550 5.1.1 (temporary: false)
}

// Send runs a whole transaction from an io.Reader. With a server that offers
// CHUNKING and PIPELINING, a small message costs one round trip:
//
//	C: MAIL FROM:<alice@example.org>
//	C: RCPT TO:<bob@example.com>
//	C: BDAT 27 LAST
//	C: Subject: hi
//	C:
//	C: Hello Bob
//	S: 250 2.1.0 Sender <alice@example.org> OK
//	S: 250 2.1.5 Recipient <bob@example.com> OK
//	S: 250 2.0.0 Message accepted for delivery
func ExampleClient_Send() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &smtp.Server{
		Logger: slog.New(slog.DiscardHandler),
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			return &printSession{}, nil
		}),
	}
	go srv.Serve(l)
	defer srv.Close()

	ctx := context.Background()
	c, err := (&smtp.Dialer{Security: smtp.Plain}).Dial(ctx, l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	body := strings.NewReader("Subject: hi\n\nHello Bob\n") // lone LFs become CRLF
	results, err := c.Send(ctx, "alice@example.org", nil, []smtp.Recipient{{Address: "bob@example.com"}}, body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(results[0].Address, results[0].Err)
	// Output:
	// from alice@example.org: 26 bytes
	// bob@example.com <nil>
}

// Submission on port 587: STARTTLS is required (the zero Security), then
// Login picks the strongest password mechanism the server offers.
func ExampleDialer_Dial() {
	ctx := context.Background()
	d := &smtp.Dialer{LocalName: "laptop.example.org"}
	c, err := d.Dial(ctx, "mail.example.com:587")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "alice", "password"); err != nil {
		log.Fatal(err)
	}
	w, _, err := c.Transaction(ctx, "alice@example.com", nil, []smtp.Recipient{{Address: "bob@example.org"}})
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "Subject: hello\r\n\r\nHi Bob\r\n")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Reply().Message()) // for example "Ok: queued as 4XyZ"
	c.Quit(ctx)
}

// SendMail does the whole conversation; the body is streamed.
func ExampleSendMail() {
	body := strings.NewReader("From: alice@example.com\r\nSubject: hello\r\n\r\nHi Bob\r\n")
	err := smtp.SendMail(context.Background(), "mail.example.com:587",
		&smtp.Credentials{Username: "alice", Password: "password"},
		"alice@example.com", []string{"bob@example.org"}, body)
	var se *smtp.Error
	switch {
	case errors.As(err, &se) && se.Temporary():
		log.Printf("try again later: %v", err)
	case err != nil:
		log.Fatal(err)
	}
}

// An LMTP client gets one reply per recipient after the message.
func ExampleDialLMTP() {
	ctx := context.Background()
	c, err := smtp.DialLMTP(ctx, "unix", "/var/run/dovecot/lmtp")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	w, _, err := c.Transaction(ctx, "", nil, []smtp.Recipient{{Address: "bob@example.org"}, {Address: "carol@example.org"}})
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "Subject: delivery\r\n\r\nbody\r\n")
	err = w.Close() // joined *RecipientError values, one per failed recipient
	for _, r := range w.Results() {
		fmt.Println(r.Address, r.Err)
	}
	if err != nil {
		log.Print(err)
	}
}
