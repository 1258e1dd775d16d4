package smtp_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/posthorn/posthorn/internal/soak"
	"github.com/posthorn/posthorn/mailbox/maildir"
)

// TestHardeningSoakDeliveriesMaildir is TestHardeningSoakDeliveriesMemstore
// into the Maildir store, with a check that no message cut short by a
// fault or a reset is left in tmp/.
func TestHardeningSoakDeliveriesMaildir(t *testing.T) {
	const nusers = 8
	soak.LeakCheck(t, 2)
	users := new(maildir.Users)
	for i := range nusers {
		if err := users.Add(fmt.Sprint("u", i), "pw", fmt.Sprintf("u%d@example.org", i)); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	md := &maildir.Store{Root: root, Users: users, Logger: hQuiet}
	for i := range nusers {
		// Made first: concurrent first deliveries are
		// mailbox/maildir/hardening_test.go:TestHardeningConcurrentFirstDelivery.
		if err := md.CreateUser(context.Background(), fmt.Sprint("u", i)); err != nil {
			t.Fatal(err)
		}
	}
	soakDeliveries(t, md, nusers)
	// Messages cut by an injected EIO or a reset left nothing in tmp/.
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "tmp" {
			t.Errorf("left in tmp/: %s", p)
		}
		return nil
	})
}
