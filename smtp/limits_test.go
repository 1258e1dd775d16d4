package smtp

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaxRecipients(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, MaxRecipients: 3})
	cl := ehlo(t, addr)
	assert.Contains(t, cl.cmd("EHLO client.test", "250 "), "LIMITS RCPTMAX=3")
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	for i := 0; i < 3; i++ {
		cl.cmd("RCPT TO:<b@example.com>", "250 ")
	}
	cl.cmd("RCPT TO:<c@example.com>", "452 4.5.3 ")
	cl.cmd("DATA", "354 ")
	cl.send("x\r\n.\r\n")
	cl.expect("250 ")
	require.Len(t, be.messages()[0].To, 3)
}

func TestMaxBadCommands(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, MaxBadCommands: 3})
	cl := ehlo(t, addr)
	cl.cmd("FOO", "500 5.5.2 ")
	cl.cmd("MAIL FROM:<<<", "501 ")
	cl.cmd("BAR", "500 5.5.2 ")
	cl.expect("421 4.7.0 ")
	cl.closed()
}

func TestInvalidCharacterInCommand(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}})
	cl := ehlo(t, addr)
	cl.cmd("NOOP \x00", "500 5.5.2 ")
	cl.cmd("MAIL FROM:<a\rb@example.org>", "500 5.5.2 ")
	cl.cmd("NOOP", "250 ")
}

func TestReadTimeout(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, ReadTimeout: 100 * time.Millisecond})
	cl := ehlo(t, addr)
	start := time.Now()
	cl.expect("421 4.4.2 ")
	cl.closed()
	assert.Less(t, time.Since(start), 5*time.Second)
}

// The transaction deadline ends a client that trickles its message.
func TestTransactionTimeout(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, TransactionTimeout: 300 * time.Millisecond})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.cmd("DATA", "354 ")
	deadline := time.Now().Add(5 * time.Second)
	var reply string
	for time.Now().Before(deadline) {
		cl.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		line, err := cl.br.ReadString('\n')
		if err == nil {
			reply = line
			break
		}
		if _, err := cl.c.Write([]byte("x\r\n")); err != nil {
			break
		}
	}
	assert.True(t, strings.HasPrefix(reply, "421 4.4.2 "), "got %q", reply)
}

func TestMaxConnections(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, MaxConnections: 2, MaxConnectionsPerIP: -1})
	greeted(t, addr)
	greeted(t, addr)
	cl := dial(t, addr)
	cl.expect("421 4.3.2 ")
	cl.closed()
}

func TestMaxConnectionsPerIP(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, MaxConnectionsPerIP: 1})
	first := greeted(t, addr)
	cl := dial(t, addr)
	cl.expect("421 4.7.0 ")
	cl.closed()
	// Once the first leaves, a new one is welcome.
	first.cmd("QUIT", "221 ")
	first.closed()
	var ok bool
	for i := 0; i < 100 && !ok; i++ {
		c := dial(t, addr)
		ok = strings.HasPrefix(c.reply(), "220 ")
		c.c.Close()
		if !ok {
			time.Sleep(10 * time.Millisecond)
		}
	}
	assert.True(t, ok)
}

// countingListener counts the writes on each accepted connection.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	writes int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

func (l *countingListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes++
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// TestPipeliningBatchesReplies checks RFC 2920 §3.2: the replies to a
// pipelined group leave in one write.
func TestPipeliningBatchesReplies(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &countingListener{Listener: raw}
	be := &testBackend{}
	srv := &Server{Backend: be, Hostname: "mx.test"}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })

	cl := ehlo(t, raw.Addr().String())
	before := l.count()
	cl.send("RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n")
	cl.expect("250 ")
	cl.expect("250 ")
	cl.expect("250 ")
	cl.expect("250 ")
	cl.expect("354 ")
	assert.Equal(t, 1, l.count()-before, "replies to one pipelined group took several writes")
	cl.send("hi\r\n.\r\nQUIT\r\n")
	cl.expect("250 ")
	cl.expect("221 ")
}

func TestShutdown(t *testing.T) {
	inData := make(chan struct{})
	release := make(chan struct{})
	be := &testBackend{data: func(r any2reader) (string, error) {
		close(inData)
		<-release
		b, err := readAll(r)
		return string(b), err
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &Server{Backend: be, Hostname: "mx.test"}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	addr := l.Addr().String()

	idle := ehlo(t, addr)
	busy := ehlo(t, addr)
	startTx(busy)
	busy.cmd("DATA", "354 ")
	busy.send("hello\r\n.\r\n")
	<-inData

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	idle.expect("421 4.3.2 ")
	idle.closed()
	require.ErrorIs(t, <-served, ErrServerClosed)
	// New connections are refused.
	_, err = net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err)
	// The busy connection finishes its message, then gets 421.
	close(release)
	busy.expect("250 ")
	busy.expect("421 4.3.2 ")
	busy.closed()
	require.NoError(t, <-shut)
	require.Len(t, be.messages(), 1)
	assert.Equal(t, "hello\r\n", be.messages()[0].Data)
}

func TestShutdownContextExpires(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	be := &testBackend{data: func(r any2reader) (string, error) {
		<-release
		return "", nil
	}}
	srv := &Server{Backend: be}
	addr := startServer(t, srv)
	busy := ehlo(t, addr)
	startTx(busy)
	busy.cmd("DATA", "354 ")
	busy.send("x\r\n.\r\n")
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, srv.Shutdown(ctx), context.DeadlineExceeded)
}

func TestCloseCancelsSessions(t *testing.T) {
	ctxSeen := make(chan context.Context, 1)
	be := BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) {
		ctxSeen <- ctx
		return &testSession{b: &testBackend{}, info: c}, nil
	})
	srv := &Server{Backend: be}
	addr := startServer(t, srv)
	cl := greeted(t, addr)
	ctx := <-ctxSeen
	require.NoError(t, srv.Close())
	cl.closed()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session context not cancelled by Close")
	}
}

type panicSession struct{ testSession }

func (s *panicSession) Mail(ctx context.Context, from string, o *MailOptions) error {
	if from == "panic@example.org" {
		panic("boom")
	}
	return nil
}

func (s *panicSession) Close() error {
	if s.info.Hello == "panic-on-close" {
		panic("boom in Close")
	}
	return nil
}

func TestPanicRecovered(t *testing.T) {
	be := BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) {
		return &panicSession{testSession{b: &testBackend{}, info: c}}, nil
	})
	addr := startServer(t, &Server{Backend: be})
	other := ehlo(t, addr)
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:<panic@example.org>", "421 4.3.0 ")
	cl.closed()
	other.cmd("MAIL FROM:<fine@example.org>", "250 ")
	// A panic in Close, after the conversation, does not take the server down.
	pc := greeted(t, addr)
	pc.cmd("EHLO panic-on-close", "250 ")
	pc.cmd("QUIT", "221 ")
	pc.closed()
	other.cmd("RSET", "250 ")
}

func TestConnStateHook(t *testing.T) {
	var mu sync.Mutex
	var states []ConnState
	srv := &Server{Backend: &testBackend{}, ConnState: func(c net.Conn, s ConnState) {
		mu.Lock()
		states = append(states, s)
		mu.Unlock()
	}}
	addr := startServer(t, srv)
	cl := greeted(t, addr)
	cl.cmd("QUIT", "221 ")
	cl.closed()
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) > 0 && states[len(states)-1] == StateClosed
	})
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []ConnState{StateNew, StateIdle, StateActive, StateClosed}, states)
}

func TestContextHooks(t *testing.T) {
	type key struct{}
	got := make(chan any, 1)
	srv := &Server{
		BaseContext: func(net.Listener) context.Context { return context.WithValue(context.Background(), key{}, "base") },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, key{}, ctx.Value(key{}).(string)+"+conn")
		},
		Backend: BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) {
			got <- ctx.Value(key{})
			return &testSession{b: &testBackend{}, info: c}, nil
		}),
	}
	addr := startServer(t, srv)
	greeted(t, addr)
	assert.Equal(t, "base+conn", <-got)
}

func TestAuthFailureDelay(t *testing.T) {
	addr := startServer(t, &Server{Backend: authBackend(&testBackend{}), AllowInsecureAuth: true, AuthFailureDelay: 150 * time.Millisecond})
	cl := ehlo(t, addr)
	start := time.Now()
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00wrong"), "535 ")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
}

// TestWriteTimeout: a client that sends commands but never reads the
// replies is dropped once the server's writes stall.
func TestWriteTimeout(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, WriteTimeout: 100 * time.Millisecond, MaxBadCommands: -1})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	chunk := []byte(strings.Repeat("HELP\r\n", 1000))
	var werr error
	for i := 0; i < 2000 && werr == nil; i++ {
		_, werr = c.Write(chunk)
	}
	// The server gave up: our writes fail once it closed the connection.
	require.Error(t, werr)
	assert.False(t, errors.Is(werr, os.ErrDeadlineExceeded), "server never closed: %v", werr)
}

// TestDefaultLimits crosses the defaults a zero Server gets.
func TestDefaultLimits(t *testing.T) {
	addr := startServer(t, &Server{Backend: authBackend(&testBackend{}), AllowInsecureAuth: true})
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	for i := 0; i < DefaultMaxRecipients; i++ {
		cl.cmd("RCPT TO:<b@example.com>", "250 ")
	}
	cl.cmd("RCPT TO:<b@example.com>", "452 4.5.3 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("NOOP "+strings.Repeat("x", DefaultMaxLineLength-5), "250 ")
	cl.cmd("NOOP "+strings.Repeat("x", DefaultMaxLineLength-4), "500 5.5.2 ")
	for i := 0; i < DefaultMaxAuthFailures-1; i++ {
		cl.cmd("AUTH PLAIN "+b64("\x00jim\x00wrong"), "535 ")
	}
	cl.cmd("AUTH PLAIN "+b64("\x00jim\x00wrong"), "535 ")
	cl.expect("421 4.7.0 ")
	cl.closed()

	cl = ehlo(t, addr)
	for i := 0; i < DefaultMaxBadCommands-1; i++ {
		cl.cmd("BOGUS", "500 ")
	}
	cl.cmd("BOGUS", "500 ")
	cl.expect("421 4.7.0 ")
	cl.closed()
}

// TestDefaultMaxMessageBytes streams one byte more than the default limit.
func TestDefaultMaxMessageBytes(t *testing.T) {
	be := &testBackend{data: func(r io.Reader) (string, error) {
		n, err := io.Copy(io.Discard, r)
		return strconv.FormatInt(n, 10), err
	}}
	addr := startServer(t, &Server{Backend: be})
	cl := ehlo(t, addr)
	startTx(cl)
	chunk := strings.Repeat("x", 1<<20)
	cl.send("BDAT " + strconv.Itoa(DefaultMaxMessageBytes) + "\r\n")
	go func() {
		for i := 0; i < DefaultMaxMessageBytes>>20; i++ {
			io.WriteString(cl.c, chunk)
		}
		io.WriteString(cl.c, "BDAT 1 LAST\r\nx")
	}()
	cl.expect("250 2.0.0 33554432 octets")
	cl.expect("552 5.3.4 ")
	cl.cmd("NOOP", "250 ")
	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.ErrorIs(t, msgs[0].Err, ErrDataTooLarge)
	assert.Equal(t, strconv.Itoa(DefaultMaxMessageBytes), msgs[0].Data)
}
