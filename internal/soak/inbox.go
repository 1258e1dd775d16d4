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
	ctx := context.Background()
	a, err := st.Open(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	mb, err := a.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}

// Inbox returns the messages of user's INBOX in UID order, straight from
// the store, and fails t unless the UIDs strictly increase.
func Inbox(t testing.TB, st mailbox.Store, user string) []Message {
	t.Helper()
	ctx := context.Background()
	mb := OpenInbox(t, st, user)
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
