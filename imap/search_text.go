package imap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"slices"
	"strings"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// Reading a message for SEARCH and matching strings in it. Every buffer
// lives in the searchCtx, so that a search reuses them from message to
// message and parallel workers share none (the connection's scratch is
// not used here).
//
// A message of at most maxPreload octets is read whole, in one read when
// the store implements mailbox.MessageReader. Its header and body are then
// searched in memory: BODY and TEXT first look for the string in the
// message's own bytes, lower-cased, and only when it is there (or when the
// message's text is encoded: base64, quoted-printable, a charset other
// than UTF-8 or US-ASCII, 8-bit octets) decode the text parts through the
// MIME structure. A larger message has its header read, and its text parts
// streamed from the store.

// searchMsgBuf holds one message's bytes and what is derived from them.
type searchMsgBuf struct {
	loaded    bool
	raw       []byte // the message, when read whole (buffer reused)
	low       []byte // raw with ASCII letters lower-cased (buffer reused)
	lowDone   bool
	ascii     bool // raw holds no octet ≥ 0x80
	plainDone bool
	plain     bool   // the body text is raw's own octets: see plainText
	hdr       []byte // header of a message too large to read whole
	br        *bufio.Reader
	lim       io.LimitedReader
	text      bytes.Buffer // body text being collected
	rd        bytes.Reader
	leaves    []*mime.Part
}

func (b *searchMsgBuf) reset() {
	b.loaded, b.lowDone, b.plainDone = false, false, false
	clear(b.leaves)
	b.leaves = b.leaves[:0]
}

// needle returns the lower-cased string of a BODY, TEXT or header key.
func (s *searchCtx) needle(k *SearchKey) []byte {
	if low, ok := s.needles[k]; ok {
		return low
	}
	return []byte(strings.ToLower(k.Str))
}

// load reads the current message: whole when it is small enough, else
// its header. It sets s.src's header (and raw) so that msgSource serves
// the rest without the connection's scratch buffers.
func (s *searchCtx) load() error {
	b := &s.msg
	if b.loaded {
		return nil
	}
	c, m := s.c, s.m
	if m.Size <= maxPreload {
		buf, err := readMessage(c, m, b.raw[:0])
		if err != nil {
			return err
		}
		if buf == nil {
			buf = []byte{}
		}
		b.raw = buf
		s.src.raw = buf
		s.src.header, s.src.done = headerBlock(buf), true
		b.loaded = true
		return nil
	}
	rc, err := c.mbox.Open(c.ctx, m.UID)
	if err != nil {
		return err
	}
	defer rc.Close()
	if b.br == nil {
		b.br = bufio.NewReaderSize(nil, 4096)
	}
	b.lim.R, b.lim.N = rc, min(m.Size, maxHeaderBytes)
	b.br.Reset(&b.lim)
	b.hdr = readHeader(b.br, b.hdr[:0])
	b.br.Reset(nil)
	b.lim.R = nil
	s.src.header, s.src.done = b.hdr, true
	b.loaded = true
	return nil
}

// readMessage appends the m.Size octets of message m to dst: with one
// ReadMessage when the store implements mailbox.MessageReader, else
// through Open.
func readMessage(c *conn, m *mailbox.MessageInfo, dst []byte) ([]byte, error) {
	if mr, ok := c.mbox.(mailbox.MessageReader); ok {
		out, err := mr.ReadMessage(c.ctx, m.UID, dst)
		if err == nil && int64(len(out)-len(dst)) != m.Size {
			err = io.ErrUnexpectedEOF
		}
		return out, err
	}
	rc, err := c.mbox.Open(c.ctx, m.UID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := slices.Grow(dst, int(m.Size))[:len(dst)+int(m.Size)]
	if _, err := io.ReadFull(rc, buf[len(dst):]); err != nil {
		return nil, err
	}
	return buf, nil
}

// lowered fills b.low and b.ascii from the message in memory.
func (b *searchMsgBuf) lowered(raw []byte) {
	if !b.lowDone {
		b.low, b.ascii = lowerASCII(b.low[:0], raw)
		b.lowDone = true
	}
}

// plainText reports whether every part SEARCH reads as body text is a
// range of the message's own octets, lower-cased with ASCII rules: the
// message is all ASCII, no part is base64 or quoted-printable (the
// words appear nowhere), and every charset named is UTF-8 or US-ASCII
// (which pass through). Anything unusual says no, and the text parts are
// then decoded.
func (b *searchMsgBuf) plainText(raw []byte) bool {
	if b.plainDone {
		return b.plain
	}
	b.lowered(raw)
	b.plain = b.ascii && !bytes.Contains(b.low, []byte("base64")) &&
		!bytes.Contains(b.low, []byte("quoted-printable")) && passThroughCharsets(b.low)
	b.plainDone = true
	return b.plain
}

// passThroughCharsets reports whether every "charset" in low (lower case)
// is followed by "=" and a name CharsetReader passes through, bare or
// quoted: RFC 2231 forms, spaces, comments and encoded words all say no.
func passThroughCharsets(low []byte) bool {
	for {
		i := bytes.Index(low, []byte("charset"))
		if i < 0 {
			return true
		}
		low = low[i+len("charset"):]
		if len(low) == 0 || low[0] != '=' {
			return false
		}
		v := low[1:]
		quoted := len(v) > 0 && v[0] == '"'
		if quoted {
			v = v[1:]
		}
		ok := false
		for _, name := range []string{"utf-8", "utf8", "us-ascii", "ascii"} {
			rest, found := bytes.CutPrefix(v, []byte(name))
			if !found {
				continue
			}
			if quoted {
				ok = len(rest) > 0 && rest[0] == '"'
			} else {
				ok = len(rest) == 0 || bytes.IndexByte([]byte(";\r\n \t"), rest[0]) >= 0
			}
			break
		}
		if !ok {
			return false
		}
	}
}

// headerBytesContain reports whether the header, unfolded and lower-cased,
// contains low. A string without white space or line ends cannot span a
// fold, so it is looked for in the lower-cased message as it is.
func (s *searchCtx) headerBytesContain(low []byte) bool {
	hdr := s.src.header
	if raw := s.src.raw; raw != nil && bytes.IndexAny(low, " \t\r\n") < 0 {
		s.msg.lowered(raw)
		return bytes.Contains(s.msg.low[:len(hdr)], low)
	}
	s.unfolded = unfoldLower(s.unfolded[:0], hdr)
	return bytes.Contains(s.unfolded, low)
}

// bodyContains searches the body text: the text/* parts, with transfer
// encoding removed and charset converted to UTF-8, compared ignoring case
// (RFC 9051 §6.4.4). At most maxSearchBody octets per message are read.
// low is the string searched for, lower-cased.
func (s *searchCtx) bodyContains(low []byte) (bool, error) {
	if !s.bodyDone {
		if err := s.load(); err != nil {
			return false, err
		}
		// The body text is ranges of the message joined by "\n": a string
		// without "\n" that the message does not hold is not in it.
		if raw := s.src.raw; raw != nil && len(low) > 0 && bytes.IndexByte(low, '\n') < 0 &&
			s.msg.plainText(raw) && !bytes.Contains(s.msg.low, low) {
			return false, nil
		}
		if err := s.loadBodyText(); err != nil {
			return false, err
		}
		s.bodyDone = true
	}
	return bytes.Contains(s.body, low), nil
}

func (s *searchCtx) loadBodyText() error {
	root, err := s.src.structure()
	if err != nil {
		return err
	}
	leaves := s.msg.leaves[:0]
	root.Walk(func(_ []int, p *mime.Part) bool {
		if !p.IsMultipart() && !p.IsMessage() && (p.Type == "text" || p == root) {
			leaves = append(leaves, p)
		}
		return true
	})
	s.msg.leaves = leaves
	buf := &s.msg.text
	buf.Reset()
	for _, p := range leaves {
		if int64(buf.Len()) >= maxSearchBody {
			break
		}
		left := maxSearchBody - int64(buf.Len())
		if raw := s.src.raw; raw != nil {
			seg := raw[min(int64(len(raw)), p.BodyOffset):min(int64(len(raw)), p.BodyOffset+p.BodySize)]
			if rawText(p) {
				buf.Write(seg[:min(int64(len(seg)), left)])
				buf.WriteByte('\n')
				continue
			}
			s.msg.rd.Reset(seg)
			if err := copyText(buf, p, &s.msg.rd, &s.msg.lim, left); err != nil {
				return err
			}
			continue
		}
		rc, err := s.src.open()
		if err != nil {
			return err
		}
		body, err := mailbox.Section(rc, p.BodyOffset, p.BodySize)
		if err == nil {
			err = copyText(buf, p, body, &s.msg.lim, left)
		}
		rc.Close()
		if err != nil {
			return err
		}
	}
	s.body = lowerInPlace(buf.Bytes())
	return nil
}

// copyText appends the decoded text of part p, whose raw body is body, to
// buf (at most left octets), and a "\n".
func copyText(buf *bytes.Buffer, p *mime.Part, body io.Reader, lim *io.LimitedReader, left int64) error {
	r, derr := mime.TextReader(p, body)
	if derr != nil {
		r = body // unknown encoding: search the raw octets
	}
	lim.R, lim.N = r, left
	_, err := io.Copy(buf, lim)
	lim.R = nil
	buf.WriteByte('\n')
	return err
}

// rawText reports whether mime.TextReader gives p's raw body unchanged:
// no base64 or quoted-printable to undo, and (for text) a charset that
// passes through.
func rawText(p *mime.Part) bool {
	if p.Type != "multipart" && p.Type != "message" &&
		(strings.EqualFold(p.Encoding, "base64") || strings.EqualFold(p.Encoding, "quoted-printable")) {
		return false
	}
	if p.Type != "text" {
		return true
	}
	switch cs := p.Param("charset"); {
	case cs == "", strings.EqualFold(cs, "utf-8"), strings.EqualFold(cs, "utf8"),
		strings.EqualFold(cs, "us-ascii"), strings.EqualFold(cs, "ascii"):
		return true
	}
	return false
}

// lowerASCII appends src to dst with the ASCII letters lower-cased (other
// octets as they are), eight octets at a time, and reports whether src is
// all ASCII.
func lowerASCII(dst, src []byte) ([]byte, bool) {
	const (
		ones = 0x0101010101010101
		hi   = 0x8080808080808080
		lo7  = 0x7f7f7f7f7f7f7f7f
	)
	n := len(dst)
	dst = slices.Grow(dst, len(src))[:n+len(src)]
	out := dst[n:]
	var seen uint64
	i := 0
	for ; i+8 <= len(src); i += 8 {
		x := binary.LittleEndian.Uint64(src[i:])
		seen |= x
		t := x & lo7
		ge := (t + (0x80-'A')*ones) & hi   // t ≥ 'A'
		gt := (t + (0x80-'Z'-1)*ones) & hi // t > 'Z'
		up := ge &^ gt &^ x                // ASCII upper-case letters
		binary.LittleEndian.PutUint64(out[i:], x|up>>2)
	}
	for ; i < len(src); i++ {
		c := src[i]
		seen |= uint64(c)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return dst, seen&hi == 0
}
