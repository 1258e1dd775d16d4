package textwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// A DotWriter writes a dot-terminated body (RFC 5321 §4.5.2, RFC 1939 §3).
//
// It stuffs a dot at the start of each line, turns a lone LF or a lone CR into
// CRLF (so it never emits a bare CR or LF), and Close writes the terminator,
// adding a CRLF first if the body did not end with one. Bytes go through a
// bufio.Writer (the given one, or a new one around w) that Close flushes; the
// whole message is never held in memory.
//
// A DotWriter is not safe for concurrent use.
type DotWriter struct {
	bw        *bufio.Writer
	lineStart bool // next byte starts a line
	skipLF    bool // a CR was written as CRLF: an LF right after it is part of it
	closed    bool
}

// NewDotWriter returns a writer of a dot-terminated body to w.
func NewDotWriter(w io.Writer) *DotWriter {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	return &DotWriter{bw: bw, lineStart: true}
}

var errWriterClosed = errors.New("textwire: write after Close")

var crlf = []byte("\r\n")

// Write writes p as part of the body.
func (w *DotWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errWriterClosed
	}
	total := len(p)
	for len(p) > 0 {
		if w.skipLF {
			w.skipLF = false
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		if w.lineStart {
			if p[0] == '.' {
				w.bw.WriteByte('.')
			}
			w.lineStart = false
		}
		end, eol := lineEnd(p)
		switch eol {
		case eolNone:
			if _, err := w.bw.Write(p); err != nil {
				return total - len(p), err
			}
			return total, nil
		case eolCRLF:
			if _, err := w.bw.Write(p[:end+2]); err != nil {
				return total - len(p), err
			}
			p = p[end+2:]
		default: // a lone CR or LF, or a CR that may be followed by LF later
			w.bw.Write(p[:end])
			if _, err := w.bw.Write(crlf); err != nil {
				return total - len(p), err
			}
			w.skipLF = p[end] == '\r'
			p = p[end+1:]
		}
		w.lineStart = true
	}
	return total, nil
}

// Close ends the body with CRLF "." CRLF and flushes. It does not close the
// underlying writer. Calling Close again does nothing.
func (w *DotWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if !w.lineStart {
		w.bw.Write(crlf)
	}
	w.bw.WriteString(".\r\n")
	return w.bw.Flush()
}

// EncodeDot returns msg as a dot-terminated body, as a DotWriter writes it.
func EncodeDot(msg []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(msg) + len(msg)/64 + 5)
	w := NewDotWriter(&b)
	w.Write(msg)
	w.Close()
	return b.Bytes()
}

// DecodeDot decodes a complete dot-terminated body with a strict DotReader
// (no limits, bare line endings rejected). Bytes after the terminator are an
// error.
func DecodeDot(wire []byte) ([]byte, error) {
	br := bufio.NewReader(bytes.NewReader(wire))
	msg, err := io.ReadAll(NewDotReader(br, DotOptions{}))
	if err != nil {
		return msg, err
	}
	if br.Buffered() > 0 {
		return msg, errTrailing
	}
	return msg, nil
}

var errTrailing = errors.New("textwire: data after terminator")

// NormalizeCRLF returns b with every lone CR and lone LF turned into CRLF,
// the line endings a DotWriter puts on the wire.
func NormalizeCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/32)
	for len(b) > 0 {
		end, eol := lineEnd(b)
		switch eol {
		case eolNone:
			return append(out, b...)
		case eolCRLF:
			out = append(out, b[:end+2]...)
			b = b[end+2:]
		default:
			out = append(out, b[:end]...)
			out = append(out, crlf...)
			b = b[end+1:]
		}
	}
	return out
}
