package memstore

import (
	"context"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// A mailbox whose UIDs ran out refuses appends and copies instead of
// wrapping to UIDs already used (RFC 9051 §2.3.1.1).
func TestUIDsExhausted(t *testing.T) {
	ctx := context.Background()
	s := New()
	if err := s.AddUser("u", "pw"); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Open(ctx, "u")
	defer a.Close()
	if err := a.Create(ctx, "Full", nil); err != nil {
		t.Fatal(err)
	}
	in, _ := a.Mailbox(ctx, mailbox.Inbox)
	full, _ := a.Mailbox(ctx, "Full")
	uid, err := in.Append(ctx, strings.NewReader("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	box := full.(*handle).box
	box.mu.Lock()
	box.uidNext = ^mailbox.UID(0) // the last UID
	box.mu.Unlock()
	last, err := full.Append(ctx, strings.NewReader("last"), nil)
	if err != nil || last != ^mailbox.UID(0) {
		t.Fatalf("append of the last UID = %d, %v", last, err)
	}
	if _, err := full.Append(ctx, strings.NewReader("one too many"), nil); err == nil {
		t.Errorf("append after the last UID succeeded")
	}
	if _, err := mailbox.Copy(ctx, a, in, []mailbox.UID{uid}, "Full"); err == nil {
		t.Errorf("copy into a mailbox without UIDs left succeeded")
	}
	n := 0
	for _, err := range full.Messages(ctx, ^mailbox.UID(0)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("Messages(max UID) yielded %d messages, want 1", n)
	}
}

func TestMaxMessageSizeDefault(t *testing.T) {
	for _, tc := range []struct{ set, want int64 }{{0, DefaultMaxMessageSize}, {-5, -1}, {10, 10}} {
		if got := (&Store{MaxMessageSize: tc.set}).maxMessageSize(); got != tc.want {
			t.Errorf("MaxMessageSize %d: limit %d, want %d", tc.set, got, tc.want)
		}
	}
}
