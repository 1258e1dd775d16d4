package wire

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mime"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

var renderMsg = crlf(`Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: IMAP4rev1 WG mtg summary and minutes
To: imap@cac.washington.edu
Cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
Bcc: Team: ;
Message-ID: <B27397-0100000@cac.washington.edu>
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=utf-8

Hello
--b
Content-Type: application/pdf; name=r.pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=r.pdf
Content-Language: en

aGVsbG8=
--b
Content-Type: message/rfc822

Subject: inner
From: x@y

inner body
--b--
`)

func render(t testing.TB, f func(e *Encoder)) string {
	var buf bytes.Buffer
	e := NewEncoder(bufio.NewWriter(&buf))
	f(e)
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestRenderEnvelope(t *testing.T) {
	p, _ := mime.Parse(strings.NewReader(renderMsg), nil)
	got := render(t, func(e *Encoder) { e.Envelope(p.Envelope) })
	want := `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ` +
		`((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) ` +
		`((NIL NIL "Team" NIL)(NIL NIL NIL NIL)) NIL "<B27397-0100000@cac.washington.edu>")`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := render(t, func(e *Encoder) { e.Envelope(nil) }); got != "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" {
		t.Error(got)
	}
}

func TestRenderBodyStructure(t *testing.T) {
	p, _ := mime.Parse(strings.NewReader(renderMsg), nil)
	got := render(t, func(e *Encoder) { e.BodyStructure(p, true) })
	// The same as Dovecot 2.3 renders it (see TestDovecotBodyStructure).
	want := `(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)` +
		`("application" "pdf" ("name" "r.pdf") NIL NIL "base64" 8 NIL ("attachment" ("filename" "r.pdf")) ("en") NIL)` +
		`("message" "rfc822" NIL NIL NIL "7bit" 39 (NIL "inner" ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) NIL NIL NIL NIL NIL) ` +
		`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// BODY has no extension data.
	body := render(t, func(e *Encoder) { e.BodyStructure(p, false) })
	if !strings.HasPrefix(body, `(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 0)("application"`) || !strings.HasSuffix(body, ` "mixed")`) {
		t.Errorf("BODY %s", body)
	}
	checkRenderRoundTrip(t, p)
}

func TestRenderOpaqueMessage(t *testing.T) {
	msg := "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
	p, _ := mime.Parse(strings.NewReader(msg), nil)
	got := render(t, func(e *Encoder) { e.BodyStructure(p, false) })
	if got != `("message" "rfc822" NIL NIL NIL "base64" 10 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1)` {
		t.Error(got)
	}
	checkRenderRoundTrip(t, p)
}

// checkRenderRoundTrip renders p, decodes it as a client would and
// compares with the typed conversion; it also reads it as generic
// s-expressions (balanced, valid).
func checkRenderRoundTrip(t *testing.T, p *mime.Part) {
	checkRender(t, p, true)
}

// checkRender is checkRenderRoundTrip; exact is false when the message
// holds NUL, which strings drop.
func checkRender(t *testing.T, p *mime.Part, exact bool) {
	t.Helper()
	for _, mode := range []struct{ ext, utf8 bool }{{false, false}, {true, false}, {true, true}} {
		ext := mode.ext
		var buf bytes.Buffer
		e := NewEncoder(bufio.NewWriter(&buf))
		e.UTF8 = mode.utf8
		e.BodyStructure(p, ext).SP().Envelope(p.Envelope).CRLF()
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		wire := buf.String()
		d := NewDecoder(bufio.NewReader(strings.NewReader(wire)))
		d.MaxLiteral, d.MaxLine, d.MaxDepth = -1, -1, -1
		var bs BodyStructure
		var env Envelope
		if !d.BodyStructure(&bs) || !d.ExpectSP() || !d.Envelope(&env) || !d.ExpectCRLF() {
			t.Fatalf("rendered %q does not decode: %v", wire, d.Err())
		}
		if want := BodyStructureOf(p, ext, mode.utf8); exact && !reflect.DeepEqual(normBS(bs), normBS(want)) {
			t.Fatalf("decoded body structure differs:\n%+v\n%+v\nwire %q", bs, want, wire)
		}
		if want := EnvelopeOf(p.Envelope); exact && !reflect.DeepEqual(env, want) {
			t.Fatalf("decoded envelope differs:\n%+v\n%+v\nwire %q", env, want, wire)
		}
		d = NewDecoder(bufio.NewReader(strings.NewReader(wire)))
		d.MaxLiteral, d.MaxLine, d.MaxDepth = -1, -1, -1
		var v Value
		if !d.Value(&v) || v.Kind != KindList || !d.ExpectSP() || !d.Value(&v) || !d.ExpectCRLF() {
			t.Fatalf("rendered %q is not a valid s-expression: %v", wire, d.Err())
		}
	}
}

// normBS clears the Extended flag of single parts with no extension
// data where encoding cannot show it, and empty slices.
func normBS(bs BodyStructure) BodyStructure {
	for i := range bs.Parts {
		bs.Parts[i] = normBS(bs.Parts[i])
	}
	if len(bs.Parts) == 0 {
		bs.Parts = nil
	}
	return bs
}

func FuzzRender(f *testing.F) {
	f.Add([]byte(renderMsg))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\n\r\na\r\n--x--"))
	f.Add([]byte("From: \"a\\\"b\" <a@b>\r\nSubject: \xff\r\nContent-Type: text/plain; name*0*=utf-8''%E2%82; name*1*=%AC\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := mime.Parse(bytes.NewReader(msg), &mime.Options{MaxDepth: 10, MaxParts: 50})
		if err != nil {
			t.Fatal(err)
		}
		checkRender(t, p, bytes.IndexByte(msg, 0) < 0)
	})
}

func BenchmarkEncodeEnvelope(b *testing.B) {
	p, _ := mime.Parse(strings.NewReader(renderMsg), nil)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	e := NewEncoder(w)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		e.Envelope(p.Envelope)
		if err := e.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeBodyStructure(b *testing.B) {
	p, _ := mime.Parse(strings.NewReader(renderMsg), nil)
	var buf bytes.Buffer
	e := NewEncoder(bufio.NewWriter(&buf))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		e.BodyStructure(p, true)
		if err := e.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecodeBodyStructureExtensions(t *testing.T) {
	in := `("text" "plain" ("charset" "us-ascii") "<id>" "desc" "7bit" 10 2 "md5" ("inline" NIL) ("en" "de") "http://x" 1 (2 "x") NIL)` +
		` (("text" "plain" NIL NIL NIL "7bit" 1 0)("image" "png" NIL NIL NIL "base64" 4) "mixed" ("boundary" "b") NIL "fr")` +
		` ("text" "plain" NIL NIL NIL "7bit" 1 0 NIL NIL)`
	d := newDec(in + "\r\n")
	var a, b, c BodyStructure
	if !d.BodyStructure(&a) || !d.ExpectSP() || !d.BodyStructure(&b) || !d.ExpectSP() || !d.BodyStructure(&c) || !d.ExpectCRLF() {
		t.Fatal(d.Err())
	}
	if !a.Extended || a.MD5 != "md5" || a.Disposition != "inline" || !reflect.DeepEqual(a.Language, []string{"en", "de"}) || a.Location != "http://x" || a.Lines != 2 || a.ID != "<id>" {
		t.Errorf("%+v", a)
	}
	if !b.IsMultipart() || len(b.Parts) != 2 || !reflect.DeepEqual(b.Language, []string{"fr"}) || b.Params[0].Value != "b" {
		t.Errorf("%+v", b)
	}
	if !c.Extended || c.Disposition != "" || c.Language != nil {
		t.Errorf("%+v", c)
	}
	d = newDec(strings.Repeat("(", 80) + `"text" "plain" NIL NIL NIL "7bit" 1 0` + strings.Repeat(")", 80))
	if d.BodyStructure(&a) || !errors.Is(d.Err(), ErrTooDeep) {
		t.Errorf("depth: %v", d.Err())
	}
}
