package imap

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/posthorn/posthorn/mailbox"
)

// searchingStore wraps a store so that its mailboxes implement
// mailbox.Searcher for flag and UID criteria only.
type searchingStore struct {
	mailbox.Store
	calls, pushed atomic.Int32
}

type searchingAccount struct {
	mailbox.Account
	s *searchingStore
}

type searchingMailbox struct {
	mailbox.Mailbox
	s *searchingStore
}

func (s *searchingStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(ctx, user)
	if err != nil {
		return nil, err
	}
	return searchingAccount{a, s}, nil
}

func (s *searchingStore) Authenticate(ctx context.Context, u, p string) (string, error) {
	return s.Store.(mailbox.Authenticator).Authenticate(ctx, u, p)
}

func (a searchingAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	if err != nil {
		return nil, err
	}
	return searchingMailbox{m, a.s}, nil
}

func (m searchingMailbox) Search(ctx context.Context, c *mailbox.SearchCriteria) ([]mailbox.UID, error) {
	m.s.calls.Add(1)
	rest := *c
	rest.UIDs, rest.WithFlags, rest.WithoutFlags = nil, nil, nil
	if !reflect.ValueOf(rest).IsZero() {
		return nil, errors.ErrUnsupported
	}
	m.s.pushed.Add(1)
	var out []mailbox.UID
	for info, err := range m.Messages(ctx, 1) {
		if err != nil {
			return nil, err
		}
		ok := c.UIDs == nil
		for _, r := range c.UIDs {
			ok = ok || (r.Start <= info.UID && info.UID <= r.Stop)
		}
		for _, f := range c.WithFlags {
			ok = ok && info.HasFlag(f)
		}
		for _, f := range c.WithoutFlags {
			ok = ok && !info.HasFlag(f)
		}
		if ok {
			out = append(out, info.UID)
		}
	}
	return out, nil
}

func TestSearchPushedToStore(t *testing.T) {
	ss := &searchingStore{}
	e := newTestEnv(t, func(s *Server) { ss.Store, s.Store = s.Store, ss })
	e.appendMsg("INBOX", msg("1", "x\r\n"), `\Seen`)
	e.appendMsg("INBOX", msg("2", "x\r\n"))
	e.appendMsg("INBOX", msg("3", "x\r\n"), `\Seen`, `\Flagged`)
	c := e.selectInbox()
	c.run(
		"C: a SEARCH SEEN UNFLAGGED",
		"S: * SEARCH 1",
		"S: a OK *",
		"C: b UID SEARCH 2:* UNSEEN",
		"S: * SEARCH 2",
		"S: b OK *",
	)
	assert.Equal(t, int32(2), ss.pushed.Load())
	c.run(
		// The store cannot do BODY: the library answers.
		"C: c SEARCH BODY x SEEN",
		"S: * SEARCH 1 3",
		"S: c OK *",
		// RECENT is session state: the store is not asked.
		"C: d SEARCH RECENT",
		"S: * SEARCH",
		"S: d OK *",
	)
	assert.Equal(t, int32(3), ss.calls.Load())
	assert.Equal(t, int32(2), ss.pushed.Load())
}

func TestIntersectRanges(t *testing.T) {
	got := intersectRanges([]mailbox.UIDRange{{Start: 1, Stop: 5}, {Start: 8, Stop: 10}}, []mailbox.UIDRange{{Start: 4, Stop: 9}})
	assert.Equal(t, []mailbox.UIDRange{{Start: 4, Stop: 5}, {Start: 8, Stop: 9}}, got)
}

func TestStoreCriteriaTranslation(t *testing.T) {
	d := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	v := testView(10, 20, 30)
	s := &searchCtx{c: &conn{view: v}, now: d, seqSets: map[*SearchKey]NumSet{}}
	key := SearchKey{Key: "AND", Keys: []SearchKey{
		{Key: "ON", Date: d},
		{Key: "FROM", Str: "bob"},
		{Key: "SEQSET", Set: NumSet{Ranges: []Range{{Start: 2, Stop: Star}}}},
		{Key: "OR", Keys: []SearchKey{{Key: "BODY", Str: "x"}, {Key: "KEYWORD", Flag: "$Work"}}},
		{Key: "NOT", Keys: []SearchKey{{Key: "LARGER", Num: 100}}},
		{Key: "UNDELETED"},
	}}
	s.prepare(&key)
	got, err := s.storeCriteria(&key)
	assert.NoError(t, err)
	assert.Equal(t, mailbox.SearchCriteria{
		Since:        d,
		Before:       d.AddDate(0, 0, 1),
		Header:       []mailbox.SearchHeader{{Name: "From", Value: "bob"}},
		UIDs:         []mailbox.UIDRange{{Start: 20, Stop: 30}},
		Or:           [][2]mailbox.SearchCriteria{{{Body: []string{"x"}}, {WithFlags: []mailbox.Flag{"$Work"}}}},
		Not:          []mailbox.SearchCriteria{{Larger: 100}},
		WithoutFlags: []mailbox.Flag{mailbox.FlagDeleted},
	}, got)
	_, err = s.storeCriteria(&SearchKey{Key: "NEW"})
	assert.ErrorIs(t, err, errNoPushdown)
}
