package imap

import (
	"bufio"
	"context"
	"io"
	"slices"
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

// BenchmarkContextReevaluate is the server's own work for one flag change
// in a 10,000-message INBOX with a SEARCH RETURN (UPDATE) UNSEEN context:
// evaluating the changed message and writing the ESEARCH update, without
// the network round trip.
func BenchmarkContextReevaluate(b *testing.B) {
	e := benchEnv(b)
	mb, done := openInbox(b, e.store)
	defer done()
	ctx := context.Background()
	var uids []mailbox.UID
	var modseq []mailbox.ModSeq
	for m, err := range mb.Messages(ctx, 1) {
		if err != nil {
			b.Fatal(err)
		}
		uids, modseq = append(uids, m.UID), append(modseq, m.ModSeq)
	}
	c := &conn{ctx: ctx, mbox: mb, view: newView("INBOX", false, 1, uids, modseq, uids[len(uids)-1]+1)}
	c.w.bw = bufio.NewWriter(io.Discard)
	key := SearchKey{Key: "UNSEEN"}
	c.addContext(&command{tag: "u", uid: true}, &key, slices.Clone(uids), nil, nil)
	seen := []mailbox.Flag{mailbox.FlagSeen}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		uid := uids[i%len(uids)]
		op := mailbox.FlagsAdd
		if i/len(uids)%2 == 1 {
			op = mailbox.FlagsRemove
		}
		i++
		res, err := mb.SetFlags(ctx, []mailbox.UID{uid}, op, seen, 0)
		if err != nil {
			b.Fatal(err)
		}
		evs := []mailbox.Event{{Kind: mailbox.EventFlagsChanged, Mailbox: "INBOX", Flags: res.Changed}}
		c.flushWithContexts(evs, func() {})
	}
	if len(c.contexts) != 1 {
		b.Fatal("context dropped")
	}
}
