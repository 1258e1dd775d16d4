package imap

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// sorterStore wraps a store so that its mailboxes' mailbox.Sorter can be
// switched off (answering errors.ErrUnsupported) and its use counted.
type sorterStore struct {
	mailbox.Store
	off    atomic.Bool
	served atomic.Int64 // sorts the store answered
}

type sorterAccount struct {
	mailbox.Account
	s *sorterStore
}

type sorterMailbox struct {
	mailbox.Mailbox
	s *sorterStore
}

func (s *sorterStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(ctx, user)
	if err != nil {
		return nil, err
	}
	return sorterAccount{a, s}, nil
}

func (a sorterAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	mb, err := a.Account.Mailbox(ctx, name)
	if err != nil {
		return nil, err
	}
	return sorterMailbox{mb, a.s}, nil
}

func (m sorterMailbox) Sort(ctx context.Context, crit []mailbox.SortCriterion, uids []mailbox.UID) ([]mailbox.UID, error) {
	if m.s.off.Load() {
		return nil, errors.ErrUnsupported
	}
	out, err := m.Mailbox.(mailbox.Sorter).Sort(ctx, crit, uids)
	if err == nil {
		m.s.served.Add(1)
	}
	return out, err
}

// SORT pushed down to the store's Sorter (memstore's ARRIVAL and SIZE)
// gives what the library computes from the messages, over random
// messages and criteria; criteria the store cannot do fall back.
func TestSortPushdownMatchesLibrary(t *testing.T) {
	mem := memstore.New()
	require.NoError(t, mem.AddUser("sara", "secret", "sara@example.org"))
	st := &sorterStore{Store: mem}
	e := newTestEnvStore(t, st, func(s *Server) { s.Auth = mem })
	rng := rand.New(rand.NewPCG(5267, 9394))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
		for i := range 40 {
			// Few distinct dates and sizes, so ties are common.
			body := strings.Repeat("y", rng.IntN(4)*10)
			m := sortMsg(fmt.Sprintf("u%d@example.org", rng.IntN(5)), "x@example.org",
				fmt.Sprintf("Re: topic %d", rng.IntN(6)), base.AddDate(0, 0, rng.IntN(9)).Format(time.RFC1123Z), body)
			var flags []mailbox.Flag
			if i%4 == 0 {
				flags = []mailbox.Flag{mailbox.FlagSeen}
			}
			_, err := mb.Append(ctx, strings.NewReader(m), &mailbox.AppendOptions{
				Flags: flags, InternalDate: base.Add(time.Duration(rng.IntN(5)) * time.Hour),
			})
			require.NoError(t, err)
		}
	})
	c := e.selectInbox()
	keys := []string{"ARRIVAL", "SIZE", "SUBJECT", "FROM", "DATE"}
	searches := []string{"ALL", "UNSEEN", "LARGER 125", "NOT SEEN SMALLER 140", "LARGER 100000"}
	pushable := int64(0)
	for i := range 60 {
		var crit []string
		storeCan := true
		for range 1 + rng.IntN(3) {
			k := keys[rng.IntN(len(keys))]
			storeCan = storeCan && (k == "ARRIVAL" || k == "SIZE")
			if rng.IntN(2) == 0 {
				k = "REVERSE " + k
			}
			crit = append(crit, k)
		}
		cmd := fmt.Sprintf("UID SORT (%s) UTF-8 %s", strings.Join(crit, " "), searches[rng.IntN(len(searches))])
		st.off.Store(false)
		before := st.served.Load()
		c.send(fmt.Sprintf("p%d %s", i, cmd))
		pushed := c.readLine()
		c.expect(fmt.Sprintf("p%d OK *", i))
		if storeCan && pushed != "* SORT" { // an empty result asks the store nothing
			pushable++
			assert.Equal(t, before+1, st.served.Load(), "%s: not pushed down", cmd)
		} else {
			assert.Equal(t, before, st.served.Load(), "%s: pushed down", cmd)
		}
		st.off.Store(true)
		c.send(fmt.Sprintf("l%d %s", i, cmd))
		library := c.readLine()
		c.expect(fmt.Sprintf("l%d OK *", i))
		assert.Equal(t, library, pushed, cmd)
	}
	assert.Positive(t, pushable)
}
