package maildir

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Folder names are stored on disk in modified UTF-7 (RFC 3501 §5.1.3), the
// encoding Dovecot, Courier and mutt expect in a Maildir++ tree. Maildir++
// uses "." as its hierarchy separator, so a "." inside one level of a name is
// written as if it were a non-ASCII character: "&AC4-" (U+002E in modified
// BASE64). Any modified UTF-7 decoder turns that back into ".", so other
// tools show the right name, and our encoder never writes a bare "." inside a
// level.

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

var b64Decode = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(b64Alphabet); i++ {
		t[b64Alphabet[i]] = int8(i)
	}
	return t
}()

var errUTF7 = errors.New("maildir: invalid modified UTF-7")

// directASCII reports whether c is written as itself inside one level.
func directASCII(c rune) bool {
	return c >= 0x20 && c <= 0x7e && c != '&' && c != '.'
}

// encodeLevel encodes one level of a mailbox name (UTF-8, no "/") for disk.
func encodeLevel(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if directASCII(r) {
			b.WriteByte(byte(r))
			i += n
			continue
		}
		if r == '&' {
			b.WriteString("&-")
			i += n
			continue
		}
		// A run of characters that need BASE64.
		var units []uint16
		for i < len(s) {
			r, n = utf8.DecodeRuneInString(s[i:])
			if directASCII(r) || r == '&' {
				break
			}
			units = utf16.AppendRune(units, r)
			i += n
		}
		b.WriteByte('&')
		writeB64(&b, units)
		b.WriteByte('-')
	}
	return b.String()
}

func writeB64(b *strings.Builder, units []uint16) {
	var acc uint32
	bits := 0
	for _, u := range units {
		acc = acc<<16 | uint32(u)
		bits += 16
		for bits >= 6 {
			bits -= 6
			b.WriteByte(b64Alphabet[(acc>>bits)&0x3f])
		}
	}
	if bits > 0 {
		b.WriteByte(b64Alphabet[(acc<<(6-bits))&0x3f])
	}
}

// decodeLevel decodes one on-disk level. It accepts every form encodeLevel
// writes, and rejects anything that is not modified UTF-7: a bare "." (the
// separator), a non-ASCII byte, an unterminated or malformed BASE64 run, a
// run decoding to invalid UTF-16, or non-zero padding bits.
func decodeLevel(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '.' {
			return "", errUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", errUTF7
		}
		run := s[i+1 : i+1+j]
		i += j + 1
		if run == "" {
			b.WriteByte('&')
			continue
		}
		if err := decodeB64(&b, run); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func decodeB64(b *strings.Builder, run string) error {
	var acc uint32
	bits := 0
	var units []uint16
	for k := 0; k < len(run); k++ {
		v := b64Decode[run[k]]
		if v < 0 {
			return errUTF7
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 16 {
			bits -= 16
			units = append(units, uint16(acc>>bits))
			acc &= 1<<bits - 1
		}
	}
	if bits >= 6 || acc != 0 || len(units) == 0 {
		return errUTF7 // a whole unused sextet, or non-zero padding
	}
	for k := 0; k < len(units); k++ {
		u := units[k]
		var r rune
		switch {
		case utf16.IsSurrogate(rune(u)):
			if u >= 0xdc00 || k+1 >= len(units) {
				return errUTF7
			}
			r = utf16.DecodeRune(rune(u), rune(units[k+1]))
			if r == utf8.RuneError {
				return errUTF7
			}
			k++
		default:
			r = rune(u)
		}
		if r == '&' || (r >= 0x20 && r <= 0x7e && r != '.') {
			return errUTF7 // must have been written directly
		}
		b.WriteRune(r)
	}
	return nil
}
