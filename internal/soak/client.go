package soak

import (
	"net"
	"strings"
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
