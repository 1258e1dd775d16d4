package wire

import (
	"bufio"
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// command is a decoded command line, for the round-trip fuzz target.
type command struct {
	Tag, Name string
	Set       NumSet
	Items     []FetchItem
	Flags     []Flag
	Key       SearchKey
	Mailboxes []string
	Strings   []string
	Date      time.Time
	Values    []Value
	Bare      bool // no arguments
}

// decodeCommand parses a subset of commands with the typed rules and
// anything else as generic values.
func decodeCommand(d *Decoder) (c command, ok bool) {
	if !d.ExpectTag(&c.Tag) || !d.ExpectSP() || !d.Keyword(&c.Name) {
		return c, false
	}
	if c.Name == "UID" {
		var sub string
		if !d.ExpectSP() || !d.Keyword(&sub) {
			return c, false
		}
		c.Name += " " + sub
	}
	if d.CRLF() {
		c.Bare = true
		return c, true
	}
	if !d.ExpectSP() {
		return c, false
	}
	var ok2 bool
	switch strings.TrimPrefix(c.Name, "UID ") {
	case "FETCH":
		ok2 = d.ExpectNumSet(&c.Set) && d.ExpectSP() && (d.FetchAtts(&c.Items) || d.Fail("fetch atts"))
	case "STORE":
		var item string
		ok2 = d.ExpectNumSet(&c.Set) && d.ExpectSP() && d.ExpectAtom(&item) && d.ExpectSP() && d.ExpectFlagList(&c.Flags)
		c.Strings = []string{item}
	case "SEARCH":
		ok2 = d.SearchKeys(&c.Key)
	case "SELECT", "CREATE", "DELETE":
		var m string
		ok2 = d.ExpectMailbox(&m)
		c.Mailboxes = []string{m}
	case "LIST":
		var ref, pat string
		ok2 = d.ExpectMailbox(&ref) && d.ExpectSP() && (d.ListMailbox(&pat) || d.Fail("pattern"))
		c.Mailboxes = []string{ref, pat}
	case "LOGIN":
		var u, p string
		ok2 = d.ExpectAString(&u) && d.ExpectSP() && d.ExpectAString(&p)
		c.Strings = []string{u, p}
	case "APPEND":
		var m, body string
		ok2 = d.ExpectMailbox(&m) && d.ExpectSP()
		c.Mailboxes = []string{m}
		if ok2 && d.FlagList(&c.Flags) {
			ok2 = d.ExpectSP()
		}
		if ok2 && d.DateTime(&c.Date) {
			ok2 = d.ExpectSP()
		}
		ok2 = ok2 && (d.String8(&body) || d.Fail("literal"))
		c.Strings = []string{body}
	default:
		for {
			var v Value
			if !d.Value(&v) {
				return c, false
			}
			c.Values = append(c.Values, v)
			if !d.SP() {
				break
			}
		}
		ok2 = true
	}
	return c, ok2 && d.ExpectCRLF()
}

func encodeCommand(e *Encoder, c command) {
	e.Atom(c.Tag).SP().Atom(c.Name)
	if c.Bare {
		e.CRLF()
		return
	}
	switch strings.TrimPrefix(c.Name, "UID ") {
	case "FETCH":
		e.SP().NumSet(c.Set).SP().List(len(c.Items), func(i int) { e.FetchItem(c.Items[i]) })
	case "STORE":
		e.SP().NumSet(c.Set).SP().Atom(c.Strings[0]).SP().FlagList(c.Flags)
	case "SEARCH":
		e.SP().SearchKey(c.Key)
	case "SELECT", "CREATE", "DELETE", "LIST":
		for _, m := range c.Mailboxes {
			e.SP().Mailbox(m)
		}
	case "LOGIN":
		e.SP().AString(c.Strings[0]).SP().AString(c.Strings[1])
	case "APPEND":
		e.SP().Mailbox(c.Mailboxes[0])
		if len(c.Flags) > 0 {
			e.SP().FlagList(c.Flags)
		}
		if !c.Date.IsZero() {
			e.SP().DateTime(c.Date)
		}
		body := c.Strings[0]
		e.SP().Literal(strings.NewReader(body), int64(len(body)), strings.IndexByte(body, 0) >= 0)
	default:
		for _, v := range c.Values {
			e.SP().Value(v)
		}
	}
	e.CRLF()
}

func FuzzDecodeCommand(f *testing.F) {
	for _, s := range []string{
		"a1 FETCH 1:* (UID FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>)\r\n",
		"a2 UID FETCH 1,3:5 ALL\r\n",
		"a3 STORE 1 +FLAGS.SILENT (\\Seen $Junk)\r\n",
		"a4 SEARCH CHARSET UTF-8 OR FROM bob TO {3}\r\nabc SINCE 1-Feb-2024\r\n",
		"a4 UID SEARCH NOT (SEEN LARGER 100) HEADER X-Spam yes $\r\n",
		"a5 SELECT \"Entw&APw-rfe\"\r\n",
		"a6 LIST \"\" %/*\r\n",
		"a7 LOGIN \"bob\" {3+}\r\npw!\r\n",
		"a8 APPEND INBOX (\\Seen) \" 7-Jul-1996 02:44:25 -0700\" ~{3}\r\na\x00b\r\n",
		"a9 NOOP\r\n",
		"b1 ENABLE UTF8=ACCEPT IMAP4rev2\r\n",
		"b2 STATUS INBOX (MESSAGES UIDNEXT)\r\n",
		"b3 FETCH 1 BODY[]\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(bufio.NewReader(bytes.NewReader(in)))
		c, ok := decodeCommand(d)
		if !ok {
			return
		}
		var buf bytes.Buffer
		e := NewEncoder(bufio.NewWriter(&buf))
		encodeCommand(e, c)
		if err := e.Flush(); err != nil {
			return // e.g. a flag the encoder refuses to send
		}
		d2 := NewDecoder(bufio.NewReader(bytes.NewReader(buf.Bytes())))
		d2.MaxLiteral = -1
		c2, ok := decodeCommand(d2)
		if !ok {
			t.Fatalf("re-encoded %q does not decode: %v\nfrom %q", buf.Bytes(), d2.Err(), in)
		}
		if !reflect.DeepEqual(normCmd(c), normCmd(c2)) {
			t.Fatalf("round trip changed the command:\n%+v\n%+v\nwire %q", c, c2, buf.Bytes())
		}
	})
}

// normCmd clears representation details that encoding may change.
func normCmd(c command) command {
	c.Date = c.Date.Round(0)
	if !c.Date.IsZero() {
		_, off := c.Date.Zone()
		c.Date = c.Date.In(time.FixedZone("", off))
	}
	if len(c.Flags) == 0 {
		c.Flags = nil
	}
	return c
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		fetchLine,
		"* OK [UIDNEXT 4392] Predicted next UID\r\n",
		"a1 NO [BADCHARSET (UTF-8)] unsupported\r\n",
		"+ go ahead\r\n",
		"* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n",
		"* 3 FETCH (BINARY[1] ~{3}\r\na\x00b)\r\n",
		"* ESEARCH (TAG \"a1\") UID ALL 1:3,5:*\r\n",
		"* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(bufio.NewReader(bytes.NewReader(in)))
		var r Response
		if !d.Response(&r) {
			return
		}
		var buf bytes.Buffer
		e := NewEncoder(bufio.NewWriter(&buf))
		e.Response(r)
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		d2 := NewDecoder(bufio.NewReader(bytes.NewReader(buf.Bytes())))
		d2.MaxLiteral = -1
		var r2 Response
		if !d2.Response(&r2) {
			t.Fatalf("re-encoded %q does not decode: %v (from %q)", buf.Bytes(), d2.Err(), in)
		}
		if r.Status == "" && r.Tag != "+" && !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the response:\n%+v\n%+v", r, r2)
		}
		if r.Status != "" && (r.Text != "" || r.Code != "") && !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the status:\n%+v\n%+v", r, r2)
		}
		if r.Tag == "+" && r.Text != r2.Text {
			t.Fatalf("round trip changed the continuation:\n%+v\n%+v", r, r2)
		}
	})
}
