package testpeer

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
)

// PostfixOptions configures a private Postfix.
type PostfixOptions struct {
	// IP is the loopback address smtpd listens on; "" → 127.0.0.1. The
	// port is chosen free.
	IP string
	// Users enables SMTP AUTH (PLAIN, LOGIN) with these user → password
	// pairs, checked by a private Dovecot (package dovecot-core). AUTH is
	// offered only after STARTTLS.
	Users map[string]string
	// RelayDomains are domains Postfix accepts mail for from anyone
	// (a receiving MX, "permit_auth_destination"); everything it accepts
	// is delivered to Postfix's discard transport and logged.
	RelayDomains []string
}

// Postfix is a private Postfix started by a test.
type Postfix struct {
	// Addr is smtpd's "ip:port".
	Addr string
	log  *syncBuffer
}

// Log returns Postfix's (and Dovecot's) log so far: a delivered
// recipient shows as "to=<rcpt>, relay=none, ... status=sent".
func (p *Postfix) Log() string { return p.log.String() }

// WaitLog waits until the log contains every one of want, or fails the test.
func (p *Postfix) WaitLog(t testing.TB, timeout time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log := p.Log()
		missing := ""
		for _, w := range want {
			if !strings.Contains(log, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix log lacks %q after %v:\n%s", missing, timeout, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
alias_maps =
alias_database =
relay_domains = {{relay}}
inet_interfaces = all
inet_protocols = ipv4
maillog_file = /dev/stdout
default_transport = discard
relay_transport = discard
local_transport = discard
smtpd_tls_cert_file = {{cert}}
smtpd_tls_key_file = {{key}}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_relay_restrictions = permit_sasl_authenticated, permit_auth_destination, reject
smtpd_error_sleep_time = 0
`

const postfixSASLCF = `smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {{dir}}/auth
`

const postfixDovecotConf = `base_dir = {{dir}}/dovecot-run
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
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

// StartPostfix runs a private Postfix (Debian package postfix; Postfix's
// master needs root) on a free port of opts.IP, TLS with the test
// certificate, stopped when the test ends. Under CI a missing Postfix or
// missing root fails the test; elsewhere it skips.
func StartPostfix(t testing.TB, opts PostfixOptions) *Postfix {
	t.Helper()
	postfix := Require(t, "postfix", "postfix")
	var dovecot string
	if len(opts.Users) > 0 {
		dovecot = Require(t, "dovecot", "dovecot-core")
	}
	if os.Geteuid() != 0 {
		if InCI() {
			t.Fatal("testpeer: a private Postfix needs root (Postfix's master)")
		}
		t.Skip("testpeer: a private Postfix needs root (Postfix's master); CI runs this test")
	}
	ip := opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	// Not t.TempDir: Postfix and Dovecot drop privileges and must reach it.
	dir, err := os.MkdirTemp("", "posthorn-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o755))
	cert, key := testcert.WriteFiles(t)
	l, err := net.Listen("tcp", ip+":0")
	must(err)
	addr := l.Addr().String()
	l.Close()

	relay := strings.Join(opts.RelayDomains, ", ")
	vars := map[string]string{"dir": dir, "cert": cert, "key": key, "ip": ip, "relay": relay}
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{conf, filepath.Join(dir, "queue"), filepath.Join(dir, "data"),
		filepath.Join(dir, "dovecot-run"), filepath.Join(dir, "dovecot-state")} {
		must(os.MkdirAll(d, 0o755))
	}
	pf, err := user.Lookup("postfix")
	must(err)
	uid, _ := strconv.Atoi(pf.Uid)
	must(os.Chown(filepath.Join(dir, "data"), uid, -1))
	write := func(name, content string) {
		must(os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	main := expand(postfixMainCF, vars)
	if dovecot != "" {
		main += expand(postfixSASLCF, vars)
	}
	write("conf/main.cf", main)
	write("conf/master.cf", fmt.Sprintf(postfixMasterCF, addr))

	logs := &syncBuffer{}
	if dovecot != "" {
		var passwd strings.Builder
		for u, p := range opts.Users {
			fmt.Fprintf(&passwd, "%s:{PLAIN}%s\n", u, p)
		}
		write("dovecot.conf", expand(postfixDovecotConf, vars))
		write("passwd", passwd.String())
		dc := exec.Command(dovecot, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
		dc.Stdout, dc.Stderr = logs, logs
		dc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		must(dc.Start())
		t.Cleanup(func() {
			syscall.Kill(-dc.Process.Pid, syscall.SIGTERM)
			dc.Wait()
		})
		for deadline := time.Now().Add(10 * time.Second); ; {
			if _, err := os.Stat(filepath.Join(dir, "auth")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("testpeer: dovecot auth socket did not appear:\n%s", logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	pc := exec.Command(postfix, "-c", conf, "start-fg")
	pc.Stdout, pc.Stderr = logs, logs
	pc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(pc.Start())
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
			t.Logf("postfix log:\n%s", logs)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return &Postfix{Addr: addr, log: logs}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testpeer: postfix did not start on %s: %v\n%s", addr, err, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the processes' writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
