package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/posthorn/posthorn/mailbox"
)

// ErrIO is the injected I/O error: it wraps syscall.EIO.
var ErrIO = fmt.Errorf("soak: injected: %w", syscall.EIO)

// FaultStore wraps a mailbox.Store and makes its operations fail at random:
// with probability Rate each Append, Open (of a message), SetFlags and
// Expunge returns mailbox.ErrOverQuota (disk full) or ErrIO (EIO) before it
// changes anything, or, for Append, fails the message stream half-way so
// that the underlying store sees a read error. An injected failure never
// follows a change that was made: what a caller was told failed did not
// happen, so a client that retries loses and duplicates nothing.
//
// FaultStore forwards mailbox.Authenticator and mailbox.RecipientResolver
// to the wrapped store. It hides the optional fast paths (Searcher,
// MetadataCache, Copier, Mover), so servers take their generic paths.
type FaultStore struct {
	mailbox.Store
	// Rate is the probability of a failure per operation, 0 ≤ Rate ≤ 1.
	Rate float64
	// Seed seeds the random choices, for reproducible runs.
	Seed uint64

	once     sync.Once
	mu       sync.Mutex
	rnd      *rand.Rand
	injected atomic.Int64
	off      atomic.Bool
}

// Injected returns how many failures were injected so far.
func (f *FaultStore) Injected() int64 { return f.injected.Load() }

// Stop ends the injection (for the consistency check after a run).
func (f *FaultStore) Stop() { f.off.Store(true) }

// fault returns an error to inject, or nil.
func (f *FaultStore) fault() error {
	if f.off.Load() {
		return nil
	}
	f.once.Do(func() { f.rnd = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)) })
	f.mu.Lock()
	hit, quota := f.rnd.Float64() < f.Rate, f.rnd.IntN(2) == 0
	f.mu.Unlock()
	if !hit {
		return nil
	}
	f.injected.Add(1)
	if quota {
		return fmt.Errorf("soak: injected: %w", mailbox.ErrOverQuota)
	}
	return ErrIO
}

// Authenticate forwards to the wrapped store.
func (f *FaultStore) Authenticate(ctx context.Context, user, pass string) (string, error) {
	a, ok := f.Store.(mailbox.Authenticator)
	if !ok {
		return "", mailbox.ErrAuthFailed
	}
	return a.Authenticate(ctx, user, pass)
}

// LookupRecipient forwards to the wrapped store.
func (f *FaultStore) LookupRecipient(ctx context.Context, addr string) (string, error) {
	r, ok := f.Store.(mailbox.RecipientResolver)
	if !ok {
		return "", mailbox.ErrNotExist
	}
	return r.LookupRecipient(ctx, addr)
}

// Open opens the account of user.
func (f *FaultStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := f.Store.Open(ctx, user)
	if err != nil {
		return nil, err
	}
	return &faultAccount{a, f}, nil
}

type faultAccount struct {
	mailbox.Account
	f *FaultStore
}

func (a *faultAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	if err != nil {
		return nil, err
	}
	return &faultMailbox{m, a.f}, nil
}

type faultMailbox struct {
	mailbox.Mailbox
	f *FaultStore
}

func (m *faultMailbox) Append(ctx context.Context, r io.Reader, opts *mailbox.AppendOptions) (mailbox.UID, error) {
	if err := m.f.fault(); err != nil {
		if errors.Is(err, ErrIO) {
			// Fail half-way through the stream instead.
			r = &failingReader{r: r, after: 16, err: err}
		} else {
			return 0, err
		}
	}
	return m.Mailbox.Append(ctx, r, opts)
}

func (m *faultMailbox) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	if err := m.f.fault(); err != nil {
		return nil, err
	}
	return m.Mailbox.Open(ctx, uid)
}

func (m *faultMailbox) SetFlags(ctx context.Context, uids []mailbox.UID, op mailbox.FlagOp, flags []mailbox.Flag, since mailbox.ModSeq) (mailbox.FlagResult, error) {
	if err := m.f.fault(); err != nil {
		return mailbox.FlagResult{}, err
	}
	return m.Mailbox.SetFlags(ctx, uids, op, flags, since)
}

func (m *faultMailbox) Expunge(ctx context.Context, uids []mailbox.UID) ([]mailbox.UID, error) {
	if err := m.f.fault(); err != nil {
		return nil, err
	}
	return m.Mailbox.Expunge(ctx, uids)
}

// failingReader returns err once after bytes have been read.
type failingReader struct {
	r     io.Reader
	after int
	err   error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.after <= 0 {
		return 0, r.err
	}
	if len(p) > r.after {
		p = p[:r.after]
	}
	n, err := r.r.Read(p)
	r.after -= n
	return n, err
}
