package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mx/mxtest"
	"github.com/posthorn/posthorn/pop3"
	"github.com/posthorn/posthorn/smtp"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailserver-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mailserver")
	code := 1
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running mailserver.
type proc struct {
	cmd   *exec.Cmd
	data  string
	addrs map[string]string // listener → address
	mu    sync.Mutex
	out   strings.Builder // stdout after "ready"
	errs  strings.Builder // everything on stderr (the log)
	done  chan struct{}
}

// freePorts are the flags that put every listener (LMTP included) on a
// free loopback port.
func freePorts() []string {
	var args []string
	for _, l := range listenerNames {
		args = append(args, "-"+l.name+"=127.0.0.1:0")
	}
	return args
}

// start runs the binary with data as its data directory and waits for
// "ready".
func start(t *testing.T, data string, args ...string) *proc {
	t.Helper()
	p := &proc{data: data, addrs: map[string]string{}, done: make(chan struct{})}
	if !slices.Contains(args, "-dns") {
		// Never ask the real DNS: a server that knows no names.
		args = append(args, "-dns", mxtest.NewServer(t, "").Addr())
	}
	p.cmd = exec.Command(binary, append([]string{"-data", data, "-log-level", "warn"}, args...)...)
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	p.cmd.Stderr = io.MultiWriter(testWriter{t}, lockedWriter{&p.mu, &p.errs})
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	ready := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		isReady := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if name, addr, ok := strings.Cut(line, " listening on "); ok && !isReady {
				p.addrs[name] = addr
			}
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if line == "ready" && !isReady {
				isReady = true
				close(ready)
			}
		}
		p.cmd.Wait()
	}()
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("mailserver exited before ready:\n%s", p.output())
	case <-time.After(20 * time.Second):
		t.Fatalf("mailserver not ready after 20 s:\n%s", p.output())
	}
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		t.Fatal("mailserver did not stop within 40 s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

// tlsConfig trusts the certificate the server generated in its data dir.
func (p *proc) tlsConfig(t *testing.T) *tls.Config {
	pem, err := os.ReadFile(filepath.Join(p.data, "cert.pem"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// logged returns what the server wrote on stderr.
func (p *proc) logged() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errs.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// writeUsers writes a users file with jim (PLAIN) and sara (added through
// -adduser, so BLF-CRYPT).
func writeUsers(t *testing.T, data string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(data, 0o700))
	users := filepath.Join(data, "users.passwd")
	require.NoError(t, os.WriteFile(users, []byte("# test users\njim@example.com:{PLAIN}jimpass\n"), 0o600))
	cmd := exec.Command(binary, "-data", data, "-users", users, "-adduser", "sara@example.com")
	cmd.Stdin = strings.NewReader("sarapass\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return users
}

// countMail returns the number of messages in user's INBOX on disk.
func countMail(t *testing.T, data, user string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(data, "mail", user, sub))
		if !os.IsNotExist(err) {
			require.NoError(t, err)
		}
		n += len(entries)
	}
	return n
}

func TestSubmitAndFetch(t *testing.T) {
	data := t.TempDir()
	users := writeUsers(t, data)
	// remote.example's MX is a closed port on loopback: its delivery is
	// deferred.
	dns := mxtest.NewServer(t, "remote.example. 300 IN MX 10 mx.remote.example.\nmx.remote.example. 300 IN A 127.0.0.1")
	p := start(t, data, append(freePorts(), "-users", users, "-dns", dns.Addr(), "-relay-port", strconv.Itoa(closedPort(t)))...)
	ctx := context.Background()

	d := &smtp.Dialer{TLSConfig: p.tlsConfig(t)}
	msg := "From: sara@example.com\r\nTo: jim@example.com\r\nSubject: hello\r\n\r\nHi Jim.\r\n"
	err := d.SendMail(ctx, p.addrs["submission"], &smtp.Credentials{Username: "sara@example.com", Password: "sarapass"},
		"sara@example.com", []string{"jim@example.com", "someone@remote.example"}, strings.NewReader(msg))
	require.NoError(t, err)

	// Jim fetches it over POP3 with STLS; local delivery runs through the
	// relay queue, so wait for it.
	var body []byte
	require.Eventually(t, func() bool {
		c, err := (&pop3.Dialer{TLSConfig: p.tlsConfig(t)}).Dial(ctx, p.addrs["pop3"])
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Login(ctx, "jim@example.com", "jimpass"))
		n, _, err := c.Stat(ctx)
		require.NoError(t, err)
		if n == 0 {
			return false
		}
		r, err := c.Retr(ctx, 1)
		require.NoError(t, err)
		body, err = io.ReadAll(r)
		require.NoError(t, err)
		return true
	}, 10*time.Second, 50*time.Millisecond)
	assert.Contains(t, string(body), "Subject: hello\r\n")
	assert.Contains(t, string(body), "Return-Path: <sara@example.com>")

	// Without TLS, the submission port refuses AUTH.
	plain := &smtp.Dialer{Security: smtp.Plain}
	err = plain.SendMail(ctx, p.addrs["submission"], &smtp.Credentials{Username: "sara@example.com", Password: "sarapass"},
		"sara@example.com", []string{"jim@example.com"}, strings.NewReader(msg))
	assert.Error(t, err, "AUTH over plaintext")

	// The port 25 receiver takes mail for local users only.
	rd := &smtp.Dialer{Security: smtp.StartTLSOpportunistic, TLSConfig: p.tlsConfig(t)}
	assert.NoError(t, rd.SendMail(ctx, p.addrs["smtp"], nil, "x@remote.example", []string{"jim@example.com"}, strings.NewReader(msg)))
	err = rd.SendMail(ctx, p.addrs["smtp"], nil, "x@remote.example", []string{"else@remote.example"}, strings.NewReader(msg))
	var se *smtp.Error
	if assert.ErrorAs(t, err, &se, "relaying through the receiver") {
		assert.Equal(t, 550, se.Code)
	}
	// LMTP delivers too.
	ld := &smtp.Dialer{LMTP: true, Security: smtp.Plain}
	assert.NoError(t, ld.SendMail(ctx, p.addrs["lmtp"], nil, "x@remote.example", []string{"sara@example.com"}, strings.NewReader(msg)))
	assert.Equal(t, 1, countMail(t, data, "sara@example.com"))

	assert.Equal(t, 0, p.stop(t))
	assert.Equal(t, 2, countMail(t, data, "jim@example.com"))
	// The remote recipient could not be delivered: its message is still
	// in the spool for the next start.
	envs, err := filepath.Glob(filepath.Join(data, "spool", "env", "*"))
	require.NoError(t, err)
	assert.Len(t, envs, 1, "remote message kept in the spool")
	assert.Contains(t, p.output(), "stopped")
}

func TestPythonSmoke(t *testing.T) {
	python := testpeer.Require(t, "python3", "python3")
	data := t.TempDir()
	// The default users file, with its demo user.
	p := start(t, data, freePorts()...)
	var user, pass string
	for line := range strings.Lines(p.output()) {
		if _, rest, ok := strings.Cut(line, "with the demo user "); ok {
			user, pass, _ = strings.Cut(strings.TrimSpace(rest), ", password ")
		}
	}
	require.NotEmpty(t, pass, "demo credentials printed:\n%s", p.output())
	cmd := exec.Command(python, "testdata/smoke.py", filepath.Join(data, "cert.pem"), user, pass,
		p.addrs["submission"], p.addrs["submissions"], p.addrs["imap"], p.addrs["imaps"], p.addrs["pop3"], p.addrs["pop3s"])
	out, err := cmd.CombinedOutput()
	t.Logf("smoke.py:\n%s", out)
	require.NoError(t, err)
	assert.Equal(t, 0, p.stop(t), "exit status after SIGTERM")
	assert.Equal(t, 0, countMail(t, data, user), "deleted over POP3")

	// A second start finds the users file and the certificate and does not
	// print new credentials.
	cert, err := os.ReadFile(filepath.Join(data, "cert.pem"))
	require.NoError(t, err)
	p = start(t, data, freePorts()...)
	assert.NotContains(t, p.output(), "demo user")
	again, err := os.ReadFile(filepath.Join(data, "cert.pem"))
	require.NoError(t, err)
	assert.Equal(t, cert, again, "certificate generated once")
	assert.Equal(t, 0, p.stop(t))
}

// TestShutdownLosesNothing sends messages from several clients while the
// server gets SIGTERM: every message that got its 250 must be on disk.
func TestShutdownLosesNothing(t *testing.T) {
	data := t.TempDir()
	users := writeUsers(t, data)
	p := start(t, data, "-users", users, "-smtp", "127.0.0.1:0", "-submission", "", "-submissions", "",
		"-pop3", "", "-pop3s", "", "-imap", "", "-imaps", "")
	require.Len(t, p.addrs, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	accepted, attempts := 0, 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	d := &smtp.Dialer{Security: smtp.Plain}
	for range 4 {
		wg.Go(func() {
			body := "Subject: load\r\n\r\n" + strings.Repeat("some text in the body\r\n", 2000)
			for i := 0; i < 200; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := d.SendMail(ctx, p.addrs["smtp"], nil, "x@remote.example", []string{"jim@example.com"}, strings.NewReader(body))
				mu.Lock()
				attempts++
				if err == nil {
					accepted++
				}
				mu.Unlock()
				if err != nil {
					return // refused: the shutdown began
				}
			}
		})
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return accepted >= 10 }, 20*time.Second, 5*time.Millisecond)
	code := p.stop(t)
	close(stop)
	wg.Wait()
	assert.Equal(t, 0, code)
	t.Logf("%d attempts, %d accepted", attempts, accepted)
	assert.Equal(t, accepted, countMail(t, data, "jim@example.com"), "every accepted message stored")
}

func TestAddUser(t *testing.T) {
	bcryptCost = bcrypt.MinCost // the hashes of this test need not be strong
	t.Cleanup(func() { bcryptCost = bcrypt.DefaultCost })
	data := t.TempDir()
	cfg, err := parseFlags([]string{"-data", data, "-adduser", "Bob@Example.com"}, io.Discard)
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, addUser(cfg, strings.NewReader("s3cret\r\n"), &out))
	assert.Contains(t, out.String(), "added bob@example.com")
	line, err := os.ReadFile(filepath.Join(data, "users"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(line), "bob@example.com:{BLF-CRYPT}$2"), "%s", line)
	assert.NotContains(t, string(line), "s3cret")

	users, err := loadUsers(cfg, io.Discard)
	require.NoError(t, err)
	u, err := users.Authenticate(context.Background(), "bob@example.com", "s3cret")
	assert.NoError(t, err)
	assert.Equal(t, "bob@example.com", u)
	_, err = users.Authenticate(context.Background(), "bob@example.com", "wrong")
	assert.Error(t, err)

	assert.ErrorContains(t, addUser(cfg, strings.NewReader("other\n"), io.Discard), "already")
	cfg.AddUser = "new@example.com"
	assert.ErrorContains(t, addUser(cfg, strings.NewReader("\n"), io.Discard), "no password")
	cfg.AddUser = "no-domain"
	assert.ErrorContains(t, addUser(cfg, strings.NewReader("x\n"), io.Discard), "user@domain")
	cfg.AddUser = "a:b@example.com"
	assert.ErrorContains(t, addUser(cfg, strings.NewReader("x\n"), io.Discard), "user@domain")
	cfg.AddUser = "eve@elsewhere.example"
	out.Reset()
	require.NoError(t, addUser(cfg, strings.NewReader("x\n"), &out))
	assert.Contains(t, out.String(), "not among the local domains")
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-domains", " A.example, b.example ,", "-retry-schedule", "1s,2m", "-imap", ""}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"a.example", "b.example"}, cfg.Domains)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Minute}, cfg.Retry)
	assert.Equal(t, "", cfg.Listen["imap"])
	assert.Equal(t, "127.0.0.1:2525", cfg.Listen["smtp"])
	assert.Equal(t, filepath.Join("./data", "users"), cfg.UsersFile)
	for _, bad := range [][]string{
		{"-retry-schedule", "1s,soon"},
		{"-retry-schedule", "-1s"},
		{"-domains", ","},
		{"-tls-cert", "c.pem"},
		{"-log-level", "loud"},
		{"extra"},
	} {
		_, err := parseFlags(bad, io.Discard)
		assert.Error(t, err, "%q", bad)
	}
}

func TestListenerFailure(t *testing.T) {
	data := t.TempDir()
	cmd := exec.Command(binary, "-data", data, "-smtp", "127.0.0.1:0", "-submission", "256.0.0.1:1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "error: -submission:")
	cmd = exec.Command(binary, "-data", data, "-smtp", "", "-submission", "", "-submissions", "", "-pop3", "", "-pop3s", "", "-imap", "", "-imaps", "")
	out, err = cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "error: every listener is disabled")
	// A -users file that does not exist is an error, not a fresh demo user.
	out, err = exec.Command(binary, "-data", data, "-users", filepath.Join(data, "nope"), "-smtp", "127.0.0.1:0").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "error: ")
	assert.NotContains(t, string(out), "demo user")
}

func TestCustomCertificate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writeSelfSigned("mail.example.net", filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")))
	data := t.TempDir()
	p := start(t, data, "-tls-cert", filepath.Join(dir, "c.pem"), "-tls-key", filepath.Join(dir, "k.pem"),
		"-hostname", "mail.example.net", "-imaps", "127.0.0.1:0", "-smtp", "", "-submission", "", "-submissions", "",
		"-pop3", "", "-pop3s", "", "-imap", "")
	_, err := os.Stat(filepath.Join(data, "cert.pem"))
	assert.True(t, os.IsNotExist(err), "no certificate generated")
	conn, err := tls.Dial("tcp", p.addrs["imaps"], &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, err)
	require.NoError(t, conn.Handshake())
	assert.Equal(t, []string{"mail.example.net", "localhost"}, conn.ConnectionState().PeerCertificates[0].DNSNames)
	conn.Close()
	assert.Equal(t, 0, p.stop(t))
}

// closedPort returns a loopback port nothing listens on (for now).
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// TestRelayBetweenServers runs two servers: a.example submits to
// bob@b.example, whose MX (in an in-process DNS) is the other server. The
// first attempt finds the port closed; the retry schedule brings the
// message over once b.example's server is up.
func TestRelayBetweenServers(t *testing.T) {
	port := closedPort(t)
	dns := mxtest.NewServer(t, "b.example. 300 IN MX 10 mx.b.example.\nmx.b.example. 300 IN A 127.0.0.1")
	dataA, dataB := t.TempDir(), t.TempDir()
	usersA := filepath.Join(dataA, "users.passwd")
	require.NoError(t, os.WriteFile(usersA, []byte("amy@a.example:{PLAIN}amypass\n"), 0o600))
	usersB := filepath.Join(dataB, "users.passwd")
	require.NoError(t, os.WriteFile(usersB, []byte("bob@b.example:{PLAIN}bobpass\n"), 0o600))
	a := start(t, dataA, append(freePorts(), "-hostname", "mx.a.example", "-domains", "a.example", "-users", usersA,
		"-dns", dns.Addr(), "-relay-port", strconv.Itoa(port), "-retry-schedule", "300ms")...)

	ctx := context.Background()
	d := &smtp.Dialer{TLSConfig: a.tlsConfig(t)}
	msg := "From: amy@a.example\r\nTo: bob@b.example\r\nSubject: across\r\n\r\nHi Bob.\r\n"
	require.NoError(t, d.SendMail(ctx, a.addrs["submission"], &smtp.Credentials{Username: "amy@a.example", Password: "amypass"},
		"amy@a.example", []string{"bob@b.example"}, strings.NewReader(msg)))
	// Amy may not send as someone else.
	err := d.SendMail(ctx, a.addrs["submission"], &smtp.Credentials{Username: "amy@a.example", Password: "amypass"},
		"bob@b.example", []string{"bob@b.example"}, strings.NewReader(msg))
	assert.Error(t, err, "sender not owned")
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, 0, countMail(t, dataB, "bob@b.example"))

	ports := freePorts()
	ports[0] = "-smtp=127.0.0.1:" + strconv.Itoa(port)
	b := start(t, dataB, append(ports, "-hostname", "mx.b.example", "-domains", "b.example", "-users", usersB)...)
	require.Eventually(t, func() bool { return countMail(t, dataB, "bob@b.example") == 1 }, 15*time.Second, 20*time.Millisecond)
	assert.Eventually(t, func() bool {
		envs, err := filepath.Glob(filepath.Join(dataA, "spool", "env", "*"))
		return err == nil && len(envs) == 0
	}, 5*time.Second, 20*time.Millisecond, "delivered and removed from the spool")
	assert.GreaterOrEqual(t, dns.Queries("b.example.", "MX"), 1)
	assert.Equal(t, 0, a.stop(t))
	assert.Equal(t, 0, b.stop(t))

	files, err := filepath.Glob(filepath.Join(dataB, "mail", "bob@b.example", "new", "*"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	got, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(got), "Return-Path: <amy@a.example>")
	assert.Contains(t, string(got), "Subject: across")
}

func TestLogFormat(t *testing.T) {
	cfg, err := parseFlags([]string{"-log-json", "-log-level", "debug"}, io.Discard)
	require.NoError(t, err)
	var buf strings.Builder
	newLogger(cfg, &buf).Debug("hello", "k", 1)
	assert.JSONEq(t, `{"level":"DEBUG","msg":"hello","k":1}`, regexpTime.ReplaceAllString(buf.String(), ""))
	cfg, err = parseFlags(nil, io.Discard)
	require.NoError(t, err)
	buf.Reset()
	newLogger(cfg, &buf).Debug("hidden")
	newLogger(cfg, &buf).Info("shown")
	assert.NotContains(t, buf.String(), "hidden")
	assert.Contains(t, buf.String(), "level=INFO msg=shown")
}

var regexpTime = regexp.MustCompile(`"time":"[^"]*",`)

// TestShutdownFinishesMessageInFlight sends SIGTERM while a client is in
// the middle of its message: the message still completes with a 250 and
// is stored before the server exits.
func TestShutdownFinishesMessageInFlight(t *testing.T) {
	data := t.TempDir()
	users := writeUsers(t, data)
	p := start(t, data, "-users", users, "-smtp", "127.0.0.1:0", "-submission", "", "-submissions", "",
		"-pop3", "", "-pop3s", "", "-imap", "", "-imaps", "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := (&smtp.Dialer{Security: smtp.Plain, DisableChunking: true}).Dial(ctx, p.addrs["smtp"])
	require.NoError(t, err)
	defer c.Close()
	w, _, err := c.Transaction(ctx, "x@remote.example", nil, []smtp.Recipient{{Address: "jim@example.com"}})
	require.NoError(t, err)
	_, err = io.WriteString(w, "Subject: in flight\r\n\r\nfirst half\r\n")
	require.NoError(t, err)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(300 * time.Millisecond) // the server is shutting down now
	select {
	case <-p.done:
		t.Fatal("the server exited with a message in flight")
	default:
	}
	_, err = io.WriteString(w, "second half\r\n")
	require.NoError(t, err)
	require.NoError(t, w.Close(), "the message in flight is accepted")
	assert.Equal(t, 250, w.Reply().Code)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after the last message")
	}
	assert.Equal(t, 0, p.cmd.ProcessState.ExitCode())
	assert.Equal(t, 1, countMail(t, data, "jim@example.com"))
}

// BenchmarkReceive measures delivery through the built server: SMTP
// transactions on one connection into the Maildir store (each fsynced
// before its 250).
func BenchmarkReceive(b *testing.B) {
	data := b.TempDir()
	users := filepath.Join(data, "users.passwd")
	require.NoError(b, os.WriteFile(users, []byte("jim@example.com:{PLAIN}x\n"), 0o600))
	cmd := exec.Command(binary, "-data", data, "-users", users, "-log-level", "error", "-smtp", "127.0.0.1:0",
		"-submission", "", "-submissions", "", "-pop3", "", "-pop3s", "", "-imap", "", "-imaps", "")
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	addr := ""
	for sc.Scan() && sc.Text() != "ready" {
		if _, a, ok := strings.Cut(sc.Text(), "smtp listening on "); ok {
			addr = a
		}
	}
	require.NotEmpty(b, addr)
	go io.Copy(io.Discard, stdout)
	ctx := context.Background()
	c, err := (&smtp.Dialer{Security: smtp.Plain}).Dial(ctx, addr)
	require.NoError(b, err)
	defer c.Close()
	body := "Subject: bench\r\n\r\n" + strings.Repeat("a line of text in the body of the message\r\n", 100)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		w, _, err := c.Transaction(ctx, "x@remote.example", nil, []smtp.Recipient{{Address: "jim@example.com"}})
		require.NoError(b, err)
		_, err = io.WriteString(w, body)
		require.NoError(b, err)
		require.NoError(b, w.Close())
	}
}
