package ctxconn

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Bind makes I/O on c obey ctx until the returned done function is called:
// ctx's deadline becomes c's deadline, and cancelling ctx sets a deadline in
// the past so that blocked reads and writes return at once.
//
// done ends the binding. If ctx interrupted the operation, done returns
// ctx.Err() (also when ctx's deadline passed, which may have cut an I/O short)
// and the connection is left with a past deadline: the protocol is
// out of step, and the caller must treat its client as broken (Close is all
// that is left). Otherwise done clears the deadline and returns its error.
func Bind(ctx context.Context, c net.Conn) (done func() error) {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return func() error {
		if !stop() {
			return ctx.Err()
		}
		err := ctx.Err()
		if d, ok := ctx.Deadline(); ok && err == nil && !time.Now().Before(d) {
			err = context.DeadlineExceeded // c's deadline fired before ctx's timer
		}
		if err != nil {
			// c's own deadline may have cut the operation short.
			c.SetDeadline(time.Unix(1, 0))
			return err
		}
		return c.SetDeadline(time.Time{})
	}
}

// DiscardBuffered throws away whatever br holds that was already read from
// the connection and returns how many bytes that was. A server calls it right
// after it read the STARTTLS (or STLS) command line, before it starts the TLS
// handshake on the raw connection: any bytes buffered at that point were
// pipelined in plaintext after the command (RFC 3207 §4.2, CVE-2011-0411).
func DiscardBuffered(br *bufio.Reader) int {
	n, _ := br.Discard(br.Buffered())
	return n
}

// PrefixConn is a net.Conn whose Read first returns Prefix and then reads
// from the wrapped connection. It lets bytes already taken out of a
// connection (by a bufio.Reader, or by sniffing a protocol) be read again.
type PrefixConn struct {
	net.Conn

	mu     sync.Mutex
	prefix []byte
	empty  atomic.Bool // prefix fully read: skip the mutex
}

// NewPrefixConn returns a PrefixConn that reads prefix, then c. It copies
// prefix.
func NewPrefixConn(c net.Conn, prefix []byte) *PrefixConn {
	p := &PrefixConn{Conn: c, prefix: append([]byte(nil), prefix...)}
	p.empty.Store(len(prefix) == 0)
	return p
}

// Read reads the rest of the prefix if any remains, else from the wrapped
// connection.
func (p *PrefixConn) Read(b []byte) (int, error) {
	if !p.empty.Load() {
		p.mu.Lock()
		if len(p.prefix) > 0 {
			n := copy(b, p.prefix)
			p.prefix = p.prefix[n:]
			if len(p.prefix) == 0 {
				p.prefix = nil
				p.empty.Store(true)
			}
			p.mu.Unlock()
			return n, nil
		}
		p.mu.Unlock()
	}
	return p.Conn.Read(b)
}

// Unwrap returns the wrapped connection.
func (p *PrefixConn) Unwrap() net.Conn { return p.Conn }
