package maildir

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/posthorn/posthorn/mailbox"
)

// Users is an in-memory user table, safe for concurrent use: a Directory
// for Store.Users. Fill it with Add or from a Dovecot-style passwd-file
// with ReadPasswdFile. The zero value is an empty table.
type Users struct {
	mu    sync.RWMutex
	users map[string]*userEntry
	addrs map[string]string // lower-case address → user
}

type userEntry struct {
	scheme string // PLAIN, BLF-CRYPT, SHA512-CRYPT
	secret string
}

var _ Directory = (*Users)(nil)

// Add adds or replaces user with a password kept in the clear (for tests
// and small setups; use AddHash otherwise) and the recipient addresses that
// deliver to the user.
func (u *Users) Add(user, password string, addresses ...string) error {
	return u.add(user, "PLAIN", password, addresses)
}

// AddHash adds or replaces user with a hashed password in the passwd-file
// notation: "{BLF-CRYPT}$2y$...", "{SHA512-CRYPT}$6$...", "{PLAIN}secret"
// (a hash without a scheme prefix is taken as crypt(3) output: "$2" bcrypt
// or "$6$" SHA-512).
func (u *Users) AddHash(user, hash string, addresses ...string) error {
	scheme, secret, err := splitScheme(hash)
	if err != nil {
		return err
	}
	return u.add(user, scheme, secret, addresses)
}

func (u *Users) add(user, scheme, secret string, addresses []string) error {
	if err := validUser(user); err != nil {
		return fmt.Errorf("maildir: invalid user name %q", user)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.users == nil {
		u.users = make(map[string]*userEntry)
		u.addrs = make(map[string]string)
	}
	u.users[user] = &userEntry{scheme: scheme, secret: secret}
	for _, a := range addresses {
		u.addrs[strings.ToLower(a)] = user
	}
	return nil
}

func splitScheme(hash string) (scheme, secret string, err error) {
	if strings.HasPrefix(hash, "{") {
		end := strings.IndexByte(hash, '}')
		if end < 0 {
			return "", "", fmt.Errorf("maildir: password %q: unterminated scheme", shortHash(hash))
		}
		scheme, secret = strings.ToUpper(hash[1:end]), hash[end+1:]
	} else {
		switch {
		case strings.HasPrefix(hash, "$2"):
			scheme, secret = "BLF-CRYPT", hash
		case strings.HasPrefix(hash, "$6$"):
			scheme, secret = "SHA512-CRYPT", hash
		default:
			return "", "", fmt.Errorf("maildir: password %q: no {SCHEME} prefix", shortHash(hash))
		}
	}
	switch scheme {
	case "PLAIN", "CLEAR", "CLEARTEXT":
		scheme = "PLAIN"
	case "BLF-CRYPT", "SHA512-CRYPT":
	case "CRYPT":
		if strings.HasPrefix(secret, "$6$") {
			scheme = "SHA512-CRYPT"
		} else if strings.HasPrefix(secret, "$2") {
			scheme = "BLF-CRYPT"
		} else {
			return "", "", fmt.Errorf("maildir: unsupported crypt(3) hash %q", shortHash(secret))
		}
	default:
		return "", "", fmt.Errorf("maildir: unsupported password scheme {%s}", scheme)
	}
	return scheme, secret, nil
}

func shortHash(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// ReadPasswdFile loads a Dovecot-style passwd-file: one user per line,
// "user:{SCHEME}password:uid:gid:gecos:home:shell:extra", of which only the
// first two fields are used. Empty lines and lines starting with "#" are
// skipped. A user name with "@" also receives mail for that address.
func ReadPasswdFile(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParsePasswd(f)
}

// ParsePasswd reads a passwd-file (see ReadPasswdFile) from r.
func ParsePasswd(r io.Reader) (*Users, error) {
	u := new(Users)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, ":", 3)
		if len(fields) < 2 || fields[0] == "" {
			return nil, fmt.Errorf("maildir: passwd-file line %d: want user:password", n)
		}
		var addrs []string
		if strings.Contains(fields[0], "@") {
			addrs = append(addrs, fields[0])
		}
		if err := u.AddHash(fields[0], fields[1], addrs...); err != nil {
			return nil, fmt.Errorf("maildir: passwd-file line %d: %w", n, err)
		}
	}
	return u, sc.Err()
}

// UserExists implements Directory.
func (u *Users) UserExists(ctx context.Context, user string) (bool, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	_, ok := u.users[user]
	return ok, nil
}

// Authenticate implements mailbox.Authenticator. username is a user name
// or one of the user's addresses.
func (u *Users) Authenticate(ctx context.Context, username, password string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	u.mu.RLock()
	e, ok := u.users[username]
	user := username
	if !ok {
		if user, ok = u.addrs[strings.ToLower(username)]; ok {
			e = u.users[user]
		}
	}
	u.mu.RUnlock()
	if e == nil || !e.verify(password) {
		return "", fmt.Errorf("maildir: login %q: %w", username, mailbox.ErrAuthFailed)
	}
	return user, nil
}

func (e *userEntry) verify(password string) bool {
	switch e.scheme {
	case "PLAIN":
		return subtle.ConstantTimeCompare([]byte(e.secret), []byte(password)) == 1
	case "BLF-CRYPT":
		return bcrypt.CompareHashAndPassword([]byte(e.secret), []byte(password)) == nil
	case "SHA512-CRYPT":
		got, err := sha512Crypt([]byte(password), e.secret)
		return err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(e.secret)) == 1
	}
	return false
}

// LookupRecipient implements mailbox.RecipientResolver: the addresses
// added for a user (compared case-insensitively) deliver to that user.
func (u *Users) LookupRecipient(ctx context.Context, address string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	u.mu.RLock()
	defer u.mu.RUnlock()
	if user, ok := u.addrs[strings.ToLower(address)]; ok {
		return user, nil
	}
	return "", fmt.Errorf("maildir: recipient %q: %w", address, mailbox.ErrNotExist)
}
