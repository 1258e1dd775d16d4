package imap

import (
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "a\r\n"))
	e.appendMsg("INBOX", msg("two", "b\r\n"), `\Seen`)
	c := e.selectInbox()
	c.run(
		`C: a STORE 1:2 +FLAGS (\Flagged $Work)`,
		`S: * 1 FETCH (UID 1 FLAGS (\Flagged $Work))`,
		`S: * 2 FETCH (UID 2 FLAGS (\Flagged \Seen $Work))`,
		// A new keyword: FLAGS and PERMANENTFLAGS again (RFC 9051 §7.3.5).
		`S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)`,
		`S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] *`,
		"S: a OK STORE completed",
		`C: b STORE 2 -FLAGS.SILENT \Flagged`,
		"S: b OK *",
		`C: c UID STORE 1 FLAGS (\Answered \Recent)`,
		`S: * 1 FETCH (UID 1 FLAGS (\Answered))`,
		"S: c OK *",
		"C: d FETCH 1:2 FLAGS",
		`S: * 1 FETCH (FLAGS (\Answered))`,
		`S: * 2 FETCH (FLAGS (\Seen $Work))`,
		"S: d OK *",
		`C: e STORE 1 +FLAGS (\Bogus)`,
		"S: e BAD *",
		`C: f STORE 1 REPLACE (\Seen)`,
		"S: f BAD *",
		`C: g STORE 5 +FLAGS (\Seen)`,
		"S: g BAD *",
		// The session's own changes are not reported again.
		"C: h NOOP",
		"S: h OK *",
	)
}

func TestExpunge(t *testing.T) {
	e := newTestEnv(t)
	for _, s := range []string{"1", "2", "3", "4"} {
		e.appendMsg("INBOX", msg(s, "x\r\n"))
	}
	c := e.selectInbox()
	c.run(
		`C: a STORE 2,4 +FLAGS.SILENT (\Deleted)`,
		"S: a OK *",
		"C: b EXPUNGE",
		"S: * 4 EXPUNGE",
		"S: * 2 EXPUNGE",
		"S: b OK EXPUNGE completed",
		"C: c FETCH 1:* UID",
		"S: * 1 FETCH (UID 1)",
		"S: * 2 FETCH (UID 3)",
		"S: c OK *",
		`C: d STORE 1:2 +FLAGS.SILENT (\Deleted)`,
		"S: d OK *",
		"C: e UID EXPUNGE 3",
		"S: * 2 EXPUNGE",
		"S: e OK *",
		"C: f FETCH 1:* (UID FLAGS)",
		`S: * 1 FETCH (UID 1 FLAGS (\Deleted))`,
		"S: f OK *",
	)
}

func TestCopyMove(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("1", "x\r\n"), `\Flagged`)
	e.appendMsg("INBOX", msg("2", "x\r\n"))
	e.appendMsg("INBOX", msg("3", "x\r\n"))
	c := e.selectInbox()
	c.run(
		"C: a CREATE Archive",
		"S: a OK *",
		"C: b COPY 1:2 Archive",
		"S: b OK [COPYUID * 1:2 1:2] COPY completed",
		"C: c COPY 1 Nope",
		"S: c NO [TRYCREATE] *",
		"C: d UID MOVE 3 Archive",
		"S: * OK [COPYUID * 3 3] Moved",
		"S: * 3 EXPUNGE",
		"S: d OK *",
		"C: e MOVE 1 Archive",
		"S: * OK [COPYUID * 1 4] Moved",
		"S: * 1 EXPUNGE",
		"S: e OK *",
		"C: f STATUS Archive (MESSAGES)",
		"S: * STATUS Archive (MESSAGES 4)",
		"S: f OK *",
		"C: g EXAMINE Archive",
		"S: * OK [CLOSED] *",
		"S: * 4 EXISTS",
	)
	c.skipUntil("g OK *")
	c.run(
		"C: h FETCH 1 FLAGS",
		`S: * 1 FETCH (FLAGS (\Flagged))`,
		"S: h OK *",
		"C: i MOVE 1 INBOX",
		"S: i NO [READ-ONLY] *",
	)
}

func TestAppend(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.AppendLimit = 100 })
	c := e.login()
	m := "Subject: hi\r\n\r\nbody\r\n"
	c.run(
		`C: a APPEND INBOX (\Seen) "05-Mar-2024 10:00:00 +0100" {21}`,
		"S: + *",
		"C: "+m[:len(m)-2],
		"C: ",
		"S: a OK [APPENDUID * 1] APPEND completed",
		"C: b APPEND INBOX {4+}",
		"C: abcd {3+}",
		"C: xyz",
		"S: b OK [APPENDUID * 2:3] *",
		"C: c APPEND Nope {3}",
		"S: c NO [TRYCREATE] *",
		"C: d APPEND INBOX {101}",
		"S: d NO [TOOBIG] *",
		"C: e SELECT INBOX",
		"S: * 3 EXISTS",
	)
	c.skipUntil("e OK *")
	c.run(
		"C: f FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])",
		`S: * 1 FETCH (FLAGS (\Seen) INTERNALDATE "05-Mar-2024 10:00:00 +0100" BODY[] {21}`+m+")",
		"S: f OK *",
		// Appending to the selected mailbox announces the message.
		"C: g APPEND INBOX {2+}",
		"C: hi",
		"S: * 4 EXISTS",
		"S: * 1 RECENT",
		"S: g OK [APPENDUID * 4] *",
		"C: h APPEND INBOX (\\Bogus) {2}",
		"S: h BAD *",
		"C: i NOOP",
		"S: i OK *",
	)
}

func TestSearch(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("Meeting tomorrow", "Bring the slides\r\n"), `\Seen`)
	e.appendMsg("INBOX", msg("Lunch", "Pizza?\r\n"), `\Flagged`)
	e.appendMsg("INBOX", "From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.org>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\nhallo\r\n")
	c := e.selectInbox()
	c.run(
		"C: a SEARCH UNSEEN",
		"S: * SEARCH 2 3",
		"S: a OK *",
		"C: b UID SEARCH SUBJECT meeting",
		"S: * SEARCH 1",
		"S: b OK *",
		"C: c SEARCH OR FLAGGED SEEN",
		"S: * SEARCH 1 2",
		"S: c OK *",
		"C: d SEARCH NOT (BODY pizza) FROM bob",
		"S: * SEARCH 1",
		"S: d OK *",
		"C: e SEARCH CHARSET UTF-8 FROM \"jürgen\"",
		"S: * SEARCH 3",
		"S: e OK *",
		"C: f SEARCH SUBJECT {7}",
		"S: + *",
		"C: grüße",
		"S: * SEARCH 3",
		"S: f OK *",
		"C: g SEARCH RETURN (MIN MAX COUNT) ALL",
		`S: * ESEARCH (TAG "g") MIN 1 MAX 3 COUNT 3`,
		"S: g OK *",
		"C: h UID SEARCH RETURN (SAVE) TEXT slides",
		"S: h OK *",
		"C: i FETCH $ UID",
		"S: * 1 FETCH (UID 1)",
		"S: i OK *",
		"C: j SEARCH RETURN () 2:*",
		`S: * ESEARCH (TAG "j") ALL 2:3`,
		"S: j OK *",
		"C: k SEARCH CHARSET KOI8-R ALL",
		"S: k NO [BADCHARSET (US-ASCII UTF-8)] *",
		"C: l SEARCH SENTON 5-Mar-2024 SINCE 1-Jan-2024 BEFORE 1-Jan-2030 LARGER 10 SMALLER 100000",
		"S: * SEARCH 1 2",
		"S: l OK *",
		"C: m SEARCH HEADER Message-ID lunch YOUNGER 999999999 UID 1:*",
		"S: * SEARCH 2",
		"S: m OK *",
		"C: n SEARCH BOGUS",
		"S: n BAD *",
		"C: o ENABLE IMAP4rev2",
		"S: * ENABLED IMAP4rev2",
		"S: o OK *",
		"C: p SEARCH SEEN",
		`S: * ESEARCH (TAG "p") ALL 1`,
		"S: p OK *",
	)
}

func TestSearchDecodesBodies(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=E4se und Brot\r\n")
	e.appendMsg("INBOX", multipartMsg)
	e.appendMsg("INBOX", "Subject: plain\r\n and folded\r\n\r\nno mime here\r\n")
	c := e.selectInbox()
	c.run(
		`C: a SEARCH CHARSET UTF-8 BODY "käse"`,
		"S: * SEARCH 1",
		"S: a OK *",
		// Attachments are not text: the base64 bytes are not searched.
		"C: b SEARCH BODY AAEC",
		"S: * SEARCH",
		"S: b OK *",
		"C: c SEARCH BODY HELLO",
		"S: * SEARCH 2",
		"S: c OK *",
		"C: d SEARCH TEXT \"mime here\"",
		"S: * SEARCH 3",
		"S: d OK *",
		"C: e SEARCH TEXT \"PLAIN AND FOLDED\"",
		"S: * SEARCH 3",
		"S: e OK *",
	)
}

func TestAppendUTF8(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	m := "Subject: grüße\r\n\r\nhi\r\n"
	c.run(
		"C: a ENABLE UTF8=ACCEPT",
		"S: * ENABLED UTF8=ACCEPT",
		"S: a OK *",
		"C: b APPEND INBOX UTF8 (~{22+}",
		"C: "+m[:len(m)-2]+")",
		"S: b OK [APPENDUID * 1] *",
		"C: c STATUS INBOX (MESSAGES)",
		"S: * STATUS INBOX (MESSAGES 1)",
		"S: c OK *",
	)
}

func TestIdleAutologout(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.ReadTimeout = 100 * time.Millisecond })
	c := e.selectInbox()
	c.run("C: i IDLE", "S: + idling", "S: * BYE *Autologout*")
	c.expectClosed()
}
