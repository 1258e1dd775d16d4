package pop3

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// stuffer writes a message as the body of a multi-line response (RFC 1939
// §3): a dot is added before each line that starts with one, and a bare CR
// or bare LF becomes CRLF, as textwire.DotWriter does. It is built for
// RETR of stored messages, which already end their lines in CRLF: it looks
// for line ends with bytes.IndexByte and hands whole runs of lines to the
// buffered writer, so a message costs a few large copies, not one write
// per line, and nothing is allocated.
type stuffer struct {
	bw        *bufio.Writer
	lineStart bool // the next byte starts a line
	skipLF    bool // a CR ended the last chunk and was sent as CRLF
	err       error
}

// write sends p, the next part of the message.
func (s *stuffer) write(p []byte) {
	if len(p) == 0 || s.err != nil {
		return
	}
	i, run := 0, 0 // p[run:i] is to be sent as it is
	if s.skipLF {
		s.skipLF = false
		if p[0] == '\n' {
			i, run = 1, 1
		}
	}
	for i < len(p) {
		if s.lineStart {
			s.lineStart = false
			if p[i] == '.' {
				s.put(p[run:i])
				s.putByte('.')
				run = i
			}
		}
		rest := p[i:]
		lf := bytes.IndexByte(rest, '\n')
		line := rest
		if lf >= 0 {
			line = rest[:lf]
		}
		cr := bytes.IndexByte(line, '\r')
		switch {
		case cr < 0 && lf < 0: // the line goes on in the next chunk
			i = len(p)
		case cr >= 0 && cr == lf-1: // CRLF: the run goes on
			i += lf + 1
			s.lineStart = true
		case cr >= 0: // a CR not followed by LF here
			s.put(p[run : i+cr])
			s.putCRLF()
			s.skipLF = i+cr+1 == len(p) // an LF may open the next chunk
			i += cr + 1
			run = i
			s.lineStart = true
		default: // a bare LF
			s.put(p[run : i+lf])
			s.putCRLF()
			i += lf + 1
			run = i
			s.lineStart = true
		}
	}
	s.put(p[run:])
}

func (s *stuffer) put(p []byte) {
	if len(p) > 0 && s.err == nil {
		_, s.err = s.bw.Write(p)
	}
}

func (s *stuffer) putByte(b byte) {
	if s.err == nil {
		s.err = s.bw.WriteByte(b)
	}
}

func (s *stuffer) putCRLF() {
	if s.err == nil {
		_, s.err = s.bw.WriteString("\r\n")
	}
}

// end writes the terminator, after a CRLF when the message did not end
// with one. It does not flush: replies to pipelined commands share writes.
func (s *stuffer) end() error {
	if !s.lineStart {
		s.putCRLF()
	}
	if s.err == nil {
		_, s.err = s.bw.WriteString(".\r\n")
	}
	return s.err
}

// copyBufs holds the read buffers of RETR, shared by the connections.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// sendStuffed copies r to bw as the body of a multi-line response,
// terminator included.
func sendStuffed(bw *bufio.Writer, r io.Reader) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	s := stuffer{bw: bw, lineStart: true}
	for {
		n, err := r.Read(buf)
		s.write(buf[:n])
		if s.err != nil {
			return s.err
		}
		if err == io.EOF {
			return s.end()
		}
		if err != nil {
			return err
		}
	}
}
