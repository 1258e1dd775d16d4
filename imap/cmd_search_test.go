package imap

import (
	"fmt"
	"testing"
)

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

// TestSearchDamagedParts: a text part whose transfer encoding is broken
// is searched in what decoded before the damage and in its raw octets;
// the SEARCH answers OK and finds the other messages (the mailbox is big
// enough for the parallel search), on both stores.
func TestSearchDamagedParts(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		e := newEnv(t)
		e.appendMsg("INBOX", "Subject: bad base64\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
			"cmh1YmFyYiB0YXJ0Q\r\n")
		e.appendMsg("INBOX", "Subject: bad qp\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nrhubarb =ZZ custard\r\n")
		e.appendMsg("INBOX", "Subject: fine\r\n\r\nrhubarb crumble\r\n")
		for i := range 300 { // enough messages for the parallel search
			e.appendMsg("INBOX", msg(fmt.Sprint("filler ", i), "nothing to see\r\n"))
		}
		c := e.selectInbox()
		c.run(
			"C: a SEARCH BODY rhubarb",
			"S: * SEARCH 1 2 3",
			"S: a OK *",
			"C: b SEARCH TEXT custard",
			"S: * SEARCH 2",
			"S: b OK *",
			// The raw octets of the damaged base64 part.
			"C: c SEARCH BODY cmh1YmFyYiB0YXJ0Q",
			"S: * SEARCH 1",
			"S: c OK *",
		)
	})
}
