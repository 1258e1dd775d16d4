package wire

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newDec(s string) *Decoder {
	return NewDecoder(bufio.NewReader(strings.NewReader(s)))
}

func TestDecodeStrings(t *testing.T) {
	cases := []struct {
		in   string
		rule func(d *Decoder, s *string) bool
		want string
		ok   bool
	}{
		{"abc def", (*Decoder).Atom, "abc", true},
		{"ab]c", (*Decoder).Atom, "ab", true},
		{"ab]c", (*Decoder).AString, "ab]c", true},
		{`"a\"b\\c"`, (*Decoder).AString, `a"b\c`, true},
		{"{3}\r\nx\r\ny", (*Decoder).AString, "x\r\n", true},
		{"{3+}\r\nabc", (*Decoder).String, "abc", true},
		{`"caf` + "\xc3\xa9" + `"`, (*Decoder).String, "café", true},
		{`"a\b"`, (*Decoder).String, "", false},
		{"\"a\r\n\"", (*Decoder).String, "", false},
		{"~{3}\r\nabc", (*Decoder).String, "", false},
		{"~{3}\r\na\x00c", (*Decoder).String8, "a\x00c", true},
		{"{3}\r\na\x00c", (*Decoder).String, "", false},
		{"(x", (*Decoder).AString, "", false},
		{"+tag", (*Decoder).Tag, "", false},
		{"a+g]x ", (*Decoder).Tag, "a", true},
		{"ag]x ", (*Decoder).Tag, "ag]x", true},
	}
	for _, c := range cases {
		d := newDec(c.in)
		var s string
		ok := c.rule(d, &s)
		if ok != c.ok || ok && s != c.want {
			t.Errorf("%q: got %q, %v (%v); want %q, %v", c.in, s, ok, d.Err(), c.want, c.ok)
		}
	}
}

func TestDecodeNumbers(t *testing.T) {
	d := newDec("4294967295 4294967296 0 9223372036854775807 9223372036854775808")
	var n uint32
	var n64 uint64
	if !d.ExpectNumber(&n) || n != 4294967295 || !d.ExpectSP() {
		t.Fatal("max uint32", d.Err())
	}
	if d.Number(&n) || d.Err() == nil {
		t.Fatal("4294967296 accepted")
	}
	d = newDec("0 9223372036854775807 9223372036854775808")
	if d.ExpectNzNumber(&n) {
		t.Error("nz-number accepted 0")
	}
	d = newDec("9223372036854775807 9223372036854775808")
	if !d.ExpectNumber64(&n64) || n64 != 1<<63-1 || !d.ExpectSP() || d.Number64(&n64) {
		t.Error("number64 range", d.Err())
	}
}

func TestDecodeNString(t *testing.T) {
	d := newDec(`NIL "x" nil NILx`)
	var s string
	if ok, isNil := d.NString(&s); !ok || !isNil {
		t.Error("NIL")
	}
	d.SP()
	if ok, isNil := d.NString(&s); !ok || isNil || s != "x" {
		t.Error("string")
	}
	d.SP()
	if ok, isNil := d.NString(&s); !ok || !isNil {
		t.Error("nil lower-case")
	}
	d.SP()
	if ok, _ := d.NString(&s); ok {
		t.Error("NILx is not NIL")
	}
}

func TestLineTooLong(t *testing.T) {
	d := newDec(strings.Repeat("a", 100) + "\r\n")
	d.MaxLine = 50
	var s string
	if d.Atom(&s) || !errors.Is(d.Err(), ErrLineTooLong) {
		t.Fatalf("err = %v", d.Err())
	}
	// Literal contents do not count against the line.
	d = newDec("{60}\r\n" + strings.Repeat("b", 60) + " x\r\n")
	d.MaxLine = 50
	d.MaxLiteral = 100
	if !d.ExpectString(&s) || !d.ExpectSP() || !d.ExpectAtom(&s) || !d.ExpectCRLF() {
		t.Fatal(d.Err())
	}
}

func TestLiteralTooBigNoAllocation(t *testing.T) {
	in := "{9999999999}\r\n"
	allocs := testing.AllocsPerRun(20, func() {
		d := newDec(in)
		var s string
		d.String(&s)
	})
	d := newDec(in)
	var s string
	var le *LiteralError
	if d.String(&s) || !errors.As(d.Err(), &le) || !errors.Is(d.Err(), ErrTooBig) || le.Size != 9999999999 {
		t.Fatalf("err = %v", d.Err())
	}
	// Only the decoder, reader and error are allocated; never the literal.
	if allocs > 12 {
		t.Errorf("%v allocations for a refused literal", allocs)
	}
	d = newDec("{99999999999999999999}\r\n")
	if d.String(&s) || d.Err() == nil {
		t.Error("size overflowing number64 accepted")
	}
}

func TestLiteralMinus(t *testing.T) {
	d := newDec("{4097+}\r\n")
	d.LiteralMinus = true
	d.MaxLiteral = -1
	var s string
	var le *LiteralError
	if d.String(&s) || !errors.As(d.Err(), &le) || !le.NonSync {
		t.Fatalf("err = %v", d.Err())
	}
	d = newDec("{4096+}\r\n" + strings.Repeat("x", 4096))
	d.LiteralMinus = true
	d.MaxLiteral = -1
	if !d.String(&s) || len(s) != 4096 {
		t.Fatal(d.Err())
	}
}

func TestOnLiteralBeforeContents(t *testing.T) {
	pr, pw := io.Pipe()
	d := NewDecoder(bufio.NewReader(pr))
	asked := make(chan struct{})
	d.OnLiteral = func(size int64, nonSync bool) error {
		if size != 5 || nonSync {
			t.Errorf("OnLiteral(%d, %v)", size, nonSync)
		}
		close(asked)
		return nil
	}
	go func() {
		pw.Write([]byte("{5}\r\n"))
		<-asked // the client sends the contents only after "+"
		pw.Write([]byte("hello\r\n"))
	}()
	var s string
	if !d.ExpectString(&s) || s != "hello" || !d.ExpectCRLF() {
		t.Fatal(d.Err())
	}
}

func TestOnLiteralRefused(t *testing.T) {
	d := newDec("{5}\r\na002 NOOP\r\n")
	refuse := &refusal{"NO [TOOBIG] no"}
	d.OnLiteral = func(int64, bool) error { return refuse }
	var s string
	var ie *refusal
	if d.String(&s) || !errors.As(d.Err(), &ie) || ie != refuse {
		t.Fatalf("err = %v", d.Err())
	}
	// The client sent no contents; the next command follows.
	d.ClearErr()
	if !d.ExpectTag(&s) || s != "a002" {
		t.Fatal(d.Err())
	}
}

func TestLiteralReader(t *testing.T) {
	d := newDec("{11}\r\nhello world (x)\r\n")
	r, lit, ok := d.LiteralReader(100)
	if !ok || lit.Size != 11 {
		t.Fatal(d.Err())
	}
	buf := make([]byte, 5)
	io.ReadFull(r, buf)
	if string(buf) != "hello" {
		t.Fatal(string(buf))
	}
	// The unread rest is discarded before decoding goes on.
	var v Value
	if !d.ExpectSP() || !d.Value(&v) || v.Kind != KindList || !d.ExpectCRLF() {
		t.Fatal(d.Err())
	}
	d = newDec("{11}\r\n")
	if _, _, ok := d.LiteralReader(10); ok || !errors.Is(d.Err(), ErrTooBig) {
		t.Fatal("limit not applied", d.Err())
	}
	d = newDec("{11}\r\nhello")
	r, _, _ = d.LiteralReader(100)
	if _, err := io.ReadAll(r); err != io.ErrUnexpectedEOF {
		t.Fatalf("short literal: %v", err)
	}
}

func TestDepthLimit(t *testing.T) {
	in := strings.Repeat("(", 100) + strings.Repeat(")", 100)
	d := newDec(in)
	var v Value
	if d.Value(&v) || !errors.Is(d.Err(), ErrTooDeep) {
		t.Fatalf("err = %v", d.Err())
	}
	d = newDec(strings.Repeat("NOT ", 100) + "ALL")
	var k SearchKey
	if d.SearchKey(&k) || !errors.Is(d.Err(), ErrTooDeep) {
		t.Fatalf("search err = %v", d.Err())
	}
}

func TestDiscardLine(t *testing.T) {
	d := newDec("a1 BAD( {3+}\r\nx\r\n junk\r\na2 NOOP\r\n")
	var s string
	d.ExpectTag(&s)
	d.ExpectSP()
	d.Fail("something")
	if err := d.DiscardLine(); err != nil {
		t.Fatal(err)
	}
	if d.Err() != nil || !d.ExpectTag(&s) || s != "a2" {
		t.Fatalf("after recovery: %q %v", s, d.Err())
	}
	d = newDec("a1 X {99999+}\r\n")
	if err := d.DiscardLine(); !errors.Is(err, ErrTooBig) {
		t.Fatalf("huge non-sync literal: %v", err)
	}
}

func TestDecodeFlags(t *testing.T) {
	d := newDec(`(\Seen $Junk \* foo) (\)`)
	var fs []Flag
	if !d.ExpectFlagList(&fs) || !reflect.DeepEqual(fs, []Flag{Flag(`\Seen`), "$Junk", flagWildcard, "foo"}) {
		t.Fatal(fs, d.Err())
	}
	if d.ExpectSP(); d.FlagList(&fs) {
		t.Error(`"\" alone accepted`)
	}
}

func TestDecodeMailbox(t *testing.T) {
	d := newDec(`inbox "Entw&APw-rfe" &AGE- "caf` + "\xc3\xa9\"")
	var m string
	if !d.ExpectMailbox(&m) || m != "INBOX" || !d.ExpectSP() {
		t.Fatal(m)
	}
	if !d.ExpectMailbox(&m) || m != "Entwürfe" || !d.ExpectSP() {
		t.Fatal(m)
	}
	if d.Mailbox(&m) || d.Err() == nil {
		t.Fatal("invalid modified UTF-7 accepted")
	}
	d = newDec(`"caf` + "\xc3\xa9\" Foo/%")
	d.UTF8 = true
	if !d.ExpectMailbox(&m) || m != "café" || !d.ExpectSP() || !d.ListMailbox(&m) || m != "Foo/%" {
		t.Fatal(m, d.Err())
	}
}

func TestDecodeDates(t *testing.T) {
	d := newDec(`1-Feb-2024 "17-Jul-1996" 31-Feb-2024`)
	var tm time.Time
	if !d.ExpectDate(&tm) || !tm.Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)) || !d.ExpectSP() {
		t.Fatal(tm, d.Err())
	}
	if !d.ExpectDate(&tm) || tm.Year() != 1996 || !d.ExpectSP() || d.Date(&tm) {
		t.Fatal("31-Feb accepted", tm)
	}
	d = newDec(`" 7-Jul-1996 02:44:25 -0700" "17-Jul-1996 02:44:25 +9999x"`)
	if !d.ExpectDateTime(&tm) || tm.Day() != 7 || tm.Hour() != 2 || !d.ExpectSP() {
		t.Fatal(tm, d.Err())
	}
	if d.DateTime(&tm) {
		t.Error("bad zone accepted")
	}
}

func TestDecodeFetchAtts(t *testing.T) {
	d := newDec(`(UID FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From "To")]<0.100> BINARY[2] BINARY.SIZE[1] BODY RFC822.SIZE BODY[])`)
	var items []FetchItem
	if !d.FetchAtts(&items) {
		t.Fatal(d.Err())
	}
	want := []FetchItem{
		{Name: "UID"}, {Name: "FLAGS"},
		{Name: "BODY", Peek: true, Section: &Section{Path: []int{1, 2}, Specifier: PartHeaderFields, Fields: []string{"From", "To"}}, Partial: &Partial{0, 100}},
		{Name: "BINARY", Section: &Section{Path: []int{2}}},
		{Name: "BINARY.SIZE", Section: &Section{Path: []int{1}}},
		{Name: "BODY"}, {Name: "RFC822.SIZE"},
		{Name: "BODY", Section: &Section{}},
	}
	if !reflect.DeepEqual(items, want) {
		t.Fatalf("got %+v", items)
	}
	if items[2].String() != "BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>" {
		t.Error(items[2].String())
	}
	d = newDec("ALL")
	if !d.FetchAtts(&items) || len(items) != 4 {
		t.Fatal("ALL macro")
	}
	for _, bad := range []string{"BODY[0]", "BODY[1.]", "BINARY[TEXT]", "BODY[MIME]", "BODY[HEADER.FIELDS ()]", "BODY[X]", "FOO", "()", "BODY.PEEK", "BODY[]<1>"} {
		d = newDec(bad)
		if d.FetchAtts(&items) && d.Err() == nil {
			t.Errorf("%q accepted: %+v", bad, items)
		}
	}
}

func TestDecodeSearch(t *testing.T) {
	d := newDec(`1:3,5 UID $ OR FROM "bob" NOT SEEN (SINCE 1-Jan-2020 LARGER 100) HEADER X-Foo bar KEYWORD $Junk MODSEQ "/flags/\\seen" all 5` + "\r\n")
	var k SearchKey
	if !d.SearchKeys(&k) || !d.ExpectCRLF() {
		t.Fatal(d.Err())
	}
	if len(k.Keys) != 7 || k.Keys[0].Key != "SEQSET" || !k.Keys[1].Set.SearchRes ||
		k.Keys[2].Key != "OR" || k.Keys[2].Keys[0].Str != "bob" || k.Keys[2].Keys[1].Keys[0].Key != "SEEN" ||
		k.Keys[3].Key != "AND" || k.Keys[3].Keys[1].Num != 100 || k.Keys[4].Field != "X-Foo" ||
		k.Keys[5].Flag != "$Junk" || k.Keys[6].Num != 5 || k.Keys[6].Field != `/flags/\seen` {
		t.Fatalf("%+v", k)
	}
	for _, bad := range []string{"FOO", "OR SEEN", "()", "LARGER x", "SINCE 1-Foo-2020", "OLDER 0"} {
		d = newDec(bad + "\r\n")
		if d.SearchKeys(&k) && d.Err() == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	in := "* OK [UIDNEXT 4392] Predicted next UID\r\n" +
		"a1 NO [BADCHARSET (UTF-8)] unsupported\r\n" +
		"+ go ahead\r\n" +
		"* 12 FETCH (FLAGS (\\Seen) BODY[HEADER.FIELDS (From)] {5}\r\nabcde UID 4)\r\n" +
		"* BYE\r\n"
	d := newDec(in)
	var r Response
	if !d.Response(&r) || r.Status != StatusType("OK") || r.Code != ResponseCode("UIDNEXT") || r.CodeArg != "4392" || r.Text != "Predicted next UID" {
		t.Fatalf("%+v %v", r, d.Err())
	}
	if !d.Response(&r) || r.Tag != "a1" || r.Status != StatusType("NO") || r.CodeArg != "(UTF-8)" {
		t.Fatalf("%+v %v", r, d.Err())
	}
	if !d.Response(&r) || r.Tag != "+" || r.Text != "go ahead" {
		t.Fatalf("%+v %v", r, d.Err())
	}
	if !d.Response(&r) || len(r.Fields) != 3 || r.Fields[0].Num != 12 || r.Fields[2].List[2].Str != "BODY[HEADER.FIELDS (From)]" || r.Fields[2].List[3].Str != "abcde" {
		t.Fatalf("%+v %v", r, d.Err())
	}
	if !d.Response(&r) || r.Status != StatusType("BYE") {
		t.Fatalf("%+v %v", r, d.Err())
	}
}

var fetchLine = "* 12 FETCH (UID 4827313 FLAGS (\\Seen $Forwarded) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 44827 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY[HEADER.FIELDS (DATE FROM)] {46}\r\nDate: Wed, 17 Jul 1996\r\nFrom: gray@cac.edu\r\n\r\n)\r\n"

func BenchmarkDecodeFetchResponse(b *testing.B) {
	rd := strings.NewReader(fetchLine)
	br := bufio.NewReader(rd)
	d := NewDecoder(br)
	b.SetBytes(int64(len(fetchLine)))
	b.ReportAllocs()
	var r Response
	for b.Loop() {
		rd.Reset(fetchLine)
		br.Reset(rd)
		if !d.Response(&r) {
			b.Fatal(d.Err())
		}
	}
}

// refusal stands for the *imap.Error a server returns from OnLiteral.
type refusal struct{ text string }

func (r *refusal) Error() string { return r.text }

func TestFetchRespAtt(t *testing.T) {
	d := newDec("BODY[1.2.HEADER.FIELDS (From)]<10> {3}\r\nabc UID 5 BINARY[2] ~{2}\r\n\x00x)")
	var it FetchItem
	if !d.FetchRespAtt(&it) || it.Name != "BODY" || it.Section == nil || it.Section.Specifier != PartHeaderFields || it.Partial == nil || it.Partial.Offset != 10 {
		t.Fatalf("%+v %v", it, d.Err())
	}
	d.ExpectSP()
	if !d.AtLiteral() {
		t.Fatal("AtLiteral")
	}
	r, lit, ok := d.LiteralReader(-1)
	if !ok || lit.Size != 3 {
		t.Fatal(d.Err())
	}
	if b, _ := io.ReadAll(r); string(b) != "abc" {
		t.Fatal(string(b))
	}
	var n uint32
	if !d.ExpectSP() || !d.FetchRespAtt(&it) || it.Name != "UID" || it.Section != nil || !d.ExpectSP() || !d.ExpectNumber(&n) || n != 5 {
		t.Fatalf("%+v %v", it, d.Err())
	}
	if !d.ExpectSP() || !d.FetchRespAtt(&it) || it.Name != "BINARY" || !d.ExpectSP() || !d.AtLiteral() {
		t.Fatalf("%+v %v", it, d.Err())
	}
	var s string
	if !d.String8(&s) || s != "\x00x" || d.AtLiteral() {
		t.Fatalf("%q %v", s, d.Err())
	}
}

func TestSkipRefusedNonSync(t *testing.T) {
	d := newDec("a1 APPEND x {10+}\r\n0123456789 more\r\na2 NOOP\r\n")
	d.MaxLiteral = 5
	var s string
	d.ExpectTag(&s)
	d.ExpectSP()
	d.ExpectAtom(&s)
	d.ExpectSP()
	d.ExpectAtom(&s)
	d.ExpectSP()
	var le *LiteralError
	if d.String(&s) || !errors.As(d.Err(), &le) || !le.NonSync {
		t.Fatal(d.Err())
	}
	if err := d.Skip(le.Size); err != nil || d.Err() != nil {
		t.Fatal(err, d.Err())
	}
	if err := d.DiscardLine(); err != nil {
		t.Fatal(err)
	}
	if !d.ExpectTag(&s) || s != "a2" {
		t.Fatal(s, d.Err())
	}
}

func BenchmarkDecodeFetchCommand(b *testing.B) {
	line := "a42 UID FETCH 1:*,7,9:12 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (From To Subject Date)]<0.2048>)\r\n"
	rd := strings.NewReader(line)
	br := bufio.NewReader(rd)
	d := NewDecoder(br)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var tag, name, sub string
	var set NumSet
	var items []FetchItem
	for b.Loop() {
		rd.Reset(line)
		br.Reset(rd)
		ok := d.ExpectTag(&tag) && d.ExpectSP() && d.Keyword(&name) && d.ExpectSP() && d.Keyword(&sub) && d.ExpectSP() &&
			d.ExpectNumSet(&set) && d.ExpectSP() && d.FetchAtts(&items) && d.ExpectCRLF()
		if !ok {
			b.Fatal(d.Err())
		}
	}
}

func TestDiscardLineBounded(t *testing.T) {
	d := newDec("a1 " + strings.Repeat("x", maxDiscard+10) + "\r\n")
	if err := d.DiscardLine(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v", err)
	}
}
