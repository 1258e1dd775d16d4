package mime

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMarshalRoundTrip(t *testing.T) {
	for _, msg := range []string{simpleMsg, nestedMsg, ""} {
		p, err := Parse(strings.NewReader(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		data := Marshal(p)
		q, err := Unmarshal(data)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, p, q)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	p, _ := Parse(strings.NewReader(nestedMsg), nil)
	data := Marshal(p)
	bad := [][]byte{nil, {}, {99}, data[:len(data)-1], append(append([]byte{}, data...), 0)}
	v2 := append([]byte{}, data...)
	v2[0] = marshalVersion - 1 // an older release
	bad = append(bad, v2)
	// A huge count must not allocate: version, then five offsets, then
	// a string length of 2^40.
	bad = append(bad, []byte{marshalVersion, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20})
	for _, b := range bad {
		if _, err := Unmarshal(b); err != ErrBadEncoding {
			t.Errorf("Unmarshal(%x...) = %v", b[:min(len(b), 8)], err)
		}
	}
}

// checkInvariants verifies the structural properties every parse has.
func checkInvariants(t *testing.T, msg []byte, root *Part) {
	t.Helper()
	size := int64(len(msg))
	if root.HeaderOffset != 0 || root.HeaderSize+root.BodySize != size {
		t.Fatalf("root does not cover the message: %d+%d != %d", root.HeaderSize, root.BodySize, size)
	}
	var check func(p *Part, lo, hi int64)
	check = func(p *Part, lo, hi int64) {
		if p.HeaderOffset < lo || p.HeaderSize < 0 || p.BodyOffset != p.HeaderOffset+p.HeaderSize ||
			p.BodySize < 0 || p.BodyOffset+p.BodySize > hi || p.BodyLines < 0 {
			t.Fatalf("part out of bounds [%d,%d): %+v", lo, hi, p)
		}
		body := msg[p.BodyOffset : p.BodyOffset+p.BodySize]
		lines := int64(bytes.Count(body, []byte{'\n'}))
		if lines != p.BodyLines {
			t.Fatalf("BodyLines %d, body has %d: %q", p.BodyLines, lines, body)
		}
		prev := p.BodyOffset
		for i := range p.Parts {
			c := &p.Parts[i]
			if c.HeaderOffset < prev {
				t.Fatalf("children overlap")
			}
			check(c, p.BodyOffset, p.BodyOffset+p.BodySize)
			prev = c.BodyOffset + c.BodySize
		}
		if p.IsMessage() && (p.Parts[0].HeaderOffset != p.BodyOffset || p.Parts[0].BodyOffset+p.Parts[0].BodySize != p.BodyOffset+p.BodySize) {
			t.Fatalf("encapsulated message does not fill its part")
		}
	}
	check(root, 0, size)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{simpleMsg, nestedMsg, "", "\r\n", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nx",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--a--\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := Parse(bytes.NewReader(msg), &Options{MaxDepth: 8, MaxParts: 50})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, msg, p)
		q, err := Unmarshal(Marshal(p))
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("Marshal round trip: %v", err)
		}
		// Every part's section resolves inside the message.
		p.Walk(func(path []int, part *Part) bool {
			for _, spec := range []string{"", "MIME", "HEADER", "TEXT"} {
				if off, n, err := p.Section(path, spec); err == nil && (off < 0 || off+n > int64(len(msg))) {
					t.Fatalf("section %v %s out of range", path, spec)
				}
			}
			return true
		})
	})
}

func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{"=?utf-8?q?caf=C3=A9?=", "=?iso-8859-1?q?a?= =?iso-8859-1?q?b?=", "a =?utf-8?b?Y2Fmw6k=?= b", "=?utf-8?q?a?==?", "=??="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := DecodeHeader(s)
		if !strings.Contains(s, "=?") && out != s {
			t.Fatalf("text without encoded words changed: %q → %q", s, out)
		}
		if strings.Contains(s, "=?") && utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input: %q → %q", s, out)
		}
	})
}

func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{"a@b", `"Doe, John" <john@x.org>, jane@y.org (Jane)`, "G: a@b, C <c@d>; e@f", "<@r:u@h>", "undisclosed-recipients:;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := len(tokenizeAddresses(s)); n > len(s) {
			t.Fatalf("%d tokens from %d bytes %q", n, len(s), s)
		}
		list := ParseAddressList(s)
		depth := 0
		for _, a := range list {
			switch a.Group {
			case GroupStart:
				depth++
			case GroupEnd:
				depth--
			}
			if depth < 0 || depth > 1 {
				t.Fatalf("unbalanced groups in %q: %+v", s, list)
			}
			if a.Group == GroupNone && a.Mailbox == "" && a.Host == "" {
				t.Fatalf("empty address from %q", s)
			}
		}
		if depth != 0 {
			t.Fatalf("group not closed in %q", s)
		}
		// Reformatting the plain addresses and parsing again keeps them.
		var plain []string
		var want []Address
		for _, a := range list {
			if a.Group == GroupNone && a.Adl == "" && isSimple(a.Mailbox) && isSimple(a.Host) && a.Host != "" {
				plain = append(plain, a.Mailbox+"@"+a.Host)
				want = append(want, Address{Mailbox: a.Mailbox, Host: a.Host})
			}
		}
		if got := ParseAddressList(strings.Join(plain, ", ")); !reflect.DeepEqual(got, want) {
			t.Fatalf("re-parse of %q: %+v != %+v", plain, got, want)
		}
	})
}

func isSimple(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func benchMultipart(size int) []byte {
	var b bytes.Buffer
	b.WriteString(crlf("From: a@example.com\nTo: b@example.com\nSubject: bench\nContent-Type: multipart/mixed; boundary=xyz\n\n"))
	line := strings.Repeat("QUJD", 19) + "\r\n"
	for b.Len() < size {
		b.WriteString("--xyz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		for i := 0; i < 1000 && b.Len() < size; i++ {
			b.WriteString(line)
		}
	}
	b.WriteString("--xyz--\r\n")
	return b.Bytes()
}

func BenchmarkParse4KiB(b *testing.B) {
	msg := []byte(simpleMsg + strings.Repeat("Some text of the message body, wrapped at 72 characters or so for mail.\r\n", 4096/74))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msg), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse1MiBMultipart(b *testing.B) {
	msg := benchMultipart(1 << 20)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msg), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	p, _ := Parse(strings.NewReader(nestedMsg), nil)
	data := Marshal(p)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}
