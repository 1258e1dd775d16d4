package imap

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// Compress turns on COMPRESS=DEFLATE (RFC 4978): from the server's OK
// on, both directions are raw DEFLATE streams, flushed after every
// command and response batch. It is worth it on slow links and for
// large FETCHes of text. Call it after STARTTLS and login.
func (c *Client) Compress(ctx context.Context) (err error) {
	end, err := c.beginCaps(ctx)
	if err != nil {
		return err
	}
	defer end(&err)
	if c.compressed {
		return errors.New("imap: compression is already on")
	}
	if !c.has("COMPRESS=DEFLATE") {
		return errors.New("imap: server does not offer COMPRESS=DEFLATE")
	}
	cmd, w := c.newCommand("COMPRESS")
	w.raw(" DEFLATE")
	if err := c.run(cmd, w); err != nil {
		return err
	}
	// Whatever the server sent after its OK is compressed already.
	rest, _ := c.rd.br.Peek(c.rd.br.Buffered())
	rest = bytes.Clone(rest)
	secure := c.secure
	c.setConn(newDeflateConn(c.conn, rest))
	c.secure = secure
	c.compressed = true
	return nil
}

// deflateConn compresses what is written and decompresses what is read.
//
// A DEFLATE stream cannot survive a read cut short by a deadline (the
// decompressor's error sticks), yet IDLE and context cancellation work
// by deadlines. So a goroutine pumps the decompressed stream into one
// end of a net.Pipe and the client reads the other end, where deadlines
// are harmless; the raw connection's reads never time out. Close ends
// the pump.
type deflateConn struct {
	net.Conn          // the raw connection: writes, addresses, Close
	pipe     net.Conn // decompressed data, with read deadlines
	w        *flate.Writer
}

func newDeflateConn(raw net.Conn, buffered []byte) *deflateConn {
	fw, _ := flate.NewWriter(raw, flate.DefaultCompression)
	pr, pw := net.Pipe()
	d := &deflateConn{Conn: raw, pipe: pr, w: fw}
	go func() {
		fr := flate.NewReader(io.MultiReader(bytes.NewReader(buffered), raw))
		io.Copy(pw, fr)
		pw.Close()
	}()
	return d
}

func (d *deflateConn) Read(p []byte) (int, error) { return d.pipe.Read(p) }

// Write compresses p and flushes, so that the command reaches the server
// now (the client's bufio.Writer calls it once per command batch).
func (d *deflateConn) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err == nil {
		err = d.w.Flush()
	}
	return n, err
}

func (d *deflateConn) SetDeadline(t time.Time) error {
	d.pipe.SetReadDeadline(t)
	return d.Conn.SetWriteDeadline(t)
}

func (d *deflateConn) SetReadDeadline(t time.Time) error { return d.pipe.SetReadDeadline(t) }

func (d *deflateConn) Close() error {
	d.pipe.Close()
	return d.Conn.Close()
}
