package mailboxtest_test

import (
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/mailboxtest"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// A store's author runs the kit from a test of the store's package; every
// case gets a fresh store holding one user with an empty INBOX. A durable
// store also sets Fixture.Reopen to re-open the same data, which enables
// the durability cases.
func Example() {
	// In mystore_test.go:
	testConformance := func(t *testing.T) {
		mailboxtest.Run(t, func(t *testing.T) mailboxtest.Fixture {
			s := memstore.New() // mystore.Open(t.TempDir()) for a store on disk
			if err := s.AddUser("kit", "secret", "kit@example.org"); err != nil {
				t.Fatal(err)
			}
			return mailboxtest.Fixture{
				Store:    s,
				User:     "kit",
				Password: "secret",          // enables the Auth cases
				Address:  "kit@example.org", // enables the Recipient cases
				// Reopen: func(t *testing.T) mailbox.Store { return mystore.Open(dir) },
			}
		}, &mailboxtest.Options{SkipLarge: testing.Short()})
	}
	_ = testConformance
	var _ mailbox.Store = memstore.New()
}
