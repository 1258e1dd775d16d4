package maildir

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

// TestManyHandles runs sessions of one user on separate handles at once
// (append, flag changes, expunge, listing, reading, metadata) and checks
// that a watcher saw every mailbox's events in MODSEQ order and that the
// final state agrees with a fresh reload.
func TestManyHandles(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	watch, err := s.Open(ctx, "alice")
	require.NoError(t, err)
	defer watch.Close()
	var mu sync.Mutex
	last := map[string]mailbox.ModSeq{}
	defer watch.Watch(func(ev mailbox.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.ModSeq != 0 && ev.ModSeq < last[ev.Mailbox] {
			t.Errorf("%s: event %v with MODSEQ %d after %d", ev.Mailbox, ev.Kind, ev.ModSeq, last[ev.Mailbox])
		}
		last[ev.Mailbox] = max(last[ev.Mailbox], ev.ModSeq)
	})()
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			a, err := s.Open(ctx, "alice")
			if err != nil {
				t.Error(err)
				return
			}
			defer a.Close()
			m, err := a.Mailbox(ctx, mailbox.Inbox)
			if err != nil {
				t.Error(err)
				return
			}
			defer m.Close()
			for i := range 15 {
				uid, err := m.Append(ctx, strings.NewReader(fmt.Sprintf("w%d m%d", w, i)), nil)
				if err != nil {
					t.Error(err)
					return
				}
				m.SetFlags(ctx, []mailbox.UID{uid, uid - 1}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen, "$w"}, 0)
				m.(mailbox.MetadataCache).SetMetadata(ctx, uid, []byte("meta"))
				if i%3 == 0 {
					m.Expunge(ctx, []mailbox.UID{uid - 2})
				}
				for info, err := range m.Messages(ctx, uid-3) {
					if err == nil && info.UID > uid {
						break
					}
				}
				if r, err := m.Open(ctx, uid); err == nil {
					r.Close()
				}
			}
		})
	}
	wg.Wait()
	a, err := s.Open(ctx, "alice")
	require.NoError(t, err)
	defer a.Close()
	m, err := a.Mailbox(ctx, mailbox.Inbox)
	require.NoError(t, err)
	st, err := m.Status(ctx)
	require.NoError(t, err)
	f := m.(*mbox).f
	f.mu.Lock()
	reloaded := newState()
	data, lerr := f.root.ReadFile(indexFile)
	if lerr == nil {
		_, lerr = reloaded.readLog(data, nil)
	}
	same := sameState(f.s, reloaded)
	f.mu.Unlock()
	require.NoError(t, lerr)
	assert.True(t, same, "the index on disk does not replay to the state in memory")
	assert.EqualValues(t, st.HighestModSeq, last[mailbox.Inbox])
}
