package imap

import (
	"io"
	"net"
	"syscall"
	"time"
)

// sendfileOK says whether sendFile can use sendfile(2) here.
const sendfileOK = true

// sendfile sends size octets of the file src from its start to tc, a
// chunk at a time, each with its own WriteTimeout. sendfile(2) reads at
// an offset of its own, so the file's offset does not matter.
func (c *conn) sendfile(tc *net.TCPConn, src uintptr, size int64) (n int64, handled bool, err error) {
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, true, err
	}
	pos := int64(0)
	for n < size {
		if wt := c.srv.writeTimeout(); wt > 0 {
			tc.SetWriteDeadline(time.Now().Add(wt))
		}
		chunk := int(min(sendfileChunk, size-n))
		var serr error
		done := 0
		werr := raw.Write(func(sock uintptr) bool {
			for done < chunk {
				k, errno := syscall.Sendfile(int(sock), int(src), &pos, chunk-done)
				if k > 0 {
					done += k
				}
				switch {
				case errno == syscall.EAGAIN:
					return false // wait until the socket takes more
				case errno == syscall.EINTR:
				case errno != nil:
					serr = errno
					return true
				case k == 0:
					serr = io.ErrUnexpectedEOF // the file is shorter
					return true
				}
			}
			return true
		})
		n += int64(done)
		if serr == nil {
			serr = werr
		}
		if serr != nil {
			return n, true, serr
		}
	}
	return n, true, nil
}
