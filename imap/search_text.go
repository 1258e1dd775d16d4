package imap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
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
// message's own bytes, lower-cased (see plainText and plainMiss), and only
// when it may be there, or when the text cannot be judged from the bytes,
// decode the text parts through the MIME structure. A larger message has
// its header read, and its text parts streamed from the store.

// searchMsgBuf holds one message's bytes and what is derived from them.
type searchMsgBuf struct {
	loaded     bool
	raw        []byte // the message, when read whole (buffer reused)
	low        []byte // raw with ASCII letters lower-cased (buffer reused)
	lowDone    bool
	ascii      bool // raw holds no octet ≥ 0x80
	plainDone  bool
	plain      bool      // see plainText
	view       []byte    // low without quoted-printable soft line breaks
	viewBuf    []byte    // buffer of view when it differs from low
	escaped    [256]bool // octets quoted-printable escapes decode to
	hdr        []byte    // header of a message too large to read whole
	br         *bufio.Reader
	lim        io.LimitedReader
	text       bytes.Buffer // body text being collected
	rd         bytes.Reader
	track      readTracker
	leaves     []*mime.Part // the text parts, once leavesDone
	leavesDone bool
	inLow      bool // the text parts' text is their range of low
}

func (b *searchMsgBuf) reset() {
	b.loaded, b.lowDone, b.plainDone, b.leavesDone = false, false, false, false
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

// plainText reports whether the body text SEARCH reads can be judged
// from the message's own octets: the message is all ASCII, base64 appears
// nowhere, every charset named is UTF-8 or US-ASCII (which pass through),
// and quoted-printable, if named, is clean (see cleanQP). The body text of
// such a message is made of ranges of it, quoted-printable ones with soft
// line breaks removed and escapes decoded. Anything unusual says no, and
// the text parts are then decoded.
//
// For a single text part (see singleText) the words are looked for in the
// header alone, which is where that part's MIME fields are.
func (b *searchMsgBuf) plainText(raw []byte, hdrLen int) bool {
	if b.plainDone {
		return b.plain
	}
	b.lowered(raw)
	b.plainDone = true
	fields, start := b.low, 0
	if hdr := b.low[:hdrLen]; headerEnded(hdr) {
		start = hdrLen
		if singleText(hdr) {
			fields = hdr
		}
	}
	b.plain = b.ascii && !findBase64.contains(fields) && passThroughCharsets(fields)
	b.view, b.escaped = b.low, [256]bool{}
	if b.plain && findQP.contains(fields) {
		b.plain = b.cleanQP(start)
	}
	return b.plain
}

// headerEnded reports whether the header block hdr ends with an empty
// line, where the MIME parser ends it too (headerBlock cuts a longer one
// at maxHeaderBytes).
func headerEnded(hdr []byte) bool {
	return bytes.HasSuffix(hdr, []byte("\n\n")) || bytes.HasSuffix(hdr, []byte("\n\r\n")) ||
		string(hdr) == "\r\n" || string(hdr) == "\n"
}

// singleText reports whether the message whose lower-cased header is hdr
// is a single text part, its body no MIME entity: the header ends with
// an empty line (it was not cut at maxHeaderBytes) and every
// "content-type" in it is followed by ":" and "text/", white space
// around the colon allowed. Folded, commented or other values say no.
func singleText(hdr []byte) bool {
	if !headerEnded(hdr) {
		return false
	}
	for {
		i := findContentType.index(hdr)
		if i < 0 {
			return true
		}
		hdr = bytes.TrimLeft(hdr[i+len("content-type"):], " \t")
		rest, ok := bytes.CutPrefix(hdr, []byte(":"))
		if !ok || !bytes.HasPrefix(bytes.TrimLeft(rest, " \t"), []byte("text/")) {
			return false
		}
	}
}

// plainMiss reports whether low (lower-cased, not empty) is surely not in
// the body text of a plainText message: it is not in the message's
// lower-cased octets with soft line breaks removed, and it holds no
// "\n" (which joins the parts), no "=", "\r" (which soft breaks and
// escapes are made of) and no octet a quoted-printable escape of the
// message decodes to.
func (b *searchMsgBuf) plainMiss(low []byte) bool {
	for _, c := range low {
		if c == '\n' || c == '\r' || c == '=' || b.escaped[c] {
			return false
		}
	}
	return !bytes.Contains(b.view, low)
}

// maxQPLine is below the line quotedprintable.Reader can hold (4096
// octets with the line end): a longer line makes decoding fail.
const maxQPLine = 4000

// cleanQP checks that decoding any range of the message (lower-cased in
// b.low) as quoted-printable cannot fail and that its soft line breaks are
// bare "=" CRLF or "=" LF; it sets b.view to b.low without them and
// b.escaped to the (lower-cased) octets its escapes decode to. Control
// characters, long lines, "=" before white space and a line end, "=" alone
// on a line, "==" and "=" at the end all say no.
//
// Every part's body lies after the message's header, so the check starts
// at start, the header's length when it ended with an empty line as the
// MIME parser ends it (else 0); the header's encoded words and
// parameters are not taken for escapes.
func (b *searchMsgBuf) cleanQP(start int) bool {
	low := b.low
	if hasControl(low[start:]) || low[len(low)-1] == '=' {
		return false
	}
	if len(low)-start > maxQPLine {
		for rest := low[start:]; len(rest) > 0; {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				i = len(rest)
			}
			if i >= maxQPLine {
				return false
			}
			rest = rest[min(i+1, len(rest)):]
		}
	}
	view := b.viewBuf[:0]
	from := 0
	i := bytes.IndexByte(low[start:], '=')
	if i >= 0 {
		i += start
	}
	for i >= 0 {
		next := low[i+1:]
		switch {
		case len(next) >= 2 && isHex(next[0]) && isHex(next[1]):
			c := unhexByte(next[0])<<4 | unhexByte(next[1])
			if c >= 0x80 {
				return false // decoded text would not be ASCII
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.escaped[c] = true
		case next[0] == '\n' || next[0] == '\r' && len(next) > 1 && next[1] == '\n':
			if i == 0 || low[i-1] == '\n' {
				return false // "=" alone on a line: an error at a part's end
			}
			view = append(view, low[from:i]...)
			from = i + 2
			if next[0] == '\r' {
				from++
			}
		case next[0] == '\r' || next[0] == '=':
			return false // "=" CR, or "==" (before a soft break, an error)
		case next[0] == ' ' || next[0] == '\t':
			if j := bytes.IndexFunc(next, func(r rune) bool { return r != ' ' && r != '\t' }); j < 0 || next[j] == '\r' || next[j] == '\n' {
				return false // a soft break with trailing white space
			}
		}
		j := bytes.IndexByte(low[i+1:], '=')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if from > 0 {
		b.viewBuf = append(view, low[from:]...)
		b.view = b.viewBuf
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhexByte(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// hasControl reports whether b holds an ASCII control character other
// than tab, CR and LF, or DEL, which quotedprintable.Reader refuses.
func hasControl(b []byte) bool {
	const (
		ones = 0x0101010101010101
		hi   = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		lt := (x - 0x20*ones) &^ x & hi                         // octets below 0x20
		del := ((x ^ 0x7f*ones) - ones) &^ (x ^ 0x7f*ones) & hi // 0x7f
		if lt|del == 0 {
			continue
		}
		if hasControl1(b[i : i+8]) {
			return true
		}
	}
	return hasControl1(b[i:])
}

func hasControl1(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			return true
		}
	}
	return false
}

// passThroughCharsets reports whether every "charset" in low (lower case)
// is followed by "=" and a name CharsetReader passes through, bare or
// quoted: RFC 2231 forms, spaces, comments and encoded words all say no.
func passThroughCharsets(low []byte) bool {
	for {
		i := findCharset.index(low)
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
		// The body text is (decoded) ranges of the message joined by "\n":
		// a string the message does not hold may not be in it.
		if raw := s.src.raw; raw != nil && len(low) > 0 && s.msg.plainText(raw, len(s.src.header)) && s.msg.plainMiss(low) {
			return false, nil
		}
		inLow, err := s.lowLeaves()
		if err != nil {
			return false, err
		}
		if inLow && len(low) > 0 && bytes.IndexByte(low, '\n') < 0 {
			// The text parts are ranges of the lower-cased message: a
			// string without "\n" is in their join when it is in one.
			for _, p := range s.msg.leaves {
				if bytes.Contains(s.msg.low[min(int64(len(s.msg.low)), p.BodyOffset):min(int64(len(s.msg.low)), p.BodyOffset+p.BodySize)], low) {
					return true, nil
				}
			}
			return false, nil
		}
		if err := s.loadBodyText(); err != nil {
			return false, err
		}
		s.bodyDone = true
	}
	return bytes.Contains(s.body, low), nil
}

// lowLeaves finds the text parts of the message and reports whether
// their text is the lower-cased message's own octets: an all-ASCII
// message in memory whose text parts all pass through mime.TextReader
// unchanged.
func (s *searchCtx) lowLeaves() (bool, error) {
	if s.msg.leavesDone {
		return s.msg.inLow, nil
	}
	root, err := s.src.structure()
	if err != nil {
		return false, err
	}
	leaves := s.msg.leaves[:0]
	root.Walk(func(_ []int, p *mime.Part) bool {
		if !p.IsMultipart() && !p.IsMessage() && (p.Type == "text" || p == root) {
			leaves = append(leaves, p)
		}
		return true
	})
	s.msg.leaves = leaves
	s.msg.leavesDone, s.msg.inLow = true, false
	raw := s.src.raw
	if raw == nil {
		return false, nil
	}
	s.msg.lowered(raw)
	if !s.msg.ascii {
		return false, nil
	}
	for _, p := range leaves {
		if !rawText(p) {
			return false, nil
		}
	}
	s.msg.inLow = true
	return true, nil
}

// loadBodyText collects the body text, decoded and lower-cased, in
// s.body.
func (s *searchCtx) loadBodyText() error {
	if _, err := s.lowLeaves(); err != nil {
		return err
	}
	leaves := s.msg.leaves
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
			mark := buf.Len()
			err := copyText(buf, p, &s.msg.rd, &s.msg.lim, &s.msg.track, left)
			if errors.Is(err, errDamagedText) {
				left -= int64(buf.Len() - mark)
				buf.Write(seg[:max(0, min(int64(len(seg)), left))])
				buf.WriteByte('\n')
			} else if err != nil {
				return err
			}
			continue
		}
		mark := buf.Len()
		err := s.copyPart(buf, p, left, true)
		if errors.Is(err, errDamagedText) {
			err = s.copyPart(buf, p, max(0, left-int64(buf.Len()-mark)), false)
		}
		if err != nil {
			return err
		}
	}
	s.body = lowerInPlace(buf.Bytes())
	return nil
}

// copyPart appends the text of part p, read from the store, to buf (at
// most left octets): decoded, or its raw octets when decode is false.
func (s *searchCtx) copyPart(buf *bytes.Buffer, p *mime.Part, left int64, decode bool) error {
	rc, err := s.src.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	body, err := mailbox.Section(rc, p.BodyOffset, p.BodySize)
	if err != nil {
		return err
	}
	if decode {
		return copyText(buf, p, body, &s.msg.lim, &s.msg.track, left)
	}
	s.msg.lim.R, s.msg.lim.N = body, left
	_, err = io.Copy(buf, &s.msg.lim)
	s.msg.lim.R = nil
	buf.WriteByte('\n')
	return err
}

// errDamagedText is copyText's error for a part whose transfer encoding
// is broken (base64 cut in the middle of a quantum, a malformed
// quoted-printable escape). The caller then adds the part's raw octets to
// what decoded before the damage, so that one damaged message (which
// anybody can send) neither makes every SEARCH of its mailbox fail nor
// hides the rest of its text.
var errDamagedText = errors.New("imap: damaged text part")

// readTracker remembers the first error of the reader it wraps other than
// io.EOF, telling the store's errors from the decoder's.
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// copyText appends the decoded text of part p, whose raw body is body, to
// buf (at most left octets), and a "\n". A failure of the decoding, not of
// body, is errDamagedText.
func copyText(buf *bytes.Buffer, p *mime.Part, body io.Reader, lim *io.LimitedReader, track *readTracker, left int64) error {
	track.r, track.err = body, nil
	defer func() { track.r = nil }()
	r, derr := mime.TextReader(p, track)
	if derr != nil {
		r = track // unknown encoding: search the raw octets
	}
	lim.R, lim.N = r, left
	_, err := io.Copy(buf, lim)
	lim.R = nil
	buf.WriteByte('\n')
	if err != nil && track.err == nil {
		return errDamagedText
	}
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
