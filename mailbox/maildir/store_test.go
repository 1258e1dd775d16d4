package maildir

import (
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/mailboxtest"
)

// newTestStore returns a Store over a fresh directory with user "alice".
func newTestStore(t testing.TB) *Store {
	t.Helper()
	users := new(Users)
	if err := users.Add("alice", "secret", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := users.Add("bob", "bobsecret", "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	return &Store{Root: t.TempDir(), Users: users, PollInterval: -1}
}

func TestConformance(t *testing.T) {
	mailboxtest.Run(t, func(t *testing.T) mailboxtest.Fixture {
		s := newTestStore(t)
		return mailboxtest.Fixture{
			Store:     s,
			User:      "alice",
			Password:  "secret",
			Address:   "alice@example.org",
			OtherUser: "bob",
			Reopen: func(t *testing.T) mailbox.Store {
				return &Store{Root: s.Root, Users: s.Users, PollInterval: -1}
			},
		}
	}, nil)
}
