package mime

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// DecodedSize returns the size of p's body after removing its transfer
// encoding (IMAP BINARY.SIZE, RFC 3516), reading body once.
func DecodedSize(p *Part, body io.Reader) (int64, error) {
	r, err := Decoder(p, body)
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, r)
}

// ContainsFold reports whether the UTF-8 text read from r contains
// substr, ignoring case (SEARCH's case-insensitive substring match,
// RFC 9051 §6.4.4). It streams r in chunks; memory use does not depend
// on the text's size.
func ContainsFold(r io.Reader, substr string) (bool, error) {
	needle := []byte(strings.ToLower(substr))
	if len(needle) == 0 {
		return true, nil
	}
	buf := make([]byte, 32<<10)
	var window []byte // folded text: overlap from the last chunk + this chunk
	var carry []byte  // an incomplete UTF-8 sequence split by the chunk end
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := append(carry, buf[:n]...)
			carry = carry[:0]
			// Keep a trailing partial rune for the next chunk.
			if i := lastRuneStart(chunk); i >= 0 && !utf8.FullRune(chunk[i:]) && err == nil {
				carry = append(carry, chunk[i:]...)
				chunk = chunk[:i]
			}
			window = append(window, bytes.ToLower(chunk)...)
			if bytes.Contains(window, needle) {
				return true, nil
			}
			if keep := len(needle) - 1; len(window) > keep {
				window = append(window[:0], window[len(window)-keep:]...)
			}
		}
		if err == io.EOF {
			if len(carry) > 0 {
				window = append(window, bytes.ToLower(carry)...)
				return bytes.Contains(window, needle), nil
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func lastRuneStart(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return -1
}

// Contains reports whether the message m (parsed from msg) contains
// substr, case-insensitively, in the decoded text of its text parts
// (SEARCH BODY) and, with headers, also in its header fields with
// RFC 2047 words decoded, nested messages' headers included (SEARCH
// TEXT). Non-text parts (images, archives) are not searched.
func Contains(m *Part, msg io.ReaderAt, substr string, headers bool) (bool, error) {
	found := false
	var ferr error
	search := func(r io.Reader) bool {
		ok, err := ContainsFold(r, substr)
		if err != nil {
			ferr = err
			return false
		}
		found = ok
		return !ok
	}
	if headers && !searchHeader(m, msg, search) {
		return found, ferr
	}
	m.Walk(func(path []int, p *Part) bool {
		switch {
		case p.IsMultipart():
			return true
		case p.IsMessage():
			if headers {
				return searchHeader(&p.Parts[0], msg, search)
			}
			return true
		case p.Type != "text" && !(p.Type == "message" && !p.IsMessage()):
			return true
		}
		r, err := TextReader(p, io.NewSectionReader(msg, p.BodyOffset, p.BodySize))
		if err != nil {
			r = io.NewSectionReader(msg, p.BodyOffset, p.BodySize) // unknown encoding: raw
		}
		return search(r)
	})
	return found, ferr
}

// searchHeader searches the decoded header of message p.
func searchHeader(p *Part, msg io.ReaderAt, search func(io.Reader) bool) bool {
	size := min(p.HeaderSize, 1<<20)
	hdr := make([]byte, size)
	n, err := msg.ReadAt(hdr, p.HeaderOffset)
	if err != nil && err != io.EOF {
		return search(errorReader{err})
	}
	var b strings.Builder
	for _, f := range Fields(hdr[:n]) {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(DecodeHeader(f.Value()))
		b.WriteString("\n")
	}
	return search(strings.NewReader(b.String()))
}

type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) { return 0, r.err }
