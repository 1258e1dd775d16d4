package memstore_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// TestSetFlagsAllocsPerCall checks that a flag change on many messages
// shares one flag slice per resulting set instead of allocating one per
// message, and that events and results from earlier calls are not changed
// by later ones.
func TestSetFlagsAllocsPerCall(t *testing.T) {
	a := newAccount(t)
	var events []mailbox.Event
	t.Cleanup(a.Watch(func(ev mailbox.Event) {
		if ev.Kind == mailbox.EventFlagsChanged {
			events = append(events, ev)
		}
	}))
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	const n = 1000
	uids := make([]mailbox.UID, n)
	for i := range uids {
		if uids[i], err = m.Append(ctx, bytes.NewReader([]byte("x")), nil); err != nil {
			t.Fatal(err)
		}
	}
	seen := []mailbox.Flag{mailbox.FlagSeen}
	first, err := m.SetFlags(ctx, uids, mailbox.FlagsAdd, seen, 0)
	if err != nil || len(first.Changed) != n {
		t.Fatalf("SetFlags changed %d, %v", len(first.Changed), err)
	}
	if _, err := m.SetFlags(ctx, uids, mailbox.FlagsRemove, seen, 0); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d FlagsChanged events, want 2", len(events))
	}
	for i, c := range events[0].Flags {
		if !slices.Equal(c.Flags, seen) || !slices.Equal(first.Changed[i].Flags, seen) {
			t.Fatalf("the first call's event/result for %d changed to %v/%v by the second", c.UID, c.Flags, first.Changed[i].Flags)
		}
	}
	ops := []mailbox.FlagOp{mailbox.FlagsAdd, mailbox.FlagsRemove}
	k := 0
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := m.SetFlags(ctx, uids, ops[k%2], seen, 0); err != nil {
			t.Fatal(err)
		}
		k++
	})
	// The event's and the result's arrays, the result's flags, the memo:
	// a handful per call, whatever n is.
	if allocs > 16 {
		t.Errorf("SetFlags on %d messages: %.0f allocations, want a few per call", n, allocs)
	}
}
