package pop3

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// pipeSession serves one connection over net.Pipe inside a synctest
// bubble and returns the client end.
func pipeSession(t *testing.T, srv *Server) (net.Conn, *bufio.Reader) {
	a, b := net.Pipe()
	c := srv.newConn(context.Background(), b)
	go c.serve()
	t.Cleanup(func() { a.Close() })
	return a, bufio.NewReader(a)
}

func TestAuthFailureDelayDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		srv := &Server{Store: st, AllowInsecureAuth: true, Hostname: "h", Logger: discard()}
		a, br := pipeSession(t, srv)
		br.ReadString('\n')
		a.Write([]byte("USER sara\r\n"))
		br.ReadString('\n')
		start := time.Now()
		a.Write([]byte("PASS wrong\r\n"))
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "-ERR [AUTH]") {
			t.Fatalf("reply %q", line)
		}
		if d := time.Since(start); d != DefaultAuthFailureDelay {
			t.Fatalf("failed login answered after %v, want %v", d, DefaultAuthFailureDelay)
		}
		// A good login is not delayed.
		a.Write([]byte("USER sara\r\nPASS secret\r\n"))
		start = time.Now()
		br.ReadString('\n')
		line, _ = br.ReadString('\n')
		if !strings.HasPrefix(line, "+OK") || time.Since(start) != 0 {
			t.Fatalf("good login: %q after %v", line, time.Since(start))
		}
		a.Write([]byte("QUIT\r\n"))
		br.ReadString('\n')
		synctest.Wait()
	})
}

func TestAutologoutDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &Server{Store: newStore(t), AllowInsecureAuth: true, Hostname: "h", Logger: discard()}
		_, br := pipeSession(t, srv)
		br.ReadString('\n')
		start := time.Now()
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "-ERR autologout") {
			t.Fatalf("reply %q", line)
		}
		// RFC 1939 §3: at least 10 minutes.
		if d := time.Since(start); d != DefaultReadTimeout || d < 10*time.Minute {
			t.Fatalf("autologout after %v", d)
		}
		synctest.Wait()
	})
}
