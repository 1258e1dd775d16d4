package memstore

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Store is an in-memory mailbox.Store. It also authenticates its users
// (mailbox.Authenticator, mailbox.TokenAuthenticator,
// mailbox.SecretAuthenticator) and resolves their addresses
// (mailbox.RecipientResolver).
//
// A Store is safe for concurrent use. Create it with New, or use the zero
// value; set the exported fields before the first call of any method.
type Store struct {
	// Bus carries change events to every Account.Watch of a user. nil means
	// a private mailbox.NewBus, created at first use. Set it to share the
	// bus with something else that publishes (or listens) for the same users.
	Bus mailbox.Bus

	// MaxMessageSize is the largest message Append accepts, in octets;
	// larger ones fail with mailbox.ErrTooLarge before they are read
	// whole. Zero means DefaultMaxMessageSize, a negative value no limit.
	MaxMessageSize int64

	initOnce sync.Once
	bus      mailbox.Bus

	mu          sync.RWMutex
	users       map[string]*user
	addrs       map[string]string // lower-cased address → user name
	uidValidity uint32            // last UIDVALIDITY handed out, store-wide; starts at the Unix time
	boxID       uint64            // last mailbox id, orders locks of two mailboxes
}

var (
	_ mailbox.Store               = (*Store)(nil)
	_ mailbox.Authenticator       = (*Store)(nil)
	_ mailbox.TokenAuthenticator  = (*Store)(nil)
	_ mailbox.SecretAuthenticator = (*Store)(nil)
	_ mailbox.RecipientResolver   = (*Store)(nil)
)

// DefaultMaxMessageSize is the message size limit of a Store whose
// MaxMessageSize is zero.
const DefaultMaxMessageSize = 64 << 20

func (s *Store) maxMessageSize() int64 {
	switch {
	case s.MaxMessageSize == 0:
		return DefaultMaxMessageSize
	case s.MaxMessageSize < 0:
		return -1
	}
	return s.MaxMessageSize
}

// New returns an empty store with a private event bus.
func New() *Store {
	s := &Store{}
	s.init()
	return s
}

func (s *Store) init() {
	s.initOnce.Do(func() {
		s.bus = s.Bus
		if s.bus == nil {
			s.bus = mailbox.NewBus()
		}
		s.mu.Lock()
		if s.users == nil {
			s.users = make(map[string]*user)
			s.addrs = make(map[string]string)
		}
		// Start from the clock, as Dovecot does, so that a store made
		// after a restart does not hand a client's cached UIDVALIDITY
		// to different messages.
		s.uidValidity = uint32(time.Now().Unix())
		s.mu.Unlock()
	})
}

// user is one account's data. mu guards the mailbox tree, the subscriptions
// and the quota counters; each mailbox has its own lock for its messages.
// Lock order: user.mu before mbox.mu.
type user struct {
	name string

	// credentials, guarded by Store.mu
	password string
	token    string

	store *Store

	mu     sync.Mutex
	boxes  map[string]*mbox // canonical name → mailbox (selectable or \Noselect)
	subs   map[string]bool
	locked bool // the POP3 maildrop lock

	// quotaLock guards the use and limits, shared by appends to different
	// mailboxes; it is taken last, after mbox.mu.
	quotaLock sync.Mutex
	storage   int64
	messages  int64
	maxStore  int64 // 0: unlimited
	maxMsgs   int64
}

// AddUser creates a user with password (an empty password disables password
// login) and an empty INBOX. The addresses are the envelope recipients
// delivered to the user (matched case-insensitively). It returns an error
// wrapping mailbox.ErrExist when the user or one of the addresses is taken.
func (s *Store) AddUser(name, password string, addresses ...string) error {
	s.init()
	if name == "" {
		return errors.New("memstore: empty user name")
	}
	for _, a := range addresses {
		if !strings.Contains(a, "@") {
			return fmt.Errorf("memstore: address %q has no domain", a)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; ok {
		return fmt.Errorf("memstore: user %q: %w", name, mailbox.ErrExist)
	}
	for _, a := range addresses {
		if _, ok := s.addrs[strings.ToLower(a)]; ok {
			return fmt.Errorf("memstore: address %q: %w", a, mailbox.ErrExist)
		}
	}
	u := &user{
		name:     name,
		password: password,
		boxes:    make(map[string]*mbox),
		subs:     make(map[string]bool),
		store:    s,
	}
	uv, id := s.nextIDsLocked()
	u.boxes[mailbox.Inbox] = newMbox(mailbox.Inbox, uv, id)
	s.users[name] = u
	for _, a := range addresses {
		s.addrs[strings.ToLower(a)] = name
	}
	return nil
}

// SetToken sets the OAuth bearer token AuthenticateToken accepts for user;
// an empty token disables token login (the default).
func (s *Store) SetToken(name, token string) error {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return fmt.Errorf("memstore: user %q: %w", name, mailbox.ErrNotExist)
	}
	u.token = token
	return nil
}

// SetQuota sets the limits of user (RFC 9208): the total octets and the
// number of messages over all mailboxes; zero means unlimited. Append,
// copy and move fail with mailbox.ErrOverQuota when they would exceed a limit.
func (s *Store) SetQuota(name string, storage, messages int64) error {
	u, err := s.user(name)
	if err != nil {
		return err
	}
	u.quotaLock.Lock()
	u.maxStore, u.maxMsgs = storage, messages
	u.quotaLock.Unlock()
	return nil
}

func (s *Store) user(name string) (*user, error) {
	s.init()
	s.mu.RLock()
	u, ok := s.users[name]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("memstore: user %q: %w", name, mailbox.ErrNotExist)
	}
	return u, nil
}

// nextUIDValidity returns a UIDVALIDITY never handed out before by s, and an id
// for a new mailbox.
func (s *Store) nextUIDValidity() (uint32, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextIDsLocked()
}

// nextIDsLocked is nextUIDValidity with s.mu held.
func (s *Store) nextIDsLocked() (uint32, uint64) {
	s.uidValidity++
	if s.uidValidity == 0 { // wrapped: zero is not a UIDVALIDITY
		s.uidValidity = 1
	}
	s.boxID++
	return s.uidValidity, s.boxID
}

// Open implements mailbox.Store.
func (s *Store) Open(ctx context.Context, name string) (mailbox.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := s.user(name)
	if err != nil {
		return nil, err
	}
	return &account{u: u, bus: s.bus}, nil
}

// lookup returns the user a login name designates: a user name or one of
// the user's addresses.
func (s *Store) lookup(login string) (*user, bool) {
	s.init()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u, ok := s.users[login]; ok {
		return u, true
	}
	if n, ok := s.addrs[strings.ToLower(login)]; ok {
		return s.users[n], true
	}
	return nil, false
}

// Authenticate implements mailbox.Authenticator. username is a user name or
// one of the user's addresses.
func (s *Store) Authenticate(ctx context.Context, username, password string) (string, error) {
	return s.check(ctx, username, password, func(u *user) string { return u.password })
}

// AuthenticateToken implements mailbox.TokenAuthenticator with the tokens
// set by SetToken.
func (s *Store) AuthenticateToken(ctx context.Context, username, token string) (string, error) {
	return s.check(ctx, username, token, func(u *user) string { return u.token })
}

func (s *Store) check(ctx context.Context, login, given string, secret func(*user) string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	u, ok := s.lookup(login)
	want := ""
	if ok {
		s.mu.RLock()
		want = secret(u)
		s.mu.RUnlock()
	}
	if !ok || want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(given)) != 1 {
		return "", mailbox.ErrAuthFailed
	}
	return u.name, nil
}

// Secret implements mailbox.SecretAuthenticator: the secret is the password.
// A user without a password gets an error wrapping mailbox.ErrAuthFailed.
func (s *Store) Secret(ctx context.Context, username string) (string, string, error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	u, ok := s.lookup(username)
	if !ok {
		return "", "", mailbox.ErrAuthFailed
	}
	s.mu.RLock()
	pw := u.password
	s.mu.RUnlock()
	if pw == "" {
		return "", "", mailbox.ErrAuthFailed
	}
	return u.name, pw, nil
}

// LookupRecipient implements mailbox.RecipientResolver: address is matched
// case-insensitively against the addresses given to AddUser.
func (s *Store) LookupRecipient(ctx context.Context, address string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.init()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if n, ok := s.addrs[strings.ToLower(address)]; ok {
		return n, nil
	}
	return "", fmt.Errorf("memstore: recipient %q: %w", address, mailbox.ErrNotExist)
}
