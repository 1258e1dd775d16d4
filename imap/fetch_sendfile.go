package imap

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
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

// sendFile sends size octets of the message from rc with sendfile(2) when
// it can: a plain TCP connection (no TLS, no COMPRESS), the whole message
// from its start, and a store whose Open returns an *os.File or an
// io.SectionReader over one (as the Maildir store does). It reports
// whether it did; n is what it sent.
func (s *msgSource) sendFile(rc io.Reader, off, size int64) (n int64, handled bool, err error) {
	c := s.c
	if size < sendfileMin || off != 0 {
		return 0, false, nil
	}
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return 0, false, nil
	}
	f, ok := rc.(*os.File)
	if !ok {
		o, isSection := rc.(interface {
			Outer() (io.ReaderAt, int64, int64)
		})
		if !isSection {
			return 0, false, nil
		}
		ra, base, length := o.Outer()
		if f, ok = ra.(*os.File); !ok || base != 0 || length < size {
			return 0, false, nil
		}
	}
	// sendfile reads from the file's offset, which ReadAt leaves alone.
	if pos, err := f.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return 0, false, nil
	}
	if err := c.w.bw.Flush(); err != nil {
		return 0, true, err
	}
	sendfileCount.Add(1)
	lr := &c.getScratch().lim
	defer func() { lr.R = nil }()
	for n < size {
		if wt := c.srv.writeTimeout(); wt > 0 {
			tc.SetWriteDeadline(time.Now().Add(wt))
		}
		lr.R, lr.N = f, min(sendfileChunk, size-n)
		k, err := tc.ReadFrom(lr)
		n += k
		if err != nil {
			return n, true, err
		}
		if k == 0 {
			return n, true, io.ErrUnexpectedEOF
		}
	}
	return n, true, nil
}
