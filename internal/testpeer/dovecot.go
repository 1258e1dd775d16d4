package testpeer

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
)

// DovecotOptions says what a private Dovecot serves.
type DovecotOptions struct {
	// IMAP and POP3 start the Dovecot daemon with a listener for each
	// protocol on a free loopback port. With neither no daemon runs, and
	// only PreauthIMAP sessions are available.
	IMAP, POP3 bool
	// TLS enables STARTTLS and STLS and adds the implicit-TLS listeners
	// (IMAPSAddr, POP3SAddr), with the internal/testcert certificate.
	TLS bool
	// Users maps user names to passwords. Passwords are stored in the
	// clear, so every mechanism (CRAM-MD5, SCRAM, APOP) can work. Each
	// user's Maildir is created empty; see Deliver.
	Users map[string]string
	// Maildirs fills users' Maildirs before Dovecot starts: each file
	// system (cur/, new/, tmp/, .Sub.folder/, ...) is copied into
	// Maildir(user), and everything under MailRoot is then owned by the
	// mail user (UID, GID), so Dovecot can index and change it. A user
	// here need not be in Users (PreauthIMAP). Deliver adds messages
	// later.
	Maildirs map[string]fs.FS
	// AuthMechanisms is Dovecot's auth_mechanisms; "" means "plain login".
	AuthMechanisms string
	// Separator is the hierarchy separator of the one namespace, which
	// holds INBOX (Dovecot's "namespace inbox"); "" keeps Dovecot's
	// default for Maildir, ".".
	Separator string
	// SpecialUse gives mailboxes of that namespace a special-use
	// attribute (RFC 6154), by name: {"Sent": `\Sent`, "Trash": `\Trash`}.
	// It does not create them; once they exist, LIST shows the attribute
	// and SPECIAL-USE finds them.
	SpecialUse map[string]string
	// Plugins are Dovecot plugins to load, such as "zlib" and "imap_zlib"
	// (COMPRESS=DEFLATE). Those named imap_* serve IMAP only and are
	// loaded for it alone; the others for every protocol.
	Plugins []string
	// Config is appended to the generated dovecot.conf: other settings,
	// service limits. It may add to the namespace above with a
	// "namespace inbox { ... }" section (Dovecot merges sections of one
	// name); a second namespace with "inbox = yes" is an error.
	Config string
}

// DovecotInstance is a private Dovecot started by Dovecot.
type DovecotInstance struct {
	// Dir is the instance directory: short, under /tmp, because Dovecot's
	// socket paths are length-limited. It holds dovecot.conf and
	// dovecot.log.
	Dir string
	// MailRoot holds one Maildir per user (Maildir(user)).
	MailRoot string
	// The listeners' addresses; "" for those not asked for.
	IMAPAddr, IMAPSAddr, POP3Addr, POP3SAddr string
	// UID and GID own the mail, and Dovecot's mail processes run as
	// them: nobody when the test runs as root, the test's user otherwise.
	UID, GID int

	conf string

	mu        sync.Mutex
	delivered int
}

// nobody is the user mail belongs to when tests run as root: Dovecot
// refuses to access mail as root.
const nobody = 65534

// Dovecot starts a private Dovecot (Debian dovecot-imapd and
// dovecot-pop3d) as opts says and stops it, removing its directory, when
// the test ends. A missing Dovecot stops the test as Require does.
func Dovecot(t testing.TB, opts DovecotOptions) *DovecotInstance {
	t.Helper()
	bin := ""
	switch {
	case opts.IMAP:
		bin = Require(t, "dovecot", "dovecot-imapd")
	case opts.POP3:
		bin = Require(t, "dovecot", "dovecot-pop3d")
	}
	dir, err := os.MkdirTemp("/tmp", "dv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &DovecotInstance{Dir: dir, MailRoot: filepath.Join(dir, "mail"), UID: os.Getuid(), GID: os.Getgid()}
	extra := ""
	if d.UID == 0 {
		d.UID, d.GID = nobody, nobody
	} else {
		// Dovecot then runs its services as us too.
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(strconv.Itoa(d.GID))
		if err != nil {
			t.Fatal(err)
		}
		extra = fmt.Sprintf("default_internal_user = %[1]s\ndefault_login_user = %[1]s\ndefault_internal_group = %[2]s\n", me.Username, g.Name)
	}
	must(t, os.Chmod(dir, 0o755))
	for _, sub := range []string{"run", "state"} {
		must(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	}
	must(t, d.mkdirs(d.MailRoot))
	names := make([]string, 0, len(opts.Users))
	for u := range opts.Users {
		names = append(names, u)
	}
	sort.Strings(names)
	var users strings.Builder
	for _, u := range names {
		fmt.Fprintf(&users, "%s:{PLAIN}%s:%d:%d::%s::\n", u, opts.Users[u], d.UID, d.GID, d.Maildir(u))
		for _, sub := range []string{"cur", "new", "tmp"} {
			must(t, d.mkdirs(filepath.Join(d.Maildir(u), sub)))
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, "users"), []byte(users.String()), 0o644))
	for u, fsys := range opts.Maildirs {
		must(t, d.mkdirs(d.Maildir(u)))
		must(t, os.CopyFS(d.Maildir(u), fsys))
	}
	if len(opts.Maildirs) > 0 {
		must(t, filepath.WalkDir(d.MailRoot, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, d.UID, d.GID)
		}))
	}

	var conf strings.Builder
	protocols := []string{}
	if opts.IMAP {
		protocols = append(protocols, "imap")
	}
	if opts.POP3 {
		protocols = append(protocols, "pop3")
	}
	mechs := opts.AuthMechanisms
	if mechs == "" {
		mechs = "plain login"
	}
	fmt.Fprintf(&conf, `instance_name = %[1]s
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = %[2]s
listen = 127.0.0.1
disable_plaintext_auth = no
auth_mechanisms = %[3]s
auth_failure_delay = 0 secs
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/users
}
userdb {
  driver = passwd-file
  args = %[1]s/users
}
mail_location = maildir:%[4]s/%%u
mail_uid = %[5]d
mail_gid = %[6]d
first_valid_uid = %[5]d
last_valid_uid = %[5]d
first_valid_gid = %[6]d
last_valid_gid = %[6]d
protocol pop3 {
  pop3_uidl_format = %%08Xu%%08Xv
}
%[7]s`, dir, strings.Join(protocols, " "), mechs, d.MailRoot, d.UID, d.GID, extra)
	// Tests fail logins on purpose: without the penalty socket, anvil
	// does not slow down the next ones from 127.0.0.1 (up to 15 s each).
	conf.WriteString("service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n")
	writeNamespace(&conf, opts.Separator, opts.SpecialUse)
	writePlugins(&conf, opts.Plugins)
	if opts.TLS {
		cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		must(t, os.WriteFile(cert, testcert.CertPEM(), 0o644))
		must(t, os.WriteFile(key, testcert.KeyPEM(), 0o600))
		// The mail user reads the configuration too (PreauthIMAP).
		must(t, os.Chown(key, d.UID, d.GID))
		fmt.Fprintf(&conf, "ssl = yes\nssl_cert = <%s\nssl_key = <%s\nssl_min_protocol = TLSv1.2\n", cert, key)
		if _, err := os.Stat("/usr/share/dovecot/dh.pem"); err == nil {
			conf.WriteString("ssl_dh = </usr/share/dovecot/dh.pem\n")
		}
	} else {
		conf.WriteString("ssl = no\n")
	}
	var waits []string // addresses to wait for
	listener := func(service, name string, tls bool) string {
		port := 0
		addr := ""
		if !tls || opts.TLS {
			port = freePort(t)
			addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			waits = append(waits, addr)
		}
		fmt.Fprintf(&conf, "service %s {\n  inet_listener %s {\n    address = 127.0.0.1\n    port = %d\n    ssl = %s\n  }\n}\n",
			service, name, port, map[bool]string{true: "yes", false: "no"}[tls])
		return addr
	}
	if opts.IMAP {
		d.IMAPAddr = listener("imap-login", "imap", false)
		d.IMAPSAddr = listener("imap-login", "imaps", true)
	}
	if opts.POP3 {
		d.POP3Addr = listener("pop3-login", "pop3", false)
		d.POP3SAddr = listener("pop3-login", "pop3s", true)
	}
	conf.WriteString(opts.Config)
	d.conf = filepath.Join(dir, "dovecot.conf")
	must(t, os.WriteFile(d.conf, []byte(conf.String()), 0o644))
	if bin != "" {
		d.start(t, bin, waits)
	}
	return d
}

// writeNamespace writes the one namespace, named inbox so that Config
// can add to it, with the hierarchy separator sep ("" for Dovecot's
// default) and the special-use attributes of mailboxes by name.
func writeNamespace(conf *strings.Builder, sep string, specialUse map[string]string) {
	conf.WriteString("namespace inbox {\n  inbox = yes\n")
	if sep != "" {
		fmt.Fprintf(conf, "  separator = %s\n", sep)
	}
	names := make([]string, 0, len(specialUse))
	for name := range specialUse {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(conf, "  mailbox %s {\n    special_use = %s\n  }\n", strconv.Quote(name), specialUse[name])
	}
	conf.WriteString("}\n")
}

// writePlugins loads plugins: imap_* ones for IMAP, the others for every
// protocol.
func writePlugins(conf *strings.Builder, plugins []string) {
	var all, imap []string
	for _, p := range plugins {
		if strings.HasPrefix(p, "imap_") {
			imap = append(imap, p)
		} else {
			all = append(all, p)
		}
	}
	if len(all) > 0 {
		fmt.Fprintf(conf, "mail_plugins = $mail_plugins %s\n", strings.Join(all, " "))
	}
	if len(imap) > 0 {
		fmt.Fprintf(conf, "protocol imap {\n  mail_plugins = $mail_plugins %s\n}\n", strings.Join(imap, " "))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mkdirs creates dir and its missing parents below d.Dir, owned by the
// mail user.
func (d *DovecotInstance) mkdirs(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for p := dir; strings.HasPrefix(p, d.MailRoot); p = filepath.Dir(p) {
		if err := os.Lchown(p, d.UID, d.GID); err != nil {
			return err
		}
	}
	return nil
}

// start runs the daemon in the foreground until the test ends and waits
// (bounded) for a greeting on every listener.
func (d *DovecotInstance) start(t testing.TB, bin string, addrs []string) {
	t.Helper()
	cmd := exec.Command(bin, "-F", "-c", d.conf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
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
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range addrs {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				t.Fatalf("dovecot exited during start-up: %s\n%s", out.String(), d.Log())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("dovecot did not listen on %s: %v\n%s", addr, err, d.Log())
			}
		}
	}
}

// Maildir returns the path of user's Maildir.
func (d *DovecotInstance) Maildir(user string) string { return filepath.Join(d.MailRoot, user) }

// Deliver puts msgs into user's Maildir (in cur, without flags) with
// file names in the order of delivery, which is the order Dovecot numbers
// them in. Call it before the messages are needed in a session.
func (d *DovecotInstance) Deliver(t testing.TB, user string, msgs ...string) {
	t.Helper()
	cur := filepath.Join(d.Maildir(user), "cur")
	must(t, d.mkdirs(cur))
	for _, m := range msgs {
		d.mu.Lock()
		n := d.delivered
		d.delivered++
		d.mu.Unlock()
		p := filepath.Join(cur, fmt.Sprintf("%d.M%dP1.test:2,", 1700000000+n, n))
		must(t, os.WriteFile(p, []byte(m), 0o600))
		must(t, os.Lchown(p, d.UID, d.GID))
	}
}

// Log returns what Dovecot has logged so far.
func (d *DovecotInstance) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	return string(b)
}

// PreauthIMAP returns a command, not started, that runs Dovecot's imap
// process for user in PREAUTH mode on its standard input and output, as
// the mail user, logging to its standard error. No daemon is needed.
func (d *DovecotInstance) PreauthIMAP(t testing.TB, user string) *exec.Cmd {
	t.Helper()
	const imapBin = "/usr/lib/dovecot/imap"
	if _, err := os.Stat(imapBin); err != nil {
		Require(t, "dovecot", "dovecot-imapd")
		t.Skipf("%s: %v", imapBin, err)
	}
	var args []string
	if os.Geteuid() == 0 {
		setpriv := Require(t, "setpriv", "util-linux")
		args = []string{setpriv, "--reuid=" + strconv.Itoa(d.UID), "--regid=" + strconv.Itoa(d.GID), "--clear-groups"}
	}
	args = append(args, "env", "USER="+user, "HOME="+d.Maildir(user), imapBin, "-c", d.conf, "-o", "log_path=/dev/stderr")
	return exec.Command(args[0], args[1:]...)
}
