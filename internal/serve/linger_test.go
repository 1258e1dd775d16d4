package serve

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
)

// byeServer answers the first line with "BYE\r\n" and ends the session,
// lingering or not, then reports when the connection is closed.
func byeServer(t *testing.T, linger bool, wrap func(net.Conn) net.Conn) (addr string, closed <-chan time.Time) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	done := make(chan time.Time, 1)
	go func() {
		raw, err := l.Accept()
		if err != nil {
			return
		}
		top := raw
		if wrap != nil {
			top = wrap(raw)
		}
		br := bufio.NewReader(top)
		if _, err := br.ReadString('\n'); err == nil {
			io.WriteString(top, "BYE\r\n")
			if linger {
				Linger(top, raw)
			}
		}
		top.Close()
		done <- time.Now()
	}()
	return l.Addr().String(), done
}

// keepWriting reads the server's BYE, then goes on writing as a client
// that pipelined more than the server read does, and returns the first
// write error.
func keepWriting(t *testing.T, c net.Conn) error {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "LOGOUT\r\nmore\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "BYE\r\n" {
		t.Fatalf("reply %q, %v", line, err)
	}
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		if _, err := io.WriteString(c, "still here\r\n"); err != nil {
			return err
		}
	}
	return nil
}

func TestLingerKeepsReadingUntilTheClientCloses(t *testing.T) {
	addr, closed := byeServer(t, true, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := keepWriting(t, c); err != nil {
		t.Fatalf("write after the final reply: %v (the server reset the connection)", err)
	}
	// The server's side is shut for writing: the client reads EOF.
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read after BYE = %d, %v; want EOF", n, err)
	}
	start := time.Now()
	c.Close()
	select {
	case at := <-closed:
		if at.Before(start) {
			t.Fatal("server closed before the client did")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not close after the client did")
	}
}

// Without Linger the same client gets a reset: the test above shows a
// property the plain close lacks.
func TestCloseWithoutLingerResets(t *testing.T) {
	addr, _ := byeServer(t, false, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := keepWriting(t, c); err == nil {
		t.Fatal("writes after a plain close succeeded; the Linger test proves nothing")
	}
}

// A client that never closes is dropped after LingerTimeout.
func TestLingerIsBounded(t *testing.T) {
	addr, closed := byeServer(t, true, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "LOGOUT\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-closed:
		if d := at.Sub(start); d < LingerTimeout/2 {
			t.Fatalf("server closed after %v, before the client and before LingerTimeout", d)
		}
	case <-time.After(LingerTimeout + 5*time.Second):
		t.Fatal("server still lingering well past LingerTimeout")
	}
}

// Over TLS the client gets close_notify (a clean EOF), not a truncation.
func TestLingerTLS(t *testing.T) {
	cert := testcert.Config()
	addr, _ := byeServer(t, true, func(raw net.Conn) net.Conn { return tls.Server(raw, cert) })
	c, err := tls.Dial("tcp", addr, testcert.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := keepWriting(t, c); err != nil {
		t.Fatalf("write after the final reply: %v", err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read after BYE = %d, %v; want EOF after close_notify", n, err)
	}
}
