package imap

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox"
)

// withAccount calls f with sara's account, opened directly in the store:
// the "other session" of the tests below.
func (e *testEnv) withAccount(f func(ctx context.Context, acct mailbox.Account)) {
	e.t.Helper()
	ctx := context.Background()
	acct, err := e.store.Open(ctx, "sara")
	require.NoError(e.t, err)
	defer acct.Close()
	f(ctx, acct)
}

func (e *testEnv) createMailboxes(names ...string) {
	e.t.Helper()
	e.withAccount(func(ctx context.Context, acct mailbox.Account) {
		for _, n := range names {
			require.NoError(e.t, acct.Create(ctx, n, nil))
		}
	})
}

// expectQuiet checks that nothing arrives for a short while.
func (c *client) expectQuiet() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	line, err := c.br.ReadString('\n')
	require.Error(c.t, err, "unexpected response %q", line)
	c.nc.SetReadDeadline(time.Time{})
}

// expectSet sends NOOP and reads the lines up to its OK: each pattern
// must match one of them, and every line one of the patterns (repeats
// allowed).
func (c *client) expectSet(patterns ...string) {
	c.t.Helper()
	c.send("sync NOOP")
	seen := make([]bool, len(patterns))
	left := len(patterns)
	for {
		got := c.readLine()
		if strings.HasPrefix(got, "sync ") {
			require.Zero(c.t, left, "responses missing before %q", got)
			return
		}
		ok := false
		for i, p := range patterns {
			if matchPattern(p, got) {
				ok = true
				if !seen[i] {
					seen[i] = true
					left--
				}
			}
		}
		require.True(c.t, ok, "unexpected response %q", got)
	}
}

func TestNotifyCapability(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run("C: a CAPABILITY", "S: * CAPABILITY * NOTIFY*", "S: a OK *")
	// MaxNotifyQueue < 0: not offered.
	e = newTestEnv(t, func(s *Server) { s.MaxNotifyQueue = -1 })
	c = e.login()
	c.send("a CAPABILITY")
	require.NotContains(t, c.readLine(), "NOTIFY")
	c.run("S: a OK *", "C: b NOTIFY SET (personal (MailboxName))", "S: b BAD *", "C: c NOOP", "S: c OK *")
}

// RFC 5465 §3.1's example, on both stores. (The RFC's groups say
// "(subtree Lists MessageNew)", which its own §5 makes a BAD: MessageNew
// needs MessageExpunge: BAD. The example is then run with both; its
// events without parentheses, as the RFC writes them, are accepted.)
func TestNotifyRFCExample(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		e := newEnv(t)
		e.createMailboxes("Lists/Lemonade", "Lists/Im2000", "misc")
		e.appendMsg("Lists/Lemonade", msg("old", "x\r\n"), mailbox.FlagSeen)
		c := e.login()
		c.run(
			"C: b notify set status (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge) (subtree Lists MessageNew)",
			"S: b BAD *MessageExpunge*",
			"C: b notify set status (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge) (subtree Lists MessageNew MessageExpunge)",
			"S: * STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY * UNSEEN 0)",
			"S: * STATUS Lists/Im2000 (MESSAGES 0 UIDNEXT 1 UIDVALIDITY * UNSEEN 0)",
			"S: * STATUS Lists/Lemonade (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 0)",
			"S: b OK NOTIFY completed",
			"C: c select inbox",
		)
		c.skipUntil("c OK *")
		// A message delivered to Lists/Lemonade: STATUS, with no command
		// in progress.
		e.appendMsg("Lists/Lemonade", msg("new", "x\r\n"))
		c.expect("* STATUS Lists/Lemonade (MESSAGES 2 UIDNEXT 3 UIDVALIDITY * UNSEEN 1)")
		// One delivered to INBOX: EXISTS, then FETCH with the attributes.
		e.appendMsg("INBOX", "Subject: Re: good morning\r\nFrom: alice@example.org\r\nTo: bob@example.org\r\nCc: x@example.org\r\n\r\nhi\r\n")
		c.expect(
			"* 1 EXISTS",
			"* 1 RECENT",
			"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (from to subject)] {75}Subject: Re: good morning\r\nFrom: alice@example.org\r\nTo: bob@example.org\r\n\r\n)",
		)
		// misc is added without STATUS; its changes are then reported.
		c.run(
			"C: d STATUS misc (UIDVALIDITY UIDNEXT MESSAGES)",
			"S: * STATUS misc (UIDVALIDITY * UIDNEXT 1 MESSAGES 0)",
			"S: d OK *",
			"C: e notify set (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge) (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))",
			"S: e OK NOTIFY completed",
		)
		e.appendMsg("misc", msg("m", "x\r\n"))
		c.expect("* STATUS misc (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 1)")
		c.run("C: f NOOP", "S: f OK *")
	})
}

// Each event type on another mailbox, made by another session.
func TestNotifyOtherMailboxEvents(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		e := newEnv(t)
		e.createMailboxes("work")
		other := e.login()
		c := e.login()
		c.run("C: a NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))", "S: a OK *")

		other.run("C: o1 APPEND work {2+}", "C: hi", "S: o1 OK *")
		c.expect("* STATUS work (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 1)")
		other.run(`C: o2 SELECT work`)
		other.skipUntil("o2 OK *")
		other.run(`C: o3 STORE 1 +FLAGS (\Seen)`, "S: * 1 FETCH *", "S: o3 OK *")
		c.expect("* STATUS work (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 0)")
		other.run(`C: o4 STORE 1 +FLAGS.SILENT (\Deleted)`, "S: o4 OK *")
		c.expect("* STATUS work (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 0)")
		other.run("C: o5 EXPUNGE", "S: * 1 EXPUNGE", "S: o5 OK *", "C: o6 CLOSE", "S: o6 OK *")
		c.expect("* STATUS work (MESSAGES 0 UIDNEXT 2 UIDVALIDITY * UNSEEN 0)")

		// MailboxName: create (the mailbox and its parent), rename
		// (OLDNAME), delete (\NonExistent).
		other.run("C: o7 CREATE work/2024", "S: o7 OK *")
		c.expect(`* LIST (\HasNoChildren) "/" work/2024`, `* LIST (\HasChildren) "/" work`)
		other.run("C: o8 RENAME work/2024 work/old", "S: o8 OK *")
		c.expect(`* LIST (\HasNoChildren) "/" work/old ("OLDNAME" (work/2024))`)
		other.run("C: o9 DELETE work/old", "S: o9 OK *")
		c.expect(`* LIST (\NonExistent) "/" work/old`, `* LIST (\HasNoChildren) "/" work`)

		// SubscriptionChange: \Subscribed if and only if subscribed.
		other.run("C: p1 SUBSCRIBE work", "S: p1 OK *")
		c.expect(`* LIST (\HasNoChildren \Subscribed) "/" work`)
		other.run("C: p2 UNSUBSCRIBE work", "S: p2 OK *")
		c.expect(`* LIST (\HasNoChildren) "/" work`)

		// With CONDSTORE enabled, STATUS carries HIGHESTMODSEQ.
		c.run("C: b ENABLE CONDSTORE", "S: * ENABLED CONDSTORE", "S: b OK *")
		e.appendMsg("work", msg("2", "x\r\n"))
		c.expect("* STATUS work (MESSAGES 1 UIDNEXT 3 UIDVALIDITY * UNSEEN 1 HIGHESTMODSEQ *)")
		c.run("C: n NOOP", "S: n OK *")
	})
}

// The session's own changes are not reported back (RFC 5465 §5), and a
// rename reports the mailbox, not its children (§5.4).
func TestNotifyOwnChangesAndRenamedChildren(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run(
		"C: a NOTIFY SET (personal (MailboxName SubscriptionChange))", "S: a OK *",
		"C: b CREATE x/y/z", "S: b OK *",
		"C: c SUBSCRIBE x", "S: c OK *",
		"C: d RENAME x q", "S: d OK *",
		"C: e DELETE q/y/z", "S: e OK *",
	)
	c.expectQuiet()
	e.createMailboxes("m/n/o")
	// Three creations: each mailbox and its parent are listed, in as many
	// batches as the session happened to send.
	c.expectSet(`* LIST (\HasChildren) "/" m`, `* LIST (\HasChildren) "/" m/n`, `* LIST (\HasNoChildren) "/" m/n/o`)
	e.withAccount(func(ctx context.Context, acct mailbox.Account) {
		require.NoError(t, acct.Rename(ctx, "m", "r"))
	})
	c.expect(`* LIST (\HasChildren) "/" r ("OLDNAME" (m))`)
	c.run("C: f NOOP", "S: f OK *")
}

// SELECTED: the selected mailbox's changes arrive with no command in
// progress, expunges included; VANISHED with QRESYNC.
func TestNotifySelected(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		e := newEnv(t)
		for _, s := range []string{"1", "2", "3"} {
			e.appendMsg("INBOX", msg(s, "x\r\n"))
		}
		c := e.selectInbox()
		other := e.selectInbox()
		c.run("C: a NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))", "S: a OK *")
		other.run(`C: o1 STORE 2 +FLAGS.SILENT (\Flagged)`, "S: o1 OK *")
		c.expect(`* 2 FETCH (UID 2 FLAGS (\Flagged))`)
		other.run(`C: o2 STORE 1 +FLAGS.SILENT (\Deleted)`, "S: o2 OK *", "C: o3 EXPUNGE", "S: * 1 EXPUNGE", "S: o3 OK *")
		if got := c.readLine(); got != "* 1 EXPUNGE" {
			require.Equal(t, `* 1 FETCH (UID 1 FLAGS (\Deleted))`, got)
			c.expect("* 1 EXPUNGE")
		}
		other.run("C: o4 APPEND INBOX {2+}", "C: hi", "S: * 3 EXISTS", "S: * 1 RECENT", "S: o4 OK *")
		c.expect("* 3 EXISTS", "* 1 RECENT", `* 3 FETCH (UID 4 FLAGS (\Recent))`)
		// The session's own APPEND: EXISTS, no FETCH (§5.2).
		c.run("C: b APPEND INBOX {2+}", "C: hi", "S: * 4 EXISTS", "S: * 2 RECENT", "S: b OK *")
		c.run("C: f UID FETCH 1:* (UID)", "S: * 1 FETCH (UID 2)", "S: * 2 FETCH (UID 3)", "S: * 3 FETCH (UID 4)", "S: * 4 FETCH (UID 5)", "S: f OK *")

		c.run("C: q ENABLE QRESYNC")
		c.skipUntil("q OK *")
		c.send("s SELECT INBOX")
		c.skipUntil("s OK *")
		other.run(`C: o5 UID STORE 2 +FLAGS.SILENT (\Deleted)`)
		other.skipUntil("o5 OK *")
		other.run("C: o6 UID EXPUNGE 2", "S: * 1 EXPUNGE", "S: o6 OK *")
		if got := c.readLine(); got != "* VANISHED 2" {
			require.Regexp(t, `^\* 1 FETCH \(UID 2 FLAGS \(\\Deleted \\Flagged\) MODSEQ \(\d+\)\)$`, got)
			c.expect("* VANISHED 2")
		}
	})
}

// SELECTED-DELAYED: new messages and flag changes may come at once, an
// expunge waits for a command that allows it (RFC 5465 §6.1.2).
func TestNotifySelectedDelayed(t *testing.T) {
	e := newTestEnv(t)
	for _, s := range []string{"1", "2"} {
		e.appendMsg("INBOX", msg(s, "x\r\n"))
	}
	c := e.selectInbox()
	c.run("C: a NOTIFY SET (selected-delayed (MessageNew MessageExpunge))", "S: a OK *")
	e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
		_, err := mb.Expunge(ctx, []mailbox.UID{1})
		require.NoError(t, err)
	})
	e.appendMsg("INBOX", msg("3", "x\r\n"))
	c.expect("* 3 EXISTS", "* 1 RECENT")
	c.expectQuiet()
	// FETCH may not carry it; NOOP does.
	c.run("C: f FETCH 2 (UID)", "S: * 2 FETCH (UID 2)", "S: f OK *", "C: n NOOP", "S: * 1 EXPUNGE", "S: n OK *")
	// No FlagChange asked: flag changes are not reported for the
	// selected mailbox.
	e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
		_, err := mb.SetFlags(ctx, []mailbox.UID{2}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
		require.NoError(t, err)
	})
	c.run("C: m NOOP", "S: m OK *")
}

// IDLE sends what NOTIFY asks for (RFC 5465 §4).
func TestNotifyDuringIdle(t *testing.T) {
	e := newTestEnv(t)
	e.createMailboxes("news")
	c := e.selectInbox()
	c.run("C: a NOTIFY SET (mailboxes news (MessageNew MessageExpunge))", "S: a OK *", "C: i IDLE", "S: + idling")
	e.appendMsg("news", msg("n", "x\r\n"))
	c.expect("* STATUS news (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 1)")
	c.run("C: DONE", "S: i OK *")
}

// NOTIFY NONE stops the notifications; unrequested mailboxes and events
// say nothing.
func TestNotifyNoneAndFilters(t *testing.T) {
	e := newTestEnv(t)
	e.createMailboxes("a", "b", "sub/one", "subs")
	e.withAccount(func(ctx context.Context, acct mailbox.Account) {
		require.NoError(t, acct.SetSubscribed(ctx, "b", true))
	})
	c := e.login()
	c.run(
		"C: a NOTIFY SET STATUS (subtree sub (MessageNew MessageExpunge)) (subscribed (MessageNew MessageExpunge)) (mailboxes (a nosuch) NONE)",
		"S: * STATUS b (MESSAGES 0 UIDNEXT 1 UIDVALIDITY * UNSEEN 0)",
		"S: * STATUS sub (MESSAGES 0 UIDNEXT 1 UIDVALIDITY * UNSEEN 0)",
		"S: * STATUS sub/one (MESSAGES 0 UIDNEXT 1 UIDVALIDITY * UNSEEN 0)",
		"S: a OK *",
	)
	e.appendMsg("a", msg("a", "x\r\n"))    // NONE
	e.appendMsg("subs", msg("s", "x\r\n")) // not under "sub"
	e.appendMsg("sub/one", msg("o", "x\r\n"))
	c.expect("* STATUS sub/one (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 1)")
	e.appendMsg("b", msg("b", "x\r\n"))
	c.expect("* STATUS b (MESSAGES 1 UIDNEXT 2 UIDVALIDITY * UNSEEN 1)")
	// Subscribing re-evaluates SUBSCRIBED (§6.4).
	e.withAccount(func(ctx context.Context, acct mailbox.Account) {
		require.NoError(t, acct.SetSubscribed(ctx, "a", true))
	})
	e.appendMsg("a", msg("a2", "x\r\n"))
	c.expect("* STATUS a (MESSAGES 2 UIDNEXT 3 UIDVALIDITY * UNSEEN 2)")
	c.run("C: n NOTIFY NONE", "S: n OK *")
	e.appendMsg("sub/one", msg("o2", "x\r\n"))
	c.expectQuiet()
	c.run("C: m NOOP", "S: m OK *")
}

// The RFC's rules on invalid requests, and the events not supported.
func TestNotifyInvalid(t *testing.T) {
	e := newTestEnv(t)
	c := e.selectInbox()
	for _, tc := range []struct{ cmd, resp string }{
		{"NOTIFY", "BAD *"},
		{"NOTIFY SET", "BAD *"},
		{"NOTIFY FOO", "BAD *"},
		{"NOTIFY SET STATUS", "BAD *"},
		{"NOTIFY SET (selected)", "BAD *"},
		{"NOTIFY SET (selected ())", "BAD *"},
		{"NOTIFY SET (nowhere (MessageNew MessageExpunge))", "BAD *"},
		{"NOTIFY SET (subtree (MessageNew MessageExpunge))", "BAD *"},
		{"NOTIFY SET (selected (MessageNew MessageExpunge)) junk", "BAD *"},
		{"NOTIFY NONE extra", "BAD *"},
		// §5: MessageNew and MessageExpunge together; FlagChange and
		// AnnotationChange need both.
		{"NOTIFY SET (selected (MessageNew))", "BAD *MessageExpunge*"},
		{"NOTIFY SET (personal (MessageExpunge))", "BAD *MessageExpunge*"},
		{"NOTIFY SET (personal (FlagChange))", "BAD *FlagChange*"},
		{"NOTIFY SET (selected (MessageNew MessageExpunge AnnotationChange)) (personal (AnnotationChange MessageNew))", "BAD *"},
		// §6.1: one selected specifier, message events only.
		{"NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))", "BAD *SELECTED*"},
		{"NOTIFY SET (selected (MailboxName))", "BAD *message events*"},
		// §8: fetch attributes only for the selected mailbox.
		{"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))", "BAD *fetch attributes*"},
		{"NOTIFY SET (selected (MessageNew (UID) MessageNew (FLAGS) MessageExpunge))", "BAD *"},
		{"NOTIFY SET (selected (MessageNew (NOSUCH) MessageExpunge))", "BAD *"},
		{"NOTIFY SET (selected (MessageNew (EMAILID) MessageExpunge))", "NO [CANNOT] *"},
		// Unsupported events: NO [BADEVENT] with the supported ones (§3.1).
		{"NOTIFY SET (selected (MessageNew MessageExpunge AnnotationChange))", "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] *"},
		{"NOTIFY SET (personal (MailboxMetadataChange))", "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] *"},
		{"NOTIFY SET (personal (ServerMetadataChange))", "NO [BADEVENT *"},
		{"NOTIFY SET (personal (SomethingNew))", "NO [BADEVENT *"},
	} {
		c.send("t " + tc.cmd)
		c.expect("t " + tc.resp)
	}
	// A failed NOTIFY leaves nothing in effect.
	e.appendMsg("INBOX", msg("x", "x\r\n"))
	c.expectQuiet()
	c.run("C: n NOOP", "S: * 1 EXISTS", "S: * 1 RECENT", "S: n OK *")
	c.run("C: l LOGOUT", "S: * BYE *", "S: l OK *")
	// Not before authentication.
	d := e.dial()
	d.run("C: a NOTIFY NONE", "S: a BAD *")
}

// The limits on one NOTIFY, crossed: NO [NOTIFICATIONOVERFLOW].
func TestNotifyLimits(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxLineLength = 64 << 10 })
	c := e.login()
	names := make([]string, maxNotifyMailboxes)
	for i := range names {
		names[i] = fmt.Sprintf("m%d", i)
	}
	c.run("C: a NOTIFY SET (mailboxes ("+strings.Join(names, " ")+") (MessageNew MessageExpunge))", "S: a OK *")
	c.run("C: b NOTIFY SET (mailboxes ("+strings.Join(names, " ")+" one-more) (MessageNew MessageExpunge))", "S: b NO [NOTIFICATIONOVERFLOW] *")
	groups := strings.Repeat(" (personal (MailboxName))", maxNotifyGroups)
	c.run("C: c NOTIFY SET"+groups, "S: c OK *")
	c.run("C: d NOTIFY SET"+groups+" (personal (MailboxName))", "S: d NO [NOTIFICATIONOVERFLOW] *")
	atts := strings.TrimSpace(strings.Repeat(" UID", maxNotifyFetchAtts))
	c.run("C: e NOTIFY SET (selected (MessageNew ("+atts+") MessageExpunge))", "S: e OK *")
	c.run("C: f NOTIFY SET (selected (MessageNew ("+atts+" UID) MessageExpunge))", "S: f NO [NOTIFICATIONOVERFLOW] *")
}

// Past MaxNotifyQueue pending notifications the session is told
// NOTIFICATIONOVERFLOW and NOTIFY is off; the publisher never waits.
func TestNotifyOverflow(t *testing.T) {
	const limit = 4
	e := newTestEnv(t, func(s *Server) { s.MaxNotifyQueue = limit })
	c := e.login()
	c.run("C: a NOTIFY SET (personal (MailboxName))", "S: a OK *")
	// Keep the session busy inside a command (waiting for a literal)
	// while another session creates more mailboxes than the queue holds.
	c.send("b APPEND INBOX {2}")
	c.expect("+ *")
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.withAccount(func(ctx context.Context, acct mailbox.Account) {
			for i := range 2 * limit {
				require.NoError(t, acct.Create(ctx, fmt.Sprintf("box%d", i), nil))
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the store's publisher was blocked by a busy session")
	}
	c.send("hi")
	c.expect("* OK [NOTIFICATIONOVERFLOW] *", "b OK *")
	// NOTIFY is now off, as after NOTIFY NONE.
	e.createMailboxes("later")
	c.expectQuiet()
	c.run("C: n NOOP", "S: n OK *")
	// A new NOTIFY SET turns it back on.
	c.run("C: s NOTIFY SET (personal (MailboxName))", "S: s OK *")
	e.createMailboxes("again")
	c.expect(`* LIST (\HasNoChildren) "/" again`)
}

// A session with NOTIFY waiting for a command holds a helper goroutine;
// closing the connection releases it, the session and its watch.
func TestNotifyTeardownNoLeak(t *testing.T) {
	e := newTestEnv(t)
	e.createMailboxes("w")
	runtime.GC()
	before := runtime.NumGoroutine()
	for range 5 {
		c := e.login()
		c.run("C: a NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))", "S: a OK *")
		e.appendMsg("w", msg("w", "x\r\n"))
		c.expect("* STATUS w *")
		c.nc.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left after the NOTIFY sessions closed")
	// The watches are gone too: publishing reaches no closed session.
	e.appendMsg("w", msg("w2", "x\r\n"))
}

// Shutdown reaches a session waiting with NOTIFY in effect.
func TestNotifyShutdown(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run("C: a NOTIFY SET (personal (MailboxName))", "S: a OK *")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go e.srv.Shutdown(ctx)
	c.expect("* BYE *")
	c.expectClosed()
}

// Python's imaplib sends NOTIFY raw and reads the unsolicited STATUS that
// another session's APPEND causes.
func TestInteropPythonNotify(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		py := testpeer.Require(t, "python3", "python3")
		e := newEnv(t)
		e.createMailboxes("news")
		e.appendMsg("news", msg("first", "x\r\n"))
		host, port := e.hostPort()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, py, "testdata/notify_interop.py", host, port, "sara", "secret").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "notify interop OK")
	})
}

// Once NOTIFY is used without SELECTED (or with NONE), the selected
// mailbox is a snapshot (RFC 5465 §3.1, §5): other sessions' changes,
// and the session's own APPEND, wait; the results of its own EXPUNGE and
// STORE still come. Asking for the selected mailbox releases the rest.
func TestNotifySnapshot(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		e := newEnv(t)
		for _, s := range []string{"1", "2", "3"} {
			e.appendMsg("INBOX", msg(s, "x\r\n"))
		}
		c := e.selectInbox()
		c.run("C: a NOTIFY SET (personal (MailboxName))", "S: a OK *")
		e.appendMsg("INBOX", msg("4", "x\r\n"))
		e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
			_, err := mb.SetFlags(ctx, []mailbox.UID{2}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0)
			require.NoError(t, err)
			_, err = mb.Expunge(ctx, []mailbox.UID{3})
			require.NoError(t, err)
		})
		c.run(
			"C: n NOOP", "S: n OK *",
			"C: i IDLE", "S: + idling", "C: DONE", "S: i OK *",
			// The numbers are the ones the client knows; message 3 is
			// gone from the store, so FETCH says nothing of it.
			"C: f FETCH 1:* (UID)", "S: * 1 FETCH (UID 1)", "S: * 2 FETCH (UID 2)", "S: f OK *",
			`C: s STORE 1 +FLAGS (\Deleted)`, `S: * 1 FETCH (UID 1 FLAGS (\Deleted))`, "S: s OK *",
			"C: x EXPUNGE", "S: * 1 EXPUNGE", "S: x OK *",
			"C: p APPEND INBOX {2+}", "C: hi", "S: p OK [APPENDUID * 5] *",
			"C: r NOTIFY SET (selected (MessageNew (UID) MessageExpunge FlagChange))",
			"S: * 2 EXPUNGE",
			"S: * 3 EXISTS",
			"S: * 2 RECENT",
			`S: * 1 FETCH (UID 2 FLAGS (\Flagged))`,
			"S: * 2 FETCH (UID 4)", // not 5: the session's own APPEND
			"S: r OK *",
			"C: g UID FETCH 1:* (UID)", "S: * 1 FETCH (UID 2)", "S: * 2 FETCH (UID 4)", "S: * 3 FETCH (UID 5)", "S: g OK *",
			"C: z NOTIFY NONE", "S: z OK *",
		)
		e.appendMsg("INBOX", msg("6", "x\r\n"))
		c.expectQuiet()
		c.run("C: m NOOP", "S: m OK *")
		// NOTIFY SET is an implicit NOOP (§3.1): what accumulated goes out,
		// though the new request leaves the selected mailbox out again.
		c.run("C: y NOTIFY SET (personal (MailboxName))", "S: * 4 EXISTS", "S: * 3 RECENT", "S: y OK *")
		e.appendMsg("INBOX", msg("7", "x\r\n"))
		c.run("C: w NOOP", "S: w OK *")
	})
}

// While another session keeps changing things, a NOTIFY session running
// FETCHes of whole messages gets only whole, well-formed responses:
// notifications never land inside another response.
func TestNotifyNoInterleaving(t *testing.T) {
	e := newTestEnv(t)
	e.createMailboxes("other")
	for _, s := range []string{"1", "2", "3"} {
		e.appendMsg("INBOX", msg(s, strings.Repeat("body line\r\n", 200)))
	}
	c := e.selectInbox()
	c.run("C: a NOTIFY SET (selected (MessageNew (UID BODY.PEEK[]) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))", "S: a OK *")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.withAccount(func(ctx context.Context, acct mailbox.Account) {
			for i := 0; i < 200; i++ {
				select {
				case <-stop:
					return
				default:
				}
				for _, name := range []string{"INBOX", "other"} {
					mb, err := acct.Mailbox(ctx, name)
					if err != nil {
						t.Error(err)
						return
					}
					uid, err := mb.Append(ctx, strings.NewReader(msg(fmt.Sprint(i), "x\r\n")), nil)
					if err == nil {
						_, err = mb.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
					}
					if err == nil && i%2 == 0 {
						_, err = mb.Expunge(ctx, []mailbox.UID{uid})
					}
					mb.Close()
					if err != nil {
						t.Error(err)
						return
					}
				}
				if err := acct.Create(ctx, fmt.Sprintf("tmp%d", i), nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}()
	unsolicited := 0
	check := func(tag string) {
		for {
			line := c.readLine()
			if strings.HasPrefix(line, tag+" ") {
				// A message the other session expunged during the FETCH
				// is left out: NO [EXPUNGEISSUED] (RFC 2180 §4.1.3).
				require.True(t, strings.HasPrefix(line, tag+" OK ") ||
					strings.HasPrefix(line, tag+" NO [EXPUNGEISSUED] "), line)
				return
			}
			require.Regexp(t, `(?s)^\* (\d+ (EXISTS|RECENT|EXPUNGE|FETCH \(.*\))|STATUS \S+ \(.*\)|LIST \(.*\) "/" \S+|FLAGS \(.*\)|OK \[.*)$`, line)
			unsolicited++
		}
	}
	for i := 0; i < 40; i++ {
		tag := fmt.Sprintf("f%d", i)
		c.send(tag + " UID FETCH 1:* (UID FLAGS BODY.PEEK[])")
		check(tag)
	}
	close(stop)
	<-done
	c.send("n NOOP")
	check("n")
	require.Positive(t, unsolicited)
}
