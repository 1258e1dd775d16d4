package imap

import (
	"fmt"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// BenchmarkNotifyPush measures what one store event costs the publishing
// goroutine in a session's Watch callback: without NOTIFY, and with a
// NOTIFY of maxNotifyMailboxes names that the event's mailbox misses
// (every name compared) or hits (a STATUS already pending: coalesced).
func BenchmarkNotifyPush(b *testing.B) {
	names := make([]string, maxNotifyMailboxes)
	for i := range names {
		names[i] = fmt.Sprintf("lists/l%d", i)
	}
	n, err := parseNotifyLine(" SET (selected (MessageNew MessageExpunge FlagChange)) (mailboxes ("+strings.Join(names, " ")+") (MessageNew MessageExpunge FlagChange)) (personal (MailboxName))", false)
	if err != nil {
		b.Fatal(err)
	}
	n.prepare()
	for _, tc := range []struct {
		name   string
		spec   *notifyCmd
		target string
	}{
		{"none", nil, "other"},
		{"miss", n, "other"},
		{"hit", n, names[len(names)-1]},
	} {
		b.Run(tc.name, func(b *testing.B) {
			q := newEventQueue()
			q.selectMailbox("INBOX")
			q.setNotify(tc.spec, nil, DefaultMaxNotifyQueue)
			ev := mailbox.Event{Kind: mailbox.EventMessagesAdded, Mailbox: tc.target, UIDs: []mailbox.UID{1}}
			b.ReportAllocs()
			for b.Loop() {
				q.push(ev)
			}
		})
	}
}

// BenchmarkIdleConnMemoryNotify is BenchmarkIdleConnMemory for sessions
// waiting with a NOTIFY in effect (a helper goroutine each peeks at the
// input while the session waits on its event queue).
func BenchmarkIdleConnMemoryNotify(b *testing.B) {
	idleConnMemory(b, "b NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))\r\n")
}

// BenchmarkNotifyNoop is a NOOP round trip with NOTIFY in effect (a
// helper goroutine per wait for a command); BenchmarkNotifyNoop/none is
// the same without.
func BenchmarkNotifyNoop(b *testing.B) {
	b.Run("none", func(b *testing.B) { runBench(b, []string{"SELECT INBOX"}, "NOOP") })
	b.Run("notify", func(b *testing.B) {
		runBench(b, []string{"SELECT INBOX", "NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName))"}, "NOOP")
	})
}
