package imap

import (
	"bytes"
	"compress/flate"
	"io"
	"net"
)

// CodeCompressionActive is the response code of a second COMPRESS (RFC
// 4978 §3).
const CodeCompressionActive ResponseCode = "COMPRESSIONACTIVE"

// COMPRESS DEFLATE (RFC 4978). After the tagged OK both directions are
// raw DEFLATE streams (RFC 1951). The server sync-flushes after every
// response batch (each flush of the response writer), so the client never
// waits for data held in the compressor.
func cmdCompress(c *conn, cmd *command) error {
	d := c.dec
	var alg string
	if !d.ExpectSP() || !d.ExpectAtom(&alg) {
		return d.Err()
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if !equalFold(alg, "DEFLATE") {
		return errBad("Unknown compression algorithm")
	}
	if c.compressed {
		return errNo(CodeCompressionActive, "Compression is already on")
	}
	if !c.sendUpdates(true) {
		return errAlreadyAnswered
	}
	c.w.statusLine(cmd.tag, StatusOK, "", "", "DEFLATE active")
	if err := c.flush(); err != nil {
		c.state = stateLogout
		return errAlreadyAnswered
	}
	// Whatever the client sent after the command is compressed already.
	rest, _ := c.br.Peek(c.br.Buffered())
	c.compressed = true
	c.setStream(newZConn(c.nc, bytes.Clone(rest)))
	return errAlreadyAnswered
}

func equalFold(a, b string) bool { return len(a) == len(b) && bytes.EqualFold([]byte(a), []byte(b)) }

// zconn is the server side of COMPRESS: a connection whose both
// directions are DEFLATE streams. Reads inflate what has arrived; the inflater reads the raw connection
// through a bufio.Reader, which never asks for more than one Read returns,
// so a sync-flushed command is decoded as soon as its bytes are in. Every
// Write is compressed and sync-flushed: the response writer above writes
// once per batch (or per full buffer).
type zconn struct {
	net.Conn // the underlying connection: deadlines, addresses, Close
	r        io.ReadCloser
	w        *flate.Writer
}

func newZConn(nc net.Conn, buffered []byte) *zconn {
	// flate.NewWriter fails only for an invalid level.
	w, _ := flate.NewWriter(nc, compressLevel)
	return &zconn{Conn: nc, r: newInflater(io.MultiReader(bytes.NewReader(buffered), nc)), w: w}
}

// compressLevel trades CPU and memory for bytes on the wire: the fastest
// level keeps a compressed connection's compressor state small, and IMAP
// responses are mostly text that compresses well even so.
const compressLevel = flate.BestSpeed

func (d *zconn) Read(p []byte) (int, error) { return d.r.Read(p) }

func (d *zconn) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err == nil {
		err = d.w.Flush()
	}
	return n, err
}
