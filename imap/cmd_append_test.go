package imap

import (
	"testing"
)

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
