package pop3

import (
	"context"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// TestIMAPSeesPOP3Changes: an IMAP-like session watching the account
// learns of RETR's \Seen and of QUIT's deletions as expunges, and keeps
// working while POP3 holds the maildrop lock.
func TestIMAPSeesPOP3Changes(t *testing.T) {
	w, st, _ := serve(t, msg1, msg2)
	ctx := context.Background()
	acct, err := st.Open(ctx, "sara")
	if err != nil {
		t.Fatal(err)
	}
	defer acct.Close()
	var mu sync.Mutex
	var events []mailbox.Event
	cancel := acct.Watch(func(e mailbox.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	})
	defer cancel()
	mb, err := acct.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	var uids []mailbox.UID
	for info := range mb.Messages(ctx, 1) {
		uids = append(uids, info.UID)
	}

	w.run("C: RETR 2", "S: +OK*")
	for range 5 {
		w.br.ReadString('\n')
	}
	// IMAP works on the mailbox during the POP3 session.
	if _, err := mb.SetFlags(ctx, uids[:1], mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	w.run("C: DELE 1", "S: +OK*", "C: QUIT", "S: +OK*")

	mu.Lock()
	defer mu.Unlock()
	var seen, expunged bool
	for _, e := range events {
		switch e.Kind {
		case mailbox.EventFlagsChanged:
			for _, f := range e.Flags {
				if f.UID == uids[1] && mailbox.HasFlag(f.Flags, mailbox.FlagSeen) {
					seen = true
				}
			}
		case mailbox.EventMessagesExpunged:
			expunged = len(e.UIDs) == 1 && e.UIDs[0] == uids[0]
		}
	}
	if !seen || !expunged {
		t.Fatalf("watcher saw \\Seen=%v expunge=%v in %+v", seen, expunged, events)
	}
}
