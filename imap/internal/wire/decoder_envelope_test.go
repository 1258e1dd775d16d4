package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// envelopeLine is an ENVELOPE as Dovecot sends it for a plain message.
const envelopeLine = `("Tue, 5 Mar 2024 10:07:00 +0000" "Quarterly report number 7, with figures" (("Sara Example" NIL "sara" "example.org")) (("Sara Example" NIL "sara" "example.org")) (("Sara Example" NIL "sara" "example.org")) (("Jim" NIL "jim" "example.net")("Bob Builder" NIL "bob" "example.com")) NIL NIL "<parent6@example.org>" "<msg7@example.org>")` + "\r\n"

// BenchmarkDecodeEnvelope measures Decoder.Envelope on a typical
// envelope: time and allocations per envelope.
func BenchmarkDecodeEnvelope(b *testing.B) {
	rd := strings.NewReader(envelopeLine)
	br := bufio.NewReader(rd)
	d := NewDecoder(br)
	b.SetBytes(int64(len(envelopeLine)))
	b.ReportAllocs()
	var env Envelope
	for b.Loop() {
		rd.Reset(envelopeLine)
		br.Reset(rd)
		d.ClearErr()
		if !d.Envelope(&env) || !d.ExpectCRLF() {
			b.Fatal(d.Err())
		}
	}
}

func TestDecodeEnvelope(t *testing.T) {
	in := `("d" {5}` + "\r\n" + `s\"ub nil ((NIL NIL "grp" NIL)("A \"B\"" "@r" "a" "h")(NIL NIL NIL NIL)) () NIL ` +
		`(("" NIL "x" "y")) NIL "" "<m>")` + "\r\n"
	d := newDec(in)
	var env Envelope
	if !d.Envelope(&env) || !d.ExpectCRLF() {
		t.Fatal(d.Err())
	}
	want := Envelope{
		Date: "d", Subject: `s\"ub`,
		Sender: []Address{
			{Mailbox: "grp", Group: GroupStart},
			{Name: `A "B"`, Adl: "@r", Mailbox: "a", Host: "h"},
			{Group: GroupEnd},
		},
		Cc:        []Address{{Mailbox: "x", Host: "y"}},
		MessageID: "<m>",
	}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("got  %#v\nwant %#v", env, want)
	}
	for _, bad := range []string{
		`("d" "s" NIL NIL NIL NIL NIL NIL NIL)`,                 // a field short
		`("d" "s" ((NIL NIL "a")) NIL NIL NIL NIL NIL NIL NIL)`, // address short
		`("d" NILX NIL NIL NIL NIL NIL NIL NIL NIL)`,
		`("d" {2}` + "\r\n\x00x NIL NIL NIL NIL NIL NIL NIL NIL)", // NUL in a literal
		`("d` + "\r\n",
	} {
		d := newDec(bad + "\r\n")
		if d.Envelope(&env) || d.Err() == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// A decoded envelope costs two allocations: its strings and its
// addresses (with new(Envelope), three for the client).
func TestDecodeEnvelopeAllocs(t *testing.T) {
	rd := strings.NewReader(envelopeLine)
	br := bufio.NewReader(rd)
	d := NewDecoder(br)
	var env Envelope
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(envelopeLine)
		br.Reset(rd)
		if !d.Envelope(&env) || !d.ExpectCRLF() {
			t.Fatal(d.Err())
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations per envelope, want 2", allocs)
	}
	if env.To[1].Name != "Bob Builder" || env.MessageID != "<msg7@example.org>" {
		t.Errorf("%+v", env)
	}
}

// Address lists share one array only when they are short, and each
// list's capacity ends with it: appending to one never writes over the
// next.
func TestDecodeEnvelopeAddressArrays(t *testing.T) {
	addr := func(i int) string { return fmt.Sprintf(`(NIL NIL "u%d" "h")`, i) }
	list := func(from, n int) string {
		var b strings.Builder
		b.WriteString("(")
		for i := range n {
			b.WriteString(addr(from + i))
		}
		return b.String() + ")"
	}
	for _, n := range []int{1, 3, envSharedAddr} { // From and Sender with n addresses each
		in := `(NIL NIL ` + list(0, n) + " " + list(100, n) + " NIL NIL NIL NIL NIL NIL)\r\n"
		d := newDec(in)
		var env Envelope
		if !d.Envelope(&env) {
			t.Fatal(d.Err())
		}
		if len(env.From) != n || cap(env.From) != n || len(env.Sender) != n {
			t.Fatalf("n=%d: len %d cap %d", n, len(env.From), cap(env.From))
		}
		env.From = append(env.From, Address{Mailbox: "extra"})
		if env.Sender[0].Mailbox != "u100" {
			t.Fatalf("n=%d: append to From changed Sender: %+v", n, env.Sender[0])
		}
	}
}

// The strings of an envelope are cut from blocks of at most envBlock
// bytes; a longer string is a block of its own.
func TestEnvCutterBlocks(t *testing.T) {
	sizes := []int{0, 10, 600, 500, 0, 30, 3000, 5, 1024, 1, 1}
	var e envScratch
	var want []string
	for i, n := range sizes {
		s := strings.Repeat(string(rune('a'+i)), n)
		want = append(want, s)
		e.bytes = append(e.bytes, s...)
		e.ends = append(e.ends, len(e.bytes))
	}
	c := envCutter{e: &e}
	blocks := map[int]int{} // base → length
	for i, w := range want {
		if got := c.next(); got != w {
			t.Fatalf("string %d: %q, want %q", i, got, w)
		}
		if w != "" {
			blocks[c.base] = len(c.blk)
		}
	}
	wantBlocks := map[int]int{0: 610, 610: 530, 1140: 3000, 4140: 5, 4145: 1024, 5169: 2}
	if !reflect.DeepEqual(blocks, wantBlocks) {
		t.Errorf("blocks %v, want %v", blocks, wantBlocks)
	}
}

// An unusual envelope grows the scratch buffers; the decoder lets go of
// them afterwards.
func TestDecodeEnvelopeReleasesScratch(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	in := fmt.Sprintf("(NIL {%d}\r\n%s NIL NIL NIL NIL NIL NIL NIL NIL)\r\n", len(big), big)
	d := newDec(in)
	d.MaxLiteral = -1
	var env Envelope
	if !d.Envelope(&env) || env.Subject != big {
		t.Fatal(d.Err())
	}
	if cap(d.env.bytes) != 0 {
		t.Errorf("scratch of %d bytes kept", cap(d.env.bytes))
	}
}

// A literal's announced size is not allocated before its bytes arrive.
func TestLiteralSizeNotTrusted(t *testing.T) {
	for _, in := range []string{
		"{1099511627776}\r\nabc",
		"(NIL {1099511627776}\r\nabc",
	} {
		d := newDec(in)
		d.MaxLiteral = -1
		var s string
		var env Envelope
		if in[0] == '(' {
			d.Envelope(&env)
		} else {
			d.String(&s)
		}
		if !errors.Is(d.Err(), io.ErrUnexpectedEOF) {
			t.Errorf("%q: %v", in, d.Err())
		}
	}
}

// Flags and fetch attribute names servers send on every FETCH cost no
// allocation; other spellings are kept as sent.
func TestInternedNames(t *testing.T) {
	in := `(\Seen \seen \Answered $Junk \Custom kw) UID uid BODY.PEEK[]` + "\r\n"
	rd := strings.NewReader(in)
	br := bufio.NewReader(rd)
	d := NewDecoder(br)
	flags := make([]Flag, 0, 8)
	var a, b, c FetchItem
	run := func() {
		rd.Reset(in)
		br.Reset(rd)
		d.ClearErr()
		if !d.FlagList(&flags) || !d.ExpectSP() || !d.FetchRespAtt(&a) || !d.ExpectSP() || !d.FetchRespAtt(&b) ||
			!d.ExpectSP() || !d.FetchAtt(&c) || !d.ExpectCRLF() {
			t.Fatal(d.Err())
		}
	}
	run()
	if want := []Flag{`\Seen`, `\seen`, `\Answered`, `$Junk`, `\Custom`, "kw"}; !reflect.DeepEqual(flags, want) {
		t.Errorf("flags %q, want %q", flags, want)
	}
	if a.Name != "UID" || b.Name != "UID" || c.Name != "BODY" || !c.Peek {
		t.Errorf("names %q %q %q", a.Name, b.Name, c.Name)
	}
	// \seen, \Custom, kw and uid allocate; \Seen, \Answered, $Junk,
	// UID and BODY.PEEK do not. (Section allocates for BODY.PEEK[].)
	if n := testing.AllocsPerRun(50, run); n != 5 {
		t.Errorf("%v allocations, want 5", n)
	}
}

// encodeEnvelope writes env so that it decodes to env again: NIL for
// "" except where NIL would make an address a group marker.
func encodeEnvelope(e *Encoder, env *Envelope) {
	list := func(l []Address) {
		if l == nil {
			e.NIL()
			return
		}
		e.Atom("(")
		for _, a := range l {
			e.Atom("(").NString(a.Name).SP().NString(a.Adl).SP()
			switch a.Group {
			case GroupNone:
				e.String(a.Mailbox).SP().String(a.Host)
			case GroupStart:
				e.String(a.Mailbox).SP().NIL()
			default:
				e.NIL().SP().NIL()
			}
			e.Atom(")")
		}
		e.Atom(")")
	}
	e.Atom("(").NString(env.Date).SP().NString(env.Subject).SP()
	for _, l := range [][]Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		list(l)
		e.SP()
	}
	e.NString(env.InReplyTo).SP().NString(env.MessageID).Atom(")")
}

// FuzzDecodeEnvelope: the buffered fast path and the general path of
// Decoder.Envelope agree on every input (result, error, bytes
// consumed), and an accepted envelope, written out again, decodes to
// the same value.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{
		envelopeLine,
		`(NIL NIL ((NIL NIL "grp" NIL)(NIL NIL "m" "h")(NIL NIL NIL NIL)) NIL NIL NIL NIL NIL NIL NIL)` + "\r\n",
		`("d" {5}` + "\r\n" + `s\"ub nil ((NIL NIL "grp" NIL)("A \"B\"" "@r" "a" "h")(NIL NIL NIL NIL)) () NIL (("" NIL "x" "y")) NIL "" "<m>")`,
		`("d" "s" (("a" NIL "b" "c") ("d" NIL "e" "f")) NIL NIL NIL NIL NIL NIL NIL)`,
		`(nil Nil NIL NIL NIL NIL NIL NIL "x" "caf` + "\xc3\xa9" + `")`,
		`("d" "s" NIL NIL NIL NIL NIL NIL NIL)`,
		`(NILX NIL NIL NIL NIL NIL NIL NIL NIL NIL)`,
		`("a` + "\x00" + `" NIL NIL NIL NIL NIL NIL NIL NIL NIL)`,
		`("a` + "\x00" + ` "s" NIL NIL NIL NIL NIL NIL NIL NIL)`, // NUL where the quote should end
		`("a` + "\r" + ` "s" NIL NIL NIL NIL NIL NIL NIL NIL)`,
		`("a\\" "s" NIL NIL NIL NIL NIL NIL NIL NIL)`,
	} {
		f.Add([]byte(s), uint8(255)) // the envelope in the buffer
		f.Add([]byte(s), uint8(2))   // split
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize uint8) {
		decode := func(general bool) (Envelope, bool, error, string) {
			rd := bytes.NewReader(in)
			d := NewDecoder(bufio.NewReaderSize(rd, 16+16*int(bufSize))) // small buffers: envelopes split
			d.MaxLine = 200 + 4*int(bufSize)                             // envelopeLine is longer than some
			d.MaxDepth = 2
			d.depth = int(bufSize % 3) // 2: the address lists are too deep
			d.noEnvelopeFastPath = general
			var env Envelope
			ok := d.Envelope(&env)
			rest, _ := io.ReadAll(d.Reader())
			return env, ok, d.Err(), string(rest)
		}
		env, ok, err, rest := decode(false)
		env2, ok2, err2, rest2 := decode(true)
		if ok != ok2 || !reflect.DeepEqual(env, env2) || fmt.Sprint(err) != fmt.Sprint(err2) || rest != rest2 {
			t.Fatalf("fast path: %v %v %+v rest %q\ngeneral:   %v %v %+v rest %q", ok, err, env, rest, ok2, err2, env2, rest2)
		}
		if !ok {
			return
		}
		var buf bytes.Buffer
		e := NewEncoder(bufio.NewWriter(&buf))
		encodeEnvelope(e, &env)
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(bufio.NewReader(&buf))
		d.MaxLiteral = -1
		var again Envelope
		if !d.Envelope(&again) || !reflect.DeepEqual(env, again) {
			t.Fatalf("round trip: %v\n%+v\n%+v", d.Err(), env, again)
		}
	})
}
