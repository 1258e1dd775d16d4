package maildir

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// TestSetFlagsSystemOnly covers the path SetFlags takes for a change of
// system flags alone: keywords stay with +FLAGS and -FLAGS and go with
// FLAGS, a change that changes nothing renames nothing and records
// nothing, and the result survives a reopen (the index replay).
func TestSetFlagsSystemOnly(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	open := func(s *Store) mailbox.Mailbox {
		a, err := s.Open(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		m, err := a.Mailbox(ctx, mailbox.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	m := open(s)
	kw, plain := mailbox.Flag("$Label1"), mailbox.UID(0)
	withKw, err := m.Append(ctx, strings.NewReader("Subject: a\r\n\r\nx\r\n"), &mailbox.AppendOptions{Flags: []mailbox.Flag{kw, mailbox.FlagFlagged}})
	if err != nil {
		t.Fatal(err)
	}
	if plain, err = m.Append(ctx, strings.NewReader("Subject: b\r\n\r\ny\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	both := []mailbox.UID{withKw, plain}
	seen := []mailbox.Flag{mailbox.FlagSeen}
	flagsOf := func(m mailbox.Mailbox) map[mailbox.UID][]mailbox.Flag {
		out := map[mailbox.UID][]mailbox.Flag{}
		for info, err := range m.Messages(ctx, 1) {
			if err != nil {
				t.Fatal(err)
			}
			out[info.UID] = info.Flags
		}
		return out
	}
	check := func(m mailbox.Mailbox, uid mailbox.UID, want ...mailbox.Flag) {
		t.Helper()
		if got := flagsOf(m)[uid]; !slices.Equal(got, want) {
			t.Fatalf("UID %d flags %v, want %v", uid, got, want)
		}
	}
	curNames := func() []string {
		d, err := os.ReadDir(filepath.Join(s.Root, "alice", "cur"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range d {
			out = append(out, e.Name())
		}
		return out
	}

	res, err := m.SetFlags(ctx, both, mailbox.FlagsAdd, seen, 0)
	if err != nil || len(res.Changed) != 2 {
		t.Fatalf("+FLAGS (\\Seen): %+v, %v", res, err)
	}
	check(m, withKw, mailbox.FlagFlagged, mailbox.FlagSeen, kw)
	check(m, plain, mailbox.FlagSeen)
	if err := m.(Flusher).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	names := curNames()
	for _, n := range names {
		if !strings.HasSuffix(n, ":2,S") && !strings.HasSuffix(n, ":2,FS") {
			t.Fatalf("file %q does not carry the flags in its name", n)
		}
	}

	// Nothing changes: no result, no new MODSEQ, the files keep their names.
	before, _ := m.Status(ctx)
	res, err = m.SetFlags(ctx, both, mailbox.FlagsAdd, seen, 0)
	if err != nil || len(res.Changed) != 0 {
		t.Fatalf("+FLAGS (\\Seen) again: %+v, %v", res, err)
	}
	if after, _ := m.Status(ctx); after.HighestModSeq != before.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ %d → %d for no change", before.HighestModSeq, after.HighestModSeq)
	}
	if got := curNames(); !slices.Equal(got, names) {
		t.Fatalf("files renamed for no change: %v → %v", names, got)
	}

	if res, err = m.SetFlags(ctx, both, mailbox.FlagsRemove, []mailbox.Flag{mailbox.FlagFlagged}, 0); err != nil || len(res.Changed) != 1 || res.Changed[0].UID != withKw {
		t.Fatalf("-FLAGS (\\Flagged): %+v, %v", res, err)
	}
	check(m, withKw, mailbox.FlagSeen, kw)

	// FLAGS (\Seen) changes only the message that has a keyword to lose.
	if res, err = m.SetFlags(ctx, both, mailbox.FlagsReplace, seen, 0); err != nil || len(res.Changed) != 1 || res.Changed[0].UID != withKw {
		t.Fatalf("FLAGS (\\Seen): %+v, %v", res, err)
	}
	check(m, withKw, mailbox.FlagSeen)
	if res, err = m.SetFlags(ctx, both, mailbox.FlagsReplace, seen, 0); err != nil || len(res.Changed) != 0 {
		t.Fatalf("FLAGS (\\Seen) again: %+v, %v", res, err)
	}
	if res, err = m.SetFlags(ctx, []mailbox.UID{plain}, mailbox.FlagsAdd, []mailbox.Flag{kw}, 0); err != nil || len(res.Changed) != 1 {
		t.Fatalf("+FLAGS ($Label1): %+v, %v", res, err)
	}
	if res, err = m.SetFlags(ctx, []mailbox.UID{plain}, mailbox.FlagsRemove, seen, 0); err != nil || len(res.Changed) != 1 {
		t.Fatalf("-FLAGS (\\Seen): %+v, %v", res, err)
	}

	// Another store over the same files replays the index to the same flags.
	m2 := open(&Store{Root: s.Root, Users: s.Users, PollInterval: -1})
	check(m2, withKw, mailbox.FlagSeen)
	check(m2, plain, kw)
}

// TestFlagsInSeparateLists checks that the flag lists carved from one arena
// stay apart: growing or changing one leaves the others as they were.
func TestFlagsInSeparateLists(t *testing.T) {
	s := newState()
	a := msgRec{want: flagSeen}
	b := msgRec{want: flagSeen | flagFlagged, kw: s.kwID([]string{"$x"})}
	c := msgRec{}
	arena := make([]mailbox.Flag, 0, 16) // room for all: the lists share one array
	la, lb, lc := s.flagsIn(&arena, &a), s.flagsIn(&arena, &b), s.flagsIn(&arena, &c)
	if lc != nil {
		t.Fatalf("no flags: %v, want nil", lc)
	}
	_ = append(la, "$scribble")
	if want := []mailbox.Flag{mailbox.FlagFlagged, mailbox.FlagSeen, "$x"}; !slices.Equal(lb, want) {
		t.Fatalf("second list %v after appending to the first, want %v", lb, want)
	}
	if !slices.Equal(la, s.flags(&a)) || !slices.Equal(lb, s.flags(&b)) {
		t.Fatalf("flagsIn %v %v, flags %v %v", la, lb, s.flags(&a), s.flags(&b))
	}
}

// TestSetFlagsResultIsOwnList: SetFlags answers with the changes its
// FlagsChanged event lists (it copies the event's list rather than
// building it again), in a slice of its own: a caller writing into the
// result does not change what watchers received.
func TestSetFlagsResultIsOwnList(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	a, m := openInbox(t, s)
	var uids []mailbox.UID
	for i := range 5 {
		uid, err := m.Append(ctx, strings.NewReader("Subject: "+strings.Repeat("x", i)+"\r\n\r\nhi\r\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, uid)
	}
	var got []mailbox.FlagChange
	defer a.Watch(func(ev mailbox.Event) {
		if ev.Kind == mailbox.EventFlagsChanged {
			got = ev.Flags
		}
	})()
	res, err := m.SetFlags(ctx, uids[1:4], mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen, "$work"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 3 || !slices.EqualFunc(res.Changed, got, func(x, y mailbox.FlagChange) bool {
		return x.UID == y.UID && x.ModSeq == y.ModSeq && slices.Equal(x.Flags, y.Flags)
	}) {
		t.Fatalf("result %v, event %v: want the same three changes", res.Changed, got)
	}
	for i, fc := range res.Changed {
		if fc.UID != uids[1+i] || !slices.Equal(fc.Flags, []mailbox.Flag{mailbox.FlagSeen, "$work"}) {
			t.Errorf("change %d = %+v", i, fc)
		}
	}
	res.Changed[0].UID = 999
	if got[0].UID != uids[1] {
		t.Fatalf("writing into the result changed the event: %+v", got[0])
	}
}

// TestSetFlagsRepeatedUIDs: a UID named twice, in order or not, is changed
// once and answered once.
func TestSetFlagsRepeatedUIDs(t *testing.T) {
	ctx := context.Background()
	for _, uids := range [][]mailbox.UID{{2, 2, 3}, {3, 2, 3}, {2, 3, 3}} {
		_, _, _, m := filledInbox(t, 3)
		res, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []mailbox.UID
		for _, c := range res.Changed {
			got = append(got, c.UID)
		}
		if want := []mailbox.UID{2, 3}; !slices.Equal(got, want) {
			t.Errorf("SetFlags(%v) changed %v, want %v", uids, got, want)
		}
	}
}
