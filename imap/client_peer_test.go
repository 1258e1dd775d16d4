package imap

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
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
	dir     string // Dovecot: the instance directory
}

// ctPeerStarters start the peers the suite runs against, each inside
// its own subtest, so that a missing Dovecot skips only its half.
var ctPeerStarters = []struct {
	name  string
	start func(t *testing.T) *ctPeer
}{
	{"posthorn", ctOwnServer},
	{"dovecot", func(t *testing.T) *ctPeer { return ctDovecot(t, 40) }},
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

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ctDovecot starts a private Dovecot with users user1..userN (password
// "secret"), Maildirs under its directory, stopped at cleanup. fill, when
// set, runs before the start (to write Maildir files directly).
func ctDovecot(t testing.TB, users int, fill ...func(dir string)) *ctPeer {
	t.Helper()
	bin := testpeer.Require(t, "dovecot", "dovecot-imapd")
	dir, err := os.MkdirTemp("/tmp", "dc") // short: Dovecot's socket paths
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	for _, d := range []string{"run", "state", "mail"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, testcert.CertPEM(), 0o644))
	require.NoError(t, os.WriteFile(keyFile, testcert.KeyPEM(), 0o600))

	// Mail is owned by an unprivileged user: nobody when we are root,
	// ourselves otherwise (then Dovecot runs its services as us too).
	mailUID, mailGID := 65534, 65534
	extra := ""
	if os.Geteuid() != 0 {
		mailUID, mailGID = os.Getuid(), os.Getgid()
		me, err := user.Current()
		require.NoError(t, err)
		extra = fmt.Sprintf("default_internal_user = %s\ndefault_login_user = %s\ndefault_internal_group = %s\n", me.Username, me.Username, me.Username)
	}
	var users1 []byte
	for i := 1; i <= users; i++ {
		users1 = fmt.Appendf(users1, "user%d:{PLAIN}secret:%d:%d::%s/mail/user%d::\n", i, mailUID, mailGID, dir, i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users"), users1, 0o644))
	port, tlsPort := freePort(t), freePort(t)
	dh := ""
	if _, err := os.Stat("/usr/share/dovecot/dh.pem"); err == nil {
		dh = "ssl_dh = </usr/share/dovecot/dh.pem"
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = ct%[2]d
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[3]s
ssl_key = <%[4]s
%[5]s
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5
auth_failure_delay = 0 secs
login_trusted_networks = 127.0.0.0/8
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/users
}
userdb {
  driver = passwd-file
  args = %[1]s/users
}
mail_location = maildir:%[1]s/mail/%%u
mail_uid = %[6]d
mail_gid = %[7]d
first_valid_uid = %[6]d
last_valid_uid = %[6]d
first_valid_gid = %[7]d
last_valid_gid = %[7]d
mail_max_userip_connections = 1000
mail_plugins = $mail_plugins zlib
protocol imap {
  mail_plugins = $mail_plugins imap_zlib
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[8]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[9]d
    ssl = yes
  }
}
%[10]s`, dir, port, certFile, keyFile, dh, mailUID, mailGID, port, tlsPort, extra)
	confFile := filepath.Join(dir, "dovecot.conf")
	require.NoError(t, os.WriteFile(confFile, []byte(conf), 0o644))
	for _, f := range fill {
		f(dir)
	}
	if os.Geteuid() == 0 {
		require.NoError(t, filepath.Walk(filepath.Join(dir, "mail"), func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, mailUID, mailGID)
		}))
	}
	cmd := exec.Command(bin, "-F", "-c", confFile)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			buf := make([]byte, 4)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(buf)
			c.Close()
			if err == nil && string(buf) == "* OK" {
				break
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot exited during start-up: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not answer on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var n atomic.Int32
	return &ctPeer{
		name:    "dovecot",
		addr:    addr,
		tlsAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)),
		dir:     dir,
		newUser: func(t *testing.T) (string, string) {
			i := n.Add(1)
			require.LessOrEqual(t, int(i), users, "more Dovecot users than configured")
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
