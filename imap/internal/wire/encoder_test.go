package wire

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func encode(f func(e *Encoder), utf8 bool) (string, error) {
	var buf bytes.Buffer
	e := NewEncoder(bufio.NewWriter(&buf))
	e.UTF8 = utf8
	f(e)
	err := e.Flush()
	return buf.String(), err
}

func TestEncodeStringChoice(t *testing.T) {
	cases := []struct {
		in, want, wantUTF8 string
	}{
		{"abc", `"abc"`, `"abc"`},
		{`a"b\c`, `"a\"b\\c"`, `"a\"b\\c"`},
		{"a\r\nb", "{4}\r\na\r\nb", "{4}\r\na\r\nb"},
		{"café", "{5}\r\ncafé", `"café"`},
		{"\xff", "{1}\r\n\xff", "{1}\r\n\xff"},
		{strings.Repeat("x", MaxQuoted+1), "{1025}\r\n" + strings.Repeat("x", MaxQuoted+1), "{1025}\r\n" + strings.Repeat("x", MaxQuoted+1)},
	}
	for _, c := range cases {
		got, _ := encode(func(e *Encoder) { e.String(c.in) }, false)
		gotU, _ := encode(func(e *Encoder) { e.String(c.in) }, true)
		if got != c.want || gotU != c.wantUTF8 {
			t.Errorf("String(%q) = %q / %q, want %q / %q", c.in, got, gotU, c.want, c.wantUTF8)
		}
	}
	got, _ := encode(func(e *Encoder) {
		e.AString("a]b").SP().AString("").SP().AString("NIL").SP().NString("").SP().AString("a b")
	}, false)
	if got != `a]b "" "NIL" NIL "a b"` {
		t.Error(got)
	}
}

func TestEncodeMailbox(t *testing.T) {
	got, _ := encode(func(e *Encoder) { e.Mailbox("inbox").SP().Mailbox("Entwürfe").SP().Mailbox("a b&") }, false)
	if got != `INBOX Entw&APw-rfe "a b&-"` {
		t.Error(got)
	}
	got, _ = encode(func(e *Encoder) { e.Mailbox("Entwürfe") }, true)
	if got != `"Entwürfe"` {
		t.Error(got)
	}
	if _, err := encode(func(e *Encoder) { e.Mailbox("a\r\nb") }, true); err == nil {
		t.Error("CRLF in mailbox name sent")
	}
}

func TestEncodeFlagsAndSets(t *testing.T) {
	set, _ := ParseNumSet("1:3,*")
	got, err := encode(func(e *Encoder) {
		e.FlagList([]Flag{Flag(`\Seen`), "$Junk"}).SP().NumSet(set).SP().
			DateTime(time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600))).SP().
			Date(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)).SP().Number(7).SP().Number64(1 << 40)
	}, false)
	if err != nil || got != `(\Seen $Junk) 1:3,* "07-Jul-1996 02:44:25 -0700" 1-Feb-2024 7 1099511627776` {
		t.Error(got, err)
	}
	for _, bad := range []Flag{"a b", `\`, "a)", ""} {
		if _, err := encode(func(e *Encoder) { e.Flag(bad) }, false); err == nil {
			t.Errorf("flag %q sent", bad)
		}
	}
	if _, err := encode(func(e *Encoder) { e.NumSet(NumSet{}) }, false); err == nil {
		t.Error("empty set sent")
	}
}

func TestEncodeLiteralSync(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(bufio.NewWriter(&buf))
	var seen string
	e.OnSyncLiteral = func() error { seen = buf.String(); return nil }
	e.Atom("A1 APPEND INBOX ").Literal(strings.NewReader("hello"), 5, false).CRLF()
	if err := e.Flush(); err != nil || seen != "A1 APPEND INBOX {5}\r\n" || buf.String() != "A1 APPEND INBOX {5}\r\nhello\r\n" {
		t.Fatalf("%q %q %v", seen, buf.String(), err)
	}
	refused := errors.New("server said NO")
	e = NewEncoder(bufio.NewWriter(&buf))
	e.OnSyncLiteral = func() error { return refused }
	if e.Literal(strings.NewReader("hello"), 5, false); !errors.Is(e.Err(), refused) {
		t.Error(e.Err())
	}
	e = NewEncoder(bufio.NewWriter(&buf))
	e.NonSync = true
	buf.Reset()
	e.Literal(strings.NewReader("hello"), 5, false).SP().Literal(strings.NewReader("a\x00"), 2, true)
	if e.Flush(); buf.String() != "{5+}\r\nhello ~{2+}\r\na\x00" {
		t.Error(buf.String())
	}
	if _, err := encode(func(e *Encoder) { e.Literal(strings.NewReader("abc"), 5, false) }, false); err == nil {
		t.Error("short literal not reported")
	}
}

func TestEncodeStatus(t *testing.T) {
	got, _ := encode(func(e *Encoder) {
		e.Atom("a1 ").Status(StatusType("NO"), ResponseCode("TRYCREATE"), "", "no\r\nsuch")
		e.Atom("* ").Status(StatusType("OK"), "", "", "")
	}, false)
	if got != "a1 NO [TRYCREATE] no  such\r\n* OK done\r\n" {
		t.Errorf("%q", got)
	}
}

func TestEncodeLiteralMinus(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(bufio.NewWriter(&buf))
	e.NonSync, e.LiteralMinus = true, true
	calls := 0
	e.OnSyncLiteral = func() error { calls++; return nil }
	small, big := strings.Repeat("a", 4096), strings.Repeat("b", 4097)
	e.Literal(strings.NewReader(small), 4096, false).Literal(strings.NewReader(big), 4097, false)
	if e.Flush(); !strings.HasPrefix(buf.String(), "{4096+}\r\n") || !strings.Contains(buf.String(), "{4097}\r\n") || calls != 1 {
		t.Errorf("calls %d, %q", calls, buf.String()[:20])
	}
}

func TestSearchKeyRoundTrip(t *testing.T) {
	in := `ALL ANSWERED BCC "b c" BEFORE 1-Feb-2024 BODY x CC y DELETED DRAFT FLAGGED FROM z ` +
		`KEYWORD $Junk LARGER 10 NEW NOT SEEN OLD OLDER 60 ON 2-Mar-2023 OR RECENT UNSEEN ` +
		`SAVEDATESUPPORTED SAVEDBEFORE 1-Jan-2020 SAVEDON 1-Jan-2020 SAVEDSINCE 1-Jan-2020 SEEN ` +
		`SENTBEFORE 1-Jan-2020 SENTON 1-Jan-2020 SENTSINCE 1-Jan-2020 SINCE 1-Jan-2020 SMALLER 5 ` +
		`SUBJECT {3}` + "\r\n" + `a b TEXT t TO u UID 1:3,* UNANSWERED UNDELETED UNDRAFT UNFLAGGED ` +
		`UNKEYWORD foo YOUNGER 30 MODSEQ 7 MODSEQ "/flags/\\seen" all 9 HEADER Message-ID "<a@b>" 1,2 $ (SEEN (DRAFT))` + "\r\n"
	d := newDec(in)
	var k SearchKey
	if !d.SearchKeys(&k) || !d.ExpectCRLF() {
		t.Fatal(d.Err())
	}
	if len(k.Keys) != 44 {
		t.Fatalf("%d keys", len(k.Keys))
	}
	wire, err := encode(func(e *Encoder) { e.SearchKey(k).CRLF() }, false)
	if err != nil {
		t.Fatal(err)
	}
	d = newDec(wire)
	var k2 SearchKey
	if !d.SearchKeys(&k2) || !d.ExpectCRLF() || !reflect.DeepEqual(k, k2) {
		t.Fatalf("round trip changed the keys (%v):\n%s", d.Err(), wire)
	}
	for _, bad := range []SearchKey{{Key: "NOPE"}, {Key: "NOT"}, {Key: "OR", Keys: []SearchKey{{Key: "ALL"}}}} {
		if _, err := encode(func(e *Encoder) { e.SearchKey(bad) }, false); err == nil {
			t.Errorf("%+v encoded", bad)
		}
	}
}

func TestValueEncodeEqual(t *testing.T) {
	v := Value{Kind: KindList, List: []Value{{Kind: KindAtom, Str: `\Seen`}, {Kind: KindNumber, Num: 7}, {Kind: KindNIL}, {Kind: KindString, Str: "a b"}, {Kind: KindString, Str: "n\x00l"}}}
	got, err := encode(func(e *Encoder) { e.Value(v) }, false)
	if err != nil || got != "(\\Seen 7 NIL \"a b\" ~{3}\r\nn\x00l)" {
		t.Fatalf("%q %v", got, err)
	}
	d := newDec(got)
	var w Value
	if !d.Value(&w) || !w.Equal(v) {
		t.Fatalf("%+v %v", w, d.Err())
	}
	w.List[1].Num = 8
	if w.Equal(v) {
		t.Error("Equal ignores numbers")
	}
}
