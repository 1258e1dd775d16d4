package mime

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"
)

// DecodeHeader decodes the RFC 2047 encoded words in an unstructured
// header value (Subject, a display name) to UTF-8. Whitespace between
// adjacent encoded words is dropped (RFC 2047 §6.2); words that do not
// decode are kept as they are.
func DecodeHeader(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var b strings.Builder
	pendingSpace := ""
	lastEncoded := false
	for len(s) > 0 {
		// Whitespace run.
		i := 0
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i > 0 {
			pendingSpace = s[:i]
			s = s[i:]
			continue
		}
		// Word up to the next whitespace.
		j := 0
		for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != '\n' {
			j++
		}
		word := s[:j]
		s = s[j:]
		if dec, ok := decodeWord(word); ok {
			if !lastEncoded {
				b.WriteString(pendingSpace)
			}
			b.WriteString(dec)
			lastEncoded = true
		} else if strings.Contains(word, "=?") && strings.Contains(word, "?=") {
			// Words glued to text or to each other: decode the pieces.
			if !lastEncoded || !strings.HasPrefix(word, "=?") {
				b.WriteString(pendingSpace)
			}
			b.WriteString(decodeGlued(word))
			lastEncoded = strings.HasSuffix(word, "?=")
		} else {
			b.WriteString(pendingSpace)
			b.WriteString(word)
			lastEncoded = false
		}
		pendingSpace = ""
	}
	if !lastEncoded {
		b.WriteString(pendingSpace)
	}
	return b.String()
}

// decodeGlued decodes encoded words inside a word without whitespace,
// such as "=?utf-8?q?a?==?utf-8?q?b?=" or "x=?utf-8?q?a?=".
func decodeGlued(w string) string {
	var b strings.Builder
	for {
		i := strings.Index(w, "=?")
		if i < 0 {
			b.WriteString(w)
			return b.String()
		}
		b.WriteString(w[:i])
		w = w[i:]
		end := wordEnd(w)
		if end < 0 {
			b.WriteString(w)
			return b.String()
		}
		if dec, ok := decodeWord(w[:end]); ok {
			b.WriteString(dec)
		} else {
			b.WriteString(w[:end])
		}
		w = w[end:]
	}
}

// wordEnd returns the length of the encoded word at the start of w
// ("=?cs?x?text?="), or -1.
func wordEnd(w string) int {
	q := 0
	for i := 2; i+1 < len(w); i++ {
		if w[i] == '?' {
			q++
			if q >= 3 && w[i+1] == '=' {
				return i + 2
			}
		}
	}
	return -1
}

// decodeWord decodes one encoded word =?charset?enc?text?=.
func decodeWord(w string) (string, bool) {
	if len(w) < 8 || !strings.HasPrefix(w, "=?") || !strings.HasSuffix(w, "?=") {
		return "", false
	}
	parts := strings.SplitN(w[2:len(w)-2], "?", 3)
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) != 1 {
		return "", false
	}
	charset, _, _ := strings.Cut(parts[0], "*") // RFC 2231 §5 language
	text := parts[2]
	var raw []byte
	switch parts[1][0] {
	case 'B', 'b':
		var err error
		t := strings.TrimRight(text, "=")
		raw, err = base64.RawStdEncoding.DecodeString(t)
		if err != nil {
			return "", false
		}
	case 'Q', 'q':
		raw = make([]byte, 0, len(text))
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				c = ' '
			case c == '=' && i+2 < len(text):
				h, ok1 := unhex(text[i+1])
				l, ok2 := unhex(text[i+2])
				if !ok1 || !ok2 {
					return "", false
				}
				c = h<<4 | l
				i += 2
			case c == '=':
				return "", false
			}
			raw = append(raw, c)
		}
	default:
		return "", false
	}
	if _, ok := lookupCharset(charset); !ok && !isUTF8Name(charset) && !isASCIIName(charset) {
		return "", false
	}
	return toUTF8(charset, raw), true
}

func isUTF8Name(cs string) bool {
	return strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}

func isASCIIName(cs string) bool {
	return cs == "" || strings.EqualFold(cs, "us-ascii") || strings.EqualFold(cs, "ascii")
}

var charsetCache sync.Map // lower-case name → encoding.Encoding (nil: unknown)

// lookupCharset finds an encoding by MIME charset name.
func lookupCharset(name string) (encoding.Encoding, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	if v, ok := charsetCache.Load(key); ok {
		e, _ := v.(encoding.Encoding)
		return e, e != nil
	}
	e, err := htmlindex.Get(key)
	if err != nil {
		e, err = ianaindex.MIME.Encoding(key)
		if err != nil || e == nil {
			e = nil
		}
	}
	if len(key) < 64 {
		if e == nil {
			charsetCache.Store(key, nil)
		} else {
			charsetCache.Store(key, e)
		}
	}
	return e, e != nil
}

// toUTF8 converts raw text in charset to UTF-8. Unknown charsets and
// us-ascii keep valid UTF-8 as is; invalid bytes become U+FFFD. Decoded
// NULs are dropped: no header value may carry one.
func toUTF8(charset string, raw []byte) string {
	if bytes.IndexByte(raw, 0) >= 0 {
		raw = bytes.ReplaceAll(raw, []byte{0}, nil)
	}
	if isUTF8Name(charset) || isASCIIName(charset) {
		return validUTF8(raw)
	}
	e, ok := lookupCharset(charset)
	if !ok {
		return validUTF8(raw)
	}
	out, _, err := transform.Bytes(e.NewDecoder(), raw)
	if err != nil {
		return validUTF8(raw)
	}
	return string(out)
}

func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// CharsetReader returns r converted from charset to UTF-8. UTF-8,
// us-ascii and unknown charsets pass through unchanged.
func CharsetReader(charset string, r io.Reader) io.Reader {
	if isUTF8Name(charset) || isASCIIName(charset) {
		return r
	}
	e, ok := lookupCharset(charset)
	if !ok {
		return r
	}
	return transform.NewReader(r, e.NewDecoder())
}
