package imap

import "bytes"

// finder looks for one string in lower-cased mail text. bytes.Index
// anchors on the string's first octet and stops at each place it occurs;
// in text that octet is often a common letter ("p" of "posthorn", "c" of
// "charset"), so a 4 KiB message costs dozens of stops. A finder anchors
// on the string's rarest octet instead, by a fixed table of how common
// each octet is in lower-cased mail, and checks the whole string around
// each place that octet occurs. When the anchor turns out common in the
// text at hand (more than one stop per 16 octets scanned, as text made to
// defeat it would be), it hands the rest of the scan to bytes.Index, so
// no text costs much more than bytes.Index.
type finder struct {
	s    []byte
	rare int // index in s of the octet to anchor on
}

func newFinder(s []byte) *finder {
	f := &finder{s: s}
	for i, c := range s {
		if octetRank[c] < octetRank[s[f.rare]] {
			f.rare = i
		}
	}
	return f
}

// octetRank orders octets by how often they occur in lower-cased mail
// (header and text): higher is more common.
var octetRank = func() (r [256]uint8) {
	for c := range r {
		r[c] = 10 // control octets, upper case, 8-bit: rare here
	}
	for i, c := range []byte("etaoinshrdlcumwfgypbvkjxqz") { // English letter frequency
		r[c] = uint8(200 - 4*i)
	}
	for c := '0'; c <= '9'; c++ {
		r[c] = 60
	}
	for _, c := range []byte(".,:;/<>@=\"'()") {
		r[c] = 90
	}
	r['-'] = 120 // header field names are full of it
	r[' '], r['\n'], r['\r'], r['\t'] = 255, 240, 240, 150
	return r
}()

// index returns the index of the first f.s in h, or -1.
func (f *finder) index(h []byte) int {
	n := len(f.s)
	switch {
	case n == 0:
		return 0
	case n > len(h):
		return -1
	case n == 1:
		return bytes.IndexByte(h, f.s[0])
	}
	c, rare := f.s[f.rare], f.rare
	last := len(h) - n + rare // the last place the anchor can be
	stops := 0
	for i := rare; i <= last; {
		j := bytes.IndexByte(h[i:last+1], c)
		if j < 0 {
			return -1
		}
		i += j
		start := i - rare
		if string(h[start:start+n]) == string(f.s) {
			return start
		}
		stops++
		if stops > 4+(i-rare)>>4 {
			if k := bytes.Index(h[start+1:], f.s); k >= 0 {
				return start + 1 + k
			}
			return -1
		}
		i++
	}
	return -1
}

// contains reports whether h contains f.s.
func (f *finder) contains(h []byte) bool { return f.index(h) >= 0 }

// Strings the plain-text judgement of search_text.go looks for.
var (
	findBase64      = newFinder([]byte("base64"))
	findCharset     = newFinder([]byte("charset"))
	findContentType = newFinder([]byte("content-type"))
	findQP          = newFinder([]byte("quoted-printable"))
)
