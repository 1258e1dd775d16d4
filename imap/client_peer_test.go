package imap

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// ctPeer is a server the client suite runs against: a private Dovecot or
// our own Server over a memory store.
type ctPeer struct {
	name    string
	addr    string // plaintext with STARTTLS
	tlsAddr string // implicit TLS
	newUser func(t *testing.T) (user, pass string)
}

// ctPeerStarters start the peers the suite runs against, each inside
// its own subtest, so that a missing Dovecot skips only its half.
var ctPeerStarters = []struct {
	name  string
	start func(t *testing.T) *ctPeer
}{
	{"posthorn", ctOwnServer},
	{"dovecot", ctDovecotPeer},
}

// ctOwnServer starts imap.Server on a memory store.
func ctOwnServer(t *testing.T) *ctPeer {
	t.Helper()
	st := memstore.New()
	srv := &Server{
		Store:             st,
		TLSConfig:         testcert.ServerTLS(),
		AllowInsecureAuth: true,
		LoginFailDelay:    -1,
		Logger:            slog.New(slog.DiscardHandler),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lt, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 2)
	go func() { done <- srv.Serve(l) }()
	go func() { done <- srv.Serve(tls.NewListener(lt, testcert.ServerTLS())) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		<-done
	})
	var n atomic.Int32
	return &ctPeer{
		name:    "posthorn",
		addr:    l.Addr().String(),
		tlsAddr: lt.Addr().String(),
		newUser: func(t *testing.T) (string, string) {
			u := fmt.Sprintf("user%d", n.Add(1))
			require.NoError(t, st.AddUser(u, "secret", u+"@example.org"))
			return u, "secret"
		},
	}
}

// ctDovecotUsers is how many users the Dovecot peer has: user1, user2,
// ... (password "secret"), enough for every login of the suite.
const ctDovecotUsers = 40

// ctDovecotPeer starts a private Dovecot (testpeer.Dovecot) with "/" as
// the hierarchy separator, Sent and Trash as special-use mailboxes and
// COMPRESS=DEFLATE.
func ctDovecotPeer(t *testing.T) *ctPeer {
	t.Helper()
	users := map[string]string{}
	for i := 1; i <= ctDovecotUsers; i++ {
		users[fmt.Sprintf("user%d", i)] = "secret"
	}
	d := testpeer.Dovecot(t, testpeer.DovecotOptions{IMAP: true, TLS: true,
		Users:          users,
		AuthMechanisms: "plain login cram-md5",
		Separator:      "/",
		SpecialUse:     map[string]string{"Sent": `\Sent`, "Trash": `\Trash`},
		Plugins:        []string{"zlib", "imap_zlib"},
	})
	var n atomic.Int32
	return &ctPeer{
		name:    "dovecot",
		addr:    d.IMAPAddr,
		tlsAddr: d.IMAPSAddr,
		newUser: func(t *testing.T) (string, string) {
			i := n.Add(1)
			require.LessOrEqual(t, int(i), ctDovecotUsers, "more Dovecot users than configured")
			return fmt.Sprintf("user%d", i), "secret"
		},
	}
}

// login dials p and logs in a fresh user.
func (p *ctPeer) login(t *testing.T, opts *ClientOptions) *Client {
	t.Helper()
	u, pass := p.newUser(t)
	return p.loginAs(t, u, pass, opts)
}

func (p *ctPeer) loginAs(t *testing.T, u, pass string, opts *ClientOptions) *Client {
	t.Helper()
	ctx := ctxT(t)
	d := &Dialer{Security: SecurityNone}
	if opts != nil {
		d.ClientOptions = *opts
	}
	c, err := d.Dial(ctx, p.addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Login(ctx, u, pass))
	return c
}

// ctxT returns a context that ends with the test (bounded at 30 s).
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
