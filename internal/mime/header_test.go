package mime

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeHeader(t *testing.T) {
	cases := map[string]string{
		"plain text":                                 "plain text",
		"=?utf-8?q?caf=C3=A9?=":                      "café",
		"=?UTF-8?B?Y2Fmw6k=?=":                       "café",
		"=?utf-8?b?Y2Fmw6k?=":                        "café", // missing padding
		"=?iso-8859-1?q?a?= =?iso-8859-1?q?b?=":      "ab",   // RFC 2047 §6.2
		"=?iso-8859-1?q?a?=\r\n =?iso-8859-1?q?_b?=": "a b",
		"x =?utf-8?q?y?= z":                          "x y z",
		"=?utf-8*en?q?hi?=":                          "hi", // RFC 2231 language
		"=?utf-8?q?a?==?utf-8?q?b?=":                 "ab", // glued
		"=?unknown-cs?q?a?=":                         "=?unknown-cs?q?a?=",
		"=?utf-8?x?a?=":                              "=?utf-8?x?a?=",
		"=?utf-8?q?bad=ZZ?=":                         "=?utf-8?q?bad=ZZ?=",
		"=?windows-1252?q?=80?=":                     "€",
		"=?koi8-r?b?8NLJ18XU?=":                      "Привет",
		"=?utf-8?q?=FF?=":                            "\uFFFD",
		"trailing space ":                            "trailing space ",
	}
	for in, want := range cases {
		if got := DecodeHeader(in); got != want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMediaType(t *testing.T) {
	cases := []struct {
		in       string
		typ, sub string
		params   []Param
		ok       bool
	}{
		{`text/plain`, "text", "plain", nil, true},
		{`Text/HTML; Charset="UTF-8"`, "text", "html", []Param{{Name: "charset", Value: "UTF-8", Raw: "UTF-8"}}, true},
		{`text/plain (comment); charset=us-ascii (another)`, "text", "plain", []Param{{Name: "charset", Value: "us-ascii", Raw: "us-ascii"}}, true},
		{`application/x; name*=utf-8'en'%E2%82%AC%20rate`, "application", "x", []Param{{Name: "name", Value: "€ rate", Raw: "utf-8'en'%E2%82%AC%20rate", Extended: true}}, true},
		{`application/x; name*1="b"; name*0="a"; name*2*=%41`, "application", "x", []Param{{Name: "name", Value: "abA", Raw: "ab%41", Extended: true}}, true},
		{`application/x; name*0*=iso-8859-1''caf%E9; name*1=".txt"`, "application", "x", []Param{{Name: "name", Value: "café.txt", Raw: "iso-8859-1''caf%E9.txt", Extended: true}}, true},
		{`application/x; name="plain"; name*=utf-8''ext`, "application", "x", []Param{{Name: "name", Value: "ext", Raw: "utf-8''ext", Extended: true}}, true},
		{`application/x; name="=?utf-8?q?caf=C3=A9?="`, "application", "x", []Param{{Name: "name", Value: "café", Raw: "=?utf-8?q?caf=C3=A9?="}}, true},
		{`multipart/mixed; boundary=abc def; junk; x=1`, "multipart", "mixed", []Param{{Name: "boundary", Value: "abc def", Raw: "abc def"}, {Name: "x", Value: "1", Raw: "1"}}, true},
		{`text`, "", "", nil, false},
		{`/plain`, "", "", nil, false},
	}
	for _, c := range cases {
		typ, sub, params, ok := ParseMediaType(c.in)
		if ok != c.ok || typ != c.typ || sub != c.sub || !reflect.DeepEqual(params, c.params) {
			t.Errorf("ParseMediaType(%q) = %q %q %v %v", c.in, typ, sub, params, ok)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	cases := []struct {
		in   string
		want []Address
	}{
		{"a@b", []Address{{Mailbox: "a", Host: "b"}}},
		{`"Doe, John" <john@x.org>, jane@y.org (Jane)`, []Address{{Name: "Doe, John", Mailbox: "john", Host: "x.org"}, {Name: "Jane", Mailbox: "jane", Host: "y.org"}}},
		{"a@b (c (nested) d), x@y", []Address{{Name: "c (nested) d", Mailbox: "a", Host: "b"}, {Mailbox: "x", Host: "y"}}},
		{"(lead) a@b", []Address{{Mailbox: "a", Host: "b"}}},
		{"a@b (one) (two)", []Address{{Name: "one", Mailbox: "a", Host: "b"}}},
		{"a@b <c@d>, e@f", []Address{{Mailbox: "a", Host: "b"}, {Mailbox: "e", Host: "f"}}}, // junk after an address
		{"x@y z", []Address{{Mailbox: "x", Host: "y"}}},
		{"x@a.b.c", []Address{{Mailbox: "x", Host: "a.b.c"}}},
		{"x@(c)a.(d)b", []Address{{Name: "c", Mailbox: "x", Host: "a.b"}}},
		{"John Q. Public <jqp@x>", []Address{{Name: "John Q. Public", Mailbox: "jqp", Host: "x"}}},
		{"=?utf-8?q?J=C3=B6rg?= <j@x>", []Address{{Name: "=?utf-8?q?J=C3=B6rg?=", Mailbox: "j", Host: "x"}}},
		{"<@route1,@route2:u@h>", []Address{{Adl: "@route1,@route2", Mailbox: "u", Host: "h"}}},
		{"undisclosed-recipients:;", []Address{{Mailbox: "undisclosed-recipients", Group: GroupStart}, {Group: GroupEnd}}},
		{"G: a@b, C <c@d>; e@f", []Address{{Mailbox: "G", Group: GroupStart}, {Mailbox: "a", Host: "b"}, {Name: "C", Mailbox: "c", Host: "d"}, {Group: GroupEnd}, {Mailbox: "e", Host: "f"}}},
		{`"quoted local"@x`, []Address{{Mailbox: "quoted local", Host: "x"}}},
		{"user", []Address{{Mailbox: "user"}}},
		{"a@[127.0.0.1]", []Address{{Mailbox: "a", Host: "[127.0.0.1]"}}},
		{"", nil},
		{",,,", nil},
		{"G: a@b", []Address{{Mailbox: "G", Group: GroupStart}, {Mailbox: "a", Host: "b"}, {Group: GroupEnd}}},
		// Control characters and a stray "]" are skipped: the addresses
		// after them survive (they used to end the list).
		{"a@b\x00, c@d", []Address{{Mailbox: "a", Host: "b"}, {Mailbox: "c", Host: "d"}}},
		{"Jo\x01e <a@b>, c@d", []Address{{Name: "Jo e", Mailbox: "a", Host: "b"}, {Mailbox: "c", Host: "d"}}},
		{"x]y@z, c@d", []Address{{Mailbox: "xy", Host: "z"}, {Mailbox: "c", Host: "d"}}},
	}
	for _, c := range cases {
		if got := ParseAddressList(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseAddressList(%q) =\n %+v, want\n %+v", c.in, got, c.want)
		}
	}
	// Every token consumes input: a stray byte once made 80,000 empty
	// ones (milliseconds and megabytes per header).
	for _, s := range []string{"\x00", "]", "<\x1f", "@\x00", strings.Repeat("\x01]", 100)} {
		if n := len(tokenizeAddresses(s)); n > len(s) {
			t.Errorf("%q: %d tokens", s, n)
		}
	}
	a := Address{Name: "=?utf-8?q?J=C3=B6rg?=", Mailbox: "j", Host: "x"}
	if a.DecodedName() != "Jörg" || a.String() != "Jörg <j@x>" {
		t.Error(a.String())
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(1996, 7, 17, 2, 23, 25, 0, time.FixedZone("", -7*3600))
	for _, in := range []string{
		"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
		"17 Jul 1996 02:23:25 -0700",
		"Wed, 17 Jul 96 02:23:25 PDT",
		"Wed,17 Jul 1996 02:23:25 -0700",
	} {
		got, ok := ParseDate(in)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v", in, got, ok)
		}
	}
	if got, ok := ParseDate("1 Jan 2020 10:00"); !ok || got.Hour() != 10 {
		t.Error("no seconds, no zone")
	}
	for _, in := range []string{"", "yesterday", "31 Feb 2020 10:00:00 +0000", "1 Foo 2020 10:00:00", "1 Jan 2020"} {
		if _, ok := ParseDate(in); ok {
			t.Errorf("ParseDate(%q) accepted", in)
		}
	}
}
