package textwire

import (
	"bufio"
	"errors"
	"io"
)

// Errors reported by the codecs. Match them with errors.Is.
var (
	ErrLineTooLong    = errors.New("textwire: line too long")
	ErrBareLineEnding = errors.New("textwire: bare CR or LF in data")
	ErrTooLarge       = errors.New("textwire: data exceeds size limit")
)

// ReadLine reads one line from br and returns it without its line ending.
//
// A line ends in CRLF. A bare LF is also accepted as the end of a command
// line (RFC 5321 §2.3.8 lets a server be lenient here) but reported through
// bareLF, so that a strict caller can refuse it. A CR anywhere else in the line
// is returned as is; command parsers reject it as an invalid character.
//
// If the line holds more than max bytes (not counting the line ending), the
// rest of it is read and thrown away and ErrLineTooLong is returned, so the
// next call starts at the next line and the session stays in step. max <= 0
// means no limit.
//
// At end of input before any byte of a line, ReadLine returns io.EOF; after a
// partial line it returns io.ErrUnexpectedEOF. The returned slice is valid only
// until the next read from br.
func ReadLine(br *bufio.Reader, max int) (line []byte, bareLF bool, err error) {
	line, err = br.ReadSlice('\n')
	if err == nil {
		line, bareLF = trimEOL(line)
		if max > 0 && len(line) > max {
			return nil, bareLF, ErrLineTooLong
		}
		return line, bareLF, nil
	}
	if err != bufio.ErrBufferFull {
		return nil, false, eofErr(err, len(line))
	}
	return readLongLine(br, line, max)
}

// readLongLine finishes a line longer than br's buffer. It keeps at most
// max+2 bytes (room for the CRLF), so a hostile peer cannot make it grow.
func readLongLine(br *bufio.Reader, first []byte, max int) ([]byte, bool, error) {
	acc := append([]byte(nil), first...)
	total := len(first)
	for {
		chunk, err := br.ReadSlice('\n')
		total += len(chunk)
		if max <= 0 || len(acc) <= max+2 {
			acc = append(acc, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, false, eofErr(err, total)
		}
		line, bare := trimEOL(acc)
		if max > 0 && len(line) > max {
			return nil, bare, ErrLineTooLong
		}
		return line, bare, nil
	}
}

// trimEOL removes the LF or CRLF that ends line.
func trimEOL(line []byte) ([]byte, bool) {
	n := len(line) - 1
	if n > 0 && line[n-1] == '\r' {
		return line[:n-1], false
	}
	return line[:n], true
}

// eofErr turns io.EOF after a partial line into io.ErrUnexpectedEOF.
func eofErr(err error, n int) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}
