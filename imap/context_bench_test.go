package imap

import (
	"context"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// BenchmarkSearchUpdateFlagChange is one flag change in a 10,000-message
// INBOX made by another session, and the NOOP that reports it: with a
// SEARCH RETURN (UPDATE) context (which evaluates the changed message only
// and sends ADDTO or REMOVEFROM) and without one (the FETCH alone), so the
// difference is the cost of keeping the context.
func BenchmarkSearchUpdateFlagChange(b *testing.B) {
	for _, bc := range []struct{ name, setup string }{
		{"context", "UID SEARCH RETURN (UPDATE COUNT) UNSEEN"},
		{"no-context", "UID SEARCH RETURN (COUNT) UNSEEN"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchEnv(b)
			c := dialBench(b, e.addr, "LOGIN sara secret", "SELECT INBOX", bc.setup)
			mb, done := openInbox(b, e.store)
			defer done()
			ctx := context.Background()
			seen := []mailbox.Flag{mailbox.FlagSeen}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				uid := mailbox.UID(i%benchMessages + 1)
				op := mailbox.FlagsAdd
				if i/benchMessages%2 == 1 {
					op = mailbox.FlagsRemove
				}
				i++
				if _, err := mb.SetFlags(ctx, []mailbox.UID{uid}, op, seen, 0); err != nil {
					b.Fatal(err)
				}
				c.do(b, "NOOP")
			}
		})
	}
}
