package serve

import (
	"crypto/tls"
	"io"
	"net"
	"time"
)

// Lingering bounds for Linger: how long the server keeps reading after its
// last reply, and how much it reads.
const (
	LingerTimeout  = time.Second
	LingerMaxBytes = 256 << 10
)

// Linger ends a session the server chose to end after a final reply
// (IMAP LOGOUT or BYE, POP3 QUIT, SMTP QUIT or 421) without a reset, and
// returns; the caller closes the connection afterwards as usual.
//
// Closing a TCP socket that still holds unread input makes the kernel
// answer with a reset, which can destroy the final reply on its way and
// makes a client that is still sending (pipelined commands after LOGOUT,
// the tail of a compressed stream) fail its write. So Linger shuts the
// write side down (after a TLS close_notify when top is a *tls.Conn), then
// reads and discards what the client still sends until it closes, for at
// most LingerTimeout and LingerMaxBytes: a hostile client cannot hold the
// connection longer than that.
//
// top is the connection the session writes to (TLS or not); raw is the
// accepted connection under it, or nil for top's own (for TLS, its
// NetConn). Connections that cannot half-close (net.Pipe) are left alone.
func Linger(top, raw net.Conn) {
	if tc, ok := top.(*tls.Conn); ok {
		tc.SetWriteDeadline(time.Now().Add(LingerTimeout))
		tc.CloseWrite() // close_notify; fails harmlessly before a handshake
		if raw == nil {
			raw = tc.NetConn()
		}
	}
	if raw == nil {
		raw = top
	}
	cw, ok := raw.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if raw.SetReadDeadline(time.Now().Add(LingerTimeout)) != nil {
		return
	}
	io.CopyN(io.Discard, raw, LingerMaxBytes)
}
