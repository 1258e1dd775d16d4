package utf7

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var pairs = []struct{ utf8, mutf7 string }{
	{"INBOX", "INBOX"},
	{"", ""},
	{"&", "&-"},
	{"a&b", "a&-b"},
	{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	{"Entwürfe", "Entw&APw-rfe"},
	{"Gelöschte Elemente", "Gel&APY-schte Elemente"},
	{"€", "&IKw-"},
	{"😀", "&2D3eAA-"},
	{"tab\there", "tab&AAk-here"},
	{"é&é", "&AOk-&-&AOk-"},
}

func TestEncodeDecode(t *testing.T) {
	for _, p := range pairs {
		if got := Encode(p.utf8); got != p.mutf7 {
			t.Errorf("Encode(%q) = %q, want %q", p.utf8, got, p.mutf7)
		}
		if got, err := Decode(p.mutf7); err != nil || got != p.utf8 {
			t.Errorf("Decode(%q) = %q, %v; want %q", p.mutf7, got, err, p.utf8)
		}
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	if a, b := Encode("\uFFFD"), Encode("\xff"); a != b {
		t.Errorf("Encode(invalid) = %q, want %q", b, a)
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	bad := []string{
		"&",                  // unterminated
		"&U,BTFw",            // unterminated
		"a\x80b",             // raw 8-bit
		"a\tb",               // raw control
		"&AGE-",              // "a" encoded: printable ASCII must be direct
		"&ACY-",              // "&" encoded
		"&U,BTFw-&ZeVnLIqe-", // adjacent runs
		"&U,BTFx-",           // non-zero padding bits
		"&U,BTFwA-",          // extra padding character
		"&2D0-",              // lone high surrogate
		"&3gA-",              // lone low surrogate
		"&2D3YPQ-",           // high surrogate followed by high surrogate
		"&U/BTFw-",           // '/' is not modified base64
		"&A-",                // too short to hold a unit
	}
	for _, s := range bad {
		if got, err := Decode(s); err != ErrInvalid {
			t.Errorf("Decode(%q) = %q, %v; want ErrInvalid", s, got, err)
		}
	}
}

var sepPairs = []struct{ utf8, mutf7 string }{
	{"INBOX", "INBOX"},
	{"a.b", "a&AC4-b"},
	{".", "&AC4-"},
	{"..", "&AC4ALg-"},
	{"v1.0 Entwürfe", "v1&AC4-0 Entw&APw-rfe"},
	{"x.ü", "x&AC4A,A-"},
	{"&.", "&-&AC4-"},
	{"a/b", "a/b"},
}

func TestEncodeDecodeSep(t *testing.T) {
	for _, p := range sepPairs {
		if got := EncodeSep(p.utf8, '.'); got != p.mutf7 {
			t.Errorf("EncodeSep(%q) = %q, want %q", p.utf8, got, p.mutf7)
		}
		if got, err := DecodeSep(p.mutf7, '.'); err != nil || got != p.utf8 {
			t.Errorf("DecodeSep(%q) = %q, %v; want %q", p.mutf7, got, err, p.utf8)
		}
	}
	// Without a sep, the forms are the plain ones.
	for _, p := range pairs {
		if got := EncodeSep(p.utf8, 0); got != p.mutf7 {
			t.Errorf("EncodeSep(%q, 0) = %q, want %q", p.utf8, got, p.mutf7)
		}
	}
}

func TestDecodeSepRejects(t *testing.T) {
	for _, s := range []string{
		"a.b",        // bare separator
		".",          // bare separator
		"&AGE-",      // other printable ASCII still must be direct
		"&AC4-&AC4-", // adjacent runs
	} {
		if got, err := DecodeSep(s, '.'); err != ErrInvalid {
			t.Errorf("DecodeSep(%q) = %q, %v; want ErrInvalid", s, got, err)
		}
	}
	// The strict Decode does not accept an encoded separator.
	if got, err := Decode("a&AC4-b"); err != ErrInvalid {
		t.Errorf("Decode(a&AC4-b) = %q, %v; want ErrInvalid", got, err)
	}
}

func FuzzUTF7(f *testing.F) {
	for _, p := range pairs {
		f.Add(p.utf8)
		f.Add(p.mutf7)
	}
	f.Add("&2D3YPQ-")
	for _, p := range sepPairs {
		f.Add(p.mutf7)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Property 1: Encode then Decode gives back valid UTF-8 input.
		if utf8.ValidString(s) {
			enc := Encode(s)
			dec, err := Decode(enc)
			if err != nil || dec != s {
				t.Fatalf("round trip %q -> %q -> %q (%v)", s, enc, dec, err)
			}
		}
		// Property 2: whatever Decode accepts is canonical.
		if dec, err := Decode(s); err == nil {
			if re := Encode(dec); re != s {
				t.Fatalf("Decode accepted non-canonical %q (-> %q -> %q)", s, dec, re)
			}
		}
		// The same two properties with '.' as separator, and no bare '.'.
		if utf8.ValidString(s) {
			enc := EncodeSep(s, '.')
			dec, err := DecodeSep(enc, '.')
			if err != nil || dec != s || strings.IndexByte(enc, '.') >= 0 {
				t.Fatalf("sep round trip %q -> %q -> %q (%v)", s, enc, dec, err)
			}
		}
		if dec, err := DecodeSep(s, '.'); err == nil {
			if re := EncodeSep(dec, '.'); re != s {
				t.Fatalf("DecodeSep accepted non-canonical %q (-> %q -> %q)", s, dec, re)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	for b.Loop() {
		Encode("~peter/mail/台北/日本語")
	}
}
