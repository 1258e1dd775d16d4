package imap

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net"
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
	fw, _ := flate.NewWriter(c.conn, flate.DefaultCompression)
	secure := c.secure
	c.setConn(&deflateConn{
		Conn: c.conn,
		r:    flate.NewReader(io.MultiReader(bytes.NewReader(rest), c.conn)),
		w:    fw,
	})
	c.secure = secure
	c.compressed = true
	return nil
}

// deflateConn compresses what is written and decompresses what is read.
type deflateConn struct {
	net.Conn
	r io.ReadCloser
	w *flate.Writer
}

func (d *deflateConn) Read(p []byte) (int, error) { return d.r.Read(p) }

// Write compresses p and flushes, so that the command reaches the server
// now (the client's bufio.Writer calls it once per command batch).
func (d *deflateConn) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err == nil {
		err = d.w.Flush()
	}
	return n, err
}
