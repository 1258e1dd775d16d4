package memstore_test

import (
	"testing"

	"github.com/posthorn/posthorn/mailbox"

	"github.com/posthorn/posthorn/mailbox/mailboxtest"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

func newFixture(t *testing.T) mailboxtest.Fixture {
	s := memstore.New()
	if err := s.AddUser("kit", "kit-password", "kit@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser("other", "other-password", "other@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetToken("kit", "kit-token"); err != nil {
		t.Fatal(err)
	}
	return mailboxtest.Fixture{
		Store: s, User: "kit", Password: "kit-password", Token: "kit-token", Address: "kit@example.org", OtherUser: "other",
		// The data lives as long as the Store: reopening is using it again
		// through new handles, which runs the durability cases too.
		Reopen: func(t *testing.T) mailbox.Store { return s },
	}
}

func TestConformance(t *testing.T) {
	mailboxtest.Run(t, newFixture, nil)
}
