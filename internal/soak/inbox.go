package soak

import (
	"context"
	"io"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// Message is one stored message as Inbox returns it.
type Message struct {
	UID  mailbox.UID
	Data []byte // the first 64 KiB
}

// OpenInbox opens user's INBOX in st; it is closed when the test ends.
func OpenInbox(t testing.TB, st mailbox.Store, user string) mailbox.Mailbox {
	t.Helper()
	mb, done := openInbox(t, st, user)
	t.Cleanup(done)
	return mb
}

// openInbox opens user's INBOX in st and returns the function that closes
// it. Inbox and Empty close it before they return rather than in a cleanup
// of t, whose closures stay reachable until the test ends: the handles
// would keep the store's state alive under the heap check of LeakCheck.
func openInbox(t testing.TB, st mailbox.Store, user string) (mailbox.Mailbox, func()) {
	t.Helper()
	ctx := context.Background()
	a, err := st.Open(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	return mb, func() { mb.Close(); a.Close() }
}

// Inbox returns the messages of user's INBOX in UID order, straight from
// the store, and fails t unless the UIDs strictly increase.
func Inbox(t testing.TB, st mailbox.Store, user string) []Message {
	t.Helper()
	ctx := context.Background()
	mb, done := openInbox(t, st, user)
	defer done()
	var out []Message
	for info, err := range mb.Messages(ctx, 1) {
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out); n > 0 && info.UID <= out[n-1].UID {
			t.Errorf("%s: UID %d after %d", user, info.UID, out[n-1].UID)
		}
		rc, err := mb.Open(ctx, info.UID)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, 64<<10))
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Message{info.UID, data})
	}
	return out
}

// Empty expunges every message of user's INBOX in st, so that what a run
// stored is not counted by the heap check of LeakCheck (a memory store
// keeps only a small tombstone per message expunged). Call it after the
// consistency checks.
func Empty(t testing.TB, st mailbox.Store, user string) {
	t.Helper()
	ctx := context.Background()
	mb, done := openInbox(t, st, user)
	defer done()
	var uids []mailbox.UID
	for info, err := range mb.Messages(ctx, 1) {
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, info.UID)
	}
	if len(uids) == 0 {
		return
	}
	if _, err := mb.Expunge(ctx, uids); err != nil {
		t.Fatal(err)
	}
	if n := len(Inbox(t, st, user)); n != 0 {
		t.Fatalf("%s: %d messages left after expunging all", user, n)
	}
}
