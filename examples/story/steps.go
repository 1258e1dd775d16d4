package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/pop3"
	"github.com/posthorn/posthorn/smtp"
	"github.com/posthorn/posthorn/smtp/relay"
)

const subject = "Lunch on Friday?"

// bobSubmits is step 3.
func (w *world) bobSubmits(ctx context.Context) error {
	w.n.heading("Bob's mail client submits one message to Jim and Sara.")
	d := &smtp.Dialer{LocalName: "bobs-laptop", TLSConfig: w.clientTLS,
		Logger: w.n.wire("bob", prefixes("C: STARTTLS", "C: AUTH", "S: 235", "C: MAIL", "C: RCPT", "C: DATA", "C: BDAT", "S: 250 2.", "S: 4", "S: 5"), nil)}
	c, err := d.Dial(ctx, w.subAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, bob, bobPass); err != nil {
		return err
	}
	if c.TLSConnectionState() == nil {
		return errors.New("the submission connection is not encrypted")
	}
	w.messageID = fmt.Sprintf("<%d.story@bob.example>", time.Now().UnixNano())
	msg := "From: Bob <" + bob + ">\r\nTo: Jim <" + jim + ">, Sara <" + sara + ">\r\n" +
		"Subject: " + subject + "\r\nMessage-ID: " + w.messageID + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\n" +
		"Hi both, shall we meet at noon?\r\n-- Bob\r\n"
	wr, results, err := c.Transaction(ctx, bob, nil, []smtp.Recipient{{Address: jim}, {Address: sara}})
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.Err != nil {
			wr.Close()
			return fmt.Errorf("recipient %s refused: %w", r.Address, r.Err)
		}
	}
	if _, err := io.WriteString(wr, msg); err != nil {
		return err
	}
	if err := wr.Close(); err != nil {
		return err
	}
	c.Quit(ctx)
	w.n.ok("the relay accepted it over TLS after AUTH %s: %q", c.Mechanism(), wr.Reply().String())
	return nil
}

// relayDelivers is step 4.
func (w *world) relayDelivers(ctx context.Context) error {
	w.n.heading("Bob's relay looks up the MX of each domain and delivers, one transaction per domain.")
	w.n.release("relay")
	pending := map[string]bool{jim: true, sara: true}
	timeout := time.After(20 * time.Second)
	for len(pending) > 0 {
		select {
		case e := <-w.events:
			switch e.Kind {
			case relay.EventDelivered:
				if pending[e.Recipient] {
					delete(pending, e.Recipient)
					w.n.ok("delivered to %s", e.Recipient)
				}
			case relay.EventDeferred:
				w.n.say("deferred for %s, will retry: %v", e.Recipient, e.Err)
			case relay.EventFailed:
				return fmt.Errorf("delivery to %s failed: %v", e.Recipient, e.Err)
			}
		case <-timeout:
			return fmt.Errorf("not delivered after 20 s: %v still pending", slices.Collect(mapKeys(pending)))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, d := range []string{"jim.example", "sara.example"} {
		if w.dns.Queries(d, "MX") == 0 {
			return fmt.Errorf("the relay never asked the DNS for the MX of %s", d)
		}
	}
	w.n.ok("the DNS answered the relay's MX queries for jim.example and sara.example")
	return nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// jimDownloads is step 5.
func (w *world) jimDownloads(ctx context.Context) error {
	w.n.heading("Jim downloads the message with POP3 and deletes it from the server.")
	d := &pop3.Dialer{TLSConfig: w.clientTLS,
		Logger: w.n.wire("jim", prefixes("C: STLS", "C: USER", "C: PASS", "S: +OK maildrop", "C: STAT", "C: RETR", "S: +OK 1 ", "C: DELE", "C: QUIT", "S: +OK bye"), nil)}
	c, err := d.Dial(ctx, w.pop3Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, jim, jimPass); err != nil {
		return err
	}
	n, _, err := c.Stat(ctx)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("Jim's maildrop has %d messages, want 1", n)
	}
	body, err := c.Retr(ctx, 1)
	if err != nil {
		return err
	}
	hdr, err := textproto.NewReader(bufio.NewReader(body)).ReadMIMEHeader()
	if err == nil {
		_, err = io.Copy(io.Discard, body)
	}
	body.Close()
	if err != nil {
		return err
	}
	if hdr.Get("Subject") != subject || hdr.Get("Message-Id") != w.messageID {
		return fmt.Errorf("Jim got the wrong message: Subject %q, Message-ID %q", hdr.Get("Subject"), hdr.Get("Message-Id"))
	}
	w.n.ok("Jim has %q, Return-Path %s, through %d Received: hops", subject, hdr.Get("Return-Path"), len(hdr["Received"]))
	if err := c.Dele(ctx, 1); err != nil {
		return err
	}
	if err := c.Quit(ctx); err != nil {
		return err
	}
	// Log in again: the maildrop must be empty now.
	c2, err := (&pop3.Dialer{TLSConfig: w.clientTLS}).Dial(ctx, w.pop3Addr)
	if err != nil {
		return err
	}
	defer c2.Close()
	if err := c2.Login(ctx, jim, jimPass); err != nil {
		return err
	}
	if n, _, err = c2.Stat(ctx); err != nil {
		return err
	}
	c2.Quit(ctx)
	if n != 0 {
		return fmt.Errorf("after DELE and QUIT the server still has %d messages for Jim", n)
	}
	w.n.ok("logged in again: the server holds 0 messages for Jim")
	return nil
}

// saraReads is step 6.
func (w *world) saraReads(ctx context.Context) error {
	w.n.heading("Sara's laptop and phone both see it; the phone, in IDLE, sees the laptop file it away.")
	dial := func(who string, keep func(string) bool, onLine func(string)) (*imap.Client, error) {
		d := &imap.Dialer{TLSConfig: w.clientTLS}
		d.Logger = w.n.wire(who, keep, onLine)
		c, err := d.Dial(ctx, w.imapAddr)
		if err != nil {
			return nil, err
		}
		if err := c.Login(ctx, sara, saraPass); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	// The IMAP client traces commands by name and the tagged replies.
	keep := imapLines("LOGIN", "SELECT", "FETCH", "IDLE", "STORE", "CREATE", "MOVE", "STATUS")
	laptop, err := dial("laptop", keep, nil)
	if err != nil {
		return err
	}
	defer laptop.Close()
	idling := make(chan struct{})
	var once sync.Once
	phone, err := dial("phone", keep, func(line string) {
		if strings.HasPrefix(line, "S: +") {
			once.Do(func() { close(idling) })
		}
	})
	if err != nil {
		return err
	}
	defer phone.Close()

	for _, c := range []struct {
		who    string
		client *imap.Client
	}{{"laptop", laptop}, {"phone", phone}} {
		sel, err := c.client.Select(ctx, "INBOX", nil)
		if err != nil {
			return err
		}
		if sel.Exists != 1 {
			return fmt.Errorf("Sara's %s sees %d messages in INBOX, want 1", c.who, sel.Exists)
		}
		subj, err := envelopeSubject(ctx, c.client)
		if err != nil {
			return err
		}
		if subj != subject {
			return fmt.Errorf("Sara's %s sees Subject %q", c.who, subj)
		}
		w.n.ok("Sara's %s sees 1 message in INBOX: %q", c.who, subj)
	}

	// The phone waits in IDLE and reports what it hears.
	var mu sync.Mutex
	sawSeen, sawGone := false, false
	heard := make(chan struct{})
	idleCtx, stopIdle := context.WithCancel(ctx)
	defer stopIdle()
	idleErr := make(chan error, 1)
	go func() {
		idleErr <- phone.Idle(idleCtx, 0, func(u imap.Update) {
			mu.Lock()
			defer mu.Unlock()
			switch u.Kind {
			case imap.UpdateFetch:
				if u.Message != nil {
					w.n.say("%-8s hears  * %d FETCH (FLAGS %v)", "phone", u.Seq, u.Message.Flags)
					sawSeen = sawSeen || u.Message.HasFlag(imap.FlagSeen)
				}
			case imap.UpdateExpunge:
				w.n.say("%-8s hears  * %d EXPUNGE", "phone", u.Seq)
				sawGone = true
			case imap.UpdateVanished:
				w.n.say("%-8s hears  * VANISHED %s", "phone", u.Vanished)
				sawGone = true
			}
			if sawSeen && sawGone {
				select {
				case <-heard:
				default:
					close(heard)
				}
			}
		})
	}()
	select {
	case <-idling:
	case err := <-idleErr:
		return fmt.Errorf("the phone could not IDLE: %v", err)
	case <-time.After(10 * time.Second):
		return errors.New("the phone never got IDLE's continuation")
	}

	// The laptop reads the message, then files it into "Lunch".
	var one imap.NumSet
	one.AddNum(1)
	if _, err := laptop.Store(ctx, one, imap.StoreAdd, []imap.Flag{imap.FlagSeen}, nil); err != nil {
		return err
	}
	if err := laptop.Create(ctx, "Lunch"); err != nil {
		return err
	}
	if _, err := laptop.Move(ctx, one, "Lunch"); err != nil {
		return err
	}
	select {
	case <-heard:
	case err := <-idleErr:
		return fmt.Errorf("the phone's IDLE ended: %v", err)
	case <-time.After(10 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("the phone in IDLE heard \\Seen: %v, expunge: %v; want both", sawSeen, sawGone)
	}
	w.n.ok("the phone, in IDLE, saw the message become \\Seen and leave INBOX")
	stopIdle()
	if err := <-idleErr; err != nil {
		return err
	}
	st, err := phone.Status(ctx, "Lunch", []imap.StatusItem{imap.StatusMessages, imap.StatusUnseen})
	if err != nil {
		return err
	}
	if st.Messages != 1 || st.Unseen != 0 {
		return fmt.Errorf("folder Lunch has %d messages, %d unseen; want 1 and 0", st.Messages, st.Unseen)
	}
	w.n.ok("the phone finds it, read, in the folder Lunch")
	laptop.Logout(ctx)
	phone.Logout(ctx)
	return nil
}

// envelopeSubject fetches the subject of message 1.
func envelopeSubject(ctx context.Context, c *imap.Client) (string, error) {
	var one imap.NumSet
	one.AddNum(1)
	subj := ""
	for m, err := range c.Fetch(ctx, one, &imap.FetchOptions{Envelope: true}) {
		if err != nil {
			return "", err
		}
		if m.Envelope != nil {
			subj = m.Envelope.Subject
		}
	}
	return subj, nil
}
