package imap

import (
	"testing"
)

func TestFetchBinary(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", multipartMsg)
	e.appendMsg("INBOX", "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n")
	e.appendMsg("INBOX", "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nk=C3=A4se=\r\n!\r\n")
	c := e.selectInbox()
	c.run(
		"C: a FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2] BINARY.PEEK[1])",
		"S: * 1 FETCH (BINARY.SIZE[2] 3 BINARY[2] ~{3}\x00\x01\x02 BINARY[1] {5}hello)",
		"S: a OK *",
		"C: b FETCH 3 (BINARY.PEEK[1]<1.4> BINARY.SIZE[1])",
		"S: * 3 FETCH (BINARY[1]<1> {4}\xc3\xa4se BINARY.SIZE[1] 8)",
		"S: b OK *",
		"C: c FETCH 2 BINARY.PEEK[1]",
		"S: c NO [UNKNOWN-CTE] *",
		"C: d FETCH 1 (FLAGS)",
		"S: * 1 FETCH (FLAGS ())",
		"S: d OK *",
		"C: e FETCH 1 BINARY[1]",
		`S: * 1 FETCH (BINARY[1] {5}hello FLAGS (\Seen))`,
		"S: e OK *",
		"C: f FETCH 1 BINARY.PEEK[]<0.5>",
		"S: * 1 FETCH (BINARY[]<0> {5}From:)",
		"S: f OK *",
	)
}
