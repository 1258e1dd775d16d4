package targets

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	phimap "github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/maildir"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// IMAP user of every IMAP target.
const (
	IMAPUser = "bench"
	IMAPPass = "benchpw"
)

// WriteMaildir writes msgs into the Maildir at dir (cur/, no flags), the
// way another delivery agent would: both Posthorn's store and Dovecot read
// the same files.
func WriteMaildir(dir string, msgs [][]byte) error {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for i, m := range msgs {
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d:2,", 1767258000+i, i, i, len(m))
		if err := os.WriteFile(filepath.Join(dir, "cur", name), m, 0o644); err != nil {
			return err
		}
	}
	// Settled on disk before anything is measured: the kernel's
	// writeback of these files would otherwise run during the first
	// measurements, on the same CPUs.
	syscall.Sync()
	return nil
}

// PosthornIMAP serves msgs from Posthorn's IMAP server on the Maildir store
// (the default store) in root.
func PosthornIMAP(root string, msgs [][]byte) (addr string, stop func(), err error) {
	users := new(maildir.Users)
	if err := users.Add(IMAPUser, IMAPPass, IMAPUser+"@example.com"); err != nil {
		return "", nil, err
	}
	if err := WriteMaildir(filepath.Join(root, IMAPUser), msgs); err != nil {
		return "", nil, err
	}
	store := &maildir.Store{Root: root, Users: users, Logger: slog.New(slog.DiscardHandler)}
	return servePosthornIMAP(store)
}

// PosthornIMAPMem serves msgs from Posthorn's IMAP server on the in-memory
// store (mailbox/memstore): the same kind of store as go-imap's memory
// server, for comparing the servers alone.
func PosthornIMAPMem(msgs [][]byte) (addr string, stop func(), err error) {
	store := memstore.New()
	if err := store.AddUser(IMAPUser, IMAPPass, IMAPUser+"@example.com"); err != nil {
		return "", nil, err
	}
	ctx := context.Background()
	acct, err := store.Open(ctx, IMAPUser)
	if err != nil {
		return "", nil, err
	}
	defer acct.Close()
	mb, err := acct.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		return "", nil, err
	}
	defer mb.Close()
	for _, m := range msgs {
		if _, err := mb.Append(ctx, bytes.NewReader(m), &mailbox.AppendOptions{}); err != nil {
			return "", nil, err
		}
	}
	return servePosthornIMAP(store)
}

// servePosthornIMAP serves store with Posthorn's IMAP server, configured
// like the other targets (plain-text LOGIN, no connection limits).
func servePosthornIMAP(store mailbox.Store) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := &phimap.Server{Store: store, AllowInsecureAuth: true, Logger: slog.New(slog.DiscardHandler),
		MaxConns: -1, MaxConnsPerUser: -1}
	go s.Serve(ln)
	return ln.Addr().String(), func() { s.Close() }, nil
}

// GoIMAPMem serves msgs from github.com/emersion/go-imap/v2's in-memory
// server.
func GoIMAPMem(msgs [][]byte) (addr string, stop func(), err error) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(IMAPUser, IMAPPass)
	if err := u.Create("INBOX", nil); err != nil {
		return "", nil, err
	}
	for _, m := range msgs {
		if _, err := u.Append("INBOX", literal{bytes.NewReader(m)}, &imap.AppendOptions{}); err != nil {
			return "", nil, err
		}
	}
	mem.AddUser(u)
	s := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go s.Serve(ln)
	return ln.Addr().String(), func() { s.Close() }, nil
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }
