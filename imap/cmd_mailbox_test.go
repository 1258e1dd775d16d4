package imap

import (
	"testing"
)

func TestCreateDeleteRenameList(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run(
		"C: a CREATE Work/Projects/",
		"S: a OK *",
		"C: b CREATE Work",
		"S: b NO [ALREADYEXISTS] *",
		"C: c CREATE Archive (USE (\\Archive))",
		"S: c OK *",
		"C: d CREATE Bad (USE (\\Bogus))",
		"S: d NO [USEATTR] *",
		"C: e LIST \"\" *",
		"S: * LIST (*\\Archive) \"/\" Archive",
		"S: * LIST (*) \"/\" INBOX",
		"S: * LIST (\\HasChildren*) \"/\" Work",
		"S: * LIST (*) \"/\" Work/Projects",
		"S: e OK *",
		"C: f LIST \"\" %",
		"S: * LIST (*) \"/\" Archive",
		"S: * LIST (*) \"/\" INBOX",
		"S: * LIST (*) \"/\" Work",
		"S: f OK *",
		"C: g RENAME Work/Projects Work/Done",
		"S: g OK *",
		"C: h LIST Work/ %",
		"S: * LIST (*) \"/\" Work/Done",
		"S: h OK *",
		"C: i DELETE Work/Done",
		"S: i OK *",
		"C: j DELETE Nope",
		"S: j NO [NONEXISTENT] *",
		"C: k LIST \"\" \"\"",
		"S: * LIST (\\Noselect) \"/\" \"\"",
		"S: k OK *",
		"C: l CREATE \"a*b\"",
		"S: l NO [CANNOT] *",
		"C: m LIST (SPECIAL-USE) \"\" *",
		"S: * LIST (*\\Archive) \"/\" Archive",
		"S: m OK *",
	)
}

func TestSubscribeListLsub(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run(
		"C: a CREATE Lists/Go",
		"S: a OK *",
		"C: b SUBSCRIBE Lists/Go",
		"S: b OK *",
		"C: c SUBSCRIBE Gone",
		"S: c OK *",
		"C: d LSUB \"\" *",
		"S: * LSUB (\\Noselect) \"/\" Gone",
		"S: * LSUB (*) \"/\" Lists/Go",
		"S: d OK *",
		"C: e LIST (SUBSCRIBED) \"\" *",
		"S: * LIST (\\NonExistent \\Subscribed) \"/\" Gone",
		"S: * LIST (*\\Subscribed) \"/\" Lists/Go",
		"S: e OK *",
		"C: f LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %",
		"S: * LIST (*) \"/\" Gone",
		"S: * LIST (\\HasChildren) \"/\" Lists (\"CHILDINFO\" (\"SUBSCRIBED\"))",
		"S: f OK *",
		"C: g UNSUBSCRIBE Gone",
		"S: g OK *",
		"C: h LSUB \"\" G*",
		"S: h OK *",
	)
}

func TestStatusAndListStatus(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "hello\r\n"))
	e.appendMsg("INBOX", msg("two", "hello\r\n"), `\Seen`, `\Deleted`)
	c := e.login()
	c.run(
		"C: a STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY DELETED SIZE RECENT)",
		"S: * STATUS INBOX (MESSAGES 2 UNSEEN 1 UIDNEXT 3 UIDVALIDITY * DELETED 1 SIZE * RECENT 0)",
		"S: a OK *",
		"C: a2 STATUS INBOX (APPENDLIMIT)",
		"S: * STATUS INBOX (APPENDLIMIT 33554432)",
		"S: a2 OK *",
		"C: b STATUS Nope (MESSAGES)",
		"S: b NO [NONEXISTENT] *",
		"C: c STATUS INBOX (BOGUS)",
		"S: c BAD *",
		"C: d LIST \"\" INBOX RETURN (STATUS (MESSAGES UNSEEN))",
		"S: * LIST (*) \"/\" INBOX",
		"S: * STATUS INBOX (MESSAGES 2 UNSEEN 1)",
		"S: d OK *",
		"C: e NAMESPACE",
		"S: * NAMESPACE ((\"\" \"/\")) NIL NIL",
		"S: e OK *",
	)
}

func TestMailboxNamesUTF7AndUTF8(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run(
		"C: a CREATE Entw&APw-rfe",
		"S: a OK *",
		"C: b LIST \"\" Entw*",
		"S: * LIST (*) \"/\" Entw&APw-rfe",
		"S: b OK *",
		"C: c ENABLE IMAP4rev2",
		"S: * ENABLED IMAP4rev2",
		"S: c OK *",
		"C: d LIST \"\" Entw*",
		"S: * LIST (*) \"/\" \"Entwürfe\"",
		"S: d OK *",
	)
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"*", "a/b/c", true},
		{"%", "a/b", false},
		{"%", "a", true},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a%c", "abc", true},
		{"a%c", "a/c", false},
		{"INBOX", "INBOX", true},
		{"", "", true},
		{"x", "", false},
		{"%/%", "a/b", true},
	} {
		if got := matchPattern(tc.pat, tc.name); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}

func TestRenameAndDeleteSelected(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run("C: a CREATE Work", "S: a OK *", "C: b APPEND Work {2+}", "C: hi", "S: b OK *", "C: c SELECT Work")
	c.skipUntil("c OK *")
	c.run(
		"C: d RENAME Work Play",
		"S: d OK *",
		// The session follows its mailbox to the new name.
		"C: e FETCH 1 BODY.PEEK[]",
		"S: * 1 FETCH (BODY[] {2}hi)",
		"S: e OK *",
		"C: f STORE 1 +FLAGS.SILENT (\\Seen)",
		"S: f OK *",
		"C: g DELETE Play",
		"S: * OK [CLOSED] *",
		"S: g OK *",
		"C: h FETCH 1 FLAGS",
		"S: h BAD *not allowed now",
		"C: i RENAME INBOX Old",
		"S: i OK *",
		"C: j STATUS INBOX (MESSAGES)",
		"S: * STATUS INBOX (MESSAGES 0)",
		"S: j OK *",
	)
}
