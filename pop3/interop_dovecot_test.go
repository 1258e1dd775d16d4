package pop3

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
)

// dovecot is a private Dovecot POP3 server started by a test.
type dovecot struct {
	addr, tlsAddr string
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startDovecot writes a configuration for a POP3-only Dovecot into a short
// directory under /tmp (Dovecot's socket paths are length-limited), puts
// msgs in sara's Maildir, starts Dovecot in the foreground and stops it
// when the test ends.
func startDovecot(t *testing.T, msgs ...string) *dovecot {
	bin := testpeer.Require(t, "dovecot", "dovecot-pop3d")
	if os.Geteuid() != 0 {
		t.Skip("a private Dovecot needs root to drop privileges to its own users")
	}
	dir, err := os.MkdirTemp("/tmp", "pd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	const uid = 65534 // nobody: owns the Maildir, runs the mail processes
	maildir := filepath.Join(dir, "mail", "sara")
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		p := filepath.Join(maildir, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range msgs {
		p := filepath.Join(maildir, "new", fmt.Sprintf("%d.M%dP1.test", 1700000000+i, i))
		if err := os.WriteFile(p, []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	filepath.Walk(filepath.Join(dir, "mail"), func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, uid) })
	os.WriteFile(filepath.Join(dir, "cert.pem"), testcert.CertPEM(), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), testcert.KeyPEM(), 0o600)
	users := fmt.Sprintf("sara:{PLAIN}secret:%d:%d::%s::\n", uid, uid, maildir)
	os.WriteFile(filepath.Join(dir, "users"), []byte(users), 0o644)
	d := &dovecot{addr: "127.0.0.1:" + freePort(t), tlsAddr: "127.0.0.1:" + freePort(t)}
	dh := ""
	if _, err := os.Stat("/usr/share/dovecot/dh.pem"); err == nil {
		dh = "ssl_dh = </usr/share/dovecot/dh.pem"
	}
	_, port, _ := net.SplitHostPort(d.addr)
	_, tlsPort, _ := net.SplitHostPort(d.tlsAddr)
	conf := fmt.Sprintf(`instance_name = %[1]s
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
%[2]s
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-256 apop
auth_failure_delay = 0 secs
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/users
}
userdb {
  driver = passwd-file
  args = %[1]s/users
}
mail_location = maildir:%[1]s/mail/%%u
mail_uid = %[3]d
mail_gid = %[3]d
first_valid_uid = %[3]d
last_valid_uid = %[3]d
first_valid_gid = %[3]d
protocol pop3 {
  pop3_uidl_format = %%08Xu%%08Xv
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[4]s
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = %[5]s
    ssl = yes
  }
}
`, dir, dh, uid, port, tlsPort)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	// Wait (bounded) for the greeting on both listeners.
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range []string{d.addr, d.tlsAddr} {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
				t.Fatalf("dovecot exited: %s\n%s", out.String(), log)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("dovecot did not start: %s", out.String())
			}
		}
	}
	return d
}

// TestClientAgainstDovecot runs every client command against Dovecot's
// POP3 server.
func TestClientAgainstDovecot(t *testing.T) {
	msgs := []string{msg1, msg2, "From: c@example.org\r\nSubject: three\r\n\r\n" + string(bytes.Repeat([]byte("long line "), 3000)) + "\r\n"}
	d := startDovecot(t, msgs...)
	ctx := testCtx(t)
	plain := &Dialer{Security: Plaintext}

	t.Run("read", func(t *testing.T) {
		c, err := plain.Dial(ctx, d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, cp := range []string{"TOP", "UIDL", "SASL", "STLS", "PIPELINING", "RESP-CODES"} {
			if !c.Capabilities().Has(cp) {
				t.Errorf("CAPA lacks %s: %v", cp, c.Capabilities())
			}
		}
		var pe *Error
		if err := c.Login(ctx, "sara", "secret"); err != nil {
			t.Fatal(err)
		}
		n, size, err := c.Stat(ctx)
		total := 0
		for _, m := range msgs {
			total += len(m)
		}
		if err != nil || n != 3 || size != int64(total) {
			t.Fatalf("Stat = %d %d %v", n, size, err)
		}
		list, err := c.List(ctx)
		if err != nil || len(list) != 3 || list[2].Size != int64(len(msgs[2])) {
			t.Fatalf("List = %v %v", list, err)
		}
		if one, err := c.ListOne(ctx, 2); err != nil || one.Size != int64(len(msg2)) {
			t.Fatalf("ListOne = %v %v", one, err)
		}
		uids, err := c.UIDL(ctx)
		if err != nil || len(uids) != 3 {
			t.Fatalf("UIDL = %v %v", uids, err)
		}
		if u, err := c.UIDLOne(ctx, 3); err != nil || u != uids[2].UID {
			t.Fatalf("UIDLOne = %q %v", u, err)
		}
		for i, m := range msgs {
			r, err := c.Retr(ctx, i+1)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, r); got != m {
				t.Fatalf("Retr %d = %q", i+1, got)
			}
		}
		r, err := c.Top(ctx, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, r); got != "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n" {
			t.Fatalf("Top = %q", got)
		}
		if _, err := c.Retr(ctx, 9); !errors.As(err, &pe) {
			t.Fatalf("Retr 9: %v", err)
		}
		if err := c.Dele(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Rset(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Noop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("auth", func(t *testing.T) {
		for name, login := range map[string]func(c *Client) error{
			"PLAIN over STLS": func(c *Client) error { return c.Auth(ctx, PlainAuth("", "sara", "secret")) },
			"LOGIN":           func(c *Client) error { return c.Auth(ctx, LoginAuth("sara", "secret")) },
			"CRAM-MD5":        func(c *Client) error { return c.Auth(ctx, CRAMMD5Auth("sara", "secret")) },
			"SCRAM-SHA-256":   func(c *Client) error { return c.Auth(ctx, SCRAMSHA256Auth("", "sara", "secret")) },
			"APOP":            func(c *Client) error { return c.APOP(ctx, "sara", "secret") },
			"implicit TLS":    func(c *Client) error { return c.Login(ctx, "sara", "secret") },
		} {
			t.Run(name, func(t *testing.T) {
				var c *Client
				var err error
				switch name {
				case "PLAIN over STLS":
					c, err = (&Dialer{TLSConfig: testcert.ClientTLS()}).Dial(ctx, d.addr)
				case "implicit TLS":
					c, err = DialTLS(ctx, d.tlsAddr, testcert.ClientTLS())
				default:
					c, err = plain.Dial(ctx, d.addr)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := login(c); err != nil {
					t.Fatal(err)
				}
				if n, _, err := c.Stat(ctx); err != nil || n != 3 {
					t.Fatalf("Stat = %d %v", n, err)
				}
				if err := c.Quit(ctx); err != nil {
					t.Fatal(err)
				}
			})
		}
	})

	t.Run("fetch and delete", func(t *testing.T) {
		c, err := plain.Dial(ctx, d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(ctx, "sara", "secret"); err != nil {
			t.Fatal(err)
		}
		uids, _ := c.UIDL(ctx)
		var got []string
		_, err = c.FetchNew(ctx, func(u string) bool { return u == uids[0].UID }, &FetchOptions{Delete: true},
			func(m Fetched, body io.Reader) error {
				b, err := io.ReadAll(body)
				got = append(got, string(b))
				return err
			})
		if err != nil || len(got) != 2 || got[0] != msgs[1] || got[1] != msgs[2] {
			t.Fatalf("FetchNew: %v, %d messages", err, len(got))
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
		c2, err := plain.Dial(ctx, d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		if err := c2.Login(ctx, "sara", "secret"); err != nil {
			t.Fatal(err)
		}
		if n, _, err := c2.Stat(ctx); err != nil || n != 1 {
			t.Fatalf("after fetch with delete: Stat = %d %v", n, err)
		}
		if u, _ := c2.UIDLOne(ctx, 1); u != uids[0].UID {
			t.Fatalf("the message left is %q, want %q", u, uids[0].UID)
		}
	})

	// Last: Dovecot slows down logins from an address after a failure.
	t.Run("wrong password", func(t *testing.T) {
		c, err := plain.Dial(ctx, d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var pe *Error
		if err := c.Login(ctx, "sara", "wrong"); !errors.As(err, &pe) || pe.Code != CodeAuth {
			t.Fatalf("wrong password: %v", err)
		}
	})
}
