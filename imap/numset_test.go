package imap

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseNumSet(t *testing.T) {
	good := []struct {
		in   string
		want []Range
	}{
		{"1", []Range{{Start: 1, Stop: 1}}},
		{"*", []Range{{Start: Star, Stop: Star}}},
		{"1:*", []Range{{Start: 1, Stop: Star}}},
		{"4:2,7,9:*", []Range{{Start: 4, Stop: 2}, {Start: 7, Stop: 7}, {Start: 9, Stop: Star}}},
		{"4294967295", []Range{{Start: 4294967295, Stop: 4294967295}}},
	}
	for _, c := range good {
		s, err := ParseNumSet(c.in)
		if err != nil || !slices.Equal(s.Ranges, c.want) || s.SearchRes {
			t.Errorf("ParseNumSet(%q) = %v, %v; want %v", c.in, s.Ranges, err, c.want)
		}
		if s.String() != c.in {
			t.Errorf("String() = %q, want %q", s.String(), c.in)
		}
	}
	if s, err := ParseNumSet("$"); err != nil || !s.SearchRes || s.String() != "$" {
		t.Errorf("ParseNumSet($) = %+v, %v", s, err)
	}
	for _, in := range []string{"", "0", "1,", ",1", "1::2", "1:", "01", "4294967296", "99999999999", "a", "1:*:3", "1,,2", "$,1", "-1", "+1", " 1"} {
		if _, err := ParseNumSet(in); !errors.Is(err, ErrBadNumSet) {
			t.Errorf("ParseNumSet(%q): err = %v, want ErrBadNumSet", in, err)
		}
	}
}

func TestNumSetContains(t *testing.T) {
	s, _ := ParseNumSet("2:4,10:*")
	for n, want := range map[uint32]bool{0: false, 1: false, 2: true, 4: true, 5: false, 10: true, 15: true, 16: false} {
		if got := s.Contains(n, 15); got != want {
			t.Errorf("Contains(%d, 15) = %v", n, got)
		}
	}
	// "10:*" with max 7 is 7:10 (RFC 9051 §9: order does not matter).
	if !s.Contains(7, 7) || s.Contains(6, 7) {
		t.Error("10:* with max 7 must contain 7 only")
	}
}

func TestNumSetInBounds(t *testing.T) {
	s, _ := ParseNumSet("1:3,*")
	if !s.InBounds(3) || s.InBounds(2) || s.InBounds(0) {
		t.Error("InBounds wrong")
	}
}

func TestNumSetNormalize(t *testing.T) {
	s, _ := ParseNumSet("9:7,1,2,3,5:*,20,4294967295")
	got := s.Normalize(10)
	want := []Range{{Start: 1, Stop: 3}, {Start: 5, Stop: 10}}
	if !slices.Equal(got.Ranges, want) {
		t.Errorf("Normalize = %v, want %v", got.Ranges, want)
	}
	for n := uint32(0); n < 12; n++ {
		if got.ContainsNormalized(n) != s.Contains(n, 10) && n <= 10 {
			t.Errorf("ContainsNormalized(%d) disagrees", n)
		}
	}
	if got.ContainsNormalized(11) {
		t.Error("ContainsNormalized(11) beyond max")
	}
	if n := (NumSet{}).Normalize(5); len(n.Ranges) != 0 {
		t.Error("empty set normalizes to empty")
	}
	if s.Normalize(0).Ranges == nil || len(s.Normalize(0).Ranges) != 0 {
		t.Error("empty mailbox: nothing in range")
	}
}

func TestNumSetAllBounded(t *testing.T) {
	// Abuse: a huge range repeated thousands of times must cost what
	// the mailbox holds.
	in := strings.Repeat("1:4294967295,1:*,", 2000) + "3"
	s, err := ParseNumSet(in)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for n := range s.All(5) {
		got = append(got, n)
	}
	if !slices.Equal(got, []uint32{1, 2, 3, 4, 5}) {
		t.Errorf("All(5) = %v", got)
	}
	if c := s.Count(5); c != 5 {
		t.Errorf("Count = %d", c)
	}
	// Upper end of the number space terminates.
	top, _ := ParseNumSet("4294967294:*")
	var n int
	for range top.All(4294967295) {
		n++
	}
	if n != 2 {
		t.Errorf("All near max yielded %d", n)
	}
	// Early stop.
	for v := range s.All(5) {
		if v == 2 {
			break
		}
	}
}

func TestNumSetAdd(t *testing.T) {
	var s NumSet
	s.AddNum(1, 2, 3, 7)
	s.AddRange(8, 9)
	s.AddNum(4)
	if got := s.String(); got != "1:3,7:9,4" {
		t.Errorf("built %q", got)
	}
	if s.Dynamic() {
		t.Error("not dynamic")
	}
	s.AddRange(10, Star)
	if !s.Dynamic() || s.String() != "1:3,7:9,4,10:*" {
		t.Errorf("built %q", s.String())
	}
	if (NumSet{}).IsEmpty() != true || s.IsEmpty() {
		t.Error("IsEmpty")
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Type: StatusNO, Code: CodeBadCharset, CodeArg: "(UTF-8)", Text: "no"}
	if e.Error() != "imap: NO [BADCHARSET (UTF-8)] no" {
		t.Error(e.Error())
	}
	var target *Error
	if !errors.As(error(e), &target) {
		t.Error("errors.As")
	}
}

func TestSectionString(t *testing.T) {
	cases := map[string]Section{
		"":                            {},
		"1.2":                         {Path: []int{1, 2}},
		"HEADER":                      {Specifier: PartHeader},
		"1.2.HEADER.FIELDS (From To)": {Path: []int{1, 2}, Specifier: PartHeaderFields, Fields: []string{"From", "To"}},
		"2.MIME":                      {Path: []int{2}, Specifier: PartMIME},
	}
	for want, s := range cases {
		if s.String() != want {
			t.Errorf("%+v formats %q, want %q", s, s.String(), want)
		}
	}
}

func TestFlagsAndAddress(t *testing.T) {
	if !FlagSeen.Equal(`\SEEN`) || FlagSeen.Equal(FlagDeleted) || !FlagSeen.IsSystem() || FlagJunk.IsSystem() {
		t.Error("flag helpers")
	}
	if (Address{Mailbox: "a", Host: "b"}).Addr() != "a@b" || (Address{Mailbox: "g", Group: GroupStart}).Addr() != "" {
		t.Error("Addr")
	}
	bs := BodyStructure{Type: "MULTIPART"}
	if !bs.IsMultipart() {
		t.Error("IsMultipart")
	}
}

func FuzzNumSet(f *testing.F) {
	for _, s := range []string{"1", "*", "1:*", "4:2,7,9:*", "$", "1:4294967295,1:*", "0", "1,,2"} {
		f.Add(s, uint32(10))
	}
	f.Fuzz(func(t *testing.T, in string, max uint32) {
		s, err := ParseNumSet(in)
		if err != nil {
			return
		}
		out := s.String()
		s2, err := ParseNumSet(out)
		if err != nil || s2.String() != out || !slices.Equal(s.Ranges, s2.Ranges) || s.SearchRes != s2.SearchRes {
			t.Fatalf("%q -> %q -> %v (%v)", in, out, s2, err)
		}
		max %= 1000
		norm := s.Normalize(max)
		var prev uint32
		for i, r := range norm.Ranges {
			if r.Start == 0 || r.Start > r.Stop || r.Stop > max || (i > 0 && uint64(r.Start) <= uint64(prev)+1) {
				t.Fatalf("Normalize(%q, %d) not canonical: %v", in, max, norm.Ranges)
			}
			prev = r.Stop
		}
		var count uint64
		for n := range s.All(max) {
			count++
			if !s.Contains(n, max) || !norm.ContainsNormalized(n) {
				t.Fatalf("All yielded %d not contained", n)
			}
		}
		if count != s.Count(max) {
			t.Fatalf("All yielded %d, Count %d", count, s.Count(max))
		}
	})
}
