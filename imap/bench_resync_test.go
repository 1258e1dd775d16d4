package imap

import (
	"context"
	"fmt"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// BenchmarkResync measures bringing a client's copy of a 10,000-message
// folder up to date after 100 flag changes made elsewhere: QRESYNC
// (SELECT with the last HIGHESTMODSEQ, answered with the 100 FETCHes)
// against a full SELECT and UID FETCH 1:* (FLAGS). wire-bytes/op is what
// the server sent.
func BenchmarkResync(b *testing.B) {
	e := benchEnv(b)
	st := statusOf(b, e)
	other := dialBench(b, e.addr, "LOGIN sara secret", "SELECT INBOX")
	for i := range 100 {
		other.do(b, fmt.Sprintf(`UID STORE %d +FLAGS.SILENT (\Flagged)`, 1+i*(benchMessages/100)))
	}
	run := func(b *testing.B, setup []string, cmds ...string) {
		c := dialBench(b, e.addr, append([]string{"LOGIN sara secret"}, setup...)...)
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			n = 0
			for _, cmd := range cmds {
				n += c.do(b, cmd)
			}
		}
		b.ReportMetric(float64(n), "wire-bytes/op")
	}
	b.Run("QRESYNC", func(b *testing.B) {
		run(b, []string{"ENABLE QRESYNC"}, fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", st.UIDValidity, st.HighestModSeq))
	})
	b.Run("FullFetchFlags", func(b *testing.B) {
		run(b, nil, "SELECT INBOX", "UID FETCH 1:* (FLAGS)")
	})
}

// statusOf reads the INBOX status of a benchmark environment.
func statusOf(b *testing.B, e *testEnv) mailbox.Status {
	mb, done := openInbox(b, e.store)
	defer done()
	st, err := mb.Status(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return st
}
