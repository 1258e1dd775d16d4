package imap

import (
	"testing"
)

func TestSelectExamine(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "hello\r\n"), `\Seen`)
	e.appendMsg("INBOX", msg("two", "hello\r\n"), "$Work")
	c := e.login()
	c.run(
		"C: a SELECT inbox",
		"S: * 2 EXISTS",
		"S: * 0 RECENT",
		"S: * OK [UNSEEN 2] *",
		"S: * OK [UIDVALIDITY *] *",
		"S: * OK [UIDNEXT 3] *",
		"S: * OK [HIGHESTMODSEQ *] *",
		`S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)`,
		`S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] *`,
		"S: a OK [READ-WRITE] SELECT completed",
		"C: b EXAMINE INBOX",
		"S: * OK [CLOSED] *",
		"S: * 2 EXISTS",
		"S: * 0 RECENT",
		"S: * OK [UNSEEN 2] *",
		"S: * OK [UIDVALIDITY *] *",
		"S: * OK [UIDNEXT 3] *",
		"S: * OK [HIGHESTMODSEQ *] *",
		"S: * FLAGS (*)",
		"S: * OK [PERMANENTFLAGS ()] *",
		"S: b OK [READ-ONLY] EXAMINE completed",
		"C: c STORE 1 +FLAGS (\\Flagged)",
		"S: c NO [READ-ONLY] *",
		"C: d SELECT Nope",
		"S: * OK [CLOSED] *",
		"S: d NO [NONEXISTENT] *",
		"C: e FETCH 1 FLAGS",
		"S: e BAD *not allowed now",
	)
}

func TestSelectRev2(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "hello\r\n"))
	c := e.login()
	c.run(
		"C: a ENABLE IMAP4rev2",
		"S: * ENABLED IMAP4rev2",
		"S: a OK *",
		"C: b SELECT INBOX",
		"S: * 1 EXISTS",
		"S: * OK [UIDVALIDITY *] *",
		"S: * OK [UIDNEXT 2] *",
		"S: * OK [HIGHESTMODSEQ *] *",
		"S: * FLAGS (*)",
		"S: * OK [PERMANENTFLAGS (*)] *",
		"S: * LIST () \"/\" INBOX",
		"S: b OK [READ-WRITE] *",
	)
}

func TestCloseExpungesSilently(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "hello\r\n"), `\Deleted`)
	e.appendMsg("INBOX", msg("two", "hello\r\n"))
	c := e.login()
	c.send("a SELECT INBOX")
	c.skipUntil("a OK *")
	c.run(
		"C: b CLOSE",
		"S: b OK CLOSE completed",
		"C: c STATUS INBOX (MESSAGES)",
		"S: * STATUS INBOX (MESSAGES 1)",
		"S: c OK *",
		"C: d UNSELECT",
		"S: d BAD *",
	)
	e.appendMsg("INBOX", msg("three", "x\r\n"), `\Deleted`)
	c.send("e SELECT INBOX")
	c.skipUntil("e OK *")
	c.run(
		"C: f UNSELECT",
		"S: f OK *",
		"C: g STATUS INBOX (MESSAGES)",
		"S: * STATUS INBOX (MESSAGES 2)",
		"S: g OK *",
	)
}

func TestCheckIsRev1Noop(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run("C: a CHECK", "S: a BAD *not allowed now")
	c.send("b SELECT INBOX")
	c.skipUntil("b OK *")
	c.run("C: c CHECK", "S: c OK CHECK completed")
}
