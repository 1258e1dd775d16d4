package memstore_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// Tree changes (create, rename, delete) race with message changes, copies
// and moves between the same mailboxes. The test passes when nothing
// deadlocks (go test -timeout), -race finds nothing, and every error is one
// the contract allows for a mailbox that moved away.
func TestTreeAndMessagesConcurrently(t *testing.T) {
	s := newStore(t)
	allowed := []error{mailbox.ErrNotExist, mailbox.ErrExist, mailbox.ErrNoSelect, mailbox.ErrHasChildren}
	check := func(err error) error {
		for _, a := range allowed {
			if errors.Is(err, a) {
				return nil
			}
		}
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	run := func(fn func(a mailbox.Account, i int) error) {
		wg.Go(func() {
			a, err := s.Open(ctx, "sara")
			if err != nil {
				errs <- err
				return
			}
			defer a.Close()
			for i := range 200 {
				if err := check(fn(a, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	names := []string{"A", "B", "A/C", "B/C"}
	run(func(a mailbox.Account, i int) error { return a.Create(ctx, names[i%4], nil) })
	run(func(a mailbox.Account, i int) error { return a.Rename(ctx, names[i%2], names[(i+1)%2]) })
	run(func(a mailbox.Account, i int) error { return a.Delete(ctx, names[(i+1)%4]) })
	run(func(a mailbox.Account, i int) error {
		in, err := a.Mailbox(ctx, mailbox.Inbox)
		if err != nil {
			return err
		}
		defer in.Close()
		uid, err := in.Append(ctx, strings.NewReader(fmt.Sprint(i)), nil)
		if err != nil {
			return err
		}
		if i%2 == 0 {
			_, err = mailbox.Move(ctx, a, in, []mailbox.UID{uid}, names[i%4])
		} else {
			_, err = mailbox.Copy(ctx, a, in, []mailbox.UID{uid}, names[i%4])
		}
		return err
	})
	run(func(a mailbox.Account, i int) error {
		m, err := a.Mailbox(ctx, names[i%4])
		if err != nil {
			return err
		}
		defer m.Close()
		for info, err := range m.Messages(ctx, 1) {
			if err != nil {
				return err
			}
			if _, err := m.SetFlags(ctx, []mailbox.UID{info.UID}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0); err != nil {
				return err
			}
			if _, err := mailbox.Move(ctx, a, m, []mailbox.UID{info.UID}, mailbox.Inbox); err != nil {
				return err
			}
		}
		return nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	// The quota counters still match what is stored.
	a, _ := open(t, s, mailbox.Inbox)
	q, err := a.(mailbox.Quotaer).Quota(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n, size int64
	infos, err := a.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.HasAttr(mailbox.AttrNoSelect) {
			continue
		}
		st, err := mustBox(t, a, info.Name).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += int64(st.Messages)
		size += st.Size
	}
	if q.MessagesUsed != n || q.StorageUsed != size {
		t.Errorf("quota use %d messages, %d octets; the mailboxes hold %d, %d", q.MessagesUsed, q.StorageUsed, n, size)
	}
}
