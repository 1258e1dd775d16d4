package imap_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/imap/imaptest"
	"github.com/posthorn/posthorn/mailbox"
)

// racyStore makes the race of RFC 2180 §4.1 deterministic: opening the
// message with UID victim first expunges it, as another session would
// between the FETCH's listing and its read of the message.
type racyStore struct {
	mailbox.Store
	victim mailbox.UID
}

func (s *racyStore) Authenticate(ctx context.Context, user, pass string) (string, error) {
	return s.Store.(mailbox.Authenticator).Authenticate(ctx, user, pass)
}

func (s *racyStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(ctx, user)
	if err != nil {
		return nil, err
	}
	return &racyAccount{a, s}, nil
}

type racyAccount struct {
	mailbox.Account
	s *racyStore
}

func (a *racyAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	if err != nil {
		return nil, err
	}
	return &racyMailbox{m, a.s}, nil
}

type racyMailbox struct {
	mailbox.Mailbox
	s *racyStore
}

func (m *racyMailbox) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	if uid == m.s.victim {
		if _, err := m.Mailbox.Expunge(ctx, []mailbox.UID{uid}); err != nil {
			return nil, err
		}
	}
	return m.Mailbox.Open(ctx, uid)
}

// A message expunged by another session while a FETCH runs: the others are
// answered in full and the FETCH ends NO [EXPUNGEISSUED] (RFC 2180 §4.1.3,
// RFC 5530), not NO [NONEXISTENT] "No such mailbox", which would tell the
// client its mailbox is gone.
func TestFetchMessageExpungedMeanwhile(t *testing.T) {
	base := imaptest.NewServer(t, nil)
	for range 3 {
		base.Append(t, "test", "INBOX", hMsg)
	}
	srv := imaptest.NewServer(t, &imaptest.Options{Store: &racyStore{Store: base.Store, victim: 2}})
	c := hLogin(t, srv)
	c.Send("s SELECT INBOX")
	hReadUntil(c, "s")
	c.Send("f FETCH 1:3 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	lines := hReadUntil(c, "f")
	var uids []string
	for _, l := range lines {
		if strings.HasPrefix(l, "* ") && strings.Contains(l, " FETCH (UID ") {
			uids = append(uids, strings.Fields(l)[4])
		}
	}
	if strings.Join(uids, ",") != "1,3" {
		t.Errorf("FETCH answered UIDs %v, want 1 and 3: %q", uids, lines)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "f NO [EXPUNGEISSUED] ") {
		t.Errorf("tagged reply %q, want NO [EXPUNGEISSUED]", last)
	}
	// The expunge is reported at the next command that allows it.
	c.Run("C: n NOOP", "S: * 2 EXPUNGE", "S: n OK *")
}
