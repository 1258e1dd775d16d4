package load

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Corpus returns n varied messages averaging about 4 KiB, the same for the
// same n and seed: plain text, quoted-printable UTF-8, multipart/alternative,
// multipart/mixed with a base64 attachment, threads (In-Reply-To), RFC 2047
// subjects. Every 10th message contains the word "posthornneedle" in its
// body, for SEARCH TEXT.
func Corpus(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	words := strings.Fields("the quick brown fox jumps over lazy dog mail server message protocol " +
		"envelope header body part attachment meeting report invoice weekly review draft budget")
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		var b strings.Builder
		sentence := func(k int) string {
			s := make([]string, k)
			for j := range s {
				s[j] = words[rng.IntN(len(words))]
			}
			return strings.Join(s, " ")
		}
		para := func(lines int) string {
			var p strings.Builder
			for l := 0; l < lines; l++ {
				p.WriteString(sentence(10 + rng.IntN(4)))
				p.WriteString("\r\n")
			}
			return p.String()
		}
		from := fmt.Sprintf("User %d <user%d@example.org>", i%97, i%97)
		subject := sentence(4 + rng.IntN(4))
		if i%7 == 0 {
			subject = "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= " + subject
		}
		fmt.Fprintf(&b, "Return-Path: <user%d@example.org>\r\n", i%97)
		fmt.Fprintf(&b, "Received: from mx.example.org by mail.example.com; %s\r\n", base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z))
		fmt.Fprintf(&b, "From: %s\r\nTo: Bench <bench@example.com>\r\n", from)
		if i%5 == 0 {
			b.WriteString("Cc: Team <team@example.com>, \"Doe, Jane\" <jane@example.net>\r\n")
		}
		fmt.Fprintf(&b, "Subject: %s\r\n", subject)
		fmt.Fprintf(&b, "Date: %s\r\n", base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z))
		fmt.Fprintf(&b, "Message-ID: <%d.bench@example.org>\r\n", i)
		if i%3 == 1 {
			fmt.Fprintf(&b, "In-Reply-To: <%d.bench@example.org>\r\nReferences: <%d.bench@example.org>\r\n", i-1, i-1)
		}
		b.WriteString("MIME-Version: 1.0\r\n")
		text := para(20 + rng.IntN(30))
		if i%10 == 0 {
			text += "the posthornneedle is here\r\n"
		}
		switch i % 4 {
		case 0, 1:
			b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
			b.WriteString(text)
		case 2:
			b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n")
			b.WriteString("--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
			b.WriteString(text)
			b.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>")
			b.WriteString(text)
			b.WriteString("</p></body></html>\r\n--alt--\r\n")
		case 3:
			att := make([]byte, 600+rng.IntN(1500))
			for j := range att {
				att[j] = byte(rng.IntN(256))
			}
			enc := base64.StdEncoding.EncodeToString(att)
			b.WriteString("Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n")
			b.WriteString("--mix\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
			b.WriteString(text)
			b.WriteString("--mix\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
			for len(enc) > 76 {
				b.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			b.WriteString(enc + "\r\n--mix--\r\n")
		}
		out[i] = []byte(b.String())
	}
	return out
}
