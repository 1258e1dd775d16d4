package mime

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestContainsFold(t *testing.T) {
	text := strings.Repeat("x", 40000) + "Grüße AUS Köln" + strings.Repeat("y", 40000)
	for _, c := range []struct {
		needle string
		want   bool
	}{{"grüße aus", true}, {"KÖLN", true}, {"cologne", false}, {"", true}, {"xgrüße", true}, {"yy", true}} {
		got, err := ContainsFold(iotest.OneByteReader(strings.NewReader(text)), c.needle)
		if err != nil || got != c.want {
			t.Errorf("ContainsFold(%q) = %v, %v", c.needle, got, err)
		}
		got, _ = ContainsFold(iotest.HalfReader(strings.NewReader(text)), c.needle)
		if got != c.want {
			t.Errorf("ContainsFold(%q) half reader = %v", c.needle, got)
		}
	}
	if _, err := ContainsFold(iotest.ErrReader(io.ErrClosedPipe), "x"); err != io.ErrClosedPipe {
		t.Error(err)
	}
}

func TestContains(t *testing.T) {
	p, _ := Parse(strings.NewReader(nestedMsg), nil)
	msg := strings.NewReader(nestedMsg)
	for _, c := range []struct {
		s       string
		headers bool
		want    bool
	}{
		{"café au", false, true},      // QP + charset decoded
		{"CAFÉ", false, true},         // case-insensitive
		{"=C3=A9", false, false},      // raw encoding is not searched
		{"hello world", false, false}, // base64 attachment is not text
		{"html", false, true},         // nested message's parts
		{"inner@example", false, false},
		{"inner@example", true, true}, // nested header with TEXT
		{"Team", true, true},
		{"preamble", false, false},
	} {
		got, err := Contains(p, msg, c.s, c.headers)
		if err != nil || got != c.want {
			t.Errorf("Contains(%q, %v) = %v, %v", c.s, c.headers, got, err)
		}
	}
	p, _ = Parse(strings.NewReader(simpleMsg), nil)
	if ok, _ := Contains(p, strings.NewReader(simpleMsg), "café meeting", true); !ok {
		t.Error("RFC 2047 subject not searched")
	}
}

func TestDecodedSize(t *testing.T) {
	p, _ := Parse(strings.NewReader(nestedMsg), nil)
	off, n, _ := p.Section([]int{2}, "")
	size, err := DecodedSize(&p.Parts[1], strings.NewReader(nestedMsg[off:off+n]))
	if err != nil || size != 11 {
		t.Errorf("DecodedSize = %d, %v", size, err)
	}
}
