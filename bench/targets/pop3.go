package targets

import (
	"log/slog"
	"net"
	"path/filepath"

	"github.com/posthorn/posthorn/mailbox/maildir"
	"github.com/posthorn/posthorn/pop3"
)

// PosthornPOP3 serves msgs from Posthorn's POP3 server on the Maildir store
// in root.
func PosthornPOP3(root string, msgs [][]byte) (addr string, stop func(), err error) {
	users := new(maildir.Users)
	if err := users.Add(IMAPUser, IMAPPass, IMAPUser+"@example.com"); err != nil {
		return "", nil, err
	}
	if err := WriteMaildir(filepath.Join(root, IMAPUser), msgs); err != nil {
		return "", nil, err
	}
	store := &maildir.Store{Root: root, Users: users, Logger: slog.New(slog.DiscardHandler)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := &pop3.Server{Store: store, AllowInsecureAuth: true, Logger: slog.New(slog.DiscardHandler),
		MaxConnections: -1}
	go s.Serve(ln)
	return ln.Addr().String(), func() { s.Close() }, nil
}
