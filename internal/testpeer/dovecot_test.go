package testpeer

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
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
