//go:build !linux

package imap

import "net"

// sendfileOK says whether sendFile can use sendfile(2) here.
const sendfileOK = false

// sendfile is Linux-only: elsewhere whole messages go through the write
// buffer.
func (c *conn) sendfile(tc *net.TCPConn, src uintptr, size int64) (n int64, handled bool, err error) {
	return 0, false, nil
}
