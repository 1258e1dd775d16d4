package soak

import (
	"net"
	"strings"
	"testing"
	"time"
)

// Reset closes c with a TCP RST instead of a FIN (SO_LINGER 0), as a
// crashing client or a middlebox does.
func Reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// StuckReader connects to addr, writes cmd over and over without ever
// reading a reply, and returns when the server drops the connection
// (true) or limit passes (false). It is the client that stops reading:
// the server's write timeout must fire and free the connection.
func StuckReader(addr, cmd string, limit time.Duration) bool {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	return StuckConn(c, cmd, limit)
}

// StuckConn is StuckReader on a connection the caller has already set up
// (logged in, say).
func StuckConn(c net.Conn, cmd string, limit time.Duration) bool {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	chunk := []byte(strings.Repeat(cmd+"\r\n", 1000))
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Write(chunk); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue // our side is full too; wait for the server
			}
			return true
		}
	}
	return false
}

// Trickle is the slowloris client: it writes s to nc one byte per interval
// (cycling through s) while draining whatever the server answers, until
// the server closes the connection or limit passes. It reports whether
// the server closed it.
func Trickle(nc net.Conn, s string, interval, limit time.Duration) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			if _, err := nc.Read(buf); err != nil {
				return
			}
		}
	}()
	end := time.Now().Add(limit)
	for i := 0; time.Now().Before(end); i++ {
		select {
		case <-done:
			return true
		case <-time.After(interval):
		}
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := nc.Write([]byte{s[i%len(s)]}); err != nil {
			<-done
			return true
		}
	}
	return false
}

// FakeServer accepts one connection on 127.0.0.1 and runs serve on it
// with a 10-second deadline (a scripted hostile server for client tests);
// it returns the address. Everything is closed when the test ends.
func FakeServer(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serve(c)
	}()
	return ln.Addr().String()
}
