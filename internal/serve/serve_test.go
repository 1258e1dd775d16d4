package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var errClosed = errors.New("test: server closed")

// echoConn is a line-echo protocol: it reads until EOF or an error, and is
// idle while it waits for input.
type echoConn struct {
	nc      net.Conn
	over    Limit
	mu      sync.Mutex
	idle    bool
	srv     *Server
	release chan struct{} // when set, a busy Serve waits on it
	panics  bool
	woken   atomic.Bool
}

func (c *echoConn) Serve() {
	defer c.nc.Close()
	if c.panics {
		panic("boom")
	}
	if c.over != LimitNone {
		fmt.Fprintf(c.nc, "over %d\n", c.over)
		return
	}
	if c.release != nil {
		c.nc.Write([]byte("busy\n"))
		<-c.release
		c.nc.Write([]byte("done\n"))
		return
	}
	c.nc.Write([]byte("hello\n"))
	buf := make([]byte, 64)
	for {
		c.mu.Lock()
		c.idle = true
		c.mu.Unlock()
		if c.srv.ShuttingDown() {
			c.nc.Write([]byte("bye\n"))
			return
		}
		n, err := c.nc.Read(buf)
		c.mu.Lock()
		c.idle = false
		c.mu.Unlock()
		if err != nil {
			if c.srv.ShuttingDown() {
				c.nc.Write([]byte("bye\n"))
			}
			return
		}
		c.nc.Write(buf[:n])
	}
}

func (c *echoConn) Wake() {
	c.woken.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

func (c *echoConn) Abort() { c.nc.Close() }

type fixture struct {
	srv   *Server
	addr  string
	done  chan error
	mu    sync.Mutex
	conns []*echoConn
	logs  *syncBuffer
	// hook adjusts each new conn.
	hook func(*echoConn)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newFixture(t *testing.T, srv *Server, l net.Listener, hook func(*echoConn)) *fixture {
	t.Helper()
	f := &fixture{srv: srv, done: make(chan error, 1), logs: &syncBuffer{}, hook: hook}
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	srv.Name, srv.ErrClosed, srv.Logger = "test", errClosed, func() *slog.Logger { return log }
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	f.addr = l.Addr().String()
	go func() {
		f.done <- srv.Serve(l, func(ctx context.Context, nc net.Conn, over Limit) Conn {
			c := &echoConn{nc: nc, over: over, srv: srv}
			if f.hook != nil {
				f.hook(c)
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			return c
		})
	}()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-f.done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return f
}

// dial connects and reads the first line.
func dial(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc, readLine(t, nc)
}

func readLine(t *testing.T, nc net.Conn) string {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := nc.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return string(b)
			}
			b = append(b, one[0])
		}
		if err != nil {
			return string(b) + "<" + err.Error() + ">"
		}
	}
}

func TestServeAndShutdownWakesIdle(t *testing.T) {
	srv := &Server{}
	f := newFixture(t, srv, nil, nil)
	a, line := dial(t, f.addr)
	if line != "hello" {
		t.Fatalf("greeting %q", line)
	}
	a.Write([]byte("ping\n"))
	if got := readLine(t, a); got != "ping" {
		t.Fatalf("echo %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := readLine(t, a); got != "bye" {
		t.Fatalf("idle conn after Shutdown said %q, want bye", got)
	}
	if err := <-f.done; err != errClosed {
		t.Fatalf("Serve returned %v, want ErrClosed", err)
	}
	f.done <- errClosed // for the cleanup
	if !srv.ShuttingDown() {
		t.Fatal("ShuttingDown false after Shutdown")
	}
}

func TestShutdownWaitsForBusyConn(t *testing.T) {
	release := make(chan struct{})
	srv := &Server{}
	f := newFixture(t, srv, nil, func(c *echoConn) { c.release = release })
	a, line := dial(t, f.addr)
	if line != "busy" {
		t.Fatalf("first line %q", line)
	}
	// The deadline passes while the conn is busy.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown with a busy conn = %v, want DeadlineExceeded", err)
	}
	f.mu.Lock()
	woken := f.conns[0].woken.Load()
	f.mu.Unlock()
	if !woken {
		t.Fatal("Shutdown did not wake the conn")
	}
	// Once it finishes, a second Shutdown returns at once.
	close(release)
	if got := readLine(t, a); got != "done" {
		t.Fatalf("busy conn said %q", got)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestCloseAbortsConns(t *testing.T) {
	srv := &Server{}
	f := newFixture(t, srv, nil, func(c *echoConn) { c.release = make(chan struct{}) })
	a, _ := dial(t, f.addr)
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := readLine(t, a); !strings.Contains(got, "<") {
		t.Fatalf("conn still open after Close: %q", got)
	}
	if err := <-f.done; err != errClosed {
		t.Fatalf("Serve returned %v, want ErrClosed", err)
	}
	f.done <- errClosed
}

func TestServeAfterShutdownClosesListener(t *testing.T) {
	srv := &Server{Name: "test", ErrClosed: errClosed}
	srv.Shutdown(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l, func(context.Context, net.Conn, Limit) Conn { return nil }); err != errClosed {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("listener still open: %v", err)
	}
}

func TestLimits(t *testing.T) {
	t.Run("total", func(t *testing.T) {
		f := newFixture(t, &Server{MaxConns: 1}, nil, nil)
		a, line := dial(t, f.addr)
		if line != "hello" {
			t.Fatalf("first conn: %q", line)
		}
		if _, line := dial(t, f.addr); line != fmt.Sprintf("over %d", LimitTotal) {
			t.Fatalf("second conn: %q", line)
		}
		// Once the first has gone, there is room again.
		a.Close()
		waitFor(t, func() bool { _, l := dial(t, f.addr); return l == "hello" })
	})
	t.Run("per IP", func(t *testing.T) {
		f := newFixture(t, &Server{MaxConns: 10, MaxConnsPerIP: 2}, nil, nil)
		dial(t, f.addr)
		dial(t, f.addr)
		if _, line := dial(t, f.addr); line != fmt.Sprintf("over %d", LimitPerIP) {
			t.Fatalf("third conn from one IP: %q", line)
		}
	})
	t.Run("none", func(t *testing.T) {
		f := newFixture(t, &Server{}, nil, nil)
		for range 5 {
			if _, line := dial(t, f.addr); line != "hello" {
				t.Fatalf("unlimited: %q", line)
			}
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 5 s")
}

func TestNewNilIsNotTracked(t *testing.T) {
	srv := &Server{Name: "test", ErrClosed: errClosed}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(l, func(_ context.Context, nc net.Conn, _ Limit) Conn {
			nc.Write([]byte("refused\n"))
			nc.Close()
			refused <- struct{}{}
			return nil
		})
	}()
	if _, line := dial(t, l.Addr().String()); line != "refused" {
		t.Fatalf("got %q", line)
	}
	<-refused
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown waited for an untracked conn: %v", err)
	}
	if err := <-done; err != errClosed {
		t.Fatalf("Serve = %v", err)
	}
}

func TestPanicRecovered(t *testing.T) {
	srv := &Server{}
	f := newFixture(t, srv, nil, func(c *echoConn) { c.panics = true })
	a, _ := dial(t, f.addr)
	_ = a
	waitFor(t, func() bool { return strings.Contains(f.logs.String(), "test: panic serving connection") })
	if !strings.Contains(f.logs.String(), "boom") || !strings.Contains(f.logs.String(), "stack=") {
		t.Fatalf("panic log lacks value or stack: %s", f.logs.String())
	}
	// The panicked conn was forgotten: Shutdown does not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

type ctxKey struct{}

func TestContexts(t *testing.T) {
	var listeners []bool
	var lmu sync.Mutex
	srv := &Server{
		Name: "test", ErrClosed: errClosed,
		BaseContext: func(net.Listener) context.Context { return context.WithValue(context.Background(), ctxKey{}, "base") },
		ConnContext: func(ctx context.Context, nc net.Conn) context.Context {
			return context.WithValue(ctx, ctxKey{}, ctx.Value(ctxKey{}).(string)+"+conn")
		},
		OnListen: func(_ *net.Listener, serving bool) { lmu.Lock(); listeners = append(listeners, serving); lmu.Unlock() },
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan any, 1)
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(l, func(ctx context.Context, nc net.Conn, _ Limit) Conn {
			got <- ctx.Value(ctxKey{})
			nc.Close()
			return nil
		})
	}()
	dial(t, l.Addr().String())
	if v := <-got; v != "base+conn" {
		t.Fatalf("context value %v", v)
	}
	srv.Close()
	<-done
	lmu.Lock()
	defer lmu.Unlock()
	if fmt.Sprint(listeners) != "[true false]" {
		t.Fatalf("OnListen calls %v", listeners)
	}
}

func TestNilContextsPanic(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv := &Server{Name: "test", ErrClosed: errClosed, BaseContext: func(net.Listener) context.Context { return nil }}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "BaseContext") {
			t.Fatalf("recovered %v, want a BaseContext panic", r)
		}
	}()
	srv.Serve(l, func(context.Context, net.Conn, Limit) Conn { return nil })
}

// flakyListener fails Accept with the given errors first.
type flakyListener struct {
	net.Listener
	mu   sync.Mutex
	errs []error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

type tempErr struct{}

func (tempErr) Error() string   { return "temporary" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

func TestAcceptBackoff(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	l := &flakyListener{Listener: raw, errs: []error{tempErr{}, emfile, os.ErrDeadlineExceeded, syscall.ENFILE}}
	f := newFixture(t, &Server{}, l, nil)
	start := time.Now()
	if _, line := dial(t, f.addr); line != "hello" {
		t.Fatalf("after temporary errors: %q", line)
	}
	// 5 + 10 + 20 + 40 ms of back-off.
	if d := time.Since(start); d < 75*time.Millisecond {
		t.Fatalf("served after %v, before the back-off", d)
	}
	logs := f.logs.String()
	for _, want := range []string{"delay=5ms", "delay=10ms", "delay=20ms", "delay=40ms", "test: accept error; retrying"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestBackoffSchedule(t *testing.T) {
	var got []time.Duration
	var d time.Duration
	for range 10 {
		d = backoff(d)
		got = append(got, d)
	}
	want := "[5ms 10ms 20ms 40ms 80ms 160ms 320ms 640ms 1s 1s]"
	if fmt.Sprint(got) != want {
		t.Fatalf("back-off %v, want %s", got, want)
	}
}

func TestTemporary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{tempErr{}, true},
		{os.ErrDeadlineExceeded, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{fmt.Errorf("wrapped: %w", syscall.ENFILE), true},
		{errors.New("permanent"), false},
		{net.ErrClosed, false},
	} {
		if got := temporary(tc.err); got != tc.want {
			t.Errorf("temporary(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestPermanentAcceptError(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	bad := errors.New("listener broken")
	srv := &Server{Name: "test", ErrClosed: errClosed}
	err = srv.Serve(&flakyListener{Listener: raw, errs: []error{bad}}, func(context.Context, net.Conn, Limit) Conn { return nil })
	if err != bad {
		t.Fatalf("Serve = %v, want the accept error", err)
	}
}

// TestNewRunsWithoutLock: while one listener's New is slow, another
// listener still accepts, its connection counting the slow one's place;
// a Shutdown meanwhile aborts the slow one's Conn.
func TestNewRunsWithoutLock(t *testing.T) {
	srv := &Server{Name: "test", ErrClosed: errClosed, MaxConns: 1}
	slowL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fastL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, unblock := make(chan struct{}), make(chan struct{})
	limits := make(chan Limit, 1)
	newConn := func(_ context.Context, nc net.Conn, over Limit) Conn {
		if nc.LocalAddr().String() == slowL.Addr().String() {
			close(entered)
			<-unblock
			return &echoConn{nc: nc, srv: srv}
		}
		limits <- over
		nc.Close()
		return nil
	}
	slowDone, fastDone := make(chan error, 1), make(chan error, 1)
	go func() { slowDone <- srv.Serve(slowL, newConn) }()
	go func() { fastDone <- srv.Serve(fastL, newConn) }()
	a, err := net.Dial("tcp", slowL.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	<-entered
	b, err := net.Dial("tcp", fastL.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if over := <-limits; over != LimitTotal {
		t.Fatalf("second connection while the first is in New: %v, want LimitTotal", over)
	}
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	waitFor(t, srv.ShuttingDown)
	close(unblock)
	if err := <-slowDone; err != errClosed {
		t.Fatalf("slow Serve = %v", err)
	}
	if err := <-fastDone; err != errClosed {
		t.Fatalf("fast Serve = %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if got := readLine(t, a); !strings.Contains(got, "<") {
		t.Fatalf("conn created during Shutdown was not aborted: %q", got)
	}
}
