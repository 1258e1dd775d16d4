package smtp

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testMsg is one transaction a testSession saw.
type testMsg struct {
	From     string
	MailOpts *MailOptions
	To       []string
	RcptOpts []*RcptOptions
	Data     string
	Err      error // what reading the body returned
}

// testBackend records transactions and lets a test refuse at any step.
type testBackend struct {
	mu       sync.Mutex
	msgs     []testMsg
	sessions int
	closed   int
	infos    []ConnInfo

	newSession func(c *ConnInfo) error
	mail       func(from string, o *MailOptions) error
	rcpt       func(to string) error
	data       func(r io.Reader) (string, error) // default: io.ReadAll
}

func (b *testBackend) NewSession(ctx context.Context, c *ConnInfo) (Session, error) {
	if b.newSession != nil {
		if err := b.newSession(c); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &testSession{b: b, info: c}, nil
}

func (b *testBackend) messages() []testMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]testMsg(nil), b.msgs...)
}

type testSession struct {
	b    *testBackend
	info *ConnInfo
	cur  testMsg
}

func (s *testSession) Mail(ctx context.Context, from string, o *MailOptions) error {
	if s.b.mail != nil {
		if err := s.b.mail(from, o); err != nil {
			return err
		}
	}
	s.cur = testMsg{From: from, MailOpts: o}
	return nil
}

func (s *testSession) Rcpt(ctx context.Context, to string, o *RcptOptions) error {
	if s.b.rcpt != nil {
		if err := s.b.rcpt(to); err != nil {
			return err
		}
	}
	s.cur.To = append(s.cur.To, to)
	s.cur.RcptOpts = append(s.cur.RcptOpts, o)
	return nil
}

func (s *testSession) Data(ctx context.Context, r io.Reader) error {
	var data string
	var err error
	if s.b.data != nil {
		data, err = s.b.data(r)
	} else {
		var b []byte
		b, err = io.ReadAll(r)
		data = string(b)
	}
	m := s.cur
	m.Data, m.Err = data, err
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, m)
	s.b.mu.Unlock()
	return err
}

func (s *testSession) Reset(ctx context.Context) { s.cur = testMsg{} }

func (s *testSession) Close() error {
	s.b.mu.Lock()
	s.b.closed++
	s.b.infos = append(s.b.infos, *s.info)
	s.b.mu.Unlock()
	return nil
}

// startServer serves srv on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	if srv.Hostname == "" {
		srv.Hostname = "mx.test"
	}
	if srv.Logger == nil {
		srv.Logger = slog.New(slog.DiscardHandler)
	}
	if srv.AuthFailureDelay == 0 {
		srv.AuthFailureDelay = time.Millisecond
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return l.Addr().String()
}

// client is a line-level SMTP client for transcript tests.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// greeted dials and reads the greeting.
func greeted(t *testing.T, addr string) *client {
	cl := dial(t, addr)
	cl.expect("220 ")
	return cl
}

// ehlo dials, reads the greeting and says EHLO.
func ehlo(t *testing.T, addr string) *client {
	cl := greeted(t, addr)
	cl.cmd("EHLO client.test", "250 ")
	return cl
}

// send writes raw bytes.
func (cl *client) send(s string) {
	cl.t.Helper()
	_, err := io.WriteString(cl.c, s)
	require.NoError(cl.t, err)
}

// reply reads one whole reply and returns its lines joined by "\n".
func (cl *client) reply() string {
	cl.t.Helper()
	var lines []string
	for {
		line, err := cl.br.ReadString('\n')
		require.NoError(cl.t, err, "reading reply after %q", lines)
		require.True(cl.t, strings.HasSuffix(line, "\r\n"), "reply line %q not CRLF-terminated", line)
		line = strings.TrimSuffix(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// expect reads a reply and checks that its last line starts with prefix.
func (cl *client) expect(prefix string) string {
	cl.t.Helper()
	r := cl.reply()
	last := r[strings.LastIndexByte(r, '\n')+1:]
	require.True(cl.t, strings.HasPrefix(last, prefix), "got reply %q, want prefix %q", r, prefix)
	return r
}

// cmd sends a command line and expects a reply prefix.
func (cl *client) cmd(line, prefix string) string {
	cl.t.Helper()
	cl.send(line + "\r\n")
	return cl.expect(prefix)
}

// closed checks that the server closed the connection.
func (cl *client) closed() {
	cl.t.Helper()
	b, err := cl.br.ReadByte()
	require.Error(cl.t, err, "connection still open, got %q", b)
}

func nil2Listener(t *testing.T) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// waitFor waits (bounded) for cond, which is set by another goroutine.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

type any2reader = io.Reader

func readAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }
