package pop3

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

func TestStatListUidl(t *testing.T) {
	w, _, _ := serve(t, msg1, msg2)
	n1, n2 := len(msg1), len(msg2)
	w.run(
		"C: STAT", fmt.Sprintf("S: +OK 2 %d", n1+n2),
		"C: LIST", "S: +OK 2 messages*", fmt.Sprintf("S: 1 %d", n1), fmt.Sprintf("S: 2 %d", n2), "S: .",
		"C: LIST 2", fmt.Sprintf("S: +OK 2 %d", n2),
		"C: LIST 3", "S: -ERR no such message",
		"C: LIST 0", "S: -ERR no such message",
		"C: LIST x", "S: -ERR invalid message number",
		"C: UIDL", "S: +OK*", "S: 1 *", "S: 2 *", "S: .",
		"C: NOOP", "S: +OK",
	)
}

func TestUIDLStableAcrossSessions(t *testing.T) {
	st := newStore(t, msg1, msg2)
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	var ids [2]string
	for i := range ids {
		w := dialWire(t, addr)
		w.login()
		w.run("C: UIDL 2")
		line, _ := w.br.ReadString('\n')
		ids[i] = line
		w.run("C: QUIT", "S: +OK*")
	}
	if ids[0] != ids[1] || !strings.HasPrefix(ids[0], "+OK 2 ") {
		t.Fatalf("UIDL changed between sessions: %q vs %q", ids[0], ids[1])
	}
}

func TestRetrTop(t *testing.T) {
	w, st, _ := serve(t, msg1, msg2)
	w.run(
		"C: RETR 1", fmt.Sprintf("S: +OK %d octets", len(msg1)),
		"S: From: a@example.org", "S: Subject: one", "S: ", "S: Hello", "S: ..dot line", "S: third", "S: .",
		"C: TOP 1 1", "S: +OK*", "S: From: a@example.org", "S: Subject: one", "S: ", "S: Hello", "S: .",
		"C: TOP 2 0", "S: +OK*", "S: From: b@example.org", "S: Subject: two", "S: ", "S: .",
		"C: TOP 2 100", "S: +OK*", "S: From: b@example.org", "S: Subject: two", "S: ", "S: Second body", "S: .",
		"C: TOP 1", "S: -ERR*",
		"C: RETR 9", "S: -ERR no such message",
		"C: QUIT", "S: +OK*",
	)
	// RETR set \Seen on message 1 only; TOP does not.
	acct, _ := st.Open(context.Background(), "sara")
	defer acct.Close()
	mb, _ := acct.Mailbox(context.Background(), "INBOX")
	defer mb.Close()
	var seen []bool
	for info, err := range mb.Messages(context.Background(), 1) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, info.HasFlag(mailbox.FlagSeen))
	}
	if len(seen) != 2 || !seen[0] || seen[1] {
		t.Fatalf("\\Seen after RETR 1: %v", seen)
	}
}

func TestKeepUnseen(t *testing.T) {
	st := newStore(t, msg1)
	w := dialWire(t, startServer(t, &Server{Store: st, AllowInsecureAuth: true, KeepUnseen: true}))
	w.login()
	w.run("C: RETR 1", "S: +OK*")
	for range 7 {
		w.br.ReadString('\n')
	}
	w.run("C: QUIT", "S: +OK*")
	if s := status(t, st); s.Unseen != 1 {
		t.Fatalf("KeepUnseen: %d unseen", s.Unseen)
	}
}

func status(t *testing.T, st mailbox.Store) mailbox.Status {
	t.Helper()
	acct, err := st.Open(context.Background(), "sara")
	if err != nil {
		t.Fatal(err)
	}
	defer acct.Close()
	mb, err := acct.Mailbox(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	s, err := mb.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeleRsetQuit(t *testing.T) {
	w, st, _ := serve(t, msg1, msg2)
	w.run(
		"C: DELE 1", "S: +OK message 1 deleted",
		"C: DELE 1", "S: -ERR message 1 already deleted",
		"C: RETR 1", "S: -ERR message 1 already deleted",
		"C: STAT", fmt.Sprintf("S: +OK 1 %d", len(msg2)),
		"C: LIST", "S: +OK*", fmt.Sprintf("S: 2 %d", len(msg2)), "S: .",
		"C: RSET", "S: +OK maildrop has 2 messages*",
		"C: DELE 2", "S: +OK*",
		"C: QUIT", "S: +OK bye (1 messages left)", "S: <eof>",
	)
	if s := status(t, st); s.Messages != 1 {
		t.Fatalf("after QUIT: %d messages, want 1", s.Messages)
	}
}

func TestDropDeletesNothing(t *testing.T) {
	st := newStore(t, msg1, msg2)
	closed := make(chan struct{}, 4)
	srv := &Server{Store: st, AllowInsecureAuth: true, ConnState: func(c net.Conn, s ConnState) {
		if s == StateClosed {
			closed <- struct{}{}
		}
	}}
	addr := startServer(t, srv)
	w := dialWire(t, addr)
	w.login()
	w.run("C: DELE 1", "S: +OK*", "C: DELE 2", "S: +OK*")
	w.c.Close()
	<-closed
	// The maildrop lock was released with the connection; a new session
	// proves it and sees both messages.
	w2 := dialWire(t, addr)
	w2.login()
	w2.run("C: STAT", "S: +OK 2 *")
	if s := status(t, st); s.Messages != 2 {
		t.Fatalf("dropped session deleted messages: %d left", s.Messages)
	}
}

func TestInUse(t *testing.T) {
	st := newStore(t, msg1)
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	w := dialWire(t, addr)
	w.login()
	w2 := dialWire(t, addr)
	w2.run("S: +OK*", "C: USER sara", "S: +OK*", "C: PASS secret", "S: -ERR [IN-USE]*")
	// IMAP-like access to the same INBOX keeps working meanwhile.
	if s := status(t, st); s.Messages != 1 {
		t.Fatal(s)
	}
	w.run("C: QUIT", "S: +OK*", "S: <eof>")
	w2.run("C: USER sara", "S: +OK*", "C: PASS secret", "S: +OK maildrop has 1 messages*")
}

func TestExpungedByIMAPDuringSession(t *testing.T) {
	w, st, _ := serve(t, msg1, msg2)
	acct, _ := st.Open(context.Background(), "sara")
	defer acct.Close()
	mb, _ := acct.Mailbox(context.Background(), "INBOX")
	defer mb.Close()
	var uids []mailbox.UID
	for info := range mb.Messages(context.Background(), 1) {
		uids = append(uids, info.UID)
	}
	if _, err := mb.Expunge(context.Background(), uids[:1]); err != nil {
		t.Fatal(err)
	}
	w.run(
		"C: STAT", "S: +OK 2 *", // the snapshot keeps numbers stable
		"C: RETR 1", "S: -ERR message was removed*",
		"C: RETR 2", "S: +OK*",
	)
}

func TestAuthorization(t *testing.T) {
	st := newStore(t, msg1)
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true})
	w := dialWire(t, addr)
	w.run(
		"S: +OK POP3 server ready <*",
		"C: STAT", "S: -ERR command not valid in this state",
		"C: PASS secret", "S: -ERR USER first",
		"C: USER sara", "S: +OK*",
		"C: PASS wrong", "S: -ERR [AUTH] authentication failed",
		"C: USER nobody", "S: +OK*",
		"C: PASS secret", "S: -ERR [AUTH] authentication failed",
		"C: USER sara", "S: +OK*",
		"C: PASS wrong", "S: -ERR [AUTH] authentication failed; too many failures, closing",
		"S: <eof>",
	)
}

func TestPassWithSpaces(t *testing.T) {
	st := newStore(t)
	st.AddUser("bob", "two words ")
	w := dialWire(t, startServer(t, &Server{Store: st, AllowInsecureAuth: true}))
	w.run("S: +OK*", "C: USER bob", "S: +OK*", "C: PASS two words ", "S: +OK maildrop*")
}

func TestAPOP(t *testing.T) {
	st := newStore(t, msg1)
	w := dialWire(t, startServer(t, &Server{Store: st, AllowInsecureAuth: true}))
	greeting, _ := w.br.ReadString('\n')
	i, j := strings.IndexByte(greeting, '<'), strings.IndexByte(greeting, '>')
	ts := greeting[i : j+1]
	sum := md5.Sum([]byte(ts + "secret"))
	bad := md5.Sum([]byte(ts + "wrong"))
	w.run(
		"C: APOP sara "+hex.EncodeToString(bad[:]), "S: -ERR [AUTH]*",
		"C: APOP sara short", "S: -ERR*",
		"C: APOP sara "+hex.EncodeToString(sum[:]), "S: +OK maildrop has 1 messages*",
	)
}

func TestCapa(t *testing.T) {
	st := newStore(t)
	srv := &Server{Store: st, AllowInsecureAuth: true, Expire: "NEVER", LoginDelay: 90e9, Implementation: "Posthorn"}
	w := dialWire(t, startServer(t, srv))
	w.run("S: +OK*", "C: CAPA", "S: +OK*",
		"S: TOP", "S: UIDL", "S: RESP-CODES", "S: AUTH-RESP-CODE", "S: PIPELINING", "S: USER",
		"S: SASL SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN OAUTHBEARER XOAUTH2",
		"S: UTF8", "S: EXPIRE NEVER", "S: LOGIN-DELAY 90", "S: IMPLEMENTATION Posthorn", "S: .",
		"C: USER sara", "S: +OK*", "C: PASS secret", "S: +OK*",
		"C: CAPA", "S: +OK*",
		"S: TOP", "S: UIDL", "S: RESP-CODES", "S: AUTH-RESP-CODE", "S: PIPELINING",
		"S: EXPIRE NEVER", "S: LOGIN-DELAY 90", "S: IMPLEMENTATION Posthorn", "S: .",
	)
}

func TestLoginDelay(t *testing.T) {
	st := newStore(t)
	addr := startServer(t, &Server{Store: st, AllowInsecureAuth: true, LoginDelay: 3600e9})
	w := dialWire(t, addr)
	w.login()
	w.run("C: QUIT", "S: +OK*")
	w2 := dialWire(t, addr)
	w2.run("S: +OK*", "C: USER sara", "S: +OK*", "C: PASS secret", "S: -ERR [LOGIN-DELAY]*", "S: <eof>")
}

func TestInsecureAuthRefused(t *testing.T) {
	st := newStore(t)
	w := dialWire(t, startServer(t, &Server{Store: st}))
	w.run("S: +OK*",
		"C: CAPA", "S: +OK*", "S: TOP", "S: UIDL", "S: RESP-CODES", "S: AUTH-RESP-CODE", "S: PIPELINING", "S: UTF8", "S: .",
		"C: USER sara", "S: -ERR [AUTH] plaintext authentication disallowed*",
		"C: AUTH PLAIN AHNhcmEAc2VjcmV0", "S: -ERR [AUTH]*",
		"C: AUTH", "S: +OK*", "S: .",
	)
}

func TestAuthSASL(t *testing.T) {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00sara\x00secret"))
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for name, script := range map[string][]string{
		"plain ir":     {"C: AUTH PLAIN " + plain, "S: +OK maildrop*"},
		"plain no ir":  {"C: AUTH PLAIN", "S: + ", "C: " + plain, "S: +OK maildrop*"},
		"plain lower":  {"C: auth plain " + plain, "S: +OK maildrop*"},
		"plain cancel": {"C: AUTH PLAIN", "S: + ", "C: *", "S: -ERR authentication cancelled", "C: AUTH PLAIN " + plain, "S: +OK*"},
		"plain bad64":  {"C: AUTH PLAIN !!!", "S: -ERR invalid base64*"},
		"plain empty":  {"C: AUTH PLAIN =", "S: -ERR [AUTH]*"},
		"login": {"C: AUTH LOGIN", "S: + " + b64("Username:"), "C: " + b64("sara"),
			"S: + " + b64("Password:"), "C: " + b64("secret"), "S: +OK maildrop*"},
		"xoauth2":      {"C: AUTH XOAUTH2 " + b64("user=sara\x01auth=Bearer tok\x01\x01"), "S: +OK maildrop*"},
		"xoauth2 bad":  {"C: AUTH XOAUTH2 " + b64("user=sara\x01auth=Bearer nope\x01\x01"), "S: + *", "C: ", "S: -ERR [AUTH]*"},
		"oauthbearer":  {"C: AUTH OAUTHBEARER " + b64("n,a=sara,\x01auth=Bearer tok\x01\x01"), "S: +OK maildrop*"},
		"unknown mech": {"C: AUTH GSSAPI", "S: -ERR unsupported*"},
		"mech list":    {"C: AUTH", "S: +OK*", "S: SCRAM-SHA-256", "S: CRAM-MD5", "S: PLAIN", "S: LOGIN", "S: OAUTHBEARER", "S: XOAUTH2", "S: ."},
	} {
		t.Run(name, func(t *testing.T) {
			// A server each: a session's maildrop lock outlives the test's
			// connection by a moment.
			st := newStore(t, msg1)
			st.SetToken("sara", "tok")
			w := dialWire(t, startServer(t, &Server{Store: st, AllowInsecureAuth: true}))
			w.run("S: +OK*")
			w.run(script...)
		})
	}
}

func TestBadCommands(t *testing.T) {
	st := newStore(t)
	w := dialWire(t, startServer(t, &Server{Store: st, MaxBadCommands: 3}))
	w.run("S: +OK*",
		"C: HELO", "S: -ERR unknown command",
		"C: "+strings.Repeat("x", 300), "S: -ERR line too long",
		"C: NOOP\x00", "S: -ERR control character in command; too many bad commands, closing",
		"S: <eof>",
	)
}

func TestLongAuthLineAllowed(t *testing.T) {
	st := newStore(t)
	tok := strings.Repeat("t", 2000)
	st.SetToken("sara", tok)
	w := dialWire(t, startServer(t, &Server{Store: st, AllowInsecureAuth: true}))
	ir := base64.StdEncoding.EncodeToString([]byte("user=sara\x01auth=Bearer " + tok + "\x01\x01"))
	w.run("S: +OK*", "C: AUTH XOAUTH2 "+ir, "S: +OK maildrop*")
	w.run("C: LIST "+strings.Repeat("1", 300), "S: -ERR line too long")
}

func TestPipelining(t *testing.T) {
	w, _, _ := serve(t, msg1, msg2)
	// All commands in one write; replies in order.
	fmt.Fprintf(w.c, "STAT\r\nLIST 1\r\nUIDL 1\r\nDELE 2\r\nNOOP\r\n")
	w.run("S: +OK 2 *", "S: +OK 1 *", "S: +OK 1 *", "S: +OK message 2 deleted", "S: +OK")
}

func TestUTF8Command(t *testing.T) {
	st := newStore(t)
	st.AddUser("jürgen", "pässword")
	w := dialWire(t, startServer(t, &Server{Store: st, AllowInsecureAuth: true}))
	w.run("S: +OK*", "C: UTF8", "S: +OK*", "C: USER jürgen", "S: +OK*", "C: PASS pässword", "S: +OK*",
		"C: UTF8", "S: -ERR command not valid in this state")
}

func TestSeenOnlyAtQuit(t *testing.T) {
	w, st, _ := serve(t, msg1, msg2)
	w.run("C: RETR 1", fmt.Sprintf("S: +OK %d octets", len(msg1)))
	for range 7 {
		w.br.ReadString('\n')
	}
	w.run("C: RETR 2", "S: +OK*")
	for range 5 {
		w.br.ReadString('\n')
	}
	w.run("C: DELE 2", "S: +OK*", "C: NOOP", "S: +OK*")
	seen := func() []bool {
		acct, _ := st.Open(context.Background(), "sara")
		defer acct.Close()
		mb, _ := acct.Mailbox(context.Background(), "INBOX")
		defer mb.Close()
		var s []bool
		for info, err := range mb.Messages(context.Background(), 1) {
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, info.HasFlag(mailbox.FlagSeen))
		}
		return s
	}
	if s := seen(); len(s) != 2 || s[0] || s[1] {
		t.Fatalf("\\Seen before QUIT: %v, want none", s)
	}
	w.run("C: QUIT", "S: +OK*")
	if s := seen(); len(s) != 1 || !s[0] {
		t.Fatalf("\\Seen after QUIT: %v, want message 1 seen and message 2 gone", s)
	}
}
