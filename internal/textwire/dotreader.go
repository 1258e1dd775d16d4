package textwire

import (
	"bufio"
	"bytes"
	"io"
)

// DotOptions sets the limits and leniency of a [DotReader].
type DotOptions struct {
	// MaxSize limits the body in bytes after unstuffing, line endings
	// included. 0 means no limit. Crossing it gives ErrTooLarge.
	MaxSize int64
	// MaxLineLength limits each line, after unstuffing and without its CRLF.
	// 0 means no limit. Crossing it gives ErrLineTooLong. RFC 5321
	// §4.5.3.1.6 allows 998.
	MaxLineLength int
	// NormalizeBareLineEndings turns a bare CR or bare LF into CRLF. When
	// false, a bare CR or LF is an error (ErrBareLineEnding). A bare line
	// ending never ends the data: only CRLF "." CRLF does.
	NormalizeBareLineEndings bool
}

// A DotReader reads a dot-terminated body (RFC 5321 §4.5.2, RFC 1939 §3) from
// a bufio.Reader: an SMTP DATA body or a POP3 multi-line response.
//
// Only CRLF "." CRLF ends the body (the body's first line counts as following
// a CRLF, so "." CRLF at once is an empty body). A leading dot on each line is
// removed; CRLF is kept, so the bytes read are exactly the message. When a
// limit is crossed or a bare line ending is found, Read first consumes the
// input up to the real terminator and then returns the error; every later
// Read returns the same error. After the terminator Read returns io.EOF. End
// of input before the terminator is io.ErrUnexpectedEOF.
//
// A DotReader works inside the bufio.Reader's buffer and does not allocate per
// line. It is not safe for concurrent use.
type DotReader struct {
	br   *bufio.Reader
	opts DotOptions

	lineStart bool  // at the first byte of a line
	afterCRLF bool  // that line follows a real CRLF, so "." CRLF ends the body
	lineLen   int   // bytes of the current line delivered so far
	size      int64 // body bytes delivered so far

	pend    [2]byte // an output line ending that did not fit in p
	pendOff int
	pendN   int

	bad  error // a limit or syntax error waiting for the terminator
	done bool  // terminator consumed or input failed
	err  error // sticky result once done; nil means io.EOF
}

// NewDotReader returns a reader of the dot-terminated body that starts at the
// current position of br.
func NewDotReader(br *bufio.Reader, opts DotOptions) *DotReader {
	return &DotReader{br: br, opts: opts, lineStart: true, afterCRLF: true}
}

// Read reads unstuffed body bytes into p.
func (r *DotReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case r.pendOff < r.pendN:
			c := copy(p[n:], r.pend[r.pendOff:r.pendN])
			r.pendOff += c
			n += c
		case r.done || r.bad != nil:
			if n > 0 {
				return n, nil
			}
			return 0, r.finish()
		case r.lineStart:
			r.startLine()
		default:
			n += r.scan(p[n:])
		}
	}
	return n, nil
}

// Drain consumes the rest of the body up to and including the terminator
// without checking it further, as a server does when its backend stopped
// reading early. It returns the sticky error, if any, or nil.
func (r *DotReader) Drain() error {
	if !r.done && r.bad == nil {
		if err := r.skipToTerminator(r.matched()); err != nil {
			r.fail(err)
		} else {
			r.done = true
		}
	}
	if err := r.finish(); err != io.EOF {
		return err
	}
	return nil
}

// finish discards up to the terminator if an error is pending and returns
// the final result: io.EOF after a clean body.
func (r *DotReader) finish() error {
	if !r.done {
		if err := r.skipToTerminator(r.matched()); err != nil {
			r.fail(err)
		} else {
			r.done, r.err = true, r.bad
		}
	}
	if r.err == nil {
		return io.EOF
	}
	return r.err
}

// matched reports how much of CRLF "." CRLF the input has matched at the
// current position.
func (r *DotReader) matched() int {
	if r.lineStart && r.afterCRLF {
		return 2
	}
	return 0
}

// fail ends the body on an input error.
func (r *DotReader) fail(err error) {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	r.done, r.err = true, err
}

// startLine handles the first bytes of a line: the terminator or a stuffed
// dot.
func (r *DotReader) startLine() {
	b, err := r.br.Peek(1)
	if len(b) == 0 {
		r.fail(err)
		return
	}
	r.lineStart, r.lineLen = false, 0
	if b[0] != '.' {
		return
	}
	b, err = r.br.Peek(3)
	if len(b) == 3 && b[1] == '\r' && b[2] == '\n' && r.afterCRLF {
		r.br.Discard(3)
		r.done = true
		return
	}
	if len(b) < 2 || (len(b) < 3 && b[1] == '\r') {
		r.fail(err) // input ended inside what may be the terminator
		return
	}
	r.br.Discard(1) // RFC 5321 §4.5.2: remove the stuffed dot
}

// scan copies bytes of the current line into p, up to and including its
// line ending, and returns how many it wrote.
func (r *DotReader) scan(p []byte) int {
	buf, err := r.buffered(1)
	if err != nil {
		r.fail(err)
		return 0
	}
	end, eol := lineEnd(buf)
	if eol == eolUnknown && end == 0 {
		// A CR is the last buffered byte: see what follows it.
		if _, err := r.br.Peek(2); err != nil {
			r.fail(err)
		}
		return 0
	}
	c := min(end, len(p))
	if max := r.opts.MaxLineLength; max > 0 && r.lineLen+c > max {
		c = max - r.lineLen
		r.bad = ErrLineTooLong
	}
	if max := r.opts.MaxSize; max > 0 && r.size+int64(c) > max {
		c = int(max - r.size)
		r.bad = ErrTooLarge
	}
	copy(p, buf[:c])
	r.br.Discard(c)
	r.lineLen += c
	r.size += int64(c)
	if r.bad != nil || c < end || eol == eolNone || eol == eolUnknown {
		return c
	}
	switch eol {
	case eolBareCR, eolBareLF:
		if !r.opts.NormalizeBareLineEndings {
			r.bad = ErrBareLineEnding
			return c
		}
		if !r.endLine(1) {
			return c
		}
		r.afterCRLF = false
	case eolCRLF:
		if !r.endLine(2) {
			return c
		}
		r.afterCRLF = true
	}
	if len(p)-c >= 2 {
		p[c], p[c+1] = '\r', '\n'
		return c + 2
	}
	r.pend, r.pendOff, r.pendN = [2]byte{'\r', '\n'}, 0, 2
	return c
}

// endLine consumes a line ending of n wire bytes that becomes CRLF in the
// output, checking the size limit first.
func (r *DotReader) endLine(n int) bool {
	if max := r.opts.MaxSize; max > 0 && r.size+2 > max {
		r.bad = ErrTooLarge
		return false
	}
	r.br.Discard(n)
	r.size += 2
	r.lineStart = true
	return true
}

// buffered returns the buffered bytes of br, reading at least min if fewer
// are buffered.
func (r *DotReader) buffered(min int) ([]byte, error) {
	if r.br.Buffered() < min {
		if b, err := r.br.Peek(min); len(b) < min {
			return nil, err
		}
	}
	return r.br.Peek(r.br.Buffered())
}

// Kinds of line end found by lineEnd.
const (
	eolNone    = iota // no CR or LF in the buffer
	eolUnknown        // a CR is the last byte: it depends on the next one
	eolCRLF
	eolBareCR
	eolBareLF
)

// lineEnd finds the first CR or LF in buf: it returns the length of the text
// before it and what kind of line ending it starts.
func lineEnd(buf []byte) (int, int) {
	lf := bytes.IndexByte(buf, '\n')
	seg := buf
	if lf >= 0 {
		seg = buf[:lf]
	}
	cr := bytes.IndexByte(seg, '\r')
	switch {
	case cr >= 0 && cr == lf-1:
		return cr, eolCRLF
	case cr >= 0 && cr == len(buf)-1:
		return cr, eolUnknown
	case cr >= 0:
		return cr, eolBareCR
	case lf >= 0:
		return lf, eolBareLF
	}
	return len(buf), eolNone
}

// skipToTerminator consumes input up to and including CRLF "." CRLF. st is
// how much of that pattern was matched already (2 at the start of a line that
// follows a CRLF).
func (r *DotReader) skipToTerminator(st int) error {
	for {
		buf, err := r.buffered(1)
		if err != nil {
			return err
		}
		i := 0
		for i < len(buf) {
			if st == 0 {
				j := bytes.IndexByte(buf[i:], '\r')
				if j < 0 {
					i = len(buf)
					break
				}
				i += j + 1
				st = 1
				continue
			}
			c := buf[i]
			i++
			switch {
			case c == '\r':
				if st == 3 {
					st = 4
				} else {
					st = 1
				}
			case c == '\n' && st == 1:
				st = 2
			case c == '.' && st == 2:
				st = 3
			case c == '\n' && st == 4:
				r.br.Discard(i)
				return nil
			default:
				st = 0
			}
		}
		r.br.Discard(i)
	}
}
