package imap

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// FuzzFinder: a finder finds what bytes.Index finds, where it finds it.
func FuzzFinder(f *testing.F) {
	f.Add([]byte("the posthornneedle is here"), []byte("posthornneedle"))
	f.Add([]byte("content-type: text/plain; charset=utf-8"), []byte("charset"))
	f.Add([]byte(strings.Repeat("q", 200)+"quoted-printable"), []byte("quoted-printable"))
	f.Add([]byte(strings.Repeat("xz", 100)), []byte("zx"))
	f.Add([]byte("aaaa"), []byte("a"))
	f.Add([]byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, h, s []byte) {
		if got, want := newFinder(s).index(h), bytes.Index(h, s); got != want {
			t.Fatalf("finder(%q).index(%q) = %d, bytes.Index %d", s, h, got, want)
		}
	})
}

// TestFinderAnchorsOnRareOctet: the anchor is the needle's rarest octet,
// and a text full of it still finds the needle (the fallback).
func TestFinderAnchorsOnRareOctet(t *testing.T) {
	f := newFinder([]byte("posthornneedle"))
	assert.Equal(t, byte('p'), f.s[f.rare])
	f = newFinder([]byte("quoted-printable"))
	assert.Equal(t, byte('q'), f.s[f.rare])
	f = newFinder([]byte("base64"))
	assert.Equal(t, byte('6'), f.s[f.rare])
	hostile := strings.Repeat("6", 10000) + "base64"
	assert.Equal(t, 10000, findBase64.index([]byte(hostile)))
	assert.Equal(t, -1, findBase64.index([]byte(strings.Repeat("base6", 2000))))
}

// BenchmarkFinder compares a finder with bytes.Index on lower-cased text
// that does not hold the string.
func BenchmarkFinder(b *testing.B) {
	text := []byte(strings.ToLower(strings.Repeat("the quick brown fox jumps over lazy dog mail server message protocol envelope header body part attachment meeting report\r\n", 40)))
	for _, s := range []string{"posthornneedle", "charset", "base64", "content-type"} {
		f := newFinder([]byte(s))
		b.Run(s+"/finder", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if f.contains(text) {
					b.Fatal("found")
				}
			}
		})
		b.Run(s+"/bytes.Index", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if bytes.Contains(text, []byte(s)) {
					b.Fatal("found")
				}
			}
		})
	}
}
