package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is one accepted connection as the protocol serves it.
type Conn interface {
	// Serve handles the connection until it ends, in its own goroutine,
	// and closes it. A panic is recovered and logged by the Server; a
	// protocol that wants to say goodbye first recovers it itself.
	Serve()
	// Wake makes a connection that waits for a command return from its
	// read at once (Shutdown); a busy one finishes what it does, then
	// sees ShuttingDown. It is called with the Server's lock held.
	Wake()
	// Abort closes the connection at once (Close). It is called with the
	// Server's lock held.
	Abort()
}

// Limit says which connection limit a new connection crossed.
type Limit int

// Limits a new connection may cross.
const (
	LimitNone  Limit = iota // within every limit
	LimitTotal              // more than Server.MaxConns
	LimitPerIP              // more than Server.MaxConnsPerIP from its IP address
)

// Server runs the lifecycle of a protocol server. Set its fields before the
// first Serve and do not change them after.
type Server struct {
	// Name prefixes log messages ("smtp").
	Name string
	// ErrClosed is what Serve returns after Shutdown or Close: the
	// protocol's ErrServerClosed.
	ErrClosed error
	// Logger returns the logger for accept errors and panics.
	Logger func() *slog.Logger
	// BaseContext and ConnContext are the protocol server's fields of the
	// same names; nil leaves the context unchanged. A nil result panics.
	BaseContext func(net.Listener) context.Context
	ConnContext func(context.Context, net.Conn) context.Context
	// MaxConns and MaxConnsPerIP are the limits passed to New as a
	// Limit; 0 or less is none. The connection is counted either way:
	// the protocol refuses it in its own words, or returns nil from New.
	MaxConns      int
	MaxConnsPerIP int
	// OnListen, if set, is called with Serve's listener when Serve starts
	// and stops accepting on it.
	OnListen func(l *net.Listener, serving bool)

	mu         sync.Mutex
	listeners  map[*net.Listener]struct{}
	conns      map[Conn]string // the IP address of each
	perIP      map[string]int  // tracked and reserved connections
	reserved   int             // connections being created by New
	inShutdown atomic.Bool
	wg         sync.WaitGroup
}

// ShuttingDown reports whether Shutdown or Close has been called.
func (s *Server) ShuttingDown() bool { return s.inShutdown.Load() }

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		if l := s.Logger(); l != nil {
			return l
		}
	}
	return slog.Default()
}

// Serve accepts connections on l until Shutdown or Close (then it returns
// ErrClosed) or a permanent accept error. For each connection it calls New
// with the connection's context and the limit it crossed, then runs the
// Conn's Serve in a goroutine. New may write a refusal (it holds no lock,
// and its place counts toward the limits); when it returns nil the
// connection is not tracked, and New must have closed nc. If the server
// stops while New runs, the new Conn is aborted and Serve returns
// ErrClosed.
func (s *Server) Serve(l net.Listener, New func(ctx context.Context, nc net.Conn, over Limit) Conn) error {
	if !s.trackListener(&l, true) {
		l.Close()
		return s.ErrClosed
	}
	defer s.trackListener(&l, false)

	base := context.Background()
	if s.BaseContext != nil {
		if base = s.BaseContext(l); base == nil {
			panic(s.Name + ": BaseContext returned a nil context")
		}
	}
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return s.ErrClosed
			}
			if !temporary(err) {
				return err
			}
			delay = backoff(delay)
			s.logger().LogAttrs(base, slog.LevelWarn, s.Name+": accept error; retrying",
				slog.Any("err", err), slog.Duration("delay", delay))
			time.Sleep(delay)
			continue
		}
		delay = 0
		ctx := base
		if s.ConnContext != nil {
			if ctx = s.ConnContext(ctx, nc); ctx == nil {
				panic(s.Name + ": ConnContext returned a nil context")
			}
		}
		c, ok := s.add(ctx, nc, New)
		if !ok {
			nc.Close()
			return s.ErrClosed
		}
		if c != nil {
			go s.run(c)
		}
	}
}

// backoff is the wait after a temporary accept error that followed a wait
// of d (0 for none): 5 ms, doubling up to 1 s, as net/http does.
func backoff(d time.Duration) time.Duration {
	return min(max(2*d, 5*time.Millisecond), time.Second)
}

// temporary reports whether an accept error is worth retrying.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	if add {
		if s.inShutdown.Load() {
			s.mu.Unlock()
			return false
		}
		if s.listeners == nil {
			s.listeners = make(map[*net.Listener]struct{})
		}
		s.listeners[l] = struct{}{}
	} else {
		delete(s.listeners, l)
	}
	s.mu.Unlock()
	if s.OnListen != nil {
		s.OnListen(l, add)
	}
	return true
}

// add creates and tracks the Conn of nc; false once the server stops. Its
// place is reserved while New runs without the lock, so that a New that
// writes a refusal holds up neither the other listeners nor Shutdown.
func (s *Server) add(ctx context.Context, nc net.Conn, New func(context.Context, net.Conn, Limit) Conn) (Conn, bool) {
	ip := ipOf(nc.RemoteAddr())
	s.mu.Lock()
	if s.inShutdown.Load() {
		s.mu.Unlock()
		return nil, false
	}
	over := LimitNone
	switch {
	case s.MaxConns > 0 && len(s.conns)+s.reserved+1 > s.MaxConns:
		over = LimitTotal
	case s.MaxConnsPerIP > 0 && s.perIP[ip]+1 > s.MaxConnsPerIP:
		over = LimitPerIP
	}
	if s.perIP == nil {
		s.conns = make(map[Conn]string)
		s.perIP = make(map[string]int)
	}
	s.reserved++
	s.perIP[ip]++
	s.mu.Unlock()

	c := New(ctx, nc, over)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved--
	if c == nil || s.inShutdown.Load() {
		s.releaseIPLocked(ip)
		if c != nil {
			c.Abort()
			return nil, false
		}
		return nil, true
	}
	s.conns[c] = ip
	s.wg.Add(1)
	return c, true
}

func (s *Server) releaseIPLocked(ip string) {
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// ipOf is the key of the per-IP limit: the IP address of a TCP peer, the
// whole address of any other.
func ipOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if a == nil {
		return ""
	}
	return a.String()
}

func (s *Server) run(c Conn) {
	defer s.wg.Done()
	defer s.forget(c)
	defer func() {
		if r := recover(); r != nil {
			LogPanic(context.Background(), s.logger(), s.Name, r)
		}
	}()
	c.Serve()
}

func (s *Server) forget(c Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ip, ok := s.conns[c]
	if !ok {
		return
	}
	delete(s.conns, c)
	s.releaseIPLocked(ip)
}

// LogPanic logs v, recovered while serving a connection, with the stack.
func LogPanic(ctx context.Context, log *slog.Logger, name string, v any) {
	log.LogAttrs(ctx, slog.LevelError, name+": panic serving connection",
		slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
}

// Shutdown stops the server gracefully: it closes the listeners, wakes
// every connection (Conn.Wake) and waits until all have ended or ctx is
// done, then returning ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	s.closeListenersLocked()
	for c := range s.conns {
		c.Wake()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the server at once: it closes the listeners and aborts every
// connection (Conn.Abort). It returns the listeners' errors, if any.
func (s *Server) Close() error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.closeListenersLocked()
	for c := range s.conns {
		c.Abort()
	}
	return err
}

func (s *Server) closeListenersLocked() error {
	var errs []error
	for l := range s.listeners {
		if err := (*l).Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	clear(s.listeners)
	return errors.Join(errs...)
}
