// Command imapwatch waits on an IMAP mailbox with IDLE and prints one line
// per new message until it is interrupted:
//
//	UID 7 From: jim@jim.example Subject: Lunch?
//
// Usage:
//
//	go run ./examples/imapwatch -server HOST:PORT -user U -pass P [-mailbox INBOX]
//
// -security chooses starttls (the default), tls (implicit TLS, port 993) or
// plain; -insecure accepts any certificate, such as the self-signed one of
// examples/mailserver. It prints "watching MAILBOX (N messages)" once the
// mailbox is open; messages already there are not listed. On SIGINT or
// SIGTERM it ends IDLE, logs out and exits 0; on failure it prints one
// "error:" line and exits 1.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/posthorn/posthorn/imap"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("imapwatch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", "127.0.0.1:1430", "IMAP server host:port")
	security := fs.String("security", "starttls", "starttls, tls or plain")
	user := fs.String("user", "", "user name")
	pass := fs.String("pass", "", "password")
	insecure := fs.Bool("insecure", false, "accept any server certificate")
	mailbox := fs.String("mailbox", "INBOX", "mailbox to watch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *user == "" {
		return errors.New("-user is required")
	}
	// grown is set when the server announces new messages (EXISTS), in
	// IDLE or in the reply to any other command; the handlers run on this
	// goroutine, inside the client's methods.
	grown, leaving := false, false
	onUpdate := func(u imap.Update) {
		switch u.Kind {
		case imap.UpdateExists:
			grown = true
		case imap.UpdateBye:
			if !leaving {
				fmt.Fprintf(out, "server says bye: %s\n", u.Text)
			}
		}
	}
	d := &imap.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: *insecure}}
	d.Handler = onUpdate
	switch *security {
	case "starttls":
		d.Security = imap.SecurityStartTLS
	case "tls":
		d.Security = imap.SecurityTLS
	case "plain":
		d.Security = imap.SecurityNone
	default:
		return fmt.Errorf("-security %q: want starttls, tls or plain", *security)
	}
	c, err := d.Dial(ctx, *server)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, *user, *pass); err != nil {
		return err
	}
	sel, err := c.Examine(ctx, *mailbox)
	if err != nil {
		return err
	}
	next, err := uidNext(ctx, c, sel)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "watching %s (%d messages)\n", *mailbox, sel.Exists)
	grown = false // what SELECT reported is not new

	for ctx.Err() == nil {
		// IDLE until the mailbox grows (or we are interrupted); the handler
		// may not call the client, so it only ends the IDLE. A message
		// announced while we were fetching (grown) skips the IDLE.
		if !grown {
			idleCtx, stopIdle := context.WithCancel(ctx)
			err := c.Idle(idleCtx, 0, func(u imap.Update) {
				onUpdate(u)
				if grown {
					stopIdle()
				}
			})
			stopIdle()
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				break
			}
		}
		grown = false
		if next, err = printNew(ctx, c, next, out); err != nil {
			return err
		}
	}
	leaving = true
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return c.Logout(lctx)
}

// uidNext returns the UID the next message will have at least.
func uidNext(ctx context.Context, c *imap.Client, sel *imap.SelectData) (uint32, error) {
	if sel.UIDNext != 0 || sel.Exists == 0 {
		return max(sel.UIDNext, 1), nil
	}
	// A server that did not send UIDNEXT: one past the last message's UID.
	var last imap.NumSet
	last.AddNum(sel.Exists)
	var uid uint32
	for m, err := range c.Fetch(ctx, last, &imap.FetchOptions{UID: true}) {
		if err != nil {
			return 0, err
		}
		uid = m.UID
	}
	return uid + 1, nil
}

// printNew prints the messages with UID next and above and returns the UID
// after the last one printed.
func printNew(ctx context.Context, c *imap.Client, next uint32, out io.Writer) (uint32, error) {
	var set imap.NumSet
	set.AddRange(next, imap.Star) // next:*
	for m, err := range c.UIDFetch(ctx, set, &imap.FetchOptions{Envelope: true}) {
		if err != nil {
			return next, err
		}
		// "next:*" includes the last message even when its UID is lower.
		if m.UID < next {
			continue
		}
		from, subject := "", ""
		if m.Envelope != nil {
			if len(m.Envelope.From) > 0 {
				from = m.Envelope.From[0].Addr()
			}
			subject = decodeHeader(m.Envelope.Subject)
		}
		fmt.Fprintf(out, "UID %d From: %s Subject: %s\n", m.UID, from, subject)
		next = m.UID + 1
	}
	return next, nil
}

// decodeHeader decodes RFC 2047 encoded words, keeping the text as it is
// when it does not decode.
func decodeHeader(s string) string {
	dec := new(mime.WordDecoder)
	if d, err := dec.DecodeHeader(s); err == nil {
		return d
	}
	return s
}
