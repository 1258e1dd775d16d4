package imap

import (
	"strings"
	"testing"
	"time"
)

func TestFetchItems(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "hello\r\n"), `\Seen`)
	e.appendMsg("INBOX", msg("two", "line1\r\nline2\r\n"))
	c := e.selectInbox()
	c.run(
		"C: a FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)",
		`S: * 1 FETCH (UID 1 FLAGS (\Seen) RFC822.SIZE 143 INTERNALDATE "05-Mar-2024 10:00:00 +0000")`,
		`S: * 2 FETCH (UID 2 FLAGS () RFC822.SIZE 150 INTERNALDATE "05-Mar-2024 10:00:00 +0000")`,
		"S: a OK FETCH completed",
		"C: b UID FETCH 2 (FLAGS)",
		"S: * 2 FETCH (UID 2 FLAGS ())",
		"S: b OK *",
		"C: c FETCH 2 BODY.PEEK[HEADER.FIELDS (Subject FROM)]",
		"S: * 2 FETCH (BODY[HEADER.FIELDS (Subject FROM)] {45}From: Bob <bob@example.org>\r\nSubject: two\r\n\r\n)",
		"S: c OK *",
		"C: d FETCH 2 BODY.PEEK[TEXT]<2.5>",
		"S: * 2 FETCH (BODY[TEXT]<2> {5}ne1\r\n)",
		"S: d OK *",
		"C: e FETCH 2 (FLAGS)",
		"S: * 2 FETCH (FLAGS ())",
		"S: e OK *",
		// Implicit \Seen: the new flags come with the data.
		"C: f FETCH 2 BODY[TEXT]",
		"S: * 2 FETCH (BODY[TEXT] {14}line1\r\nline2\r\n FLAGS (\\Seen))",
		"S: f OK *",
		"C: g FETCH 1 RFC822.HEADER",
		"S: * 1 FETCH (RFC822.HEADER {136}From: *\r\n\r\n)",
		"S: g OK *",
		"C: h FETCH 1 BODY[HEADER.FIELDS.NOT (From To Date Message-ID)]",
		"S: * 1 FETCH (BODY[HEADER.FIELDS.NOT (From To Date Message-ID)] {16}Subject: one\r\n\r\n)",
		"S: h OK *",
		"C: i FETCH 3 FLAGS",
		"S: i BAD *sequence number*",
		"C: j UID FETCH 3:5 FLAGS",
		"S: j OK *",
		"C: k UID FETCH 9:* UID",
		"S: * 2 FETCH (UID 2)",
		"S: k OK *",
		"C: l FETCH 1 BODY[]<0.4>",
		"S: * 1 FETCH (BODY[]<0> {4}From)",
		"S: l OK *",
		"C: m FETCH 1 (RFC822)",
		"S: * 1 FETCH (RFC822 {143}From: Bob*hello\r\n)",
		"S: m OK *",
		"C: n FETCH 1 (BOGUS)",
		"S: n BAD *",
	)
}

func TestFetchReadOnlyDoesNotSetSeen(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "hello\r\n"))
	c := e.login()
	c.send("a EXAMINE INBOX")
	c.skipUntil("a OK *")
	c.run(
		"C: b FETCH 1 BODY[TEXT]",
		"S: * 1 FETCH (BODY[TEXT] {7}hello\r\n)",
		"S: b OK *",
		"C: c FETCH 1 FLAGS",
		"S: * 1 FETCH (FLAGS ())",
		"S: c OK *",
	)
}

const multipartMsg = "From: Bob <bob@example.org>\r\nTo: sara@example.org\r\nSubject: parts\r\n" +
	"Date: Tue, 5 Mar 2024 10:00:00 +0000\r\nMessage-ID: <p@example.org>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=xx\r\n\r\n" +
	"--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n" +
	"--xx\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Disposition: attachment; filename=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n" +
	"--xx--\r\n"

func TestFetchStructureAndParts(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", multipartMsg)
	c := e.selectInbox()
	c.run(
		"C: a FETCH 1 (ENVELOPE)",
		`S: * 1 FETCH (ENVELOPE ("Tue, 5 Mar 2024 10:00:00 +0000" "parts" (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) ((NIL NIL "sara" "example.org")) NIL NIL NIL "<p@example.org>"))`,
		"S: a OK *",
		"C: b FETCH 1 (BODYSTRUCTURE)",
	)
	c.expectFold(`* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 5 * NIL NIL NIL NIL)("APPLICATION" "OCTET-STREAM" ("NAME" "a.bin") NIL NIL "BASE64" 4 NIL ("ATTACHMENT" ("FILENAME" "a.bin")) NIL NIL) "MIXED" ("BOUNDARY" "xx") NIL NIL NIL))`)
	c.run(
		"S: b OK *",
		"C: c FETCH 1 (BODY)",
	)
	c.expectFold(`* 1 FETCH (BODY (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 5 *)("APPLICATION" "OCTET-STREAM" ("NAME" "a.bin") NIL NIL "BASE64" 4) "MIXED"))`)
	c.run(
		"S: c OK *",
		"C: d FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[2]<1.2>)",
		"S: * 1 FETCH (BODY[1] {5}hello BODY[2.MIME] {*}Content-Type: application/octet-stream; name=a.bin\r\n*\r\n\r\n BODY[2]<1> {2}AE)",
		"S: d OK *",
		"C: e FETCH 1 (BODY.PEEK[3] BODY.PEEK[1.HEADER])",
		"S: * 1 FETCH (BODY[3] NIL BODY[1.HEADER] NIL)",
		"S: e OK *",
		"C: f FETCH 1 (FLAGS)",
		"S: * 1 FETCH (FLAGS ())",
		"S: f OK *",
	)
}

// A header line that fills the read buffer exactly must not be taken for
// the end of the header.
func TestFetchLongHeaderLine(t *testing.T) {
	e := newTestEnv(t)
	long := "X-Long: " + strings.Repeat("a", 4096-len("X-Long: "))
	e.appendMsg("INBOX", long+"\r\nSubject: s\r\n\r\nbody\r\n")
	c := e.selectInbox()
	c.run(
		"C: a FETCH 1 (BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
		"S: * 1 FETCH (BODY[TEXT] {6}body\r\n BODY[HEADER.FIELDS (SUBJECT)] {14}Subject: s\r\n\r\n)",
		"S: a OK *",
	)
}

func TestFetchStarRangesClipped(t *testing.T) {
	e := newTestEnv(t)
	c := e.selectInbox()
	c.run(
		"C: a FETCH 1:* FLAGS", "S: a OK *",
		"C: b FETCH 1 FLAGS", "S: b BAD *",
	)
	e.appendMsg("INBOX", msg("one", "x\r\n"))
	c.run(
		"C: n NOOP", "S: * 1 EXISTS", "S: * 1 RECENT", "S: n OK *",
		"C: d FETCH 3:* UID", "S: * 1 FETCH (UID 1)", "S: d OK *",
		"C: e FETCH 1:2 UID", "S: e BAD *",
	)
}

func TestPerUserCountReleased(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxConnsPerUser = 1 })
	c := e.login()
	c.run("C: a LOGOUT", "S: * BYE *", "S: a OK *")
	c.expectClosed()
	// The slot is free again once the first session has gone.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c2 := e.dial()
		c2.send("b LOGIN sara secret")
		line := c2.readLine()
		if strings.HasPrefix(line, "b OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never released: %s", line)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
