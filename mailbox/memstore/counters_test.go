package memstore_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// newAccount returns an account of a user of a new store.
func newAccount(tb testing.TB) mailbox.Account {
	tb.Helper()
	s := memstore.New()
	if err := s.AddUser("u", "pw"); err != nil {
		tb.Fatal(err)
	}
	a, err := s.Open(ctx, "u")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

// recount computes what Status must report from the messages themselves.
func recount(t *testing.T, m mailbox.Mailbox) mailbox.Status {
	t.Helper()
	var st mailbox.Status
	for info, err := range m.Messages(ctx, 1) {
		if err != nil {
			t.Fatal(err)
		}
		st.Messages++
		if !info.HasFlag(mailbox.FlagSeen) {
			st.Unseen++
		}
		if info.HasFlag(mailbox.FlagDeleted) {
			st.Deleted++
		}
		st.Size += info.Size
	}
	return st
}

func checkCounters(t *testing.T, step int, m mailbox.Mailbox) {
	t.Helper()
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := recount(t, m)
	if st.Messages != want.Messages || st.Unseen != want.Unseen || st.Deleted != want.Deleted || st.Size != want.Size {
		t.Fatalf("step %d, %s: Status messages=%d unseen=%d deleted=%d size=%d, recount %d %d %d %d",
			step, m.Name(), st.Messages, st.Unseen, st.Deleted, st.Size, want.Messages, want.Unseen, want.Deleted, want.Size)
	}
}

// TestStatusCountersMatchRecount is a property test: after any sequence of
// appends, flag changes (with and without UNCHANGEDSINCE), expunges,
// copies, moves, an INBOX rename and a mailbox deletion, the counters
// Status keeps equal a recount of the messages.
func TestStatusCountersMatchRecount(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 1))
		a := newAccount(t)
		if err := a.Create(ctx, "Other", nil); err != nil {
			t.Fatal(err)
		}
		open := func(name string) mailbox.Mailbox {
			m, err := a.Mailbox(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			return m
		}
		boxes := []mailbox.Mailbox{open(mailbox.Inbox), open("Other")}
		pool := []mailbox.Flag{mailbox.FlagSeen, mailbox.FlagDeleted, mailbox.FlagFlagged, "$A"}
		someFlags := func() []mailbox.Flag {
			var fs []mailbox.Flag
			for _, f := range pool {
				if rng.IntN(2) == 0 {
					fs = append(fs, f)
				}
			}
			return fs
		}
		someUIDs := func(m mailbox.Mailbox) []mailbox.UID {
			st, err := m.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var uids []mailbox.UID
			for range rng.IntN(12) {
				uids = append(uids, mailbox.UID(1+rng.IntN(int(st.UIDNext)+1))) // some past the last
			}
			return uids
		}
		ops := []mailbox.FlagOp{mailbox.FlagsAdd, mailbox.FlagsRemove, mailbox.FlagsReplace}
		for step := range 300 {
			i := rng.IntN(2)
			m, other := boxes[i], boxes[1-i]
			switch op := rng.IntN(10); {
			case op < 3:
				body := bytes.Repeat([]byte("x"), 1+rng.IntN(64))
				if _, err := m.Append(ctx, bytes.NewReader(body), &mailbox.AppendOptions{Flags: someFlags()}); err != nil {
					t.Fatal(err)
				}
			case op < 7:
				var since mailbox.ModSeq
				if rng.IntN(3) == 0 {
					st, _ := m.Status(ctx)
					since = st.HighestModSeq - mailbox.ModSeq(rng.IntN(5))
				}
				if _, err := m.SetFlags(ctx, someUIDs(m), ops[rng.IntN(len(ops))], someFlags(), since); err != nil {
					t.Fatal(err)
				}
			case op < 8:
				if _, err := m.Expunge(ctx, someUIDs(m)); err != nil {
					t.Fatal(err)
				}
			case op < 9:
				if _, err := m.(mailbox.Copier).CopyTo(ctx, someUIDs(m), other.Name()); err != nil {
					t.Fatal(err)
				}
			default:
				if _, err := m.(mailbox.Mover).MoveTo(ctx, someUIDs(m), other.Name()); err != nil {
					t.Fatal(err)
				}
			}
			checkCounters(t, step, boxes[0])
			checkCounters(t, step, boxes[1])
		}
		// Renaming INBOX moves its messages (and their counts) to a new
		// mailbox and leaves INBOX empty.
		if err := a.Rename(ctx, mailbox.Inbox, "Old"); err != nil {
			t.Fatal(err)
		}
		checkCounters(t, -1, boxes[0])
		checkCounters(t, -1, open("Old"))
		// A deleted and recreated mailbox starts from zero.
		if err := a.Delete(ctx, "Other"); err != nil {
			t.Fatal(err)
		}
		if err := a.Create(ctx, "Other", nil); err != nil {
			t.Fatal(err)
		}
		checkCounters(t, -2, open("Other"))
	}
}
