package imap

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The story: Sara's laptop and phone both select INBOX; the laptop sets
// flags, expunges and appends; the phone, in IDLE, receives exactly the
// right untagged responses, each change promptly.
func TestIdleTwoSessions(t *testing.T) {
	storeKinds(t, testIdleTwoSessions)
}

func testIdleTwoSessions(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
	e := newEnv(t)
	for _, s := range []string{"1", "2", "3"} {
		e.appendMsg("INBOX", msg(s, "x\r\n"))
	}
	laptop := e.selectInbox()
	phone := e.selectInbox()
	phone.run("C: i1 IDLE", "S: + idling")

	start := time.Now()
	laptop.run(`C: a STORE 2 +FLAGS.SILENT (\Seen)`, "S: a OK *")
	phone.expect(`* 2 FETCH (UID 2 FLAGS (\Seen))`)
	require.Less(t, time.Since(start), 100*time.Millisecond, "flag change took too long to reach the idling session")

	laptop.run(
		`C: b STORE 1 +FLAGS.SILENT (\Deleted)`,
		"S: b OK *",
		"C: c EXPUNGE",
		"S: * 1 EXPUNGE",
		"S: c OK *",
	)
	// The FETCH of \Deleted is sent when the phone's session handled the
	// flag change before the expunge arrived; when both were queued
	// together the server rightly drops the FETCH of a message that is
	// gone. Either way the EXPUNGE comes, once.
	if got := phone.readLine(); got != "* 1 EXPUNGE" {
		require.Equal(t, `* 1 FETCH (UID 1 FLAGS (\Deleted))`, got)
		phone.expect("* 1 EXPUNGE")
	}

	laptop.run("C: d APPEND INBOX {2+}", "C: hi", "S: * 3 EXISTS", "S: * 1 RECENT", "S: d OK [APPENDUID * 4] *")
	phone.expect("* 3 EXISTS", "* 1 RECENT")

	phone.run("C: DONE", "S: i1 OK IDLE terminated")
	// Nothing was left over or sent twice.
	phone.run(
		"C: n NOOP", "S: n OK *",
		"C: f FETCH 1:* (UID FLAGS)",
		`S: * 1 FETCH (UID 2 FLAGS (\Seen))`,
		`S: * 2 FETCH (UID 3 FLAGS ())`,
		`S: * 3 FETCH (UID 4 FLAGS (\Recent))`,
		"S: f OK *",
	)
}

// A change by another session reaches a non-idling session at its next
// command, and EXPUNGE waits until a command that may carry it.
func TestUpdatesAfterCommands(t *testing.T) {
	e := newTestEnv(t)
	for _, s := range []string{"1", "2"} {
		e.appendMsg("INBOX", msg(s, "x\r\n"))
	}
	a := e.selectInbox()
	b := e.selectInbox()
	a.run(`C: a STORE 1 +FLAGS.SILENT (\Deleted)`, "S: a OK *", "C: b EXPUNGE", "S: * 1 EXPUNGE", "S: b OK *")
	e.appendMsg("INBOX", msg("3", "x\r\n"))
	b.run(
		// FETCH may not carry the EXPUNGE (RFC 9051 §7.5.1): the numbers
		// stay as b knows them.
		"C: f FETCH 2 (UID)",
		"S: * 2 FETCH (UID 2)",
		"S: * 3 EXISTS",
		"S: * 1 RECENT",
		"S: f OK *",
		"C: s SEARCH ALL",
		"S: * SEARCH 2 3",
		"S: s OK *",
		"C: n NOOP",
		"S: * 1 EXPUNGE",
		"S: n OK *",
		"C: g FETCH 1:* (UID)",
		"S: * 1 FETCH (UID 2)",
		"S: * 2 FETCH (UID 3)",
		"S: g OK *",
	)
}

func TestIdleNotSelectedAndBadDone(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run("C: i IDLE", "S: + idling", "C: NOPE", "S: i BAD *", "C: n NOOP", "S: n OK *")
}

func TestDeleteSelectedByOtherSessionSaysBye(t *testing.T) {
	e := newTestEnv(t)
	a := e.login()
	a.run("C: a CREATE Box", "S: a OK *", "C: b SELECT Box")
	a.skipUntil("b OK *")
	acct, err := e.store.Open(context.Background(), "sara")
	require.NoError(t, err)
	defer acct.Close()
	require.NoError(t, acct.Delete(context.Background(), "Box"))
	a.run("C: c NOOP", "S: * BYE *")
	a.expectClosed()
}

func TestIdleAutologout(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.ReadTimeout = 100 * time.Millisecond })
	c := e.selectInbox()
	c.run("C: i IDLE", "S: + idling", "S: * BYE *Autologout*")
	c.expectClosed()
}
