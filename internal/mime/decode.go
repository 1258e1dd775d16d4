package mime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"strings"
)

// ErrUnknownEncoding is returned by Decoder for a Content-Transfer-
// Encoding it cannot decode (IMAP answers BINARY with UNKNOWN-CTE).
var ErrUnknownEncoding = errors.New("mime: unknown content transfer encoding")

// Decoder returns a reader that decodes body, the raw body of p, from
// its Content-Transfer-Encoding: base64 (whitespace and junk ignored, as
// RFC 2045 §6.8 asks) and quoted-printable; 7bit, 8bit, binary and none
// pass through. Multipart and message bodies pass through whatever
// their header says (RFC 2046 §5 allows no encoding on them; Dovecot
// does the same). It streams: memory use is constant.
func Decoder(p *Part, body io.Reader) (io.Reader, error) {
	if p.Type == "multipart" || p.Type == "message" {
		return body, nil
	}
	return decoderFor(p.Encoding, body)
}

func decoderFor(enc string, body io.Reader) (io.Reader, error) {
	switch strings.ToLower(enc) {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "base64":
		return base64.NewDecoder(base64.RawStdEncoding, &b64Filter{r: body}), nil
	case "quoted-printable":
		return quotedprintable.NewReader(body), nil
	}
	return nil, ErrUnknownEncoding
}

// b64Filter passes only base64 alphabet characters and ends at the
// first "=" (padding; anything after it is ignored), for decoding with
// base64.RawStdEncoding.
type b64Filter struct {
	r    io.Reader
	done bool
}

func (f *b64Filter) Read(p []byte) (int, error) {
	for !f.done {
		n, err := f.r.Read(p)
		w := 0
		for _, c := range p[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
				p[w] = c
				w++
			} else if c == '=' {
				f.done = true
				break
			}
		}
		if err == io.EOF {
			f.done = true
		} else if err != nil {
			return w, err
		}
		if w > 0 {
			return w, nil
		}
	}
	return 0, io.EOF
}

// TextReader returns the decoded text of a text/* part in UTF-8: the
// transfer encoding is removed and the charset converted. For other
// parts it returns the decoded bytes. It is what SEARCH BODY and TEXT
// match against.
func TextReader(p *Part, body io.Reader) (io.Reader, error) {
	r, err := Decoder(p, body)
	if err != nil {
		return nil, err
	}
	if p.Type == "text" {
		return CharsetReader(p.Param("charset"), r), nil
	}
	return r, nil
}

// ReadHeader reads a header block from r (at most max bytes; <=0 means
// 1 MiB), stopping after the empty line.
func ReadHeader(r io.Reader, max int) ([]byte, error) {
	if max <= 0 {
		max = 1 << 20
	}
	br := bufio.NewReader(io.LimitReader(r, int64(max)))
	var out []byte
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return out, nil
		}
	}
}

// HeaderField is one header field as it appears in a header block.
type HeaderField struct {
	Name string // as written
	Raw  []byte // the whole field, folding and CRLF included
}

// Value returns the unfolded value, trimmed.
func (f HeaderField) Value() string {
	_, v, _ := bytes.Cut(f.Raw, []byte{':'})
	v = bytes.TrimSpace(v)
	if bytes.IndexByte(v, '\n') < 0 {
		return string(v)
	}
	s := strings.ReplaceAll(string(v), "\r\n", "")
	return strings.ReplaceAll(s, "\n", "")
}

// Fields splits a header block into fields (the empty line that ends it
// is not a field). Lines that are neither fields nor continuations are
// kept as fields with an empty name, so that the blocks rebuild exactly.
func Fields(hdr []byte) []HeaderField {
	fs, _ := fields(hdr)
	return fs
}

// fields is Fields, also reporting whether the block ended with its
// empty line.
func fields(hdr []byte) (out []HeaderField, terminated bool) {
	for len(hdr) > 0 {
		end := bytes.IndexByte(hdr, '\n')
		if end < 0 {
			end = len(hdr)
		} else {
			end++
		}
		line := hdr[:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return out, true
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			last := &out[len(out)-1]
			last.Raw = last.Raw[:len(last.Raw)+len(line)]
		} else {
			name := ""
			if i := bytes.IndexByte(line, ':'); i > 0 {
				name = string(bytes.TrimRight(line[:i], " \t"))
			}
			out = append(out, HeaderField{Name: name, Raw: line[:len(line):len(hdr)]})
		}
		hdr = hdr[end:]
	}
	return out, false
}

// Lookup returns the unfolded values of every field called name
// (case-insensitive) in the header block, for SEARCH HEADER and SORT.
func Lookup(hdr []byte, name string) []string {
	var vals []string
	for _, f := range Fields(hdr) {
		if strings.EqualFold(f.Name, name) {
			vals = append(vals, f.Value())
		}
	}
	return vals
}

// HeaderFields returns the fields of hdr named in names (or, with not,
// the others), followed by the empty line, as BODY[HEADER.FIELDS (...)]
// and HEADER.FIELDS.NOT return them (RFC 9051 §6.4.5). Like Dovecot,
// HEADER.FIELDS.NOT of a header block cut short (no empty line, as at
// the end of a message) gives the fields as they are, adding no line
// ends.
func HeaderFields(hdr []byte, names []string, not bool) []byte {
	out := make([]byte, 0, 256)
	fs, terminated := fields(hdr)
	for _, f := range fs {
		match := false
		for _, n := range names {
			if strings.EqualFold(f.Name, n) {
				match = true
				break
			}
		}
		// Lines that are not fields count as not matching any name.
		if match != not {
			out = append(out, f.Raw...)
			if (terminated || !not) && !bytes.HasSuffix(f.Raw, []byte{'\n'}) {
				out = append(out, '\r', '\n')
			}
		}
	}
	if !terminated && not {
		return out
	}
	return append(out, '\r', '\n')
}
