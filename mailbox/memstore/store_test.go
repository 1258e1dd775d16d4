package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

var ctx = context.Background()

func newStore(t *testing.T) *memstore.Store {
	t.Helper()
	s := memstore.New()
	if err := s.AddUser("sara", "pw", "sara@example.org", "Sara.Alias@Example.ORG"); err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t *testing.T, s mailbox.Store, name string) (mailbox.Account, mailbox.Mailbox) {
	t.Helper()
	a, err := s.Open(ctx, "sara")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	m, err := a.Mailbox(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return a, m
}

func appendMsg(t *testing.T, m mailbox.Mailbox, body string) (mailbox.UID, error) {
	t.Helper()
	return m.Append(ctx, strings.NewReader(body), nil)
}

func TestAddUserErrors(t *testing.T) {
	s := newStore(t)
	for _, tc := range []struct {
		name, user string
		addrs      []string
		want       error
	}{
		{"duplicate user", "sara", nil, mailbox.ErrExist},
		{"address taken, other case", "jim", []string{"SARA@example.org"}, mailbox.ErrExist},
	} {
		if err := s.AddUser(tc.user, "x", tc.addrs...); !errors.Is(err, tc.want) {
			t.Errorf("%s: AddUser = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.AddUser("", "x"); err == nil {
		t.Errorf("AddUser with an empty name succeeded")
	}
	if err := s.AddUser("jim", "x", "no-domain"); err == nil {
		t.Errorf("AddUser with an address without a domain succeeded")
	}
	if _, err := s.Open(ctx, "jim"); !errors.Is(err, mailbox.ErrNotExist) {
		t.Errorf("a refused AddUser created the user: Open = %v", err)
	}
	if err := s.SetToken("nobody", "t"); !errors.Is(err, mailbox.ErrNotExist) {
		t.Errorf("SetToken of an unknown user = %v", err)
	}
	if err := s.SetQuota("nobody", 1, 1); !errors.Is(err, mailbox.ErrNotExist) {
		t.Errorf("SetQuota of an unknown user = %v", err)
	}
}

func TestAuthentication(t *testing.T) {
	s := newStore(t)
	for _, login := range []string{"sara", "sara@example.org", "sara.alias@example.org"} {
		if u, err := s.Authenticate(ctx, login, "pw"); err != nil || u != "sara" {
			t.Errorf("Authenticate(%q) = %q, %v; want sara", login, u, err)
		}
	}
	if _, err := s.AuthenticateToken(ctx, "sara", ""); !errors.Is(err, mailbox.ErrAuthFailed) {
		t.Errorf("token login without a token set = %v, want ErrAuthFailed", err)
	}
	if err := s.AddUser("nopw", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "nopw", ""); !errors.Is(err, mailbox.ErrAuthFailed) {
		t.Errorf("empty password login = %v, want ErrAuthFailed", err)
	}
	if _, _, err := s.Secret(ctx, "nopw"); !errors.Is(err, mailbox.ErrAuthFailed) {
		t.Errorf("Secret of a user without a password = %v, want ErrAuthFailed", err)
	}
	if u, secret, err := s.Secret(ctx, "sara@example.org"); err != nil || u != "sara" || secret != "pw" {
		t.Errorf("Secret by address = %q, %q, %v", u, secret, err)
	}
}

func TestZeroValueStore(t *testing.T) {
	var s memstore.Store
	if err := s.AddUser("sara", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.Deliver(ctx, &s, "sara", strings.NewReader("x"), nil); err != nil {
		t.Fatalf("Deliver into a zero Store: %v", err)
	}
}

func TestSharedBus(t *testing.T) {
	bus := mailbox.NewBus()
	s := &memstore.Store{Bus: bus}
	if err := s.AddUser("sara", "pw"); err != nil {
		t.Fatal(err)
	}
	var got []mailbox.Event
	cancel := bus.Subscribe("sara", func(ev mailbox.Event) { got = append(got, ev) })
	defer cancel()
	if _, err := mailbox.Deliver(ctx, s, "sara", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != mailbox.EventMessagesAdded {
		t.Errorf("the Store's Bus saw %+v, want one MessagesAdded", got)
	}
}

func TestQuota(t *testing.T) {
	s := newStore(t)
	a, m := open(t, s, mailbox.Inbox)
	if err := a.Create(ctx, "Other", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetQuota("sara", 100, 3); err != nil {
		t.Fatal(err)
	}
	u1, err := appendMsg(t, m, strings.Repeat("a", 60))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appendMsg(t, m, strings.Repeat("b", 41)); !errors.Is(err, mailbox.ErrOverQuota) {
		t.Errorf("append past the storage limit = %v, want ErrOverQuota", err)
	}
	if _, err := appendMsg(t, m, strings.Repeat("b", 40)); err != nil {
		t.Errorf("append up to the storage limit: %v", err)
	}
	if _, err := mailbox.Copy(ctx, a, m, []mailbox.UID{u1}, "Other"); !errors.Is(err, mailbox.ErrOverQuota) {
		t.Errorf("copy past the storage limit = %v, want ErrOverQuota", err)
	}
	if _, err := mailbox.Move(ctx, a, m, []mailbox.UID{u1}, "Other"); err != nil {
		t.Errorf("move at the limit (the use does not change): %v", err)
	}
	q, err := a.(mailbox.Quotaer).Quota(ctx)
	if err != nil || q != (mailbox.Quota{StorageUsed: 100, StorageLimit: 100, MessagesUsed: 2, MessagesLimit: 3}) {
		t.Errorf("Quota = %+v, %v", q, err)
	}
	if err := s.SetQuota("sara", 0, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := appendMsg(t, m, ""); !errors.Is(err, mailbox.ErrOverQuota) {
		t.Errorf("append past the message limit = %v, want ErrOverQuota", err)
	}
	if err := a.Delete(ctx, "Other"); err != nil {
		t.Fatal(err)
	}
	if _, err := appendMsg(t, m, ""); err != nil {
		t.Errorf("append after Delete gave the use back: %v", err)
	}
}

func TestAccountCloseReleases(t *testing.T) {
	s := newStore(t)
	a1, err := s.Open(ctx, "sara")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	a1.Watch(func(mailbox.Event) { mu.Lock(); n++; mu.Unlock() })
	if _, err := a1.LockMaildrop(ctx); err != nil {
		t.Fatal(err)
	}
	a1.Close()
	a2, m := open(t, s, mailbox.Inbox)
	release, err := a2.LockMaildrop(ctx)
	if err != nil {
		t.Fatalf("maildrop lock still held after the holder's account closed: %v", err)
	}
	release()
	if _, err := appendMsg(t, m, "x"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 0 {
		t.Errorf("a closed account's watcher got %d events", n)
	}
	if cancel := a1.Watch(func(mailbox.Event) {}); cancel == nil {
		t.Errorf("Watch on a closed account returned a nil cancel")
	}
}

func TestReaderOutlivesExpunge(t *testing.T) {
	s := newStore(t)
	_, m := open(t, s, mailbox.Inbox)
	uid, err := appendMsg(t, m, "still readable")
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Open(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Expunge(ctx, []mailbox.UID{uid}); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(r); err != nil || string(b) != "still readable" {
		t.Errorf("reader after expunge = %q, %v", b, err)
	}
}

func TestTreeErrors(t *testing.T) {
	s := newStore(t)
	a, _ := open(t, s, mailbox.Inbox)
	if err := a.Create(ctx, "X", &mailbox.CreateOptions{SpecialUse: mailbox.AttrNoSelect}); !errors.Is(err, mailbox.ErrNotPermitted) {
		t.Errorf("Create with a non-special-use attribute = %v, want ErrNotPermitted", err)
	}
	if err := a.Create(ctx, "A/B", nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Rename(ctx, "A", "A/B/C"); !errors.Is(err, mailbox.ErrNotPermitted) {
		t.Errorf("Rename under itself = %v, want ErrNotPermitted", err)
	}
	if _, err := a.Mailbox(ctx, "A/B"); err != nil {
		t.Errorf("a refused rename moved the mailbox: %v", err)
	}
	if _, err := mailbox.Copy(ctx, a, mustBox(t, a, "A"), nil, "A/B"); err != nil {
		t.Errorf("Copy of nothing: %v", err)
	}
	if err := a.Delete(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.Copy(ctx, a, mustBox(t, a, "A/B"), []mailbox.UID{1}, "A"); !errors.Is(err, mailbox.ErrNoSelect) {
		t.Errorf("Copy into a \\Noselect mailbox = %v, want ErrNoSelect", err)
	}
}

func mustBox(t *testing.T, a mailbox.Account, name string) mailbox.Mailbox {
	t.Helper()
	m, err := a.Mailbox(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestSetFlagsUnknownOp(t *testing.T) {
	s := newStore(t)
	_, m := open(t, s, mailbox.Inbox)
	uid, _ := appendMsg(t, m, "x")
	if _, err := m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagOp(9), []mailbox.Flag{mailbox.FlagSeen}, 0); err == nil {
		t.Errorf("SetFlags with an unknown operation succeeded")
	}
}

func TestUIDValidityFromClock(t *testing.T) {
	before := uint32(time.Now().Unix())
	s := newStore(t)
	_, m := open(t, s, mailbox.Inbox)
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.UIDValidity < before {
		t.Errorf("UIDVALIDITY %d below the Unix time %d at creation: a restarted store could reuse a client's cached one", st.UIDValidity, before)
	}
}

// endless yields bytes for ever, counting them.
type endless struct{ n int64 }

var xs = bytes.Repeat([]byte("x"), 32<<10)

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, xs)
	e.n += int64(n)
	return n, nil
}

func TestAppendOverQuotaStopsReading(t *testing.T) {
	s := newStore(t)
	_, m := open(t, s, mailbox.Inbox)
	if err := s.SetQuota("sara", 1000, 0); err != nil {
		t.Fatal(err)
	}
	r := &endless{}
	if _, err := m.Append(ctx, r, nil); !errors.Is(err, mailbox.ErrOverQuota) {
		t.Fatalf("endless append under a quota = %v, want ErrOverQuota", err)
	}
	if r.n > 64<<10 {
		t.Errorf("read %d bytes of a message past a 1000-octet quota", r.n)
	}
}

func TestMaxMessageSize(t *testing.T) {
	for _, tc := range []struct {
		max      int64
		size     int64 // -1: endless
		tooLarge bool
	}{
		{100, 100, false},
		{100, 101, true},
		{100, -1, true}, // refused without reading it whole
		{-1, 1000, false},
	} {
		s := &memstore.Store{MaxMessageSize: tc.max}
		if err := s.AddUser("sara", "pw"); err != nil {
			t.Fatal(err)
		}
		_, m := open(t, s, mailbox.Inbox)
		e := &endless{}
		var r io.Reader = e
		if tc.size >= 0 {
			r = io.LimitReader(e, tc.size)
		}
		_, err := m.Append(ctx, r, nil)
		if tc.tooLarge != errors.Is(err, mailbox.ErrTooLarge) || !tc.tooLarge && err != nil {
			t.Errorf("MaxMessageSize %d, message of %d: Append = %v (too large: %v)", tc.max, tc.size, err, tc.tooLarge)
		}
		if e.n > 64<<10 {
			t.Errorf("MaxMessageSize %d: read %d bytes", tc.max, e.n)
		}
	}
}
