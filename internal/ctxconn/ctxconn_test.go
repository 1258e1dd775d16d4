package ctxconn

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

func TestPrefixConnNettest(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		a, b, err := tcpPair()
		if err != nil {
			return nil, nil, nil, err
		}
		stop = func() { a.Close(); b.Close() }
		return NewPrefixConn(a, nil), NewPrefixConn(b, nil), stop, nil
	})
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	r := <-ch
	if r.err != nil {
		a.Close()
		return nil, nil, r.err
	}
	return a, r.c, nil
}

func TestPrefixConnReadsPrefixFirst(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go func() {
		a.Write([]byte("world"))
		a.Close()
	}()
	p := NewPrefixConn(b, []byte("hello "))
	var got strings.Builder
	buf := make([]byte, 4) // smaller than the prefix: it spans reads
	for {
		n, err := p.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got.String() != "hello world" {
		t.Fatalf("read %q", got.String())
	}
	if p.Unwrap() != b {
		t.Fatal("Unwrap does not return the wrapped conn")
	}
}

func TestDiscardBuffered(t *testing.T) {
	// The client pipelined a command after STARTTLS; the server must drop it.
	br := bufio.NewReader(strings.NewReader("STARTTLS\r\nMAIL FROM:<evil@x>\r\n"))
	line, _ := br.ReadString('\n')
	if line != "STARTTLS\r\n" {
		t.Fatalf("line %q", line)
	}
	if n := DiscardBuffered(br); n != len("MAIL FROM:<evil@x>\r\n") {
		t.Fatalf("discarded %d bytes", n)
	}
	if br.Buffered() != 0 {
		t.Fatal("bytes still buffered")
	}
	if n := DiscardBuffered(br); n != 0 {
		t.Fatalf("second discard: %d", n)
	}
}

func TestBindCancel(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := Bind(ctx, a)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocked Read returned %v, want a deadline error", err)
	}
	if err := done(); err != context.Canceled {
		t.Fatalf("done() = %v, want context.Canceled", err)
	}
}

func TestBindDeadline(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := Bind(ctx, a)
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a deadline error", err)
	}
	if err := done(); err != context.DeadlineExceeded {
		t.Fatalf("done() = %v", err)
	}
}

func TestBindClearsDeadline(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	done := Bind(ctx, a)
	if err := done(); err != nil {
		t.Fatal(err)
	}
	cancel() // after done, cancelling must not touch the conn
	go b.Write([]byte("x"))
	if _, err := a.Read(make([]byte, 1)); err != nil {
		t.Fatalf("Read after done: %v", err)
	}
}
