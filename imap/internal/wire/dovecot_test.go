package wire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/internal/testpeer"
)

// dovecotGenerated is how many generated messages end the corpus.
const dovecotGenerated = 150

// dovecotAddresses are From values whose ENVELOPE rendering is compared.
// Not here: "a@b, , c@d", where Dovecot renders the empty member as an
// address (MISSING_MAILBOX); RFC 5322 §4.4 says to ignore it, and we do.
// Nor "G: a@b; e@f" (no comma after the group), where Dovecot drops
// e@f and we keep it; nor "Name <a@b" (no ">"), where Dovecot writes
// host SYNTAX_ERROR and we read a@b.
var dovecotAddresses = []string{
	`"Last, First" <a@b>`, `a@b (Comment)`, `<a@b>`, `Name <a@b>, Other <c@d>`,
	`"quoted\"name" <a@b>`, `Name (comment) <a@b>`, `a.b.c@d.e`,
	`"a b"@c`, `a@[1.2.3.4]`, `=?iso-8859-1?q?Andr=E9?= <a@b>`, `Mr. Smith <s@x>`,
	`a`, `@b`, `"" <a@b>`, `Name <a@b> (c)`, `Name<a@b>`, `a@b,c@d`,
	`G: ;`, `G: a@b, c@d;, e@f`, `A B C <abc@x>`, `"A"  "B" <ab@x>`, `a@b <c@d>`,
	`x@y z`, `(only a comment)`, `a@b.c, "d" <e@f>, G:;`,
}

func init() {
	for _, a := range dovecotAddresses {
		dovecotCorpus = append(dovecotCorpus, "From: "+a+"\r\nTo: "+a+"\r\n\r\nx\r\n")
	}
	// Generated messages come last.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < dovecotGenerated; i++ {
		dovecotCorpus = append(dovecotCorpus, genMessage(r, 0))
	}
}

// dovecotCorpus holds messages whose ENVELOPE, BODY and BODYSTRUCTURE we
// compare with Dovecot's, an independent implementation.
var dovecotCorpus = []string{
	renderMsg,
	crlf("From: a@b\nSubject: hi\n\nhello\nworld\n"),
	crlf("From: a@b\nSubject: no final newline\n\nhello"),
	crlf(`From: "Doe, John" <john@x.org>, jane@y.org (Jane)
Sender: Sender Name <s@x>
Reply-To: Team: a@b, C <c@d>;
To: undisclosed-recipients:;
Cc: =?utf-8?q?J=C3=B6rg?= <j@x>, <@route1,@route2:u@h>
In-Reply-To: <parent@x>
Date: 1 Jan 2020 10:00:00 +0000
Subject: =?utf-8?q?caf=C3=A9?=
Content-Type: text/html; charset="ISO-8859-1"; format=flowed
Content-Transfer-Encoding: quoted-printable
Content-ID: <cid@x>
Content-Description: a page
Content-Language: en, de
Content-Location: http://x/y
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==

<p>caf=E9</p>
`),
	crlf(`Content-Type: multipart/alternative; boundary="a b"

preamble
--a b
Content-Type: text/plain; name*0*=utf-8''%E2%82%AC; name*1=".txt"
Content-Disposition: inline; filename*=utf-8''%E2%82%AC.txt

euro
--a b
Content-Type: multipart/related; boundary=inner

--inner
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--inner--

--a b--
epilogue
`),
	crlf(`Content-Type: multipart/digest; boundary=d

--d

Subject: one

body one
--d
Content-Type: text/plain

two
--d--
`),
	"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n",
	crlf("Content-Type: multipart/mixed\n\nno boundary\n"),
	crlf("Content-Type: multipart/mixed; boundary=never\n\nno delimiter at all\n"),
	crlf("Content-Type: TEXT/Plain; CHARSET=UTF-8; Format=Flowed\nContent-Transfer-Encoding: Quoted-Printable\nContent-Disposition: ATTACHMENT; FileName=x\n\nx\n"),
	crlf("Content-Type: text/plain; name=\"=?utf-8?q?caf=C3=A9?=\"\n\nx\n"),
	crlf("From: a@b\nTo: user\nCc: \"\" <x@y>\nSubject:\nMessage-ID:\n\nx"),
	crlf("Content-Type: multipart/mixed; boundary=b\n\n--bb\nnot a delimiter\n--b \t\n\nfirst\n--b--  \nepilogue"),
	crlf("Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/mixed; boundary=inner\n\n--inner\n\nin\n--outer\n\nafter\n--outer--\n"),
	crlf("Subject: Gr\xc3\xbc\xc3\x9fe raw UTF-8\nFrom: J\xc3\xb6rg <j@x>\nContent-Type: text/plain (plain text); charset=utf-8 (yes)\n\nx\n"),
	crlf("Subject: folded\n  over\n\tlines\nTo: a@b,\n c@d\n\nx\n"),
	crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nFrom: in@x\nContent-Type: multipart/alternative; boundary=c\n\n--c\n\none\n--c\nContent-Type: text/html\n\n<b>two</b>\n--c--\n--b--\n"),
	crlf(`Content-Type: message/rfc822

Subject: inside
Content-Type: multipart/mixed; boundary=z

--z

x
--z--
`),
}

// runDovecot runs Dovecot's imap process on a private Maildir holding
// the corpus (PREAUTH over stdin/stdout), sends "a1 EXAMINE INBOX",
// "a2 FETCH 1:* (items)" and LOGOUT, and returns each message's FETCH
// items by name. Message i of the corpus is number i+1.
func runDovecot(t *testing.T, corpus []string, items string) map[int]map[string]Value {
	t.Helper()
	dv := testpeer.Dovecot(t, testpeer.DovecotOptions{})
	dv.Deliver(t, "test", corpus...) // numbered in corpus order
	cmd := dv.PreauthIMAP(t, "test")
	// Dovecot stops at EOF on stdin even with output pending: keep stdin
	// open until LOGOUT is answered.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	io.WriteString(stdin, "a1 EXAMINE INBOX\r\na2 FETCH 1:* ("+items+")\r\na3 LOGOUT\r\n")
	var out []byte
	buf := make([]byte, 64<<10)
	for !bytes.Contains(out, []byte("\r\na3 ")) {
		n, err := stdout.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dovecot imap: %v\n%s\n%s", err, out, stderr.String())
	}
	d := NewDecoder(bufio.NewReader(bytes.NewReader(out)))
	d.MaxLine, d.MaxLiteral, d.MaxDepth = -1, -1, -1
	got := map[int]map[string]Value{}
	for {
		var r Response
		if !d.Response(&r) {
			if err := d.Err(); err != io.EOF {
				t.Fatalf("decoding Dovecot's response: %v", err)
			}
			break
		}
		if r.Tag != "*" || len(r.Fields) != 3 || r.Fields[1].Str != "FETCH" {
			continue
		}
		items := map[string]Value{}
		l := r.Fields[2].List
		for i := 0; i+1 < len(l); i += 2 {
			items[l[i].Str] = l[i+1]
		}
		got[int(r.Fields[0].Num)] = items
	}
	if len(got) != len(corpus) {
		t.Fatalf("Dovecot returned %d messages, want %d; output ends:\n%s\nlog:\n%s", len(got), len(corpus), out[max(0, len(out)-300):], stderr.String())
	}
	return got
}

// TestDovecotBodyStructure compares our ENVELOPE, BODY and BODYSTRUCTURE
// of the corpus with Dovecot's.
func TestDovecotBodyStructure(t *testing.T) {
	got := runDovecot(t, dovecotCorpus, "ENVELOPE BODY BODYSTRUCTURE")
	for i, msg := range dovecotCorpus {
		if t.Failed() {
			break // keep the report short
		}
		p, err := mime.Parse(strings.NewReader(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		ours := map[string]string{
			"ENVELOPE":      render(t, func(e *Encoder) { e.Envelope(p.Envelope) }),
			"BODY":          render(t, func(e *Encoder) { e.BodyStructure(p, false) }),
			"BODYSTRUCTURE": render(t, func(e *Encoder) { e.BodyStructure(p, true) }),
		}
		for name, wire := range ours {
			d := NewDecoder(bufio.NewReader(strings.NewReader(wire + "\r\n")))
			d.MaxLine, d.MaxLiteral, d.MaxDepth = -1, -1, -1
			var v Value
			if !d.Value(&v) {
				t.Fatalf("message %d %s: our output does not parse: %v", i+1, name, d.Err())
			}
			theirs := got[i+1][name]
			// Dovecot keeps the case of types, parameter names and
			// encodings as written; we send them in lower case.
			if !equalFold(v, theirs) {
				t.Errorf("message %d %s differs from Dovecot's\nours:    %s\ndovecot: %s", i+1, name, wire, renderValue(t, theirs))
			}
		}
	}
}

// knownDivergent lists the generated cases where Dovecot 2.3's answer
// follows no rule we could find, so we do not copy it:
//   - g7 (the 7th generated message): a multipart left unclosed, ended by an outer delimiter right
//     after an empty part: Dovecot keeps the CRLF before that delimiter
//     in the multipart but not in the part;
//   - g88: an encapsulated message that is only an empty line, in a
//     digest: Dovecot gives that line to the delimiter, while it keeps
//     it for a message with a header.
var knownDivergent = map[string]bool{
	"g7 2":         true,
	"g88 3.HEADER": true,
	"g88 3.1.MIME": true,
}

// TestDovecotSections compares the sections that mime.Part.Section,
// mime.HeaderFields and mime.Decoder produce with Dovecot's answers.
func TestDovecotSections(t *testing.T) {
	sections := []string{"", "HEADER", "TEXT", "1", "1.MIME", "2", "2.MIME", "3", "3.MIME",
		"3.HEADER", "3.TEXT", "3.1", "3.1.MIME", "3.2", "2.1", "2.2", "1.1",
		"HEADER.FIELDS (From To Subject)", "HEADER.FIELDS.NOT (From To Subject)", "3.HEADER.FIELDS (Subject)"}
	var items []string
	for _, s := range sections {
		items = append(items, "BODY.PEEK["+s+"]")
	}
	got := runDovecot(t, dovecotCorpus, strings.Join(items, " "))
	// BINARY of a multipart makes Dovecot 2.3 fail the FETCH: ask it of
	// the hand-written messages only, in a run of their own.
	fixed := dovecotCorpus[:len(dovecotCorpus)-dovecotGenerated]
	bin := runDovecot(t, fixed, "BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2]")
	for i, msg := range dovecotCorpus {
		if t.Failed() {
			break // keep the report short
		}
		p, err := mime.Parse(strings.NewReader(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sections {
			if g := i + 1 - (len(dovecotCorpus) - dovecotGenerated); g > 0 && knownDivergent[fmt.Sprintf("g%d %s", g, s)] {
				continue
			}
			theirs := lookupFold(got[i+1], "BODY["+s+"]")
			ours, ok := ourSection(t, p, msg, s)
			switch {
			case !ok && (theirs.Kind == KindNIL || theirs.Str == ""):
			case !ok:
				t.Errorf("message %d BODY[%s]: we have no such section, Dovecot has %q", i+1, s, theirs.Str)
			case theirs.Kind != KindString || theirs.Str != ours:
				t.Errorf("message %d BODY[%s]:\nours:    %q\ndovecot: %q", i+1, s, ours, renderValue(t, theirs))
			}
		}
		for _, n := range []int{1, 2} {
			if i >= len(fixed) {
				break
			}
			theirs := bin[i+1][fmt.Sprintf("BINARY[%d]", n)]
			part, err := p.Find([]int{n})
			if err != nil || part.IsMultipart() {
				continue // Dovecot converts the parts inside; we do not
			}
			off, size, _ := p.Section([]int{n}, "")
			r, err := mime.Decoder(part, strings.NewReader(msg[off:off+size]))
			if err != nil {
				continue
			}
			var b strings.Builder
			io.Copy(&b, r)
			if theirs.Str != b.String() {
				t.Errorf("message %d BINARY[%d]:\nours:    %q\ndovecot: %q", i+1, n, b.String(), theirs.Str)
			}
			if n == 2 {
				if sz := bin[i+1]["BINARY.SIZE[2]"]; sz.Num != uint64(b.Len()) {
					t.Errorf("message %d BINARY.SIZE[2]: ours %d, dovecot %d", i+1, b.Len(), sz.Num)
				}
			}
		}
	}
}

// ourSection returns BODY[s] as we compute it from the parse.
func ourSection(t *testing.T, p *mime.Part, msg, s string) (string, bool) {
	spec, fields, _ := strings.Cut(s, " ")
	var path []int
	for spec != "" && spec[0] >= '0' && spec[0] <= '9' {
		num, rest, _ := strings.Cut(spec, ".")
		n := 0
		fmt.Sscan(num, &n)
		path = append(path, n)
		spec = rest
	}
	off, size, err := p.Section(path, spec)
	if err != nil {
		return "", false
	}
	sec := msg[off : off+size]
	if strings.HasPrefix(spec, "HEADER.FIELDS") {
		names := strings.Fields(strings.Trim(fields, "()"))
		return string(mime.HeaderFields([]byte(sec), names, strings.HasSuffix(spec, ".NOT"))), true
	}
	return sec, true
}

func lookupFold(m map[string]Value, key string) Value {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return Value{}
}

func renderValue(t *testing.T, v Value) string {
	return render(t, func(e *Encoder) { e.Value(v) })
}

func equalFold(v, w Value) bool {
	if v.Kind != w.Kind || !strings.EqualFold(v.Str, w.Str) || v.Num != w.Num || len(v.List) != len(w.List) {
		return false
	}
	for i := range v.List {
		if !equalFold(v.List[i], w.List[i]) {
			return false
		}
	}
	return true
}
