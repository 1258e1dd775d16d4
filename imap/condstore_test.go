package imap

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

// mailboxStatus reads a mailbox's status directly from the store.
func (e *testEnv) mailboxStatus(name string) mailbox.Status {
	e.t.Helper()
	var st mailbox.Status
	e.withMailbox(name, func(ctx context.Context, mb mailbox.Mailbox) {
		var err error
		st, err = mb.Status(ctx)
		require.NoError(e.t, err)
	})
	return st
}

func threeMessages(e *testEnv) {
	e.appendMsg("INBOX", msg("one", "a\r\n"))
	e.appendMsg("INBOX", msg("two", "b\r\n"))
	e.appendMsg("INBOX", msg("three", "c\r\n"))
}

// RFC 7162 §3.1: SELECT (CONDSTORE), FETCH MODSEQ and CHANGEDSINCE, STORE
// UNCHANGEDSINCE with MODIFIED, SEARCH MODSEQ, STATUS HIGHESTMODSEQ.
func TestCondStoreTranscript(t *testing.T) {
	e := newTestEnv(t)
	threeMessages(e) // MODSEQs 2, 3, 4 on the memory store
	c := e.login()
	c.run(
		"C: a SELECT INBOX (CONDSTORE)",
		"S: * 3 EXISTS",
		"S: * 0 RECENT",
		"S: * OK [UNSEEN 1] *",
		"S: * OK [UIDVALIDITY *] *",
		"S: * OK [UIDNEXT 4] *",
		"S: * OK [HIGHESTMODSEQ 4] *",
		"S: * FLAGS *",
		"S: * OK [PERMANENTFLAGS *] *",
		"S: a OK [READ-WRITE] SELECT completed",
		"C: b FETCH 1:* (FLAGS MODSEQ)",
		"S: * 1 FETCH (FLAGS () MODSEQ (2))",
		"S: * 2 FETCH (FLAGS () MODSEQ (3))",
		"S: * 3 FETCH (FLAGS () MODSEQ (4))",
		"S: b OK FETCH completed",
		`C: c STORE 1 +FLAGS (\Seen)`,
		`S: * 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (5))`,
		"S: c OK STORE completed",
		// Message 1 changed after MODSEQ 4: left alone, reported in MODIFIED.
		`C: d STORE 1:3 (UNCHANGEDSINCE 4) +FLAGS (\Flagged)`,
		`S: * 2 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (6))`,
		`S: * 3 FETCH (UID 3 FLAGS (\Flagged) MODSEQ (6))`,
		"S: d OK [MODIFIED 1] *",
		`C: e UID STORE 2 (UNCHANGEDSINCE 0) +FLAGS (\Seen)`,
		"S: e OK [MODIFIED 2] *",
		"C: f SEARCH MODSEQ 6",
		"S: * SEARCH 2 3 (MODSEQ 6)",
		"S: f OK SEARCH completed",
		"C: g SEARCH MODSEQ 100",
		"S: * SEARCH",
		"S: g OK SEARCH completed",
		"C: h SEARCH RETURN (COUNT) MODSEQ 5",
		`S: * ESEARCH (TAG "h") COUNT 3 MODSEQ 6`,
		"S: h OK SEARCH completed",
		"C: i UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5)",
		`S: * 2 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (6))`,
		`S: * 3 FETCH (UID 3 FLAGS (\Flagged) MODSEQ (6))`,
		"S: i OK UID FETCH completed",
		`C: j STORE 1 -FLAGS.SILENT (\Seen)`,
		"S: * 1 FETCH (MODSEQ (7))",
		"S: j OK STORE completed",
		"C: k STATUS INBOX (MESSAGES HIGHESTMODSEQ)",
		"S: * STATUS INBOX (MESSAGES 3 HIGHESTMODSEQ 7)",
		"S: k OK STATUS completed",
		// Grammar errors.
		"C: l FETCH 1 (FLAGS) (CHANGEDSINCE 0)",
		"S: l BAD *",
		"C: m FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)",
		"S: m BAD *",
		"C: n STORE 1 (BOGUS 1) +FLAGS (\\Seen)",
		"S: n BAD *",
		"C: o SELECT INBOX (QRESYNC (1 1))",
		"S: o BAD *",
	)
}

// RFC 7162 §3.1: CONDSTORE is enabled by the first command that uses
// it; with a mailbox selected the server then sends HIGHESTMODSEQ, and
// from then on every unsolicited FETCH carries MODSEQ.
func TestCondStoreImplicitEnable(t *testing.T) {
	e := newTestEnv(t)
	threeMessages(e)
	a := e.selectInbox()
	b := e.selectInbox()
	b.run(`C: b1 STORE 1 +FLAGS (\Seen)`, "S: * 1 FETCH (UID 1 FLAGS (\\Seen))", "S: b1 OK *")
	a.run(
		"C: a1 NOOP",
		`S: * 1 FETCH (UID 1 FLAGS (\Seen))`,
		"S: a1 OK *",
		"C: a2 FETCH 2 (MODSEQ)",
		"S: * OK [HIGHESTMODSEQ 5] *",
		"S: * 2 FETCH (MODSEQ (3))",
		"S: a2 OK *",
	)
	b.run(`C: b2 STORE 2 +FLAGS (\Seen)`, "S: * 2 FETCH (UID 2 FLAGS (\\Seen))", "S: b2 OK *")
	a.run(
		"C: a3 NOOP",
		`S: * 2 FETCH (UID 2 FLAGS (\Seen) MODSEQ (6))`,
		"S: a3 OK *",
		"C: a4 ENABLE CONDSTORE",
		"S: * ENABLED",
		"S: a4 OK *",
	)
	c := e.login()
	c.run("C: c1 ENABLE CONDSTORE QRESYNC", "S: * ENABLED CONDSTORE QRESYNC", "S: c1 OK *")
}

// RFC 7162 §3.2: after ENABLE QRESYNC, expunges are reported with
// VANISHED, and UID FETCH (CHANGEDSINCE m VANISHED) reports the earlier
// ones.
func TestQResyncVanished(t *testing.T) {
	e := newTestEnv(t)
	threeMessages(e)
	e.appendMsg("INBOX", msg("four", "d\r\n"))
	b := e.selectInbox()
	a := e.login()
	a.run("C: a1 ENABLE QRESYNC", "S: * ENABLED QRESYNC", "S: a1 OK *")
	a.send("a2 SELECT INBOX")
	a.skipUntil("a2 OK *")
	b.run(
		`C: b1 STORE 1,3 +FLAGS.SILENT (\Deleted)`,
		"S: b1 OK *",
		"C: b2 EXPUNGE",
		"S: * 3 EXPUNGE",
		"S: * 1 EXPUNGE",
		// Without QRESYNC, no response code.
		"S: b2 OK EXPUNGE completed",
	)
	a.run(
		// Not during a non-UID FETCH (RFC 9051 §7.5.1) ...
		"C: a3 FETCH 2 (UID)",
		"S: * 2 FETCH (UID 2)",
		"S: a3 OK *",
		"C: a4 UID FETCH 1:* (UID) (CHANGEDSINCE 1 VANISHED)",
		"S: * 2 FETCH (UID 2 MODSEQ (3))",
		"S: * 4 FETCH (UID 4 MODSEQ (5))",
		"S: * VANISHED 1,3",
		"S: a4 OK *",
		"C: a5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)",
		"S: * VANISHED (EARLIER) 1,3",
		"S: * 1 FETCH (UID 2 FLAGS () MODSEQ (3))",
		"S: * 2 FETCH (UID 4 FLAGS () MODSEQ (5))",
		"S: a5 OK *",
		"C: a6 FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)",
		"S: a6 BAD *",
	)
	a.run(
		`C: a7 STORE 1 +FLAGS.SILENT (\Deleted)`,
		"S: * 1 FETCH (MODSEQ (*))",
		"S: a7 OK *",
		// RFC 7162 §3.2.10: with QRESYNC the tagged OK carries the
		// HIGHESTMODSEQ after the expunge, also when nothing was removed.
		"C: a8 EXPUNGE",
		"S: * VANISHED 2",
		"S: a8 OK [HIGHESTMODSEQ 9] *",
		"C: a9 UID EXPUNGE 1:*",
		"S: a9 OK [HIGHESTMODSEQ 9] *",
	)
}

// selectHeader is the start of the SELECT answer in TestQResyncReconnect.
var selectHeader = []string{
	"* 3 EXISTS", "* 0 RECENT", "* OK [UNSEEN 1] *", "* OK [UIDVALIDITY *] *",
	"* OK [UIDNEXT 6] *", "* OK [HIGHESTMODSEQ *] *", "* FLAGS *", "* OK [PERMANENTFLAGS *] *",
}

// The resync of the issue: a client disconnects; another session changes
// flags, expunges and appends; the first reconnects with QRESYNC and is
// told exactly VANISHED (EARLIER) and a FETCH per changed or new message,
// and nothing more. Both with and without the known UIDs, on both stores.
func TestQResyncReconnect(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		for _, known := range []string{"", " 1:4"} {
			t.Run(fmt.Sprintf("known=%q", known), func(t *testing.T) {
				e := newEnv(t)
				threeMessages(e)
				e.appendMsg("INBOX", msg("four", "d\r\n"))
				st := e.mailboxStatus("INBOX")

				other := e.selectInbox()
				other.run(
					`C: o1 STORE 2 +FLAGS.SILENT (\Flagged)`,
					"S: o1 OK *",
					`C: o2 STORE 1,3 +FLAGS.SILENT (\Deleted)`,
					"S: o2 OK *",
					"C: o3 EXPUNGE",
					"S: * 3 EXPUNGE",
					"S: * 1 EXPUNGE",
					"S: o3 OK *",
					"C: o4 APPEND INBOX {11}",
					"S: + *",
					"C: Subject: x",
					"S: * 3 EXISTS",
					"S: * 1 RECENT",
					"S: o4 OK [APPENDUID * 5] *",
				)

				c := e.login()
				c.run("C: a ENABLE QRESYNC", "S: * ENABLED QRESYNC", "S: a OK *")
				c.run(fmt.Sprintf("C: b SELECT INBOX (QRESYNC (%d %d%s))", st.UIDValidity, st.HighestModSeq, known))
				c.expect(selectHeader...)
				c.run(
					"S: * VANISHED (EARLIER) 1,3",
					`S: * 1 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (*))`,
					"S: * 3 FETCH (UID 5 FLAGS () MODSEQ (*))",
					"S: b OK [READ-WRITE] *",
					// Nothing is left over for the next command either.
					"C: c NOOP",
					"S: c OK *",
				)

				// A stale UIDVALIDITY: a plain SELECT, nothing more.
				c.run(fmt.Sprintf("C: d EXAMINE INBOX (QRESYNC (%d 1 1:10))", st.UIDValidity+1), "S: * OK [CLOSED] *")
				c.expect(selectHeader...)
				c.expect("d OK [READ-ONLY] *")
			})
		}
	})
}

func TestViewMissing(t *testing.T) {
	v := newView("INBOX", false, 1, []mailbox.UID{2, 5, 6, 9}, make([]mailbox.ModSeq, 4), 10)
	cases := []struct {
		set  string
		top  uint32
		want string
	}{
		{"1:10", 10, "1,3:4,7:8,10"},
		{"2,5:6", 10, ""},
		{"1:*", 12, "1,3:4,7:8,10:12"},
		{"7", 10, "7"},
		{"11:20", 10, ""},
	}
	for _, tc := range cases {
		s, err := ParseNumSet(tc.set)
		require.NoError(t, err)
		got := v.missing(s.Normalize(tc.top), tc.top)
		require.Equal(t, tc.want, got.String(), tc.set)
	}
}

// With QRESYNC, IDLE and MOVE report removed messages with VANISHED too.
func TestQResyncIdleAndMove(t *testing.T) {
	e := newTestEnv(t)
	threeMessages(e)
	b := e.selectInbox()
	a := e.login()
	a.run("C: a1 ENABLE QRESYNC", "S: * ENABLED QRESYNC", "S: a1 OK *")
	a.send("a2 SELECT INBOX")
	a.skipUntil("a2 OK *")
	a.run("C: a3 IDLE", "S: + *")
	b.run(`C: b1 STORE 2 +FLAGS.SILENT (\Deleted)`, "S: b1 OK *")
	a.expect(`* 2 FETCH (UID 2 FLAGS (\Deleted) MODSEQ (*))`)
	b.run("C: b2 EXPUNGE", "S: * 2 EXPUNGE", "S: b2 OK *")
	a.expect("* VANISHED 2")
	a.run(
		"C: DONE",
		"S: a3 OK *",
		"C: a4 CREATE Archive",
		"S: a4 OK *",
		"C: a5 UID MOVE 3 Archive",
		"S: * OK [COPYUID * 3 1] *",
		"S: * VANISHED 3",
		"S: a5 OK *",
	)
}
