package imap

import (
	"io"
	"net"
	"sync/atomic"
)

// sendfileMin is the literal size from which a whole message goes out
// with sendfile(2), from the store's file straight to the socket, instead
// of through the write buffer. Below it, batching many messages into one
// write(2) costs less.
const sendfileMin = 256 << 10

// sendfileChunk is how much one sendfile call sends: each chunk gets its
// own WriteTimeout, like each write of the buffer.
const sendfileChunk = 1 << 20

// sendfileCount counts the messages sent with sendfile (for tests).
var sendfileCount atomic.Int64

// fdReader is a message reader backed by an open file: *os.File, and the
// Maildir store's own reader. Fd must stay valid until the reader is
// closed.
type fdReader interface {
	Fd() uintptr
}

// messageFd returns the file descriptor behind rc when rc reads a file
// from its start: an fdReader, or an io.SectionReader over one from
// offset 0 and at least size octets long.
func messageFd(rc io.Reader, size int64) (uintptr, bool) {
	if f, ok := rc.(fdReader); ok {
		return f.Fd(), true
	}
	o, ok := rc.(interface {
		Outer() (io.ReaderAt, int64, int64)
	})
	if !ok {
		return 0, false
	}
	ra, base, length := o.Outer()
	f, ok := ra.(fdReader)
	if !ok || base != 0 || length < size {
		return 0, false
	}
	return f.Fd(), true
}

// sendFile sends size octets of the message from rc with sendfile(2) when
// it can: a plain TCP connection (no TLS, no COMPRESS), the whole message
// from its start, and a store whose Open returns a reader on a file (see
// messageFd; the Maildir store's does), on Linux. It reports whether it
// did; n is what it sent.
func (s *msgSource) sendFile(rc io.Reader, off, size int64) (n int64, handled bool, err error) {
	c := s.c
	if !sendfileOK || size < sendfileMin || off != 0 {
		return 0, false, nil
	}
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return 0, false, nil
	}
	src, ok := messageFd(rc, size)
	if !ok {
		return 0, false, nil
	}
	if err := c.w.bw.Flush(); err != nil {
		return 0, true, err
	}
	sendfileCount.Add(1)
	return c.sendfile(tc, src, size)
}
