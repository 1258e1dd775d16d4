package imap

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
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

// RFC 7162 §3.1.3: with CONDSTORE, .SILENT still reports the MODSEQ of
// the messages that changed, and only of those.
func TestStoreSilentCondStoreModSeq(t *testing.T) {
	e := newTestEnv(t)
	threeMessages(e) // MODSEQs 2, 3, 4 on the memory store
	c := e.login()
	c.send("a SELECT INBOX (CONDSTORE)")
	c.skipUntil("a OK *")
	c.run(
		`C: b STORE 2 +FLAGS.SILENT (\Seen)`,
		`S: * 2 FETCH (MODSEQ (5))`,
		"S: b OK *",
		`C: c UID STORE 1:3 +FLAGS.SILENT (\Seen)`,
		`S: * 1 FETCH (UID 1 MODSEQ (6))`,
		`S: * 3 FETCH (UID 3 MODSEQ (6))`,
		"S: c OK *",
		`C: d STORE 1:3 +FLAGS.SILENT (\Seen)`,
		"S: d OK *",
	)
}

// A STORE over many messages answers one FETCH per message, in order,
// through the bulk buffer.
func TestStoreManyMessages(t *testing.T) {
	e := newTestEnv(t)
	const n = 3 * bulkMinMessages
	for i := range n {
		e.appendMsg("INBOX", msg(fmt.Sprint("m", i), "x\r\n"))
	}
	c := e.selectInbox()
	c.send(`a STORE 1:* +FLAGS (\Seen)`)
	for i := 1; i <= n; i++ {
		c.expect(fmt.Sprintf(`* %d FETCH (UID %d FLAGS (\Seen))`, i, i))
	}
	c.expect("a OK *")
	c.run(`C: b STORE 1:* -FLAGS.SILENT (\Seen)`, "S: b OK *", "C: c FETCH 2 FLAGS", "S: * 2 FETCH (FLAGS ())", "S: c OK *")
}

// TestUIDCommandsSeeNewArrivals: a UID the client learnt elsewhere (here
// the store's own append, as APPENDUID on another connection would tell
// it) before this session announced the message is acted on: the session
// announces the arrival first, instead of ignoring the UID and answering
// OK for a change it did not make.
func TestUIDCommandsSeeNewArrivals(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		e := newEnv(t)
		e.appendMsg("INBOX", msg("one", "a\r\n"))
		c := e.selectInbox()
		uid := e.appendMsg("INBOX", msg("two", "b\r\n"))
		c.run(
			fmt.Sprintf(`C: a UID STORE %d +FLAGS (\Flagged)`, uid),
			"S: * 2 EXISTS",
			"S: * 1 RECENT", // IMAP4rev1 session
			`S: * 2 FETCH (UID 2 FLAGS (\Flagged \Recent))`,
			"S: a OK *",
		)
		uid = e.appendMsg("INBOX", msg("three", "c\r\n"))
		c.run(
			fmt.Sprintf("C: b UID FETCH %d:* (UID RFC822.SIZE)", uid),
			"S: * 3 EXISTS",
			"S: * 2 RECENT",
			"S: * 3 FETCH (UID 3 RFC822.SIZE *)",
			"S: b OK *",
			// "*" alone asks for nothing beyond what the session knows.
			"C: c UID FETCH * (UID)",
			"S: * 3 FETCH (UID 3)",
			"S: c OK *",
		)
		e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
			for m, err := range mb.Messages(ctx, 2) {
				if err != nil {
					t.Fatal(err)
				}
				if m.UID == 2 && !slices.Contains(m.Flags, mailbox.Flag(`\Flagged`)) {
					t.Errorf("UID 2 flags %v, want \\Flagged", m.Flags)
				}
				break
			}
		})
	})
}
