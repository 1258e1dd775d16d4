package utf7

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalid is returned by Decode for input that is not canonical modified
// UTF-7.
var ErrInvalid = errors.New("utf7: invalid modified UTF-7")

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

var b64dec [256]int8

func init() {
	for i := range b64dec {
		b64dec[i] = -1
	}
	for i := 0; i < len(b64); i++ {
		b64dec[b64[i]] = int8(i)
	}
}

// direct reports whether b is represented as itself (RFC 3501 §5.1.3:
// printable US-ASCII other than "&"), sep being a printable character that
// is encoded in BASE64 too (0 for none).
func direct(b, sep byte) bool { return b >= 0x20 && b <= 0x7e && b != sep }

// Encode returns the modified UTF-7 form of the UTF-8 string s. Invalid
// UTF-8 sequences are encoded as U+FFFD.
func Encode(s string) string { return encode(s, 0) }

// EncodeSep is Encode for names in which sep, a printable US-ASCII
// character other than "&", separates hierarchy levels: a sep inside s is
// written in BASE64 like a non-ASCII character, so the result never holds
// a bare sep. Maildir++ folder names use it with '.' ("a.b" becomes
// "a&AC4-b"), which the usual lenient decoders (Dovecot's, mutt's) read
// back as s; the strict Decode does not, DecodeSep does.
func EncodeSep(s string, sep byte) string { return encode(s, sep) }

func encode(s string, sep byte) string {
	i := 0
	for i < len(s) && direct(s[i], sep) && s[i] != '&' {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if direct(c, sep) {
			if c == '&' {
				b.WriteString("&-")
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		// Collect the run of non-direct characters.
		j := i
		var units []uint16
		for j < len(s) && !direct(s[j], sep) {
			r, n := utf8.DecodeRuneInString(s[j:])
			j += n
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				units = append(units, uint16(r1), uint16(r2))
			} else {
				units = append(units, uint16(r))
			}
		}
		b.WriteByte('&')
		var acc uint32
		var bits uint
		for _, u := range units {
			acc = acc<<16 | uint32(u)
			bits += 16
			for bits >= 6 {
				bits -= 6
				b.WriteByte(b64[(acc>>bits)&0x3f])
			}
		}
		if bits > 0 {
			b.WriteByte(b64[(acc<<(6-bits))&0x3f])
		}
		b.WriteByte('-')
		i = j
	}
	return b.String()
}

// Decode converts the modified UTF-7 string s to UTF-8. It returns
// ErrInvalid for any input Encode could not have produced.
func Decode(s string) (string, error) { return decode(s, 0) }

// DecodeSep is the inverse of EncodeSep: it returns ErrInvalid for any
// input EncodeSep(·, sep) could not have produced, a bare sep among them.
func DecodeSep(s string, sep byte) (string, error) { return decode(s, sep) }

func decode(s string, sep byte) (string, error) {
	i := 0
	for i < len(s) && direct(s[i], sep) && s[i] != '&' {
		i++
	}
	if i == len(s) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	prevEncoded := false // the previous token was a non-empty &...- run
	for i < len(s) {
		c := s[i]
		if !direct(c, sep) {
			return "", ErrInvalid
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			prevEncoded = false
			continue
		}
		i++
		if i < len(s) && s[i] == '-' {
			b.WriteByte('&')
			i++
			prevEncoded = false
			continue
		}
		if prevEncoded {
			// Two adjacent runs must have been one.
			return "", ErrInvalid
		}
		j := strings.IndexByte(s[i:], '-')
		if j < 0 {
			return "", ErrInvalid
		}
		if err := decodeRun(&b, s[i:i+j], sep); err != nil {
			return "", err
		}
		i += j + 1
		prevEncoded = true
	}
	return b.String(), nil
}

func decodeRun(b *strings.Builder, run string, sep byte) error {
	var acc uint32
	var bits uint
	var units []uint16
	for k := 0; k < len(run); k++ {
		v := b64dec[run[k]]
		if v < 0 {
			return ErrInvalid
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 16 {
			bits -= 16
			units = append(units, uint16(acc>>bits))
			acc &= 1<<bits - 1
		}
	}
	// Leftover bits must be fewer than 6 and zero (canonical padding).
	if bits >= 6 || acc != 0 || len(units) == 0 {
		return ErrInvalid
	}
	for k := 0; k < len(units); k++ {
		u := rune(units[k])
		switch {
		case utf16.IsSurrogate(u):
			if u >= 0xdc00 || k+1 >= len(units) {
				return ErrInvalid
			}
			r := utf16.DecodeRune(u, rune(units[k+1]))
			if r == utf8.RuneError {
				return ErrInvalid
			}
			b.WriteRune(r)
			k++
		case u >= 0x20 && u <= 0x7e && u != rune(sep):
			// Printable ASCII must be represented directly.
			return ErrInvalid
		default:
			b.WriteRune(u)
		}
	}
	return nil
}
