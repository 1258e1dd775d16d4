package mime

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}

// Default limits of the parser.
const (
	DefaultMaxDepth       = 100
	DefaultMaxParts       = 10000
	DefaultMaxHeaderBytes = 256 << 10
)

// Options sets the parser's limits; the zero value (or nil) means the
// defaults.
type Options struct {
	MaxDepth       int // nesting of multiparts and messages; 0 → 100
	MaxParts       int // parts in one message; 0 → 10,000
	MaxHeaderBytes int // interpreted bytes of one header block; 0 → 256 KiB
}

const (
	bufSize     = 32 << 10
	maxHead     = 8 << 10 // kept prefix of a line longer than the buffer
	maxField    = 64 << 10
	maxBoundary = 200 // RFC 2046 says 70; be generous
)

// Parse reads a message from r and returns its structure. Only read
// errors fail it; malformed MIME is parsed as well as it can be.
func Parse(r io.Reader, opts *Options) (*Part, error) {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	p := &parser{br: br}
	p.maxDepth, p.maxParts, p.maxHeader = DefaultMaxDepth, DefaultMaxParts, DefaultMaxHeaderBytes
	if opts != nil {
		if opts.MaxDepth > 0 {
			p.maxDepth = opts.MaxDepth
		}
		if opts.MaxParts > 0 {
			p.maxParts = opts.MaxParts
		}
		if opts.MaxHeaderBytes > 0 {
			p.maxHeader = opts.MaxHeaderBytes
		}
	}
	root := new(Part)
	p.entity(root, 0, false, true)
	if p.err != nil {
		return nil, p.err
	}
	return root, nil
}

type parser struct {
	br                            *bufio.Reader
	maxDepth, maxParts, maxHeader int

	off       int64 // offset of the first unconsumed byte
	lfs       int64 // LFs before off
	prevEOL   int   // EOL length of the last consumed line
	prevDelim bool  // the last consumed line was a multipart delimiter
	prevBlank bool  // the last consumed line was empty

	// the current line, valid while have is set
	have    bool
	eof     bool
	err     error
	lnLen   int64 // content length
	lnEOL   int
	lnHead  []byte // content, or its first maxHead bytes
	lnFull  bool   // lnHead is the whole content
	long    []byte
	bounds  []string
	parts   int
	fields  []field
	fieldSz int
}

// peek makes the next line current; it reports false at EOF.
func (p *parser) peek() bool {
	if p.have {
		return true
	}
	if p.eof {
		return false
	}
	b, err := p.br.ReadSlice('\n')
	total := int64(len(b))
	full := true
	head := b
	var before byte // the byte before the final fragment
	if err == bufio.ErrBufferFull {
		p.long = append(p.long[:0], b[:min(len(b), maxHead)]...)
		full = false
		for err == bufio.ErrBufferFull {
			before = b[len(b)-1]
			b, err = p.br.ReadSlice('\n')
			total += int64(len(b))
		}
		head = p.long
	}
	if err != nil && err != io.EOF {
		p.err = err
		p.eof = true
		return false
	}
	if err == io.EOF {
		p.eof = true
		if total == 0 {
			return false
		}
	}
	eol := 0
	if n := len(b); n > 0 && b[n-1] == '\n' {
		eol = 1
		if n > 1 && b[n-2] == '\r' || n == 1 && before == '\r' {
			eol = 2
		}
	}
	p.lnLen = total - int64(eol)
	p.lnEOL = eol
	if full {
		head = head[:len(head)-eol]
	}
	p.lnHead, p.lnFull = head, full
	p.have = true
	return true
}

// consume moves past the current line.
func (p *parser) consume() {
	p.have = false
	p.off += p.lnLen + int64(p.lnEOL)
	if p.lnEOL > 0 {
		p.lfs++
	}
	p.prevEOL = p.lnEOL
	p.prevDelim = false
	p.prevBlank = p.lnLen == 0 && p.lnEOL > 0
}

// consumeDelimiter moves past a delimiter line. The line's end is its
// own: a body that ends right after it keeps it, as Dovecot counts.
func (p *parser) consumeDelimiter() {
	p.consume()
	p.prevDelim = true
}

// strip returns how many bytes before the current line belong to a
// delimiter that starts it (RFC 2046 §5.1.1: the CRLF before "--"), or
// 0 when the previous line was itself a delimiter.
func (p *parser) strip() int64 {
	if p.prevDelim {
		return 0
	}
	return int64(p.prevEOL)
}

// boundary reports whether the current line is a delimiter of an active
// multipart: the index in p.bounds (innermost match first) and whether it
// is a close delimiter.
func (p *parser) boundary() (int, bool) {
	h := p.lnHead
	if len(p.bounds) == 0 || len(h) < 3 || h[0] != '-' || h[1] != '-' {
		return -1, false
	}
	for i := len(p.bounds) - 1; i >= 0; i-- {
		b := p.bounds[i]
		if len(h) < 2+len(b) || string(h[2:2+len(b)]) != b {
			continue
		}
		// RFC 2046 §5.1.1: the boundary need only start the line;
		// what follows it (transport padding, junk) is ignored, as
		// Dovecot ignores it.
		rest := h[2+len(b):]
		return i, len(rest) >= 2 && rest[0] == '-' && rest[1] == '-'
	}
	return -1, false
}

// skipBody consumes lines up to a delimiter of an active multipart or
// EOF and returns the delimiter's index (-1 at EOF).
func (p *parser) skipBody() (int, bool) {
	if len(p.bounds) == 0 {
		if p.have {
			p.consume()
		}
		p.skipToEOF()
		return -1, false
	}
	for p.peek() {
		if i, closing := p.boundary(); i >= 0 {
			return i, closing
		}
		p.consume()
	}
	return -1, false
}

// skipToEOF consumes everything left, counting lines, in buffer-sized
// chunks.
func (p *parser) skipToEOF() {
	for !p.eof {
		buf, err := p.br.Peek(bufSize)
		if len(buf) > 0 {
			n := bytes.Count(buf, []byte{'\n'})
			p.lfs += int64(n)
			p.off += int64(len(buf))
			p.br.Discard(len(buf))
		}
		if err != nil {
			if err != io.EOF && err != bufio.ErrBufferFull {
				p.err = err
			}
			if err != bufio.ErrBufferFull {
				p.eof = true
			}
		}
	}
}

// finish sets the body size and line count of part, whose body ends at
// the current position: before the delimiter line (dropping the CRLF
// that belongs to it) when atBoundary, else at EOF. The line count is the
// number of LFs in the body, as Dovecot counts: a last line without one
// does not count.
//
// The body never ends before its last child, which may be an empty part
// that starts right at the delimiter.
func (p *parser) finish(part *Part, startLFs int64, atBoundary, isMessage bool) {
	end, lfs := p.off, p.lfs
	minEnd := part.BodyOffset
	if n := len(part.Parts); n > 0 {
		last := &part.Parts[n-1]
		minEnd = last.BodyOffset + last.BodySize
	}
	if n := p.strip(); atBoundary && n > 0 {
		switch {
		case end-n >= minEnd:
			end -= n
			lfs--
		case len(part.Parts) == 0 && end == part.BodyOffset && part.HeaderSize >= n && p.prevBlank && !isMessage:
			// An empty body right after the header's empty line: that
			// line's CRLF is the delimiter's, as Dovecot counts it.
			part.HeaderSize -= n
			part.BodyOffset -= n
			end -= n
		}
	}
	part.BodySize = end - part.BodyOffset
	part.BodyLines = max(lfs-startLFs, 0)
}

// entity parses one entity (header and body) at the current line. It
// returns the delimiter that ended it (index into p.bounds, -1 at EOF),
// left unconsumed.
func (p *parser) entity(part *Part, depth int, digest, isMessage bool) (int, bool) {
	p.parts++
	part.HeaderOffset = p.off
	bi, closing, ended := p.header()
	part.HeaderSize = p.off - part.HeaderOffset
	if n := p.strip(); ended && bi >= 0 && n > 0 && part.HeaderSize >= n && !isMessage {
		// A part's header cut short by a delimiter leaves it its CRLF;
		// an encapsulated message's keeps it (as Dovecot counts).
		part.HeaderSize -= n
	}
	part.BodyOffset = part.HeaderOffset + part.HeaderSize
	p.interpret(part, digest, isMessage)
	startLFs := p.lfs
	if ended {
		p.finish(part, startLFs, bi >= 0, isMessage)
		return bi, closing
	}

	limited := depth+1 >= p.maxDepth || p.parts >= p.maxParts
	boundary := part.Param("boundary")
	switch {
	case part.Type == "multipart" && boundary != "" && len(boundary) <= maxBoundary && !limited:
		bi, closing, _ = p.multipart(part, boundary, depth)
	case part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global") && !limited && part.Encoding != "base64" && part.Encoding != "quoted-printable":
		var inner Part
		bi, closing = p.entity(&inner, depth+1, false, true)
		part.Parts = []Part{inner}
	default:
		if limited && (part.Type == "multipart" || part.Type == "message") {
			part.Opaque = true
		}
		bi, closing = p.skipBody()
	}
	p.finish(part, startLFs, bi >= 0, isMessage)
	return bi, closing
}

// multipart parses the body of a multipart: preamble, parts, epilogue.
// closed reports whether its close delimiter was found.
func (p *parser) multipart(part *Part, boundary string, depth int) (bi int, closing, closed bool) {
	p.bounds = append(p.bounds, boundary)
	ours := len(p.bounds) - 1
	defer func() { p.bounds = p.bounds[:ours] }()
	digest := part.Subtype == "digest"

	bi, closing = p.skipBody() // preamble
	for bi == ours && !closing {
		p.consumeDelimiter()
		if p.parts >= p.maxParts {
			part.Opaque = true
			p.bounds = p.bounds[:ours] // our delimiters no longer split
			bi, closing = p.skipBody()
			if bi >= ours {
				bi = -1
			}
			return bi, closing, false
		}
		var child Part
		bi, closing = p.entity(&child, depth+1, digest, false)
		part.Parts = append(part.Parts, child)
	}
	if bi != ours {
		return bi, closing, false // EOF or an outer delimiter
	}
	p.consumeDelimiter()       // the close delimiter
	p.bounds = p.bounds[:ours] // in the epilogue our delimiter is text
	bi, closing = p.skipBody() // epilogue
	return bi, closing, true
}

// header reads a header block; it reports a delimiter or EOF met before
// the empty line (ended true).
func (p *parser) header() (bi int, closing, ended bool) {
	p.fields = p.fields[:0]
	p.fieldSz = 0
	cur := -1
	for p.peek() {
		if i, c := p.boundary(); i >= 0 {
			return i, c, true
		}
		if p.lnLen == 0 && p.lnEOL > 0 {
			p.consume()
			return -1, false, false
		}
		h := p.lnHead
		if p.fieldSz < p.maxHeader {
			p.fieldSz += len(h)
			if (h[0] == ' ' || h[0] == '\t') && cur >= 0 {
				// Unfold: the line break and the whitespace run
				// around it become one space (as Dovecot unfolds).
				if f := &p.fields[cur]; len(f.value) < maxField {
					f.value = append(bytes.TrimRight(f.value, " \t"), ' ')
					f.value = append(f.value, bytes.TrimLeft(h, " \t")...)
				}
			} else {
				cur = p.startField(h)
			}
		}
		p.consume()
	}
	return -1, false, true
}

// field is a header field the parser interprets, unfolded.
type field struct {
	name  string // lower case
	value []byte
}

var interesting = map[string]bool{
	"content-type": true, "content-transfer-encoding": true, "content-id": true,
	"content-description": true, "content-disposition": true, "content-language": true,
	"content-location": true, "content-md5": true,
	"date": true, "subject": true, "from": true, "sender": true, "reply-to": true,
	"to": true, "cc": true, "bcc": true, "in-reply-to": true, "message-id": true,
}

// startField records h if it starts a field the parser interprets and
// returns its index, else -1.
func (p *parser) startField(h []byte) int {
	colon := bytes.IndexByte(h, ':')
	if colon <= 0 {
		return -1
	}
	name := bytes.TrimRight(h[:colon], " \t")
	var lower [32]byte
	if len(name) > len(lower) {
		return -1
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if !interesting[string(lower[:len(name)])] {
		return -1
	}
	p.fields = append(p.fields, field{name: string(lower[:len(name)]), value: append([]byte(nil), h[colon+1:]...)})
	return len(p.fields) - 1
}
