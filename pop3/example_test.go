package pop3_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/pop3"
)

// A POP3 server over an in-memory store, with STLS.
//
//	$ openssl s_client -quiet -starttls pop3 -connect localhost:110
//	+OK POP3 server ready <1234.5678.1700000000@mail.example.org>
//	USER sara
//	+OK send PASS
//	PASS secret
//	+OK maildrop has 1 messages (320 octets)
//	STAT
//	+OK 1 320
//	QUIT
//	+OK bye (1 messages left)
func ExampleServer() {
	store := memstore.New()
	store.AddUser("sara", "secret", "sara@example.org")

	srv := &pop3.Server{
		Addr:     ":110",
		Hostname: "mail.example.org",
		Store:    store, // memstore is also the Authenticator
		// TLSConfig: cfg,     // enables STLS; ListenAndServeTLS serves port 995
	}
	log.Fatal(srv.ListenAndServe())
}

func ExampleServer_Shutdown() {
	srv := &pop3.Server{Store: memstore.New()}
	go srv.ListenAndServe()

	// Later: stop accepting, close idle sessions (deleting nothing), let
	// running commands finish.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}

func ExampleDialer_Dial() {
	ctx := context.Background()
	c, err := (&pop3.Dialer{Security: pop3.ImplicitTLS}).Dial(ctx, "pop.example.org:995")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(ctx, pop3.PlainAuth("", "sara", "secret")); err != nil {
		log.Fatal(err)
	}
	n, size, err := c.Stat(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d messages, %d octets\n", n, size)
	r, err := c.Retr(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(os.Stdout, r) // streamed, dot-unstuffed, CRLF
	r.Close()
	c.Quit(ctx)
}

// Download what is new and leave a copy on the server: the UIDLs already
// seen are remembered by the application.
func ExampleClient_FetchNew() {
	ctx := context.Background()
	c, err := pop3.Dial(ctx, "pop.example.org:110") // STLS required
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		log.Fatal(err)
	}
	seen := map[string]bool{} // loaded from the application's state
	got, err := c.FetchNew(ctx, func(uid string) bool { return seen[uid] }, &pop3.FetchOptions{Delete: false},
		func(m pop3.Fetched, body io.Reader) error {
			f, err := os.Create(m.UID + ".eml")
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(f, body)
			return err
		})
	if err != nil {
		log.Fatal(err)
	}
	for _, uid := range got {
		seen[uid] = true
	}
	c.Quit(ctx)
}

func ExampleError() {
	err := error(&pop3.Error{Code: pop3.CodeInUse, Text: "maildrop already locked"})
	fmt.Println(err)
	fmt.Println(err.(*pop3.Error).Temporary())
	// Output:
	// pop3: -ERR [IN-USE] maildrop already locked
	// true
}
