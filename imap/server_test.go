package imap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/maildir"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// testEnv is a server on 127.0.0.1:0 over a memory store with user
// "sara" (password "secret").
type testEnv struct {
	t     *testing.T
	srv   *Server
	store mailbox.Store
	addr  string
	done  chan error
}

func newTestEnv(t *testing.T, configure ...func(*Server)) *testEnv {
	t.Helper()
	st := memstore.New()
	require.NoError(t, st.AddUser("sara", "secret", "sara@example.org"))
	return newTestEnvStore(t, st, configure...)
}

// newMaildirEnv is newTestEnv on a Maildir store in a temporary directory.
func newMaildirEnv(t *testing.T, configure ...func(*Server)) *testEnv {
	t.Helper()
	users := new(maildir.Users)
	require.NoError(t, users.Add("sara", "secret", "sara@example.org"))
	st := &maildir.Store{Root: t.TempDir(), Users: users, PollInterval: -1, Logger: slog.New(slog.DiscardHandler)}
	return newTestEnvStore(t, st, configure...)
}

// storeKinds runs f once per store implementation.
func storeKinds(t *testing.T, f func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv)) {
	t.Run("memstore", func(t *testing.T) { f(t, newTestEnv) })
	t.Run("maildir", func(t *testing.T) { f(t, newMaildirEnv) })
}

func newTestEnvStore(t *testing.T, st mailbox.Store, configure ...func(*Server)) *testEnv {
	srv := &Server{
		Store:             st,
		AllowInsecureAuth: true,
		LoginFailDelay:    -1,
		Logger:            slog.New(slog.DiscardHandler),
	}
	for _, f := range configure {
		f(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	env := &testEnv{t: t, srv: srv, store: st, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { env.done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		<-env.done
	})
	return env
}

// appendMsg stores a message in a mailbox of sara directly.
func (e *testEnv) appendMsg(name, msg string, flags ...mailbox.Flag) mailbox.UID {
	e.t.Helper()
	var uid mailbox.UID
	e.withMailbox(name, func(ctx context.Context, mb mailbox.Mailbox) {
		var err error
		uid, err = mb.Append(ctx, strings.NewReader(msg), &mailbox.AppendOptions{Flags: flags, InternalDate: time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)})
		require.NoError(e.t, err)
	})
	return uid
}

// withMailbox calls f with a handle on a mailbox of sara, opened directly
// in the store.
func (e *testEnv) withMailbox(name string, f func(ctx context.Context, mb mailbox.Mailbox)) {
	e.t.Helper()
	ctx := context.Background()
	acct, err := e.store.Open(ctx, "sara")
	require.NoError(e.t, err)
	defer acct.Close()
	mb, err := acct.Mailbox(ctx, name)
	require.NoError(e.t, err)
	defer mb.Close()
	f(ctx, mb)
}

// client is the test side of a connection: it sends lines and checks the
// responses against patterns where "*" matches any run of characters.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (e *testEnv) dial() *client {
	e.t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { nc.Close() })
	c := &client{t: e.t, nc: nc, br: bufio.NewReader(nc)}
	c.expect("* OK [CAPABILITY *] *")
	return c
}

// login dials and logs in as sara.
func (e *testEnv) login() *client {
	c := e.dial()
	c.run("C: L1 LOGIN sara secret", "S: L1 OK [CAPABILITY *] Logged in")
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(c.nc, line+"\r\n")
	require.NoError(c.t, err)
}

// readLine reads one response line, with any literals inlined.
func (c *client) readLine() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		require.NoError(c.t, err, "reading response (got so far %q)", b.String()+line)
		line = strings.TrimSuffix(line, "\r\n")
		b.WriteString(line)
		if n, ok := literalSuffix(line); ok {
			buf := make([]byte, n)
			_, err := io.ReadFull(c.br, buf)
			require.NoError(c.t, err)
			b.Write(buf)
			continue
		}
		return b.String()
	}
}

func literalSuffix(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(line[i+1 : len(line)-1])
	return n, err == nil
}

// expect reads one line per pattern.
func (c *client) expect(patterns ...string) {
	c.t.Helper()
	for _, p := range patterns {
		got := c.readLine()
		if !matchPattern(strings.ReplaceAll(p, "%", "\x00"), strings.ReplaceAll(got, "%", "\x00")) {
			c.t.Fatalf("response mismatch:\n got: %q\nwant: %q", got, p)
		}
	}
}

// expectFold is expect ignoring ASCII case (BODYSTRUCTURE atoms may be
// sent in either case).
func (c *client) expectFold(patterns ...string) {
	c.t.Helper()
	for _, p := range patterns {
		got := c.readLine()
		if !matchPattern(strings.ToLower(p), strings.ToLower(got)) {
			c.t.Fatalf("response mismatch:\n got: %q\nwant: %q", got, p)
		}
	}
}

// run plays a transcript: "C: line" is sent, "S: pattern" read and matched.
func (c *client) run(script ...string) {
	c.t.Helper()
	for _, l := range script {
		switch {
		case strings.HasPrefix(l, "C: "):
			c.send(l[3:])
		case strings.HasPrefix(l, "S: "):
			c.expect(l[3:])
		default:
			c.t.Fatalf("bad script line %q", l)
		}
	}
}

// expectClosed checks that the server closed the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.br.ReadString('\n')
	require.ErrorIs(c.t, err, io.EOF, "got %q", line)
}

func msg(subject, body string) string {
	return fmt.Sprintf("From: Bob <bob@example.org>\r\nTo: sara@example.org\r\nSubject: %s\r\nDate: Tue, 5 Mar 2024 10:00:00 +0000\r\nMessage-ID: <%s@example.org>\r\n\r\n%s", subject, strings.ReplaceAll(subject, " ", "."), body)
}

func TestGreetingCapabilityLogout(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.run(
		"C: a CAPABILITY",
		"S: * CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256 AUTH=CRAM-MD5 AUTH=OAUTHBEARER AUTH=XOAUTH2 SASL-IR *IDLE*APPENDLIMIT=33554432",
		"S: a OK CAPABILITY completed",
		"C: b NOOP",
		"S: b OK NOOP completed",
		"C: c LOGOUT",
		"S: * BYE *",
		"S: c OK LOGOUT completed",
	)
	c.expectClosed()
}

// skipUntil reads lines until one matches pattern.
func (c *client) skipUntil(pattern string) {
	c.t.Helper()
	for i := 0; i < 1000; i++ {
		if matchPattern(pattern, c.readLine()) {
			return
		}
	}
	c.t.Fatalf("no line matching %q", pattern)
}

// selectInbox logs in and selects INBOX.
func (e *testEnv) selectInbox() *client {
	c := e.login()
	c.send("S1 SELECT INBOX")
	c.skipUntil("S1 OK *")
	return c
}

func newReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }
