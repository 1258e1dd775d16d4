package maildir_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/maildir"
)

// TestHardeningConcurrentFirstDelivery: deliveries that arrive together for
// a user whose tree does not exist yet all succeed (a half-made tree must
// never answer "no such user": the receiver would bounce the mail with
// 550 5.1.1). Found by the SMTP soak (docs/SECURITY.md).
func TestHardeningConcurrentFirstDelivery(t *testing.T) {
	for round := range 20 {
		users := new(maildir.Users)
		if err := users.Add("jim", "pw", "jim@example.org"); err != nil {
			t.Fatal(err)
		}
		st := &maildir.Store{Root: t.TempDir(), Users: users}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := mailbox.Deliver(context.Background(), st, "jim", strings.NewReader("Subject: x\r\n\r\nx\r\n"), nil); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: a concurrent first delivery failed: %v", round, err)
		}
	}
}

// TestHardeningOpenWhileDelivering: accounts opened and closed while
// deliveries publish their events share the tree's bus list without a data
// race (run with -race). Found by the SMTP soak (docs/SECURITY.md); a
// regression test of the copy-on-write bus list.
func TestHardeningOpenWhileDelivering(t *testing.T) {
	for range 4 {
		openWhileDelivering(t)
	}
}

func openWhileDelivering(t *testing.T) {
	users := new(maildir.Users)
	if err := users.Add("jim", "pw", "jim@example.org"); err != nil {
		t.Fatal(err)
	}
	st := &maildir.Store{Root: t.TempDir(), Users: users}
	ctx := context.Background()
	if err := st.CreateUser(ctx, "jim"); err != nil {
		t.Fatal(err)
	}
	hold, err := st.Open(ctx, "jim") // keeps the tree open throughout
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	var wg sync.WaitGroup
	wg.Add(5)
	for range 4 {
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := mailbox.Deliver(ctx, st, "jim", strings.NewReader("Subject: x\r\n\r\nx\r\n"), nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() {
		defer wg.Done()
		for range 2000 {
			a, err := st.Open(ctx, "jim")
			if err != nil {
				t.Error(err)
				return
			}
			a.Close()
		}
	}()
	wg.Wait()
}
