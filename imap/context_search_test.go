package imap

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox"
)

// sizedMsg is a message whose size grows with n.
func sizedMsg(n int) string {
	return msg(fmt.Sprintf("m%d", n), strings.Repeat("x", n)+"\r\n")
}

// RFC 9394 PARTIAL for SEARCH: windows from the start and from the end,
// with COUNT and MIN/MAX over the whole result, SAVE keeping the window,
// and the grammar's errors.
func TestSearchPartial(t *testing.T) {
	e := newTestEnv(t)
	for i := 1; i <= 10; i++ {
		var flags []mailbox.Flag
		if i%3 == 0 {
			flags = append(flags, mailbox.FlagSeen)
		}
		e.appendMsg("INBOX", sizedMsg(i), flags...)
	}
	c := e.selectInbox()
	c.run(
		"C: a UID SEARCH RETURN (PARTIAL 1:3) ALL",
		`S: * ESEARCH (TAG "a") UID PARTIAL (1:3 1:3)`,
		"S: a OK *",
		"C: b SEARCH RETURN (PARTIAL -1:-3) ALL",
		`S: * ESEARCH (TAG "b") PARTIAL (-1:-3 8:10)`,
		"S: b OK *",
		"C: c SEARCH RETURN (PARTIAL 3:1) ALL",
		`S: * ESEARCH (TAG "c") PARTIAL (1:3 1:3)`,
		"S: c OK *",
		"C: d SEARCH RETURN (PARTIAL 9:20 COUNT) ALL",
		`S: * ESEARCH (TAG "d") PARTIAL (9:20 9:10) COUNT 10`,
		"S: d OK *",
		"C: e SEARCH RETURN (PARTIAL 11:20) ALL",
		`S: * ESEARCH (TAG "e") PARTIAL (11:20 NIL)`,
		"S: e OK *",
		"C: f UID SEARCH RETURN (MIN MAX PARTIAL -3:-2) UNSEEN",
		`S: * ESEARCH (TAG "f") UID MIN 1 MAX 10 PARTIAL (-2:-3 7:8)`,
		"S: f OK *",
		"C: g SEARCH RETURN (PARTIAL -5:-20) SEEN",
		`S: * ESEARCH (TAG "g") PARTIAL (-5:-20 NIL)`,
		"S: g OK *",
		"C: h SEARCH RETURN (PARTIAL -2:-20) SEEN",
		`S: * ESEARCH (TAG "h") PARTIAL (-2:-20 3,6)`,
		"S: h OK *",
		// RFC 5267 §4.2: CONTEXT is a hint and changes nothing.
		"C: i SEARCH RETURN (CONTEXT COUNT) ALL",
		`S: * ESEARCH (TAG "i") COUNT 10`,
		"S: i OK *",
		// SAVE with PARTIAL keeps what PARTIAL reports (RFC 9394 §3.2).
		"C: j SEARCH RETURN (SAVE PARTIAL 2:3) UNSEEN",
		`S: * ESEARCH (TAG "j") PARTIAL (2:3 2,4)`,
		"S: j OK *",
		"C: k UID SEARCH RETURN (ALL) $",
		`S: * ESEARCH (TAG "k") UID ALL 2,4`,
		"S: k OK *",
		// SAVE with MIN keeps only the minimum (RFC 5182 §2.4).
		"C: l SEARCH RETURN (SAVE MIN) SEEN",
		`S: * ESEARCH (TAG "l") MIN 3`,
		"S: l OK *",
		"C: m SEARCH RETURN (COUNT) $",
		`S: * ESEARCH (TAG "m") COUNT 1`,
		"S: m OK *",
	)
	for i, bad := range []string{
		"RETURN (PARTIAL 1) ALL",
		"RETURN (PARTIAL 1:*) ALL",
		"RETURN (PARTIAL *:1) ALL",
		"RETURN (PARTIAL 0:2) ALL",
		"RETURN (PARTIAL -1:2) ALL",
		"RETURN (PARTIAL 1:-2) ALL",
		"RETURN (ALL PARTIAL 1:2) ALL",
		"RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL",
		"RETURN (PARTIAL 1:4294967296) ALL",
	} {
		tag := fmt.Sprintf("x%d", i)
		c.run("C: "+tag+" SEARCH "+bad, "S: "+tag+" BAD *")
	}
}

// RFC 9394 PARTIAL and RFC 5267 ESORT for SORT: the window is taken from
// the sort order, and ALL keeps that order.
func TestSortPartial(t *testing.T) {
	e := newTestEnv(t)
	for _, n := range []int{30, 10, 50, 20, 40} {
		e.appendMsg("INBOX", sizedMsg(n))
	}
	c := e.selectInbox()
	c.run(
		"C: a SORT RETURN (ALL) (SIZE) UTF-8 ALL",
		`S: * ESEARCH (TAG "a") ALL 2,4,1,5,3`,
		"S: a OK *",
		"C: b SORT RETURN (PARTIAL 2:4) (SIZE) UTF-8 ALL",
		`S: * ESEARCH (TAG "b") PARTIAL (2:4 4,1,5)`,
		"S: b OK *",
		"C: c UID SORT RETURN (PARTIAL -1:-2 MIN MAX COUNT) (REVERSE SIZE) UTF-8 ALL",
		`S: * ESEARCH (TAG "c") UID MIN 3 MAX 2 PARTIAL (-1:-2 4,2) COUNT 5`,
		"S: c OK *",
		"C: d SORT RETURN (PARTIAL 6:9) (SIZE) UTF-8 ALL",
		`S: * ESEARCH (TAG "d") PARTIAL (6:9 NIL)`,
		"S: d OK *",
		"C: e SORT RETURN (ALL PARTIAL 1:2) (SIZE) UTF-8 ALL",
		"S: e BAD *",
		"C: f SORT RETURN (PARTIAL 0:2) (SIZE) UTF-8 ALL",
		"S: f BAD *",
	)
}

// RFC 5267 §4.3: a SEARCH with UPDATE, and another session changing the
// mailbox: a flag change, an append and an expunge each arrive as exactly
// one ESEARCH update, REMOVEFROM before the EXPUNGE, ADDTO after EXISTS.
func TestContextUpdateTwoSessions(t *testing.T) {
	storeKinds(t, testContextUpdateTwoSessions)
}

func testContextUpdateTwoSessions(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
	e := newEnv(t)
	for i := 1; i <= 4; i++ {
		e.appendMsg("INBOX", sizedMsg(i))
	}
	a := e.selectInbox()
	b := e.selectInbox()
	a.run(
		"C: u UID SEARCH RETURN (UPDATE) UNSEEN",
		`S: * ESEARCH (TAG "u") UID ALL 1:4`,
		"S: u OK *",
		"C: v SEARCH RETURN (UPDATE COUNT) UNSEEN",
		`S: * ESEARCH (TAG "v") COUNT 4`,
		"S: v OK *",
	)
	b.run("C: s1 STORE 2 +FLAGS (\\Seen)", `S: * 2 FETCH (*FLAGS (\Seen))`, "S: s1 OK *")
	a.run(
		"C: n1 NOOP",
		`S: * 2 FETCH (UID 2 FLAGS (\Seen))`,
		`S: * ESEARCH (TAG "u") UID REMOVEFROM (0 2)`,
		`S: * ESEARCH (TAG "v") REMOVEFROM (0 2)`,
		"S: n1 OK *",
	)
	b.run("C: s2 APPEND INBOX {5+}", "C: hello")
	b.skipUntil("s2 OK [APPENDUID * 5] *")
	a.run(
		"C: n2 NOOP",
		"S: * 5 EXISTS",
		"S: * 1 RECENT",
		`S: * ESEARCH (TAG "u") UID ADDTO (0 5)`,
		`S: * ESEARCH (TAG "v") ADDTO (0 5)`,
		"S: n2 OK *",
	)
	b.run(
		"C: s3 STORE 3 +FLAGS.SILENT (\\Deleted)", "S: s3 OK *",
		"C: s4 EXPUNGE", "S: * 3 EXPUNGE", "S: s4 OK *",
	)
	a.run(
		"C: n3 NOOP",
		`S: * ESEARCH (TAG "u") UID REMOVEFROM (0 3)`,
		`S: * ESEARCH (TAG "v") REMOVEFROM (0 3)`,
		"S: * 3 EXPUNGE",
		"S: n3 OK *",
		// The session's own STORE re-evaluates too; a change that keeps
		// the result as it is says nothing.
		"C: s5 STORE 1 +FLAGS.SILENT (\\Flagged)",
		"S: s5 OK *",
		"C: s6 UID STORE 4 +FLAGS.SILENT (\\Seen)",
		`S: * ESEARCH (TAG "u") UID REMOVEFROM (0 4)`,
		`S: * ESEARCH (TAG "v") REMOVEFROM (0 3)`,
		"S: s6 OK *",
		// CANCELUPDATE ends one context; the other goes on.
		`C: c1 CANCELUPDATE "v"`,
		"S: c1 OK *",
		"C: s7 STORE 1:4 -FLAGS.SILENT (\\Seen)",
		`S: * ESEARCH (TAG "u") UID ADDTO (0 2,4)`,
		"S: s7 OK *",
		`C: c2 CANCELUPDATE "v"`,
		"S: c2 BAD *",
		`C: c3 CANCELUPDATE "u"`,
		"S: c3 OK *",
		"C: s8 STORE 1 +FLAGS.SILENT (\\Seen)",
		"S: s8 OK *",
	)
}

// Sequence-number contexts and expunge timing: an expunge the client may
// not hear of yet (during FETCH) leaves the result at once, with the
// number still valid; the EXPUNGE follows later.
func TestContextUpdateExpungeTiming(t *testing.T) {
	e := newTestEnv(t)
	for i := 1; i <= 3; i++ {
		e.appendMsg("INBOX", sizedMsg(i))
	}
	c := e.selectInbox()
	c.run(
		"C: u SEARCH RETURN (UPDATE) ALL",
		`S: * ESEARCH (TAG "u") ALL 1:3`,
		"S: u OK *",
	)
	e.withMailbox("INBOX", func(ctx context.Context, mb mailbox.Mailbox) {
		_, err := mb.Expunge(ctx, []mailbox.UID{2})
		require.NoError(t, err)
	})
	c.run(
		"C: f FETCH 1 UID",
		"S: * 1 FETCH (UID 1)",
		`S: * ESEARCH (TAG "u") REMOVEFROM (0 2)`,
		"S: f OK *",
		"C: n NOOP",
		"S: * 2 EXPUNGE",
		"S: n OK *",
	)
}

// CONTEXT=SORT: ADDTO and REMOVEFROM carry the positions in the sort
// order, applied one after the other (RFC 5267 §4.3.2).
func TestContextUpdateSort(t *testing.T) {
	e := newTestEnv(t)
	for _, n := range []int{30, 10, 50} {
		e.appendMsg("INBOX", sizedMsg(n))
	}
	c := e.selectInbox()
	c.run(
		"C: t SORT RETURN (UPDATE) (REVERSE SIZE) UTF-8 UNDELETED",
		`S: * ESEARCH (TAG "t") ALL 3,1:2`,
		"S: t OK *",
		"C: w UID SORT RETURN (UPDATE COUNT) (SIZE) UTF-8 UNSEEN",
		`S: * ESEARCH (TAG "w") UID COUNT 3`,
		"S: w OK *",
	)
	e.appendMsg("INBOX", sizedMsg(40)) // UID 4, between 50 and 30
	e.appendMsg("INBOX", sizedMsg(5))  // UID 5, smallest
	c.run(
		"C: n1 NOOP",
		"S: * 5 EXISTS",
		"S: * 2 RECENT",
		`S: * ESEARCH (TAG "t") ADDTO (2 4 5 5)`,
		`S: * ESEARCH (TAG "w") UID ADDTO (3 4 1 5)`,
		"S: n1 OK *",
		// Order now: t = 3,4,1,2,5; w = 5,2,1,4,3.
		"C: s1 STORE 1,2 +FLAGS.SILENT (\\Deleted \\Seen)",
		`S: * ESEARCH (TAG "t") REMOVEFROM (3 1:2)`,
		`S: * ESEARCH (TAG "w") UID REMOVEFROM (2 2,1)`,
		"S: s1 OK *",
		"C: s2 STORE 2 -FLAGS.SILENT (\\Deleted \\Seen)",
		`S: * ESEARCH (TAG "t") ADDTO (3 2)`,
		`S: * ESEARCH (TAG "w") UID ADDTO (2 2)`,
		"S: s2 OK *",
		"C: s3 STORE 2 +FLAGS.SILENT (\\Deleted)",
		`S: * ESEARCH (TAG "t") REMOVEFROM (3 2)`,
		"S: s3 OK *",
		"C: x EXPUNGE",
		`S: * ESEARCH (TAG "w") UID REMOVEFROM (2 2)`,
		"S: * 2 EXPUNGE",
		"S: * 1 EXPUNGE",
		"S: x OK *",
	)
}

// The limit on UPDATE contexts: past it the search answers, with NOUPDATE;
// contexts end with the selection, and a live context's tag cannot be
// reused.
func TestContextUpdateLimit(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", sizedMsg(1))
	c := e.selectInbox()
	for i := range maxUpdateContexts {
		tag := fmt.Sprintf("q%d", i)
		c.run("C: "+tag+" SEARCH RETURN (UPDATE COUNT) ALL", `S: * ESEARCH (TAG "`+tag+`") COUNT 1`, "S: "+tag+" OK *")
	}
	c.run(
		"C: q0 SORT RETURN (UPDATE) (SIZE) UTF-8 ALL",
		"S: q0 BAD *",
		"C: qx SEARCH RETURN (UPDATE COUNT) ALL",
		`S: * ESEARCH (TAG "qx") COUNT 1`,
		`S: * NO [NOUPDATE "qx"] *`,
		"S: qx OK *",
		"C: u UNSELECT",
		"S: u OK *",
		"C: s SELECT INBOX",
	)
	c.skipUntil("s OK *")
	e.appendMsg("INBOX", sizedMsg(2))
	c.run(
		"C: n NOOP",
		"S: * 2 EXISTS",
		"S: * 1 RECENT",
		"S: n OK *",
		`C: c CANCELUPDATE "q0"`,
		"S: c BAD *",
		"C: q0 SEARCH RETURN (UPDATE COUNT) ALL",
		`S: * ESEARCH (TAG "q0") COUNT 2`,
		"S: q0 OK *",
	)
}

// FuzzReturnOpts checks the RETURN grammar of SEARCH and SORT: what
// parses renders to text that parses to the same options.
func FuzzReturnOpts(f *testing.F) {
	for _, s := range []string{
		"RETURN (PARTIAL 1:100) ", "RETURN (PARTIAL -1:-50 COUNT) ", "RETURN (UPDATE CONTEXT PARTIAL 5:3) ",
		"RETURN () ", "RETURN (MIN MAX ALL COUNT SAVE) ", "RETURN (PARTIAL 1:2 PARTIAL 3:4) ",
		"RETURN (ALL PARTIAL 1:2) ", "RETURN (PARTIAL -3:2) ", "RETURN (PARTIAL 0:1) ", "ALL",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ret, ok := parseReturnLine(s)
		if !ok {
			return
		}
		text := ret.String()
		again, ok := parseReturnLine(text)
		if !ok {
			t.Fatalf("%q parsed, its rendering %q does not", s, text)
		}
		if again.String() != text || (again.partial == nil) != (ret.partial == nil) || again.partial != nil && *again.partial != *ret.partial {
			t.Fatalf("%q → %q → %q", s, text, again.String())
		}
		if ret.partial != nil && (ret.partial.lo == 0 || ret.partial.lo > ret.partial.hi) {
			t.Fatalf("%q: bad range %+v", s, *ret.partial)
		}
		if ret.partial != nil && ret.all {
			t.Fatalf("%q: PARTIAL with ALL accepted", s)
		}
	})
}

// parseReturnLine parses s as the start of a SEARCH's arguments.
func parseReturnLine(s string) (searchReturn, bool) {
	d := wire.NewDecoder(bufio.NewReader(strings.NewReader(s + "ALL\r\n")))
	ret, ok := parseReturnOpts(d)
	return ret, ok && d.Err() == nil
}

// The examples of RFC 5267 (§3.3 extended SORT; §4.3.3 a sorted context
// growing at its head, "ADDTO (1 2733)" then "ADDTO (1 2731:2732)") on
// data made to fit them.
func TestRFC5267Examples(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", sortMsg("Smith <smith@example.org>", "x@example.org", "a", "Mon, 7 Feb 1994 10:00:00 +0000", "x\r\n"))
	e.appendMsg("INBOX", sortMsg("a@example.org", "x@example.org", "b", "Tue, 8 Feb 1994 10:00:00 +0000", "x\r\n"))
	e.appendMsg("INBOX", sortMsg("b@example.org", "x@example.org", "c", "Wed, 9 Feb 1994 10:00:00 +0000", "x\r\n"))
	e.appendMsg("INBOX", sortMsg("c@example.org", "x@example.org", "d", "Thu, 10 Feb 1994 10:00:00 +0000", "x\r\n"))
	e.appendMsg("INBOX", sortMsg("d@example.org", "x@example.org", "e", "Fri, 11 Feb 1994 10:00:00 +0000", "x\r\n"))
	c := e.selectInbox()
	c.run(
		`C: A282 SORT RETURN (MIN COUNT) (DATE) UTF-8 SINCE 1-Feb-1994 NOT FROM "Smith"`,
		`S: * ESEARCH (TAG "A282") MIN 2 COUNT 4`,
		"S: A282 OK SORT completed",
		"C: B1 STORE 1:3 +FLAGS.SILENT ($Junk)",
		`S: * FLAGS (*$Junk)`,
		`S: * OK [PERMANENTFLAGS *] *`,
		"S: B1 OK *",
		"C: C01 UID SORT RETURN (UPDATE) (DATE) UTF-8 UNDELETED UNKEYWORD $Junk",
		`S: * ESEARCH (TAG "C01") UID ALL 4:5`,
		"S: C01 OK *",
		"C: B2 STORE 3 -FLAGS.SILENT ($Junk)",
		`S: * ESEARCH (TAG "C01") UID ADDTO (1 3)`,
		"S: B2 OK *",
		"C: B3 STORE 1:2 -FLAGS.SILENT ($Junk)",
		`S: * ESEARCH (TAG "C01") UID ADDTO (1 1:2)`,
		"S: B3 OK *",
		"C: B4 UID SORT RETURN (ALL) (DATE) UTF-8 UNDELETED UNKEYWORD $Junk",
		`S: * ESEARCH (TAG "B4") UID ALL 1:5`,
		"S: B4 OK *",
	)
}

// Python's imaplib drives a search context while a second imaplib
// connection changes the mailbox.
func TestInteropPythonContext(t *testing.T) {
	py := testpeer.Require(t, "python3", "python3")
	e := newTestEnv(t)
	for i := 1; i <= 3; i++ {
		e.appendMsg("INBOX", sizedMsg(i))
	}
	host, port := e.hostPort()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/context_interop.py", host, port, "sara", "secret").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "context interop OK")
}
