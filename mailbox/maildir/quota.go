package maildir

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// quotaLimits are a Store's per-user limits (0: unlimited).
type quotaLimits struct{ storage, messages int64 }

func (q quotaLimits) limited() bool { return q.storage > 0 || q.messages > 0 }

// usage is what a user's mail takes, counted from the folders' indexes.
type usage struct {
	mu                sync.Mutex
	at                time.Time // of the count; zero: never counted
	storage, messages int64
}

// add accounts for a change made in this process since the count.
func (u *usage) add(storage, messages int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.at.IsZero() {
		u.storage += storage
		u.messages += messages
	}
}

func (u *usage) invalidate() {
	u.mu.Lock()
	u.at = time.Time{}
	u.mu.Unlock()
}

// count returns the use of the whole tree, counting again when the last
// count is older than maxAge.
func (t *tree) count(ctx context.Context, maxAge time.Duration) (storage, messages int64, err error) {
	u := &t.use
	u.mu.Lock()
	if !u.at.IsZero() && time.Since(u.at) < maxAge {
		defer u.mu.Unlock()
		return u.storage, u.messages, nil
	}
	u.mu.Unlock()
	now := time.Now()
	names, err := t.names()
	if err != nil {
		return 0, 0, err
	}
	for name, fi := range names {
		if !fi.selectable {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		f, err := t.openFolder(fi.dir, name)
		if errors.Is(err, mailbox.ErrNotExist) || errors.Is(err, mailbox.ErrNoSelect) {
			continue // deleted meanwhile
		}
		if err != nil {
			return 0, 0, err
		}
		st, err := f.statusNow()
		f.release()
		if err != nil && !errors.Is(err, mailbox.ErrNotExist) {
			return 0, 0, err
		}
		storage += st.Size
		messages += int64(st.Messages)
	}
	u.mu.Lock()
	u.at, u.storage, u.messages = now, storage, messages
	u.mu.Unlock()
	return storage, messages, nil
}

// room returns how many octets may still be stored when n messages are
// added (-1: no storage limit), or ErrOverQuota when the message limit
// would be passed.
func (q quotaLimits) room(ctx context.Context, t *tree, n int64) (int64, error) {
	storage, messages, err := t.count(ctx, QuotaRecount)
	if err != nil {
		return 0, err
	}
	if q.messages > 0 && messages+n > q.messages {
		return 0, fmt.Errorf("maildir: %d of %d messages used: %w", messages, q.messages, mailbox.ErrOverQuota)
	}
	if q.storage <= 0 {
		return -1, nil
	}
	return max(q.storage-storage, 0), nil
}

var _ mailbox.Quotaer = (*account)(nil)

// Quota implements mailbox.Quotaer: the user's use over all mailboxes,
// counted now, and the Store's limits.
func (a *account) Quota(ctx context.Context) (mailbox.Quota, error) {
	if err := a.begin(ctx); err != nil {
		return mailbox.Quota{}, err
	}
	storage, messages, err := a.t.count(ctx, 0)
	if err != nil {
		return mailbox.Quota{}, err
	}
	return mailbox.Quota{
		StorageUsed: storage, StorageLimit: a.quota.storage,
		MessagesUsed: messages, MessagesLimit: a.quota.messages,
	}, nil
}
