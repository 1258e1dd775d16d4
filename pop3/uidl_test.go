package pop3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// uidlStore gives its INBOX a mailbox.UIDLer.
type uidlStore struct {
	mailbox.Store
	mailbox.Authenticator
}

func (s *uidlStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(ctx, user)
	return &uidlAccount{a}, err
}

type uidlAccount struct{ mailbox.Account }

func (a *uidlAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	return &uidlMailbox{m}, err
}

type uidlMailbox struct{ mailbox.Mailbox }

func (m *uidlMailbox) UIDL(ctx context.Context, uid mailbox.UID) (string, error) {
	switch uid {
	case 1:
		return "custom-id-1", nil
	case 2:
		return "has space", nil // invalid: the default is used
	}
	return "", errors.New("no id")
}

func TestUIDLer(t *testing.T) {
	st := newStore(t, msg1, msg2, msg1)
	srv := &Server{Store: &uidlStore{st, st}, AllowInsecureAuth: true}
	w := dialWire(t, startServer(t, srv))
	w.login()
	s := status(t, st)
	w.run("C: UIDL", "S: +OK*",
		"S: 1 custom-id-1",
		fmt.Sprintf("S: 2 %d.2", s.UIDValidity),
		fmt.Sprintf("S: 3 %d.3", s.UIDValidity),
		"S: .",
		"C: UIDL 1", "S: +OK 1 custom-id-1")
}

func TestClientTraceRedacts(t *testing.T) {
	st := newStore(t, msg1)
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	var logs syncBuffer
	d := &Dialer{Security: Plaintext, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: LevelTrace}))}
	ctx := testCtx(t)
	c, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
	c2, _ := d.Dial(ctx, addr)
	defer c2.Close()
	if err := c2.Auth(ctx, SCRAMSHA256Auth("", "sara", "secret")); err != nil {
		t.Fatal(err)
	}
	r, _ := c2.Retr(ctx, 1)
	readAll(t, r)
	out := logs.String()
	if strings.Contains(out, "secret") || strings.Contains(out, "Hello") || bytes.Contains([]byte(out), []byte("biws")) {
		t.Fatalf("client trace leaks:\n%s", out)
	}
	if !strings.Contains(out, "C: PASS ***") || !strings.Contains(out, "C: RETR 1") {
		t.Fatalf("client trace incomplete:\n%s", out)
	}
}

// batchMailbox is a uidlMailbox that also lists ids in batch, counting the
// calls of each kind.
type batchMailbox struct {
	uidlMailbox
	single, batch *int
}

func (m *batchMailbox) UIDL(ctx context.Context, uid mailbox.UID) (string, error) {
	*m.single++
	return m.uidlMailbox.UIDL(ctx, uid)
}

func (m *batchMailbox) UIDLs(ctx context.Context, uids []mailbox.UID) ([]string, error) {
	*m.batch++
	out := make([]string, len(uids))
	for i, uid := range uids {
		switch uid {
		case 1:
			out[i] = "batch-id-1"
		case 2:
			out[i] = "" // gone since the snapshot: asked alone
		}
	}
	return out, nil
}

type batchAccount struct {
	mailbox.Account
	single, batch *int
}

func (a *batchAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	return &batchMailbox{uidlMailbox{m}, a.single, a.batch}, err
}

type batchStore struct {
	mailbox.Store
	mailbox.Authenticator
	single, batch int
}

func (s *batchStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(ctx, user)
	return &batchAccount{a, &s.single, &s.batch}, err
}

// TestUIDLBatch: a store that lists unique ids in batch is asked once for
// the whole listing; ids it does not give are asked one by one, and later
// listings ask nothing again.
func TestUIDLBatch(t *testing.T) {
	st := newStore(t, msg1, msg2, msg1)
	bs := &batchStore{Store: st, Authenticator: st}
	w := dialWire(t, startServer(t, &Server{Store: bs, AllowInsecureAuth: true}))
	w.login()
	s := status(t, st)
	listing := []string{"C: UIDL", "S: +OK*",
		"S: 1 batch-id-1",
		fmt.Sprintf("S: 2 %d.2", s.UIDValidity), // batch "", UIDL invalid: the default
		fmt.Sprintf("S: 3 %d.3", s.UIDValidity), // batch invalid (""), UIDL fails: the default
		"S: ."}
	w.run(listing...)
	w.run(listing...)
	w.run("C: UIDL 1", "S: +OK 1 batch-id-1", "C: QUIT", "S: +OK*")
	if bs.batch != 1 || bs.single != 2 {
		t.Errorf("store asked %d times in batch and %d alone, want 1 and 2", bs.batch, bs.single)
	}
}
