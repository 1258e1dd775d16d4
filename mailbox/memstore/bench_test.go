package memstore_test

import (
	"bytes"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

func benchInbox(b *testing.B) mailbox.Mailbox {
	b.Helper()
	a := newAccount(b)
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	// A watcher, as an IMAP session would have.
	b.Cleanup(a.Watch(func(mailbox.Event) {}))
	return m
}

// filledInbox is benchInbox with n one-octet messages.
func filledInbox(b *testing.B, n int) mailbox.Mailbox {
	b.Helper()
	m := benchInbox(b)
	for range n {
		if _, err := m.Append(ctx, bytes.NewReader([]byte("x")), nil); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

// BenchmarkAppend appends 4 KiB messages (throughput in MB/s).
func BenchmarkAppend(b *testing.B) {
	m := benchInbox(b)
	msg := bytes.Repeat([]byte("0123456789abcdef\r\n"), 4096/18)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Append(ctx, bytes.NewReader(msg), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetFlags toggles \Seen on 10,000 messages in one call; the
// msgs/s metric is the flag-update throughput.
func BenchmarkSetFlags(b *testing.B) {
	m := benchInbox(b)
	const n = 10_000
	uids := make([]mailbox.UID, n)
	for i := range uids {
		uid, err := m.Append(ctx, bytes.NewReader([]byte("x")), nil)
		if err != nil {
			b.Fatal(err)
		}
		uids[i] = uid
	}
	ops := []mailbox.FlagOp{mailbox.FlagsAdd, mailbox.FlagsRemove}
	seen := []mailbox.Flag{mailbox.FlagSeen}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		res, err := m.SetFlags(ctx, uids, ops[i%2], seen, 0)
		if err != nil || len(res.Changed) != n {
			b.Fatalf("SetFlags changed %d, %v", len(res.Changed), err)
		}
		i++
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkMessages lists 10,000 messages.
func BenchmarkMessages(b *testing.B) {
	const n = 10_000
	m := filledInbox(b, n)
	b.ReportAllocs()
	for b.Loop() {
		k := 0
		for _, err := range m.Messages(ctx, 1) {
			if err != nil {
				b.Fatal(err)
			}
			k++
		}
		if k != n {
			b.Fatalf("listed %d", k)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkStatus reads the counters of a mailbox of 10,000 messages, as
// an IMAP server does after each APPEND.
func BenchmarkStatus(b *testing.B) {
	const n = 10_000
	m := filledInbox(b, n)
	b.ReportAllocs()
	for b.Loop() {
		st, err := m.Status(ctx)
		if err != nil || st.Messages != n || st.Unseen != n {
			b.Fatalf("Status %+v, %v", st, err)
		}
	}
}
