package imap_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/imap/imaptest"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/maildir"
)

// TestHardeningMailboxNamesMaildir: hostile mailbox names through CREATE
// and RENAME on the Maildir store never reach outside its root, and each
// gets a clear answer.
func TestHardeningMailboxNamesMaildir(t *testing.T) {
	top := t.TempDir()
	root := filepath.Join(top, "root")
	users := new(maildir.Users)
	if err := users.Add("test", "test", "test@example.org"); err != nil {
		t.Fatal(err)
	}
	st := &maildir.Store{Root: root, Users: users}
	srv := imaptest.NewServer(t, &imaptest.Options{Store: st})
	srv.Append(t, "test", "INBOX", hMsg)
	c := hLogin(t, srv)
	// The longest and deepest valid names (a long level is hashed on disk
	// past 255 bytes), and one octet or level more.
	deep := strings.TrimSuffix(strings.Repeat("d/", mailbox.MaxNameDepth), "/")
	long := strings.Repeat("L", mailbox.MaxNameLength)
	c.Run(
		`C: a CREATE "../escape"`, "S: a NO [CANNOT] Invalid mailbox name",
		`C: b CREATE "../../escape"`, "S: b NO [CANNOT] Invalid mailbox name",
		`C: c CREATE "/abs"`, "S: c NO [CANNOT] Invalid mailbox name",
		`C: d CREATE "a/../../escape"`, "S: d NO [CANNOT] Invalid mailbox name",
		`C: e CREATE ".."`, "S: e NO [CANNOT] Invalid mailbox name",
		`C: f CREATE "."`, "S: f NO [CANNOT] Invalid mailbox name",
		`C: g CREATE "a//b"`, "S: g NO [CANNOT] Invalid mailbox name",
		"C: h CREATE {3}", "S: + *", "C: a\x00b", "S: h BAD [CLIENTBUG] *",
		`C: i CREATE "`+long+`"`, "S: i OK *",
		`C: j CREATE "`+deep+`"`, "S: j OK *",
		`C: i2 CREATE "`+long+`L"`, "S: i2 NO [CANNOT] Invalid mailbox name",
		`C: j2 CREATE "`+deep+`/d"`, "S: j2 NO [CANNOT] Invalid mailbox name",
		`C: j3 RENAME "`+deep+`" "`+deep+`/d"`, "S: j3 NO [CANNOT] *",
		`C: k CREATE "ok"`, "S: k OK *",
		`C: l RENAME "ok" "../escape"`, "S: l NO [CANNOT] Invalid mailbox name",
		`C: m RENAME "ok" "/abs"`, "S: m NO [CANNOT] Invalid mailbox name",
		`C: n RENAME INBOX "../inbox"`, "S: n NO [CANNOT] Invalid mailbox name",
		`C: o RENAME "../.." "x"`, "S: o NO [CANNOT] Invalid mailbox name",
		`C: p SELECT "../test"`, "S: p NO [NONEXISTENT] No such mailbox",
		`C: q DELETE "../root"`, "S: q NO [CANNOT] Invalid mailbox name",
		`C: r RENAME "ok" "a.b/..c"`, "S: r OK *",
		`C: t CREATE "a/./b"`, "S: t NO [CANNOT] Invalid mailbox name",
	)
	// The long and the deep names are usable.
	c.Run(fmt.Sprintf(`C: s STATUS "%s" (MESSAGES)`, long), "S: * STATUS * (MESSAGES 0)", "S: s OK *",
		fmt.Sprintf(`C: u STATUS "%s" (MESSAGES)`, deep), "S: * STATUS * (MESSAGES 0)", "S: u OK *")

	// Nothing but root exists beside root, and nothing under it is a
	// symlink or escapes.
	ents, err := os.ReadDir(top)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "root" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("entries beside the root: %q", names)
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			t.Errorf("symlink %s", p)
		}
		if rel, _ := filepath.Rel(root, p); strings.HasPrefix(rel, "..") {
			t.Errorf("outside the root: %s", p)
		}
		return nil
	})
	hHealthy(t, srv, 1)
}
