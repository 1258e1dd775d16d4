package smtp

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"EHLO client.example", "MAIL FROM:<a@b>", "quit", "", " x", "BDAT 100 LAST"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		verb, arg, err := parseCommand(line)
		if err != nil {
			return
		}
		if verb != strings.ToUpper(verb) || strings.ContainsAny(verb, " \r\n") {
			t.Fatalf("verb %q not normalised", verb)
		}
		v2, a2, err := parseCommand(verb + " " + arg)
		if err != nil || v2 != verb || a2 != arg {
			t.Fatalf("re-parse of %q: %q %q %v", line, v2, a2, err)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"<a@example.com>", "<>", "<postmaster>", "<@r.example:a@b.example> SIZE=1",
		`<"q\"x"@example.com>`, "<a@[IPv6:::1]>", "<a@[1.2.3.4]>", "<jörg@bücher.example>",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, reverse bool) {
		addr, rest, nonASCII, err := parsePath(s, reverse)
		if err != nil {
			return
		}
		if strings.ContainsAny(addr, "\r\n\x00") || len(addr)+2 > maxPathLen {
			t.Fatalf("accepted dangerous address %q from %q", addr, s)
		}
		if addr == "" && !reverse {
			t.Fatalf("empty forward path accepted from %q", s)
		}
		if addr != "" && !strings.Contains(addr, "@") && !strings.EqualFold(addr, "postmaster") {
			t.Fatalf("address without domain %q from %q", addr, s)
		}
		// The canonical form re-parses to the same address.
		a2, r2, n2, err := parsePath("<"+addr+">", reverse)
		if err != nil || a2 != addr || r2 != "" || n2 != nonASCII {
			t.Fatalf("re-parse of %q (from %q): %q %q %v %v", addr, s, a2, r2, n2, err)
		}
		if strings.HasPrefix(rest, " ") {
			t.Fatalf("rest %q keeps its separator", rest)
		}
	})
}

func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"BODY=8BITMIME SIZE=100", "SMTPUTF8 REQUIRETLS RET=FULL ENVID=x+2By AUTH=<>",
		"NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+40b", "XFOO=1 XBAR", "SIZE=1 SIZE=1",
		"ORCPT=utf-8;j\\x{F6}rg@example.com", "ORCPT=UTF-8;jörg@example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := parseMailParams(s); err == nil {
			wire := formatMailParams(m)
			m2, err := parseMailParams(wire)
			if err != nil {
				t.Fatalf("formatted MAIL params %q (from %q) do not parse: %v", wire, s, err)
			}
			if !reflect.DeepEqual(m, m2) {
				t.Fatalf("MAIL params round trip: %+v → %q → %+v", m, wire, m2)
			}
		}
		if r, err := parseRcptParams(s); err == nil {
			wire := formatRcptParams(r)
			r2, err := parseRcptParams(wire)
			if err != nil {
				t.Fatalf("formatted RCPT params %q (from %q) do not parse: %v", wire, s, err)
			}
			if !reflect.DeepEqual(r, r2) {
				t.Fatalf("RCPT params round trip: %+v → %q → %+v", r, wire, r2)
			}
		}
	})
}

func FuzzXtext(f *testing.F) {
	for _, s := range []string{"", "a+b=c", "+2B", "\x00\xff", "+zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := encodeXtext(s)
		dec, err := decodeXtext(enc)
		if err != nil || dec != s {
			t.Fatalf("xtext round trip %q → %q → %q (%v)", s, enc, dec, err)
		}
		if utf8.ValidString(s) && s != "" {
			u := encodeUTF8AddrXtext(s)
			if d, err := decodeUTF8AddrXtext(u); err != nil || d != s {
				t.Fatalf("utf-8-addr-xtext round trip %q → %q → %q (%v)", s, u, d, err)
			}
		}
		if d, err := decodeXtext(s); err == nil {
			if d2, err := decodeXtext(encodeXtext(d)); err != nil || d2 != d {
				t.Fatalf("re-encode of decoded %q changed it", s)
			}
		}
	})
}

func FuzzParseEnhancedCode(f *testing.F) {
	for _, s := range []string{"2.0.0", "5.1.1", "4.7.123", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseEnhancedCode(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("%q parsed as %v, formats as %q", s, c, c.String())
		}
	})
}

// FuzzErrorReply: whatever text a session puts in an *Error, the reply
// keeps its framing: one CRLF line per message line, each with the code.
func FuzzErrorReply(f *testing.F) {
	f.Add(550, "No such user")
	f.Add(451, "a\nb\r\n250 injected\r")
	f.Add(354, "")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		code = 200 + (code%400+400)%400
		wire := string((&Error{Code: code, Message: msg}).appendReply(nil))
		lines := strings.SplitAfter(wire, "\r\n")
		if lines[len(lines)-1] != "" {
			t.Fatalf("reply %q does not end in CRLF", wire)
		}
		lines = lines[:len(lines)-1]
		if want := strings.Count(msg, "\n") + 1; len(lines) != want {
			t.Fatalf("%d lines for %d message lines: %q", len(lines), want, wire)
		}
		prefix := strconv.Itoa(code)
		for i, l := range lines {
			body := l[:len(l)-2]
			sep := byte('-')
			if i == len(lines)-1 {
				sep = ' '
			}
			if !strings.HasPrefix(body, prefix) || len(body) < 4 || body[3] != sep || strings.ContainsAny(body, "\r\n") {
				t.Fatalf("bad reply line %q in %q", l, wire)
			}
		}
	})
}
