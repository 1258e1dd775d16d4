package testpeer

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
)

// converse sends each command (a line) and returns the first reply line
// to the greeting and each command.
func converse(t *testing.T, c net.Conn, cmds ...string) []string {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var replies []string
	read := func() {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", replies, err)
		}
		replies = append(replies, strings.TrimRight(line, "\r\n"))
	}
	read()
	for _, cmd := range cmds {
		fmt.Fprintf(c, "%s\r\n", cmd)
		read()
	}
	return replies
}

func TestDovecotDaemon(t *testing.T) {
	d := Dovecot(t, DovecotOptions{IMAP: true, POP3: true, TLS: true,
		Users: map[string]string{"sara": "secret", "tom": "pw"}, AuthMechanisms: "plain login apop"})
	d.Deliver(t, "sara", "Subject: one\r\n\r\nx\r\n", "Subject: two\r\n\r\nyy\r\n")
	if d.IMAPAddr == "" || d.IMAPSAddr == "" || d.POP3Addr == "" || d.POP3SAddr == "" {
		t.Fatalf("addresses %q %q %q %q", d.IMAPAddr, d.IMAPSAddr, d.POP3Addr, d.POP3SAddr)
	}
	st, err := os.Stat(d.Maildir("tom") + "/cur")
	if err != nil || !st.IsDir() {
		t.Fatalf("tom's Maildir: %v", err)
	}

	c, err := net.Dial("tcp", d.POP3Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := converse(t, c, "USER sara", "PASS secret", "STAT", "QUIT")
	if !strings.HasPrefix(r[0], "+OK") || r[3] != "+OK 2 39" {
		t.Fatalf("POP3 conversation %q", r)
	}

	tc, err := tls.Dial("tcp", d.IMAPSAddr, testcert.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	r = converse(t, tc, "a LOGIN tom pw", "b STATUS INBOX (MESSAGES)")
	if !strings.HasPrefix(r[1], "a OK") || r[2] != `* STATUS INBOX (MESSAGES 0)` {
		t.Fatalf("IMAPS conversation %q", r)
	}

	pc, err := tls.Dial("tcp", d.POP3SAddr, testcert.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if r := converse(t, pc, "USER sara", "PASS wrong"); !strings.HasPrefix(r[2], "-ERR") {
		t.Fatalf("wrong password: %q", r)
	}
}

func TestDovecotPreauthOnly(t *testing.T) {
	d := Dovecot(t, DovecotOptions{})
	if d.IMAPAddr != "" || d.POP3Addr != "" {
		t.Fatal("listeners without a daemon")
	}
	d.Deliver(t, "test", "Subject: a\r\n\r\n1\r\n", "Subject: b\r\n\r\n2\r\n", "Subject: c\r\n\r\n3\r\n")
	cmd := d.PreauthIMAP(t, "test")
	cmd.Stdin = strings.NewReader("a EXAMINE INBOX\r\nb FETCH 3 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nc LOGOUT\r\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, stderr.String())
	}
	for _, want := range []string{"* PREAUTH", "* 3 EXISTS", "Subject: c", "c OK"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("session lacks %q:\n%s\n%s", want, out, stderr.String())
		}
	}
}

// imapSession logs in as sara and sends each command (without its tag),
// reading until the tagged reply; it returns all lines read.
func imapSession(t *testing.T, addr string, cmds ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var lines []string
	read := func(tag string) {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", lines, err)
			}
			lines = append(lines, strings.TrimRight(line, "\r\n"))
			if strings.HasPrefix(line, tag) {
				return
			}
		}
	}
	read("* ")
	for i, cmd := range append([]string{"LOGIN sara secret"}, cmds...) {
		tag := fmt.Sprintf("t%d ", i)
		fmt.Fprintf(c, "%s%s\r\n", tag, cmd)
		read(tag)
		if !strings.HasPrefix(lines[len(lines)-1], tag+"OK") {
			t.Fatalf("%s: %q", cmd, lines)
		}
	}
	return lines
}

func TestDovecotOptions(t *testing.T) {
	msg := []byte("Subject: seen\r\n\r\nx\r\n")
	d := Dovecot(t, DovecotOptions{IMAP: true,
		Users: map[string]string{"sara": "secret"},
		Maildirs: map[string]fs.FS{"sara": fstest.MapFS{
			"cur/1700000000.M1P1.test:2,S":         {Data: msg},
			".Archive/cur/1700000001.M2P1.test:2,": {Data: msg},
		}},
		Separator:  "/",
		SpecialUse: map[string]string{"Sent": `\Sent`, "Sent Items": `\Sent`, "Trash": `\Trash`},
		Plugins:    []string{"zlib", "imap_zlib"},
		Config:     "namespace inbox {\n  mailbox Drafts {\n    special_use = \\Drafts\n  }\n}\n",
	})
	// Before any session: Dovecot has not touched the copied files.
	err := filepath.WalkDir(d.Maildir("sara"), func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if s := st.Sys().(*syscall.Stat_t); int(s.Uid) != d.UID || int(s.Gid) != d.GID {
			t.Errorf("%s is owned by %d:%d, not the mail user %d:%d", p, s.Uid, s.Gid, d.UID, d.GID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := imapSession(t, d.IMAPAddr, "CAPABILITY", "CREATE Trash", `CREATE "Sent Items"`, "CREATE Drafts",
		`LIST "" "*" RETURN (SPECIAL-USE)`, "SELECT INBOX", "FETCH 1 (FLAGS)", "STATUS Archive (MESSAGES)", "LOGOUT")
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		" COMPRESS=DEFLATE",         // Plugins
		`* LIST (\Trash) "/" Trash`, // SpecialUse, Separator
		`* LIST (\Sent) "/" "Sent Items"`,
		`* LIST (\Drafts) "/" Drafts`,           // Config adds to the namespace
		"* 1 EXISTS", `* 1 FETCH (FLAGS (\Seen`, // Maildirs
		"* STATUS Archive (MESSAGES 1)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("session lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, `"/" Sent`+"\n") {
		t.Errorf("Sent is listed before it exists:\n%s", all)
	}
}
