package mime

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

var simpleMsg = crlf(`Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: =?ISO-8859-1?Q?Caf=E9?= meeting
To: imap@cac.washington.edu, "Klensin, John" <KLENSIN@MIT.EDU>
Cc: minutes@CNRI.Reston.VA.US
Message-ID: <B27397-0100000@cac.washington.edu>

Hello
world
`)

var nestedMsg = crlf(`From: a@example.com
To: Team: b@example.com, c@example.com;
Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 au lait
--outer
Content-Type: application/octet-stream; name*0*=utf-8''%E2%82%AC; name*1=".bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.pdf"
Content-Language: en, de
Content-ID: <id1@x>
Content-Description: a report
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Location: http://example.com/r.pdf

aGVsbG8g
d29ybGQ=
--outer
Content-Type: message/rfc822

From: inner@example.com
Subject: inner
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

plain
--inner
Content-Type: text/html

<p>html</p>
--inner--
--outer--
epilogue
`)

func section(t *testing.T, msg string, root *Part, path []int, spec string) string {
	t.Helper()
	off, n, err := root.Section(path, spec)
	if err != nil {
		t.Fatalf("Section(%v, %q): %v", path, spec, err)
	}
	if off < 0 || n < 0 || off+n > int64(len(msg)) {
		t.Fatalf("Section(%v, %q) = %d+%d outside the message", path, spec, off, n)
	}
	return msg[off : off+n]
}

func TestParseSimple(t *testing.T) {
	p, err := Parse(strings.NewReader(simpleMsg), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "text" || p.Subtype != "plain" || p.Param("charset") != "us-ascii" {
		t.Errorf("default type: %s/%s %v", p.Type, p.Subtype, p.Params)
	}
	if p.BodyLines != 2 || p.BodySize != 14 || p.HeaderSize != int64(len(simpleMsg)-14) {
		t.Errorf("sizes: header %d body %d lines %d", p.HeaderSize, p.BodySize, p.BodyLines)
	}
	e := p.Envelope
	if e == nil || e.Subject != "=?ISO-8859-1?Q?Caf=E9?= meeting" || DecodeHeader(e.Subject) != "Café meeting" ||
		e.MessageID != "<B27397-0100000@cac.washington.edu>" || e.Date != "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" {
		t.Fatalf("envelope %+v", e)
	}
	wantTo := []Address{{Mailbox: "imap", Host: "cac.washington.edu"}, {Name: "Klensin, John", Mailbox: "KLENSIN", Host: "MIT.EDU"}}
	if !reflect.DeepEqual(e.To, wantTo) || e.From[0].Name != "Terry Gray" || e.Sender != nil {
		t.Errorf("addresses %+v %+v", e.To, e.From)
	}
	if got := section(t, simpleMsg, p, []int{1}, ""); got != "Hello\r\nworld\r\n" {
		t.Errorf("[1] = %q", got)
	}
	if got := section(t, simpleMsg, p, nil, "TEXT"); got != "Hello\r\nworld\r\n" {
		t.Errorf("TEXT = %q", got)
	}
	if got := section(t, simpleMsg, p, nil, ""); got != simpleMsg {
		t.Errorf("[] = %q", got)
	}
	if _, _, err := p.Section([]int{2}, ""); err != ErrNoSection {
		t.Error("[2] of a single part message")
	}
	if _, _, err := p.Section(nil, "MIME"); err != ErrNoSection {
		t.Error("MIME without a part")
	}
}

func TestParseNested(t *testing.T) {
	p, err := Parse(strings.NewReader(nestedMsg), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsMultipart() || len(p.Parts) != 3 || p.Param("boundary") != "outer" {
		t.Fatalf("root %+v", p)
	}
	to := p.Envelope.To
	if len(to) != 4 || to[0].Group != GroupStart || to[0].Mailbox != "Team" || to[3].Group != GroupEnd || to[1].Host != "example.com" {
		t.Errorf("group %+v", to)
	}
	text := &p.Parts[0]
	if text.Encoding != "quoted-printable" || text.Param("charset") != "utf-8" || text.BodyLines != 0 {
		t.Errorf("text part %+v", text)
	}
	if got := section(t, nestedMsg, p, []int{1}, ""); got != "caf=C3=A9 au lait" {
		t.Errorf("[1] = %q", got)
	}
	if got := section(t, nestedMsg, p, []int{1}, "MIME"); got != "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" {
		t.Errorf("[1.MIME] = %q", got)
	}
	att := &p.Parts[1]
	if att.Param("name") != "€.bin" || att.Disposition != "attachment" || att.DispositionParams[0] != (Param{Name: "filename", Value: "report.pdf", Raw: "report.pdf"}) ||
		!reflect.DeepEqual(att.Language, []string{"en", "de"}) || att.ID != "<id1@x>" || att.Description != "a report" ||
		att.MD5 != "Q2hlY2sgSW50ZWdyaXR5IQ==" || att.Location != "http://example.com/r.pdf" || att.BodyLines != 1 {
		t.Errorf("attachment %+v", att)
	}
	body := section(t, nestedMsg, p, []int{2}, "")
	dec, err := Decoder(att, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(dec); string(b) != "hello world" {
		t.Errorf("decoded %q", b)
	}
	msg := &p.Parts[2]
	if !msg.IsMessage() || msg.Parts[0].Envelope.Subject != "inner" || msg.BodyLines != 13 {
		t.Fatalf("message part %+v", msg)
	}
	if got := section(t, nestedMsg, p, []int{3}, "HEADER"); !strings.HasPrefix(got, "From: inner@") || !strings.HasSuffix(got, "inner\r\n\r\n") {
		t.Errorf("[3.HEADER] = %q", got)
	}
	if got := section(t, nestedMsg, p, []int{3, 2}, ""); got != "<p>html</p>" {
		t.Errorf("[3.2] = %q", got)
	}
	if got := section(t, nestedMsg, p, []int{3, 1}, "MIME"); got != "Content-Type: text/plain\r\n\r\n" {
		t.Errorf("[3.1.MIME] = %q", got)
	}
	if got := section(t, nestedMsg, p, []int{3}, "TEXT"); !strings.HasPrefix(got, "--inner\r\n") || !strings.HasSuffix(got, "--inner--\r\n") {
		t.Errorf("[3.TEXT] = %q", got)
	}
	if _, _, err := p.Section([]int{1}, "HEADER"); err != ErrNoSection {
		t.Error("HEADER of a text part")
	}
	if _, _, err := p.Section([]int{4}, ""); err != ErrNoSection {
		t.Error("[4]")
	}
	var paths []string
	p.Walk(func(path []int, part *Part) bool {
		paths = append(paths, fmtPath(path)+"="+part.Type+"/"+part.Subtype)
		return true
	})
	want := []string{"=multipart/mixed", "1=text/plain", "2=application/octet-stream", "3=message/rfc822", "3.1=text/plain", "3.2=text/html"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("Walk: %v", paths)
	}
}

func fmtPath(p []int) string {
	var s []string
	for _, n := range p {
		s = append(s, itoa(n))
	}
	return strings.Join(s, ".")
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestParseDigestAndDefaults(t *testing.T) {
	msg := crlf(`Content-Type: multipart/digest; boundary=d

--d

Subject: one

body one
--d
Content-Type: text/plain

two
--d--`)
	p, err := Parse(strings.NewReader(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parts) != 2 || p.Parts[0].Type != "message" || !p.Parts[0].IsMessage() || p.Parts[0].Parts[0].Envelope.Subject != "one" || p.Parts[1].Subtype != "plain" {
		t.Fatalf("%+v", p.Parts)
	}
	if got := section(t, msg, p, []int{2}, ""); got != "two" {
		t.Errorf("%q", got)
	}
}

func TestParseBareLFAndNoFinalNewline(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\ny\n--b\n\nlast line no newline"
	p, err := Parse(strings.NewReader(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parts) != 2 || p.Parts[0].BodyLines != 1 || p.Parts[1].BodyLines != 0 {
		t.Fatalf("%+v", p.Parts)
	}
	if got := section(t, msg, p, []int{1}, ""); got != "x\ny" {
		t.Errorf("%q", got)
	}
	if got := section(t, msg, p, []int{2}, ""); got != "last line no newline" {
		t.Errorf("%q", got)
	}
}

func TestParseEmptyAndHeaderOnly(t *testing.T) {
	for _, msg := range []string{"", "Subject: x", "Subject: x\r\n", "\r\n"} {
		p, err := Parse(strings.NewReader(msg), nil)
		if err != nil || p.HeaderSize+p.BodySize != int64(len(msg)) {
			t.Errorf("%q: %+v %v", msg, p, err)
		}
	}
}

func TestLimitDepth(t *testing.T) {
	var b strings.Builder
	depth := 150
	for i := 0; i < depth; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + itoa(i) + "x\r\n\r\n--b" + itoa(i) + "x\r\n")
	}
	b.WriteString("\r\nleaf\r\n")
	msg := b.String()
	p, err := Parse(strings.NewReader(msg), &Options{MaxDepth: 10})
	if err != nil {
		t.Fatal(err)
	}
	d, cur := 0, p
	for len(cur.Parts) > 0 {
		cur = &cur.Parts[0]
		d++
	}
	if d != 9 || !cur.Opaque || cur.Type != "multipart" {
		t.Fatalf("depth %d opaque %v", d, cur.Opaque)
	}
	if cur.BodyOffset+cur.BodySize != int64(len(msg)) {
		t.Error("opaque part does not run to the end")
	}
	// Default limit: 100.
	p, _ = Parse(strings.NewReader(msg), nil)
	d, cur = 0, p
	for len(cur.Parts) > 0 {
		cur = &cur.Parts[0]
		d++
	}
	if d != DefaultMaxDepth-1 || !cur.Opaque {
		t.Errorf("default depth %d", d)
	}
}

func TestLimitParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < 50; i++ {
		b.WriteString("--b\r\n\r\npart\r\n")
	}
	b.WriteString("--b--\r\n")
	msg := b.String()
	p, err := Parse(strings.NewReader(msg), &Options{MaxParts: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parts) != 9 || !p.Opaque || p.BodyOffset+p.BodySize != int64(len(msg)) {
		t.Fatalf("parts %d opaque %v", len(p.Parts), p.Opaque)
	}
	last := p.Parts[8]
	if last.BodyOffset+last.BodySize > int64(len(msg)) {
		t.Error("last part overflows")
	}
}

func TestLimitHeaderBytes(t *testing.T) {
	msg := "X-Junk: " + strings.Repeat("a", 5000) + "\r\nSubject: late\r\n\r\nbody"
	p, err := Parse(strings.NewReader(msg), &Options{MaxHeaderBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if p.Envelope.Subject != "" || p.BodySize != 4 || p.HeaderSize != int64(len(msg)-4) {
		t.Errorf("subject %q header %d body %d", p.Envelope.Subject, p.HeaderSize, p.BodySize)
	}
	p, _ = Parse(strings.NewReader(msg), nil)
	if p.Envelope.Subject != "late" {
		t.Error("default limit too small")
	}
}

func TestLongLines(t *testing.T) {
	long := strings.Repeat("x", 100000)
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + long + "\r\n--b\r\n\r\n" + long + "\r--b\r\n--b--\r\n"
	p, err := Parse(strings.NewReader(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Parts) != 2 || p.Parts[0].BodySize != int64(len(long)) || p.Parts[1].BodySize != int64(len(long)+4) {
		t.Fatalf("%+v", p.Parts)
	}
}

// readCounter counts the bytes read to show the parser reads once.
type readCounter struct {
	r io.Reader
	n int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestStreamingLargeAttachment(t *testing.T) {
	head := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	line := strings.Repeat("QUJD", 19) + "\r\n"
	n := 20 << 20 / len(line)
	tail := "--b--\r\n"
	r := io.MultiReader(strings.NewReader(head), &repeatReader{s: line, n: n}, strings.NewReader(tail))
	rc := &readCounter{r: r}
	p, err := Parse(rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rc.n != int64(len(head)+n*len(line)+len(tail)) || p.Parts[0].BodyLines != int64(n-1) {
		t.Fatalf("read %d, lines %d", rc.n, p.Parts[0].BodyLines)
	}
}

type repeatReader struct {
	s   string
	n   int
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) && r.n > 0 {
		c := copy(p[w:], r.s[r.off:])
		w += c
		r.off += c
		if r.off == len(r.s) {
			r.off = 0
			r.n--
		}
	}
	if w == 0 {
		return 0, io.EOF
	}
	return w, nil
}

func TestParseReadError(t *testing.T) {
	if _, err := Parse(io.MultiReader(strings.NewReader("Subject: x\r\n"), errReader{}), nil); err == nil {
		t.Error("read error swallowed")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestTextReader(t *testing.T) {
	msg := crlf(`Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

caf=E9
`)
	p, _ := Parse(strings.NewReader(msg), nil)
	r, err := TextReader(p, strings.NewReader(section(t, msg, p, nil, "TEXT")))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "café\r\n" {
		t.Errorf("%q", b)
	}
	p.Encoding = "x-uuencode"
	if _, err := TextReader(p, strings.NewReader("")); err != ErrUnknownEncoding {
		t.Error(err)
	}
}

func TestBase64Lenient(t *testing.T) {
	for in, want := range map[string]string{
		"aGVsbG8=\r\n":        "hello",
		"aGVs\r\nbG8\r\n":     "hello",
		"aGVs bG8*\r\n":       "hello",
		"aGVsbG8=\r\ngarbage": "hello",
		"":                    "",
	} {
		r, _ := decoderFor("base64", strings.NewReader(in))
		b, _ := io.ReadAll(r)
		if string(b) != want {
			t.Errorf("%q → %q", in, b)
		}
	}
}

func TestHeaderFieldsAndLookup(t *testing.T) {
	hdr := []byte("From: a@b\r\nSubject: one\r\n two\r\nTO: c@d\r\nbogus line\r\n\r\n")
	if got := string(HeaderFields(hdr, []string{"subject", "to"}, false)); got != "Subject: one\r\n two\r\nTO: c@d\r\n\r\n" {
		t.Errorf("%q", got)
	}
	if got := string(HeaderFields(hdr, []string{"subject", "to"}, true)); got != "From: a@b\r\nbogus line\r\n\r\n" {
		t.Errorf("NOT: %q", got)
	}
	if got := string(HeaderFields([]byte("From: a@b\r\nTo: c"), []string{"to"}, true)); got != "From: a@b\r\n" {
		t.Errorf("unterminated NOT: %q", got)
	}
	if got := string(HeaderFields([]byte("From: a@b\r\nTo: c"), []string{"to"}, false)); got != "To: c\r\n\r\n" {
		t.Errorf("unterminated: %q", got)
	}
	if got := Lookup(hdr, "subject"); !reflect.DeepEqual(got, []string{"one two"}) {
		t.Errorf("%q", got)
	}
	h, err := ReadHeader(strings.NewReader(simpleMsg), 0)
	if err != nil || !bytes.HasSuffix(h, []byte("\r\n\r\n")) || bytes.Contains(h, []byte("Hello")) {
		t.Errorf("ReadHeader %q %v", h, err)
	}
}

func TestFindRules(t *testing.T) {
	single, _ := Parse(strings.NewReader(simpleMsg), nil)
	if _, err := single.Find([]int{1, 1}); err != ErrNoSection {
		t.Error("1.1 of a single-part message exists")
	}
	multi, _ := Parse(strings.NewReader(nestedMsg), nil)
	if p, err := multi.Find([]int{1, 1}); err != nil || p != &multi.Parts[0] {
		t.Error("1.1 of a leaf part in a multipart is the part (Dovecot)")
	}
	if _, err := multi.Find([]int{1, 1, 1}); err != ErrNoSection {
		t.Error("1.1.1")
	}
	msg := crlf("Content-Type: message/rfc822\n\nSubject: in\nContent-Type: multipart/mixed; boundary=z\n\n--z\n\nx\n--z--\n")
	root, _ := Parse(strings.NewReader(msg), nil)
	if got := section(t, msg, root, []int{1}, ""); !strings.HasPrefix(got, "Subject: in") {
		t.Errorf("[1] = %q", got)
	}
	if got := section(t, msg, root, []int{1, 1}, ""); got != "x" {
		t.Errorf("[1.1] = %q", got)
	}
	if got := section(t, msg, root, []int{1}, "MIME"); got != "Content-Type: message/rfc822\r\n\r\n" {
		t.Errorf("[1.MIME] = %q", got)
	}
	if _, err := root.Find([]int{0}); err != ErrNoSection {
		t.Error("part 0")
	}
}

// TestDovecotCounting pins the counting rules shared with Dovecot (the
// interop test in imap/internal/wire checks them against Dovecot itself).
func TestDovecotCounting(t *testing.T) {
	// An empty body right after the header's empty line: the delimiter
	// takes that line's CRLF, so the MIME header ends with one CRLF.
	msg := crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n--b--\n")
	p, _ := Parse(strings.NewReader(msg), nil)
	if got := section(t, msg, p, []int{1}, "MIME"); got != "Content-Type: text/plain\r\n" {
		t.Errorf("[1.MIME] = %q", got)
	}
	if got := section(t, msg, p, []int{1}, ""); got != "" {
		t.Errorf("[1] = %q", got)
	}
	// A close delimiter directly followed by the outer one keeps its CRLF.
	msg = crlf("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\nx\n--i--\n--o--\n")
	p, _ = Parse(strings.NewReader(msg), nil)
	if got := section(t, msg, p, []int{1}, ""); !strings.HasSuffix(got, "--i--\r\n") {
		t.Errorf("[1] = %q", got)
	}
	// A delimiter is matched by its prefix; the rest of its line is ignored.
	msg = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b junk\n\none\n--b--\n")
	p, _ = Parse(strings.NewReader(msg), nil)
	if len(p.Parts) != 1 || section(t, msg, p, []int{1}, "") != "one" {
		t.Errorf("prefix delimiter: %+v", p.Parts)
	}
	// In the epilogue, our own delimiter is text.
	msg = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n--b\nmore\n")
	p, _ = Parse(strings.NewReader(msg), nil)
	if len(p.Parts) != 1 || p.BodyOffset+p.BodySize != int64(len(msg)) {
		t.Errorf("epilogue: %d parts, body to %d of %d", len(p.Parts), p.BodyOffset+p.BodySize, len(msg))
	}
	// Envelope strings: folding and runs of blanks become one space;
	// present-but-empty fields are marked.
	msg = crlf("Subject: a  b\t c\n  d\nMessage-ID:\n\nx")
	p, _ = Parse(strings.NewReader(msg), nil)
	if p.Envelope.Subject != "a b c d" || p.Envelope.Blank != BlankMessageID {
		t.Errorf("envelope %+v", p.Envelope)
	}
}

func TestDecoderPassThrough(t *testing.T) {
	for _, p := range []*Part{{Type: "message", Subtype: "rfc822", Encoding: "base64"}, {Type: "multipart", Encoding: "quoted-printable"}, {Type: "text", Encoding: "8BIT"}} {
		r, err := Decoder(p, strings.NewReader("aGVsbG8="))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(r); string(b) != "aGVsbG8=" {
			t.Errorf("%s/%s %s decoded: %q", p.Type, p.Subtype, p.Encoding, b)
		}
	}
	// Unknown charsets pass through; known ones convert.
	r, _ := TextReader(&Part{Type: "text", Params: []Param{{Name: "charset", Value: "x-unknown"}}}, strings.NewReader("caf\xe9"))
	if b, _ := io.ReadAll(r); string(b) != "caf\xe9" {
		t.Errorf("unknown charset: %q", b)
	}
	r, _ = TextReader(&Part{Type: "text", Params: []Param{{Name: "charset", Value: "windows-1252"}}}, strings.NewReader("caf\xe9 \x80"))
	if b, _ := io.ReadAll(r); string(b) != "café €" {
		t.Errorf("windows-1252: %q", b)
	}
}
