package smtp

// Interop with a real Postfix (Debian package postfix) on loopback for
// STARTTLS and AUTH, with Dovecot (dovecot-core) as its SASL backend. Each
// test run builds a private instance: its own main.cf/master.cf, queue and
// port, TLS with the test certificate, and a Dovecot that only
// authenticates. Postfix's master must run as root.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const postfixMasterCF = `%s inet n - n - - smtpd
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
`

const postfixMainCF = `compatibility_level = 3.6
queue_directory = {{dir}}/queue
data_directory = {{dir}}/data
mail_owner = postfix
myhostname = postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = /dev/stdout
default_transport = discard
relay_transport = discard
local_transport = discard
smtpd_tls_cert_file = {{cert}}
smtpd_tls_key_file = {{key}}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {{dir}}/auth
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_error_sleep_time = 0
`

const dovecotConf = `base_dir = {{dir}}/dovecot-run
state_dir = {{dir}}/dovecot-state
protocols =
log_path = /dev/stderr
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN {{dir}}/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home={{dir}}
}
service auth {
  unix_listener {{dir}}/auth {
    mode = 0666
  }
}
`

func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = string(bytes.ReplaceAll([]byte(s), []byte("{{"+k+"}}"), []byte(v)))
	}
	return s
}

// startPostfix runs a private Postfix with Dovecot SASL (user "alice",
// password "s3cret") and returns its address.
func startPostfix(t *testing.T) string {
	t.Helper()
	postfix := testpeer.Require(t, "postfix", "postfix")
	dovecot := testpeer.Require(t, "dovecot", "dovecot-core")
	if u, err := user.Current(); err != nil || u.Uid != "0" {
		if testpeer.InCI() {
			t.Fatal("the Postfix interop test needs root (Postfix's master)")
		}
		t.Skip("the Postfix interop test needs root (Postfix's master); CI runs it")
	}
	// Not t.TempDir: Postfix and Dovecot drop privileges and must reach it.
	dir, err := os.MkdirTemp("", "posthorn-postfix-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	cert, key := testcert.WriteFiles(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()

	vars := map[string]string{"dir": dir, "cert": cert, "key": key}
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{conf, filepath.Join(dir, "queue"), filepath.Join(dir, "data"),
		filepath.Join(dir, "dovecot-run"), filepath.Join(dir, "dovecot-state")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	pf, err := user.Lookup("postfix")
	require.NoError(t, err)
	uid, _ := strconv.Atoi(pf.Uid)
	require.NoError(t, os.Chown(filepath.Join(dir, "data"), uid, -1))
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	write("conf/main.cf", expand(postfixMainCF, vars))
	write("conf/master.cf", fmt.Sprintf(postfixMasterCF, addr))
	write("dovecot.conf", expand(dovecotConf, vars))
	write("passwd", "alice:{PLAIN}s3cret\n")

	var logs lockedBuffer // the server tests' log sink
	dc := exec.Command(dovecot, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	dc.Stdout, dc.Stderr = &logs, &logs
	dc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, dc.Start())
	t.Cleanup(func() {
		syscall.Kill(-dc.Process.Pid, syscall.SIGTERM)
		dc.Wait()
	})
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, "auth")); return err == nil })

	pc := exec.Command(postfix, "-c", conf, "start-fg")
	pc.Stdout, pc.Stderr = &logs, &logs
	pc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, pc.Start())
	t.Cleanup(func() {
		exec.Command(postfix, "-c", conf, "stop").Run()
		done := make(chan struct{})
		go func() { pc.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pc.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("postfix and dovecot logs:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix did not start on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPostfixStartTLSAuth(t *testing.T) {
	addr := startPostfix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Without TLS Postfix offers no AUTH (smtpd_tls_auth_only) and refuses
	// to relay.
	c, err := quietDialer(Plain).Dial(ctx, addr)
	require.NoError(t, err)
	caps := c.Capabilities()
	assert.True(t, caps.StartTLS)
	assert.Empty(t, caps.Auth)
	assert.ErrorIs(t, c.Login(ctx, "alice", "s3cret"), ErrUnsupported)
	_, _, err = c.Transaction(ctx, "alice@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.ErrorIs(t, err, ErrNoRecipients)
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 554, se.Code, "relay access denied")
	require.NoError(t, c.Quit(ctx))

	for _, chunking := range []bool{true, false} {
		d := quietDialer(StartTLSRequired)
		d.DisableChunking = !chunking
		c, err := d.Dial(ctx, addr)
		require.NoError(t, err)
		require.NotNil(t, c.TLSConnectionState())
		caps := c.Capabilities()
		assert.True(t, caps.Pipelining && caps.EnhancedStatusCodes && caps.DSN && caps.EightBitMIME)
		assert.Equal(t, chunking, caps.Chunking && !d.DisableChunking)
		assert.True(t, caps.HasAuth("PLAIN") && caps.HasAuth("LOGIN"))

		if chunking {
			require.NoError(t, c.Login(ctx, "alice", "s3cret"))
			assert.Equal(t, "PLAIN", c.Mechanism())
		} else {
			require.NoError(t, c.Auth(ctx, LoginAuth("alice", "s3cret")))
		}
		w, res, err := c.Transaction(ctx, "alice@example.org", &MailOptions{Return: DSNReturnHeaders, EnvelopeID: "id 1"},
			[]Recipient{{Address: "b@example.com", Options: &RcptOptions{Notify: []DSNNotify{DSNNotifyFailure}}}, {Address: "c@example.net"}})
		require.NoError(t, err)
		for _, r := range res {
			assert.NoError(t, r.Err)
		}
		_, err = io.WriteString(w, "Subject: via postfix\n\n.dot\nbody\n")
		require.NoError(t, err)
		require.NoError(t, w.Close())
		assert.Contains(t, w.Reply().Message(), "queued as")
		require.NoError(t, c.Quit(ctx))
	}

	err = quietDialer(StartTLSRequired).SendMail(ctx, addr, &Credentials{Username: "alice", Password: "s3cret"},
		"alice@example.org", []string{"b@example.com"}, bytes.NewReader([]byte("Subject: x\r\n\r\nhi\r\n")))
	require.NoError(t, err)

	// Last, as Dovecot slows down logins from an address after a failure.
	err = quietDialer(StartTLSRequired).SendMail(ctx, addr, &Credentials{Username: "alice", Password: "wrong"},
		"alice@example.org", []string{"b@example.com"}, bytes.NewReader([]byte("x\r\n")))
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 535, se.Code)
	assert.Equal(t, EnhancedCode{5, 7, 8}, se.EnhancedCode)
}
