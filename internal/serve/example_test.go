package serve_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/serve"
)

var ErrServerClosed = errors.New("hello: Server closed")

// helloConn greets, then waits for the client to hang up.
type helloConn struct {
	srv  *serve.Server
	nc   net.Conn
	over serve.Limit
	mu   sync.Mutex
	idle bool
}

func (c *helloConn) Serve() {
	defer c.nc.Close()
	if c.over != serve.LimitNone {
		fmt.Fprintf(c.nc, "busy, try later\r\n")
		return
	}
	fmt.Fprintf(c.nc, "hello\r\n")
	c.mu.Lock()
	c.idle = true
	c.mu.Unlock()
	if c.srv.ShuttingDown() { // checked after idle is set: Wake sees one or the other
		return
	}
	c.nc.Read(make([]byte, 1))
}

// Wake ends the wait for input with a deadline in the past.
func (c *helloConn) Wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

func (c *helloConn) Abort() { c.nc.Close() }

// A protocol server keeps a serve.Server and gives it a Conn per
// connection; its Shutdown and Close are the serve.Server's.
func Example() {
	srv := &serve.Server{Name: "hello", ErrClosed: ErrServerClosed, MaxConns: 100, MaxConnsPerIP: 10}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(l, func(ctx context.Context, nc net.Conn, over serve.Limit) serve.Conn {
			return &helloConn{srv: srv, nc: nc, over: over}
		})
	}()

	nc, _ := net.Dial("tcp", l.Addr().String())
	line := make([]byte, 7)
	io.ReadFull(nc, line)
	fmt.Printf("%q\n", line)

	fmt.Println(srv.Shutdown(context.Background())) // wakes the idle connection
	fmt.Println(<-done)
	// Output:
	// "hello\r\n"
	// <nil>
	// hello: Server closed
}
