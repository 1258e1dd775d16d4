package imap_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/posthorn/posthorn/imap"
)

// Fetch the envelopes and bodies of the newest messages, streaming each
// body to stdout without holding it in memory.
//
//	C: T1 CAPABILITY            (after STARTTLS)
//	C: T2 LOGIN sara secret
//	C: T3 EXAMINE INBOX
//	C: T4 UID FETCH 1:* (UID FLAGS ENVELOPE BODY.PEEK[])
//	S: * 1 FETCH (UID 7 FLAGS (\Seen) ENVELOPE (...) BODY[] {2791}
//	...
func ExampleClient_UIDFetch() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := imap.DialStartTLS(ctx, "mail.example.org:143", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Examine(ctx, "INBOX"); err != nil {
		log.Fatal(err)
	}
	opts := &imap.FetchOptions{UID: true, Flags: true, Envelope: true, Sections: []imap.FetchSection{{}}}
	for m, err := range c.UIDFetch(ctx, imap.NumSet{Ranges: []imap.Range{{Start: 1, Stop: imap.Star}}}, opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("UID %d: %s\n", m.UID, m.Envelope.Subject)
		body, err := m.NextBody() // valid until the next iteration
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(os.Stdout, body.Reader)
	}
	c.Logout(ctx)
}

// Keep a local copy of a mailbox up to date: Sync uses QRESYNC, then
// CONDSTORE, then a full scan, whichever the server offers.
func ExampleClient_Sync() {
	ctx := context.Background()
	c, err := imap.DialTLS(ctx, "mail.example.org:993", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(ctx, imap.PlainAuth("", "sara", "secret")); err != nil {
		log.Fatal(err)
	}
	var state imap.SyncState // loaded from disk in a real program
	res, err := c.Sync(ctx, "INBOX", &state)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d new, %d changed, %d gone\n", res.Method, len(res.Added), len(res.Changed), len(res.Vanished))
	state = res.State // save for next time
}

// Watch a mailbox with IDLE until the context ends; the client re-issues
// IDLE before the server's 29-minute limit.
func ExampleClient_Idle() {
	ctx, stop := context.WithTimeout(context.Background(), time.Hour)
	defer stop()
	c, err := imap.DialTLS(ctx, "mail.example.org:993", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", nil); err != nil {
		log.Fatal(err)
	}
	err = c.Idle(ctx, 0, func(u imap.Update) {
		switch u.Kind {
		case imap.UpdateExists:
			fmt.Println("now", u.Count, "messages")
		case imap.UpdateExpunge:
			fmt.Println("message", u.Seq, "expunged")
		}
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Search with the criteria builder: unseen messages from Jim since a
// date, or flagged ones.
func ExampleClient_Search() {
	ctx := context.Background()
	c, err := imap.DialTLS(ctx, "mail.example.org:993", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", nil); err != nil {
		log.Fatal(err)
	}
	since := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	res, err := c.UIDSearch(ctx, nil,
		imap.KeyOr(
			imap.KeyAnd(imap.KeyNoFlag(imap.FlagSeen), imap.KeyText("FROM", "jim@example.net"), imap.KeyDate("SINCE", since)),
			imap.KeyFlag(imap.FlagFlagged)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Nums())
}
