package smtp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/smtp"
)

// A session that accepts mail for one domain and prints each message.
type printSession struct{ from string }

func (s *printSession) Mail(ctx context.Context, from string, opts *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *printSession) Rcpt(ctx context.Context, to string, opts *smtp.RcptOptions) error {
	if !strings.HasSuffix(to, "@example.com") {
		return &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	return nil
}

func (s *printSession) Data(ctx context.Context, body io.Reader) error {
	b, err := io.ReadAll(body) // fine for an example; stream real mail
	if err != nil {
		return err // a size or bare-LF *Error goes back to the client as is
	}
	fmt.Printf("from %s: %d bytes\n", s.from, len(b))
	return nil
}

func (s *printSession) Reset(ctx context.Context) { s.from = "" }
func (s *printSession) Close() error              { return nil }

// A minimal receiver. A conversation with it:
//
//	S: 220 mx.example.com ESMTP Service ready
//	C: EHLO client.example.org
//	S: 250-mx.example.com greets client.example.org
//	S: 250-PIPELINING
//	S: ...
//	C: MAIL FROM:<alice@example.org>
//	S: 250 2.1.0 Sender <alice@example.org> OK
//	C: RCPT TO:<bob@example.net>
//	S: 550 5.1.1 No such user here
//	C: RCPT TO:<bob@example.com>
//	S: 250 2.1.5 Recipient <bob@example.com> OK
//	C: DATA
//	S: 354 Start mail input; end with <CRLF>.<CRLF>
//	C: Subject: hi
//	C:
//	C: Hello Bob
//	C: .
//	S: 250 2.0.0 Message accepted for delivery
func ExampleServer() {
	srv := &smtp.Server{
		Addr:     "127.0.0.1:2525",
		Hostname: "mx.example.com",
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			return &printSession{}, nil
		}),
		MaxMessageBytes: 10 << 20,
	}
	if err := srv.ListenAndServe(); !errors.Is(err, smtp.ErrServerClosed) {
		log.Fatal(err)
	}
}

// Shutdown stops accepting, answers 421 to idle clients and waits for the
// messages in flight.
func ExampleServer_Shutdown() {
	srv := &smtp.Server{Addr: "127.0.0.1:2525", Backend: &smtp.Receiver{Store: memstore.New()}}
	go srv.ListenAndServe()
	// ... on SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close() // time is up: drop the rest
	}
}

// The Receiver delivers into a mailbox store: unknown recipients are
// refused at RCPT, accepted mail is in the INBOX before the 250.
func ExampleReceiver() {
	store := memstore.New()
	store.AddUser("jim", "secret", "jim@example.com")
	srv := &smtp.Server{
		Addr:     ":25",
		Hostname: "mx.example.com",
		Backend:  &smtp.Receiver{Store: store, Hostname: "mx.example.com"},
	}
	_ = srv // srv.ListenAndServe()
}

func ExampleError() {
	err := fmt.Errorf("lookup: %w", &smtp.Error{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"})
	var se *smtp.Error
	if errors.As(err, &se) {
		fmt.Println(se.Code, se.EnhancedCode, se.Temporary())
	}
	fmt.Println(err)
	// Output:
	// 452 4.2.2 true
	// lookup: smtp: 452 4.2.2 Mailbox full
}

func ExampleParseEnhancedCode() {
	c, err := smtp.ParseEnhancedCode("5.7.1")
	fmt.Println(c, err)
	_, err = smtp.ParseEnhancedCode("3.1.1")
	fmt.Println(err)
	// Output:
	// 5.7.1 <nil>
	// smtp: enhanced status code "3.1.1" has class 3, want 2, 4 or 5
}
