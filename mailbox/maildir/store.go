package maildir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Directory is the user database a Store consults: it verifies logins,
// maps recipients to users, and says which users exist (Store.Open creates
// the Maildir tree of an existing user on first use). [Users] is one; wrap
// any other source of users (LDAP, SQL, a config file) in your own.
type Directory interface {
	mailbox.Authenticator
	mailbox.RecipientResolver
	// UserExists reports whether user is an account of this store.
	UserExists(ctx context.Context, user string) (bool, error)
}

// Store is a Maildir++ mail store on the local file system
// (mailbox.Store). Each user's mail lives in Root/<user>/. The zero value
// with Root set is ready to use; Store must not be copied after first use.
type Store struct {
	// Root is the directory holding one Maildir++ tree per user. Required.
	Root string

	// Users authenticates logins, resolves recipients and decides which
	// users exist. nil: Authenticate always fails, LookupRecipient maps an
	// address whose local part names an existing tree to that user, and
	// only existing trees (made with CreateUser or by another tool) open.
	Users Directory

	// Bus carries change events to watchers. nil: an in-process bus made on
	// first use.
	Bus mailbox.Bus

	// Logger receives warnings (a rebuilt index, a failed compaction).
	// nil: slog.Default().
	Logger *slog.Logger

	// PollInterval is how often the folders open in this process (and
	// INBOX) are checked for outside changes while someone watches the
	// account (IMAP IDLE), so that mail dropped into new/ by another
	// program is announced without any access. 0 means 2 seconds,
	// negative disables polling: changes are then noticed at the next
	// access.
	PollInterval time.Duration

	// MaxMessageSize is the largest message Append accepts, in octets;
	// a larger one fails with mailbox.ErrTooLarge as soon as the limit is
	// crossed, and nothing is stored. 0 means DefaultMaxMessageSize,
	// negative no limit.
	MaxMessageSize int64

	// ParseOnDelivery makes Append parse each message's MIME structure,
	// as the IMAP server does for FETCH ENVELOPE or BODYSTRUCTURE, and
	// keep it in the metadata cache (mailbox.MetadataCache), so that no
	// FETCH over a large mailbox reads the message files. It costs each
	// append one read of the message from the page cache. false: the
	// structure is cached at the first FETCH that needs it.
	ParseOnDelivery bool

	// QuotaStorage and QuotaMessages limit each user's mail (RFC 9208):
	// octets and messages over all mailboxes. 0 means unlimited. Append
	// and copies that would pass a limit fail with mailbox.ErrOverQuota;
	// Account.Quota reports use and limits. The check counts the use of
	// all folders as of at most QuotaRecount ago, plus what this process
	// added since, so appends racing in other processes may overshoot a
	// little.
	QuotaStorage, QuotaMessages int64

	once sync.Once
	bus  mailbox.Bus
	root string // absolute Root
	err  error
}

var (
	_ mailbox.Store             = (*Store)(nil)
	_ mailbox.Authenticator     = (*Store)(nil)
	_ mailbox.RecipientResolver = (*Store)(nil)
)

// QuotaRecount is the longest the store trusts a count of a user's use of
// the quota before it counts again.
const QuotaRecount = 2 * time.Second

// Defaults of the Store fields left zero.
const (
	DefaultPollInterval   = 2 * time.Second
	DefaultMaxMessageSize = 64 << 20
)

func (s *Store) maxMessageSize() int64 {
	switch {
	case s.MaxMessageSize == 0:
		return DefaultMaxMessageSize
	case s.MaxMessageSize < 0:
		return -1
	}
	return s.MaxMessageSize
}

func (s *Store) init() error {
	s.once.Do(func() {
		s.bus = s.Bus
		if s.bus == nil {
			s.bus = mailbox.NewBus()
		}
		if s.Root == "" {
			s.err = errors.New("maildir: Store.Root is empty")
			return
		}
		s.root, s.err = filepath.Abs(s.Root)
	})
	return s.err
}

func (s *Store) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Store) pollInterval() time.Duration {
	switch {
	case s.PollInterval == 0:
		return DefaultPollInterval
	case s.PollInterval < 0:
		return 0
	}
	return s.PollInterval
}

// userDir returns the directory of user's tree, refusing names that could
// leave Root.
func (s *Store) userDir(user string) (string, error) {
	if err := s.init(); err != nil {
		return "", err
	}
	if err := validUser(user); err != nil {
		return "", err
	}
	return filepath.Join(s.root, user), nil
}

// Open opens the account of user (mailbox.Store). A user whose tree does
// not exist yet gets one when Users says the user exists; otherwise the
// error wraps mailbox.ErrNotExist. A tree that is a symbolic link is
// refused.
func (s *Store) Open(ctx context.Context, user string) (mailbox.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := s.userDir(user)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ok := false
		if s.Users != nil {
			if ok, err = s.Users.UserExists(ctx, user); err != nil {
				return nil, err
			}
		}
		if !ok {
			return nil, fmt.Errorf("maildir: user %q: %w", user, mailbox.ErrNotExist)
		}
		if err := s.createTree(dir); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("maildir: user %q: not a directory: %w", user, mailbox.ErrNotExist)
	}
	t, err := acquireTree(dir, user, s.bus, s.logger(), s.pollInterval())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("maildir: user %q: %w", user, mailbox.ErrNotExist)
		}
		return nil, err
	}
	return &account{t: t, bus: s.bus, maxSize: s.maxMessageSize(), parse: s.ParseOnDelivery,
		quota: quotaLimits{storage: s.QuotaStorage, messages: s.QuotaMessages}}, nil
}

// CreateUser makes the Maildir++ tree of user (an empty INBOX), if it does
// not exist yet.
func (s *Store) CreateUser(ctx context.Context, user string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := s.userDir(user)
	if err != nil {
		return err
	}
	return s.createTree(dir)
}

// createTree makes the Maildir++ tree of a user at dir. A new tree is
// built under a temporary name in the root and renamed into place, so a
// concurrent Open never sees a half-made one (user names never start with
// ".", so the temporary name is no user's). When another creator wins the
// race, its tree is kept. An existing tree gets any missing tmp/ new/ cur/.
func (s *Store) createTree(dir string) error {
	if err := os.MkdirAll(s.root, 0o700); err != nil {
		return err
	}
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("maildir: %s is not a directory", dir)
		}
		return makeMaildirDirs(dir)
	}
	tmp, err := os.MkdirTemp(s.root, ".posthorn-newuser-")
	if err != nil {
		return err
	}
	if err := makeMaildirDirs(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := fsyncPath(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if fi, lerr := os.Lstat(dir); lerr == nil && fi.IsDir() {
			return nil // a concurrent creator made it first
		}
		return err
	}
	return fsyncPath(s.root)
}

// makeMaildirDirs makes tmp/, new/ and cur/ in dir, keeping those that exist.
func makeMaildirDirs(dir string) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

func fsyncPath(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Authenticate verifies a login through Users (mailbox.Authenticator).
func (s *Store) Authenticate(ctx context.Context, username, password string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.Users == nil {
		return "", fmt.Errorf("maildir: no user directory: %w", mailbox.ErrAuthFailed)
	}
	return s.Users.Authenticate(ctx, username, password)
}

// LookupRecipient maps an envelope recipient to a user
// (mailbox.RecipientResolver): through Users when set, otherwise to the
// user named by the address's local part when that user's tree exists.
func (s *Store) LookupRecipient(ctx context.Context, address string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.Users != nil {
		return s.Users.LookupRecipient(ctx, address)
	}
	local := address
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		local = address[:i]
	}
	dir, err := s.userDir(local)
	if err != nil {
		return "", err
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("maildir: recipient %q: %w", address, mailbox.ErrNotExist)
	}
	return local, nil
}
