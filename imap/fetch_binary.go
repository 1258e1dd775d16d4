package imap

import (
	"errors"
	"io"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// BINARY[section] and BINARY.SIZE[section] (RFC 3516): the content of a
// part with its Content-Transfer-Encoding removed. The decoded size must
// be known before the literal starts, so the part is decoded twice: once
// to count (and to see whether it holds NUL, which needs literal8), once
// to send. Memory use stays constant.

// binaryPart locates the part a BINARY section names and checks that its
// encoding is one the server can decode (otherwise NO [UNKNOWN-CTE]).
// A section with no path is the whole message, sent as is.
func (s *msgSource) binaryPart(sec *Section) (*mime.Part, error) {
	if len(sec.Path) == 0 {
		return nil, nil
	}
	root, err := s.structure()
	if err != nil {
		return nil, err
	}
	p, err := root.Find(sec.Path)
	if err != nil {
		return nil, errNo(CodeCannot, "No such section")
	}
	if p.IsMultipart() || p.IsMessage() {
		return nil, nil // a container: its content is sent as is
	}
	if _, err := mime.Decoder(p, nil); errors.Is(err, mime.ErrUnknownEncoding) {
		return nil, &Error{Type: StatusNO, Code: CodeUnknownCTE, Text: "Unknown content transfer encoding"}
	}
	return p, nil
}

// binaryReader opens the decoded content of p (nil: the whole message).
func (s *msgSource) binaryReader(p *mime.Part) (io.Reader, io.Closer, error) {
	rc, err := s.open()
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		return io.LimitReader(rc, s.info.Size), rc, nil
	}
	body, err := mailbox.Section(rc, p.BodyOffset, p.BodySize)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	if p.IsMultipart() || p.IsMessage() {
		return body, rc, nil
	}
	dec, err := mime.Decoder(p, body)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return dec, rc, nil
}

// binarySize counts the decoded octets and reports whether a NUL is among them.
func (s *msgSource) binarySize(p *mime.Part) (n int64, hasNUL bool, err error) {
	r, cl, err := s.binaryReader(p)
	if err != nil {
		return 0, false, err
	}
	defer cl.Close()
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		for _, b := range buf[:k] {
			if b == 0 {
				hasNUL = true
				break
			}
		}
		n += int64(k)
		if err == io.EOF {
			return n, hasNUL, nil
		}
		if err != nil {
			return n, hasNUL, err
		}
	}
}

// writeBinary writes "BINARY[section]<o> " and the decoded content as a
// literal (literal8 when it holds NUL).
func (c *conn) writeBinary(src *msgSource, it *wire.FetchItem) error {
	p, err := src.binaryPart(it.Section)
	if err != nil {
		return err
	}
	size, hasNUL, err := src.binarySize(p)
	if err != nil {
		return err
	}
	if it.Name == "BINARY.SIZE" {
		c.w.raw("BINARY.SIZE[")
		c.w.section(it.Section)
		c.w.raw("] ")
		c.w.num(uint64(size))
		return nil
	}
	off, n := int64(0), size
	c.w.raw("BINARY[")
	c.w.section(it.Section)
	c.w.byte(']')
	if it.Partial != nil {
		off = min(int64(it.Partial.Offset), size)
		n = min(size-off, int64(it.Partial.Count))
		c.w.byte('<')
		c.w.num32(it.Partial.Offset)
		c.w.byte('>')
	}
	c.w.sp()
	if hasNUL {
		c.w.byte('~')
	}
	c.w.literalHeader(n)
	r, cl, err := src.binaryReader(p)
	if err != nil {
		return c.brokenLiteral(err)
	}
	defer cl.Close()
	if off > 0 {
		if _, err := io.CopyN(io.Discard, r, off); err != nil {
			return c.brokenLiteral(err)
		}
	}
	if k, err := io.CopyN(c.w.bw, r, n); err != nil || k != n {
		return c.brokenLiteral(err)
	}
	return nil
}
