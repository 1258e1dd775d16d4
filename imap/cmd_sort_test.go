package imap

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
)

func sortMsg(from, to, subject, date, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nDate: " + date + "\r\n\r\n" + body
}

// RFC 5256 SORT and THREAD=ORDEREDSUBJECT, RFC 5957 SORT=DISPLAY.
func TestSortThread(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", sortMsg(`"Zed" <alice@example.org>`, "bob@example.org", "Re: lunch", "Tue, 2 Jan 2024 10:00:00 +0000", "x\r\n"))
	e.appendMsg("INBOX", sortMsg("carol@example.org", `"Anna" <zoe@example.org>`, "lunch", "Mon, 1 Jan 2024 10:00:00 +0000", "longer body\r\n"))
	e.appendMsg("INBOX", sortMsg(`"Bob" <bob@example.org>`, "alice@example.org", "[list] Fwd: Agenda (fwd)", "Wed, 3 Jan 2024 10:00:00 +0000", "a much longer body here\r\n"))
	e.appendMsg("INBOX", sortMsg("dave@example.org", "carol@example.org", "RE: [x] re: LUNCH", "Thu, 4 Jan 2024 09:00:00 -0500", "y\r\n"))
	c := e.selectInbox()
	c.run(
		"C: a SORT (SUBJECT) UTF-8 ALL",
		"S: * SORT 3 1 2 4",
		"S: a OK *",
		"C: b SORT (REVERSE DATE) UTF-8 ALL",
		"S: * SORT 4 3 1 2",
		"S: b OK *",
		"C: c SORT (FROM) US-ASCII ALL",
		"S: * SORT 1 3 2 4",
		"S: c OK *",
		"C: d SORT (DISPLAYFROM) UTF-8 ALL",
		"S: * SORT 3 2 4 1",
		"S: d OK *",
		"C: e UID SORT (TO REVERSE SIZE) UTF-8 NOT FROM dave",
		"S: * SORT 3 1 2",
		"S: e OK *",
		"C: f SORT (DISPLAYTO ARRIVAL) UTF-8 SUBJECT lunch",
		"S: * SORT 2 1 4",
		"S: f OK *",
		"C: g THREAD ORDEREDSUBJECT UTF-8 ALL",
		"S: * THREAD (2 (1)(4))(3)",
		"S: g OK *",
		"C: h UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT agenda",
		"S: * THREAD (3)",
		"S: h OK *",
		"C: i SORT (SIZE) KOI8-R ALL",
		"S: i NO [BADCHARSET (US-ASCII UTF-8)] *",
		"C: j SORT (COLOUR) UTF-8 ALL",
		"S: j BAD *",
		"C: k SORT () UTF-8 ALL",
		"S: k BAD *",
		"C: l THREAD XYZZY UTF-8 ALL",
		"S: l BAD *",
		"C: m SORT (REVERSE) UTF-8 ALL",
		"S: m BAD *",
		"C: n SORT (SIZE) UTF-8 SUBJECT nothing",
		"S: * SORT",
		"S: n OK *",
		// RFC 5267 ESORT.
		"C: o SORT RETURN (MIN MAX ALL COUNT) (REVERSE DATE) UTF-8 ALL",
		`S: * ESEARCH (TAG "o") MIN 4 MAX 2 ALL 4,3,1:2 COUNT 4`,
		"S: o OK *",
		"C: p UID SORT RETURN () (SUBJECT) UTF-8 ALL",
		`S: * ESEARCH (TAG "p") UID ALL 3,1:2,4`,
		"S: p OK *",
		"C: q SORT RETURN (COUNT) (SIZE) UTF-8 SUBJECT nothing",
		`S: * ESEARCH (TAG "q") COUNT 0`,
		"S: q OK *",
		"C: r SORT RETURN (SAVE) (SIZE) UTF-8 ALL",
		"S: r BAD *",
	)
}

func TestBaseSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Re: lunch":                  "lunch",
		"RE: [x] re: LUNCH":          "lunch",
		"[list] Fwd: Agenda (fwd)":   "agenda",
		"Fw[a]: x (fwd) (FWD)":       "x",
		"[fwd: Re: hello]":           "hello",
		"[only]":                     "[only]",
		"  spaced \t  out  ":         "spaced out",
		"Re:":                        "",
		"real subject: not a leader": "real subject: not a leader",
	} {
		assert.Equal(t, want, baseSubject(in), in)
	}
}

func TestInteropPythonSort(t *testing.T) {
	py := testpeer.Require(t, "python3", "python3")
	e := newTestEnv(t)
	e.appendMsg("INBOX", sortMsg("a@example.org", "b@example.org", "Re: tea", "Mon, 1 Jan 2024 10:00:00 +0000", "x\r\n"))
	e.appendMsg("INBOX", sortMsg("a@example.org", "b@example.org", "coffee", "Tue, 2 Jan 2024 10:00:00 +0000", "x\r\n"))
	e.appendMsg("INBOX", sortMsg("a@example.org", "b@example.org", "tea", "Wed, 3 Jan 2024 10:00:00 +0000", "x\r\n"))
	host, port := e.hostPort()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/sort_interop.py", host, port, "sara", "secret").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "sort interop OK")
}

func refMsg(id, refs, subject string, day int) string {
	h := "Message-ID: " + id + "\r\nSubject: " + subject + "\r\nDate: " + fmt.Sprintf("%d Jan 2024 10:00:00 +0000", day) + "\r\n"
	if refs != "" {
		h += "References: " + refs + "\r\n"
	}
	return h + "\r\nbody\r\n"
}

// RFC 5256 §3.2 THREAD=REFERENCES: parents from References, a dummy for
// a missing parent kept at the root with its two children, a root reply
// merged under the thread with its base subject, siblings by date.
func TestThreadReferences(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", refMsg("<a@x>", "", "meeting", 2))
	e.appendMsg("INBOX", refMsg("<b@x>", "<a@x>", "Re: meeting", 3))
	e.appendMsg("INBOX", refMsg("<c@x>", "<a@x> <b@x>", "Re: meeting", 4))
	e.appendMsg("INBOX", refMsg("<d@x>", "<a@x>", "Re: meeting", 5))
	e.appendMsg("INBOX", refMsg("<e@x>", "<gone@x>", "lost", 6))
	e.appendMsg("INBOX", refMsg("<f@x>", "<gone@x>", "Re: lost", 7))
	e.appendMsg("INBOX", refMsg("<g@x>", "", "Re: meeting", 8))
	e.appendMsg("INBOX", refMsg("<h@x>", "", "other", 1))
	// A reference loop and a duplicate Message-ID must not hang or vanish.
	e.appendMsg("INBOX", refMsg("<y@x>", "<z@x>", "loop", 9))
	e.appendMsg("INBOX", refMsg("<z@x>", "<y@x>", "loop", 10))
	e.appendMsg("INBOX", refMsg("<h@x>", "", "dup", 11))
	c := e.selectInbox()
	c.run(
		"C: a THREAD REFERENCES UTF-8 ALL",
		"S: * THREAD (8)(1 (2 3)(4)(7))((5)(6))(10 9)(11)",
		"S: a OK *",
		"C: b UID THREAD REFERENCES UTF-8 SUBJECT lost",
		"S: * THREAD ((5)(6))",
		"S: b OK *",
		"C: c THREAD REFERENCES UTF-8 SUBJECT nothing",
		"S: * THREAD ",
		"S: c OK *",
	)
}

// Root threads with one base subject: two originals share a new dummy, a
// reply goes under the original (RFC 5256 §3.2 step 5).
func TestThreadReferencesSubjectMerge(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", refMsg("<a@x>", "", "plan", 1))
	e.appendMsg("INBOX", refMsg("<b@x>", "", "plan", 2))
	e.appendMsg("INBOX", refMsg("<c@x>", "", "Fwd: idea", 3))
	e.appendMsg("INBOX", refMsg("<d@x>", "", "idea", 4))
	e.appendMsg("INBOX", "Subject: no id\r\n\r\nx\r\n")
	c := e.selectInbox()
	c.run(
		"C: a THREAD REFERENCES UTF-8 ALL",
		"S: * THREAD ((1)(2))(4 3)(5)",
		"S: a OK *",
	)
}
