package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/posthorn/posthorn/mailbox/maildir"
)

// loadUsers reads cfg.UsersFile. When the file is missing and is the
// default DATA/users, it is created with one demo user, whose credentials
// are printed on out.
func loadUsers(cfg *config, out io.Writer) (*maildir.Users, error) {
	users, err := maildir.ReadPasswdFile(cfg.UsersFile)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || filepath.Clean(cfg.UsersFile) != filepath.Join(cfg.Data, "users") {
		return users, err
	}
	user := "demo@" + cfg.Domains[0]
	pass := rand.Text()[:16]
	if err := appendUser(cfg.UsersFile, user, pass); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "created %s with the demo user %s, password %s\n", cfg.UsersFile, user, pass)
	return maildir.ReadPasswdFile(cfg.UsersFile)
}

// addUser implements -adduser: it reads a password (the first line of in)
// and appends the user with its hash to the users file.
func addUser(cfg *config, in io.Reader, out io.Writer) error {
	user := strings.ToLower(cfg.AddUser)
	local, domain, ok := strings.Cut(user, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(user, ": \t\r\n/\\") {
		return fmt.Errorf("-adduser wants user@domain, got %q", cfg.AddUser)
	}
	if exists, err := hasUser(cfg.UsersFile, user); err != nil {
		return err
	} else if exists {
		return fmt.Errorf("%s is already in %s", user, cfg.UsersFile)
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	pass := strings.TrimRight(line, "\r\n")
	if pass == "" {
		return errors.New("no password on stdin")
	}
	if err := appendUser(cfg.UsersFile, user, pass); err != nil {
		return err
	}
	fmt.Fprintf(out, "added %s to %s\n", user, cfg.UsersFile)
	if !slices.Contains(cfg.Domains, domain) {
		fmt.Fprintf(out, "note: %s is not among the local domains (-domains %s); mail to it is relayed, not delivered here\n",
			domain, strings.Join(cfg.Domains, ","))
	}
	return nil
}

// bcryptCost is the work factor of new password hashes.
var bcryptCost = bcrypt.DefaultCost

// appendUser appends "user:{BLF-CRYPT}hash" to the passwd-file at path.
func appendUser(path, user, pass string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcryptCost)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s:{BLF-CRYPT}%s\n", user, hash)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hasUser reports whether the passwd-file at path has a line for user.
func hasUser(path, user string) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for line := range strings.Lines(string(data)) {
		name, _, _ := strings.Cut(line, ":")
		if strings.EqualFold(strings.TrimSpace(name), user) {
			return true, nil
		}
	}
	return false, nil
}
