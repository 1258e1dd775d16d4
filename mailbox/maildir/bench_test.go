package maildir

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

var benchBody = strings.Repeat("Subject: benchmark\r\n\r\n"+strings.Repeat("x", 70)+"\r\n", 12) // ~1 KiB

// BenchmarkAppend appends 1 KiB messages, each durable (three fsyncs).
func BenchmarkAppend(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchAppend(b, false) })
	b.Run("parse-on-delivery", func(b *testing.B) { benchAppend(b, true) })
}

func benchAppend(b *testing.B, parse bool) {
	s := newTestStore(b)
	s.ParseOnDelivery = parse
	ctx := context.Background()
	a, err := s.Open(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.SetBytes(int64(len(benchBody)))
	start := time.Now()
	for b.Loop() {
		if _, err := m.Append(ctx, strings.NewReader(benchBody), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkAppendParallel appends from many goroutines at once into one
// mailbox: group commit shares the fsyncs among them.
func BenchmarkAppendParallel(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	a, err := s.Open(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Append(ctx, strings.NewReader(benchBody), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// fillFolder writes n message files straight into the INBOX of user in
// root (no fsync: setup only), indexes them once and backdates new/ and
// cur/ as a folder untouched for a while looks.
func fillFolder(b *testing.B, root, user string, n int) {
	b.Helper()
	s := &Store{Root: root, PollInterval: -1}
	ctx := context.Background()
	if err := s.CreateUser(ctx, user); err != nil {
		b.Fatal(err)
	}
	home := filepath.Join(root, user)
	body := []byte(benchBody)
	for i := range n {
		name := strconv.Itoa(1_700_000_000+i) + ".M" + strconv.Itoa(i) + "P1Q1.bench.example.org,S=" + strconv.Itoa(len(body))
		sub := "new"
		if i%4 != 0 {
			sub = "cur"
			name += ":2,S"
		}
		if err := os.WriteFile(filepath.Join(home, sub, name), body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for _, sub := range []string{"new", "cur"} {
		os.Chtimes(filepath.Join(home, sub), old, old)
	}
	a, err := s.Open(ctx, user)
	if err != nil {
		b.Fatal(err)
	}
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	if st, _ := m.Status(ctx); int(st.Messages) != n {
		b.Fatalf("indexed %d of %d messages", st.Messages, n)
	}
	m.Close()
	a.Close()
}

func openList(b *testing.B, s *Store, list bool) (mailbox.Account, mailbox.Mailbox) {
	ctx := context.Background()
	a, err := s.Open(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	if list {
		n := 0
		for _, err := range m.Messages(ctx, 1) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100_000 {
			b.Fatalf("listed %d messages", n)
		}
	}
	return a, m
}

// BenchmarkFolder100k opens and lists a 100,000-message folder: cold (the
// index read from disk, as after a restart) and warm (another handle holds
// the folder), and reads cached metadata of every message.
func BenchmarkFolder100k(b *testing.B) {
	root := b.TempDir()
	fillFolder(b, root, "bench", 100_000)
	s := &Store{Root: root, PollInterval: -1}
	ctx := context.Background()

	b.Run("cold-open", func(b *testing.B) {
		var before, after runtime.MemStats
		for b.Loop() {
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.StartTimer()
			a, m := openList(b, s, false)
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			m.Close()
			a.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100_000, "heapB/msg")
	})
	b.Run("cold-open+list", func(b *testing.B) {
		for b.Loop() {
			a, m := openList(b, s, true)
			m.Close()
			a.Close()
		}
	})
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	holdA, holdM := openList(b, s, false)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.Run("warm-open", func(b *testing.B) {
		for b.Loop() {
			a, m := openList(b, s, false)
			if _, err := m.Status(ctx); err != nil {
				b.Fatal(err)
			}
			m.Close()
			a.Close()
		}
	})
	b.Run("warm-open+list", func(b *testing.B) {
		for b.Loop() {
			a, m := openList(b, s, true)
			m.Close()
			a.Close()
		}
	})
	b.Run("rescan-unchanged", func(b *testing.B) {
		f := holdM.(*mbox).f
		for b.Loop() {
			if err := f.lock(); err != nil {
				b.Fatal(err)
			}
			err := f.checkDirs(true)
			f.unlock()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	mc := holdM.(mailbox.MetadataCache)
	meta := []byte(strings.Repeat(`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1010 12)`, 4))
	for uid := mailbox.UID(1); uid <= 100_000; uid++ {
		if err := mc.SetMetadata(ctx, uid, meta); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	heldWithMeta := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
	b.Run("metadata-read-all", func(b *testing.B) {
		for b.Loop() {
			for uid := mailbox.UID(1); uid <= 100_000; uid++ {
				data, err := mc.Metadata(ctx, uid)
				if err != nil || len(data) != len(meta) {
					b.Fatal(uid, err)
				}
			}
		}
		// What the open folder holds, with the offsets of its metadata.
		b.ReportMetric(float64(heldWithMeta)/100_000, "heapB/msg")
	})
	holdM.Close()
	holdA.Close()
}

// BenchmarkIndex100k builds the index of a 100,000-message folder that
// has none (a tree written by another program, or a lost index).
func BenchmarkIndex100k(b *testing.B) {
	root := b.TempDir()
	fillFolder(b, root, "bench", 100_000)
	s := &Store{Root: root, PollInterval: -1}
	for b.Loop() {
		b.StopTimer()
		os.Remove(filepath.Join(root, "bench", indexFile))
		b.StartTimer()
		a, m := openList(b, s, false)
		m.Close()
		a.Close()
	}
}

// BenchmarkSetFlags10k sets and clears \Flagged on 10,000 messages (each a
// rename of its file) in one call.
func BenchmarkSetFlags10k(b *testing.B) {
	m := benchInbox(b, 10_000)
	ctx := context.Background()
	uids := make([]mailbox.UID, 10_000)
	for i := range uids {
		uids[i] = mailbox.UID(i + 1)
	}
	op := mailbox.FlagsAdd
	for b.Loop() {
		res, err := m.SetFlags(ctx, uids, op, []mailbox.Flag{mailbox.FlagFlagged}, 0)
		if err != nil || len(res.Changed) != len(uids) {
			b.Fatal(fmt.Sprint(len(res.Changed)), err)
		}
		if op == mailbox.FlagsAdd {
			op = mailbox.FlagsRemove
		} else {
			op = mailbox.FlagsAdd
		}
	}
}

// BenchmarkRetr500 does what POP3 RETR of a whole 500-message maildrop
// does on the store side: Open and read every message in UID order
// ("read"), and then set \Seen on it as the POP3 server does by default
// ("read+seen", a rename per message).
func BenchmarkRetr500(b *testing.B) {
	b.Run("read", func(b *testing.B) { benchRetr(b, false) })
	b.Run("read+seen", func(b *testing.B) { benchRetr(b, true) })
}

func benchRetr(b *testing.B, seen bool) {
	m := benchInbox(b, 500)
	ctx := context.Background()
	all := make([]mailbox.UID, 500)
	for i := range all {
		all[i] = mailbox.UID(i + 1)
	}
	seenFlag := []mailbox.Flag{mailbox.FlagSeen}
	buf := make([]byte, 32<<10)
	b.SetBytes(500 * int64(len(benchBody)))
	for b.Loop() {
		if seen {
			b.StopTimer()
			if _, err := m.SetFlags(ctx, all, mailbox.FlagsRemove, seenFlag, 0); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		for _, uid := range all {
			r, err := m.Open(ctx, uid)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
				b.Fatal(err)
			}
			r.Close()
			if seen {
				if _, err := m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, seenFlag, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "msgs/s")
}

// benchInbox returns the INBOX of a new tree with n messages (fillFolder),
// closed when the benchmark ends.
func benchInbox(b *testing.B, n int) mailbox.Mailbox {
	root := b.TempDir()
	fillFolder(b, root, "bench", n)
	s := &Store{Root: root, PollInterval: -1}
	ctx := context.Background()
	a, err := s.Open(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// BenchmarkSetFlagsSeen10k is IMAP "UID STORE 1:* +FLAGS.SILENT (\Seen)"
// and "-FLAGS" on a 10,000-message INBOX ("toggle", a rename per message),
// and +FLAGS (\Seen) on messages that all have it already ("unchanged", no
// rename at all).
func BenchmarkSetFlagsSeen10k(b *testing.B) {
	uids := []mailbox.UID{1, 10_000}
	for i := 2; i < 10_000; i++ {
		uids = append(uids, mailbox.UID(i))
	}
	seen := []mailbox.Flag{mailbox.FlagSeen}
	ctx := context.Background()
	b.Run("toggle", func(b *testing.B) {
		m := benchInbox(b, 10_000)
		op := mailbox.FlagsAdd
		for b.Loop() {
			if _, err := m.SetFlags(ctx, uids, op, seen, 0); err != nil {
				b.Fatal(err)
			}
			if op == mailbox.FlagsAdd {
				op = mailbox.FlagsRemove
			} else {
				op = mailbox.FlagsAdd
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		m := benchInbox(b, 10_000)
		if _, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, seen, 0); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, seen, 0)
			if err != nil || len(res.Changed) != 0 {
				b.Fatal(len(res.Changed), err)
			}
		}
	})
}
