package wire

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// genMessage builds a random MIME message from building blocks:
// nested multiparts and messages, preambles, epilogues, missing blank
// lines, odd delimiters, parameters and encodings.
func genMessage(r *rand.Rand, depth int) string {
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteString("From: " + pick(r, "a@b", `"X, Y" <x@y>`, "G: a@b, c@d;", "(c) u@h", "=?utf-8?q?J=C3=B6rg?= <j@x>") + "\r\n")
	}
	if r.IntN(2) == 0 {
		b.WriteString("Subject: " + pick(r, "hi", "", "=?utf-8?b?Y2Fmw6k=?=", "a\r\n b", "x  y") + "\r\n")
	}
	b.WriteString(genEntity(r, depth))
	return b.String()
}

func pick(r *rand.Rand, s ...string) string { return s[r.IntN(len(s))] }

func genEntity(r *rand.Rand, depth int) string {
	var b strings.Builder
	kind := r.IntN(6)
	if depth > 3 {
		kind = 0
	}
	switch kind {
	case 0, 1: // leaf
		b.WriteString(pick(r, "", "Content-Type: text/plain\r\n", "Content-Type: text/html; charset=utf-8\r\n",
			"Content-Type: application/octet-stream; name*0=\"a\"; name*1=\"b.bin\"\r\nContent-Transfer-Encoding: base64\r\n",
			"Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"x.png\"\r\nContent-Language: fr\r\n"))
		if r.IntN(8) != 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(pick(r, "", "x", "line\r\n", "two\r\nlines\r\n", "aGVsbG8=\r\n", "\r\n\r\n"))
	case 2: // message/rfc822
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
		b.WriteString(genMessage(r, depth+1))
	default: // multipart
		bd := fmt.Sprintf("bd%d_%d", depth, r.IntN(1000))
		b.WriteString("Content-Type: multipart/" + pick(r, "mixed", "alternative", "digest") + "; boundary=\"" + bd + "\"\r\n\r\n")
		b.WriteString(pick(r, "", "preamble\r\n", "pre\r\namble\r\n"))
		n := r.IntN(3) + 1
		for i := 0; i < n; i++ {
			b.WriteString("--" + bd + pick(r, "", " ", "\t") + "\r\n")
			part := genEntity(r, depth+1)
			b.WriteString(part)
			if !strings.HasSuffix(part, "\r\n") || r.IntN(2) == 0 {
				b.WriteString("\r\n")
			}
		}
		if r.IntN(6) != 0 {
			b.WriteString("--" + bd + "--" + pick(r, "", "\r\n", "\r\nepilogue\r\n", "  \r\n"))
		}
	}
	return b.String()
}
