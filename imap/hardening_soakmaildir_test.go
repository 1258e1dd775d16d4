package imap_test

import (
	"context"
	"testing"

	"github.com/posthorn/posthorn/internal/soak"
	"github.com/posthorn/posthorn/mailbox/maildir"
)

// TestHardeningSoakSessionsMaildir is TestHardeningSoakSessions on the
// Maildir store.
func TestHardeningSoakSessionsMaildir(t *testing.T) {
	soak.LeakCheck(t, 2)
	users := new(maildir.Users)
	if err := users.Add("test", "test", "test@example.org"); err != nil {
		t.Fatal(err)
	}
	st := &maildir.Store{Root: t.TempDir(), Users: users, Logger: hQuiet}
	// Made first: concurrent first logins are
	// mailbox/maildir/hardening_test.go:TestHardeningConcurrentFirstDelivery.
	if err := st.CreateUser(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	soakSessions(t, st)
}
