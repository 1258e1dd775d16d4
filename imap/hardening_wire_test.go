package imap_test

// Adversarial tests of the IMAP server (issue 13): each sends one known
// attack and checks the exact reply and that the server stays healthy (a
// new connection works and nothing acknowledged is lost). See
// docs/SECURITY.md for the table of attack classes.

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/imap/imaptest"
	"github.com/posthorn/posthorn/internal/soak"
)

const hMsg = "From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nbody\r\n"

// healthy proves the server still serves: a new connection logs in and
// sees want messages in INBOX.
func hHealthy(t *testing.T, srv *imaptest.Server, want int) {
	t.Helper()
	c := srv.Dial(t)
	c.Run("C: h1 LOGIN test test", "S: h1 OK *",
		"C: h2 SELECT INBOX", "S: * *", "S: * *", "S: * *", "S: * *", "S: * *")
	for {
		line := c.ReadLine()
		if strings.HasPrefix(line, "h2 ") {
			if !strings.HasPrefix(line, "h2 OK") {
				t.Fatalf("SELECT: %q", line)
			}
			break
		}
	}
	c.Run("C: h3 STATUS INBOX (MESSAGES)", fmt.Sprintf("S: * STATUS INBOX (MESSAGES %d)", want), "S: h3 OK *",
		"C: h4 LOGOUT", "S: * BYE *", "S: h4 OK *")
}

func hLogin(t *testing.T, srv *imaptest.Server) *imaptest.Conn {
	t.Helper()
	c := srv.Dial(t)
	c.Run("C: l LOGIN test test", "S: l OK *")
	return c
}

// readUntil reads lines up to the tagged reply of tag and returns them.
func hReadUntil(c *imaptest.Conn, tag string) []string {
	var out []string
	for {
		line := c.ReadLine()
		out = append(out, line)
		if strings.HasPrefix(line, tag+" ") {
			return out
		}
	}
}

func hAllocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestHardeningHugeLiteral: literals of 4 GiB - 1 and of ten digits are
// refused before a byte is read or allocated (CVE-2021-33515-style literal
// abuse; RFC 9051 §4.3, RFC 7888 §4).
func TestHardeningHugeLiteral(t *testing.T) {
	srv := imaptest.NewServer(t, nil)
	srv.Append(t, "test", "INBOX", hMsg)
	c := hLogin(t, srv)
	before := hAllocated()
	c.Run(
		"C: a APPEND INBOX {4294967295}", "S: a NO [TOOBIG] *",
		"C: b CREATE {4294967295}", "S: b NO [TOOBIG] *",
		"C: c APPEND INBOX {9999999999}", "S: c NO [TOOBIG] *",
		"C: d LOGIN {4294967295}", "S: d BAD *",
		"C: e NOOP", "S: e OK *",
	)
	if got := hAllocated() - before; got > 8<<20 {
		t.Errorf("refusing huge literals allocated %d bytes", got)
	}
	// A non-synchronising one cannot be skipped: the connection ends.
	c.Run("C: f APPEND INBOX {4294967295+}", "S: f BAD [TOOBIG] *", "S: * BYE *")
	hHealthy(t, srv, 1)
}

// TestHardeningLiteralThenDisconnect: a literal announced and cut short
// stores nothing and leaves the server serving.
func TestHardeningLiteralThenDisconnect(t *testing.T) {
	srv := imaptest.NewServer(t, nil)
	srv.Append(t, "test", "INBOX", hMsg)
	for _, plus := range []string{"", "+"} {
		c := hLogin(t, srv)
		c.Send("a APPEND INBOX {1000" + plus + "}")
		if plus == "" {
			c.Expect("+ *")
		}
		c.Send("Subject: half")
		c.Close()
	}
	// Literal announced, nothing sent at all.
	c := hLogin(t, srv)
	c.Send("b CREATE {10}")
	c.Expect("+ *")
	c.Close()
	hHealthy(t, srv, 1)
}

// TestHardeningSequenceSetAbuse: huge and repeated ranges cost what the
// mailbox holds, not what the numbers span, and never repeat a message.
func TestHardeningSequenceSetAbuse(t *testing.T) {
	srv := imaptest.NewServer(t, nil)
	for range 3 {
		srv.Append(t, "test", "INBOX", hMsg)
	}
	c := hLogin(t, srv)
	c.Run("C: s SELECT INBOX")
	hReadUntil(c, "s")
	uidSet := strings.TrimSuffix(strings.Repeat("1:4294967295,1:*,*:1,4294967295,", 150), ",")
	set := strings.TrimSuffix(strings.Repeat("1:*,*:1,3:1,2,*,", 200), ",")
	start := time.Now()
	// Sequence numbers past the mailbox are a client bug (RFC 9051 §9).
	c.Run("C: e FETCH "+uidSet+" (FLAGS)", "S: e BAD [CLIENTBUG] *")
	for _, cmd := range []string{"FETCH " + set, "UID FETCH " + uidSet} {
		c.Send("f " + cmd + " (FLAGS)")
		lines := hReadUntil(c, "f")
		if len(lines) != 4 || !strings.HasPrefix(lines[3], "f OK") {
			t.Fatalf("%s over an abusive set: %q", cmd, lines)
		}
		for i, l := range lines[:3] {
			if !strings.HasPrefix(l, fmt.Sprintf("* %d FETCH ", i+1)) {
				t.Errorf("%s line %d: %q", cmd, i, l)
			}
		}
	}
	c.Send("g STORE " + set + " +FLAGS.SILENT (\\Flagged)")
	if l := hReadUntil(c, "g"); len(l) != 1 || !strings.HasPrefix(l[0], "g OK") {
		t.Fatalf("STORE: %q", l)
	}
	c.Run("C: h UID SEARCH FLAGGED UID "+uidSet, "S: * SEARCH 1 2 3", "S: h OK *",
		"C: h SEARCH FLAGGED "+set, "S: * SEARCH 1 2 3", "S: h OK *",
		"C: i FETCH 0:4 FLAGS", "S: i BAD *",
		"C: j FETCH 4294967296 FLAGS", "S: j BAD *")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("abusive sets took %v", d)
	}
	hHealthy(t, srv, 3)
}

// TestHardeningSearchManyOR: thousands of OR terms, nested and flat.
func TestHardeningSearchManyOR(t *testing.T) {
	srv := imaptest.NewServer(t, &imaptest.Options{Configure: func(s *imap.Server) { s.MaxLineLength = 1 << 20 }})
	srv.Append(t, "test", "INBOX", hMsg)
	srv.Append(t, "test", "INBOX", "Subject: other\r\n\r\nx\r\n")
	c := hLogin(t, srv)
	c.Run("C: s SELECT INBOX")
	hReadUntil(c, "s")
	const n = 5000
	nested := strings.Repeat("OR SUBJECT nomatch ", n) + "SUBJECT hello"
	flat := "OR (" + strings.TrimSpace(strings.Repeat("SUBJECT nomatch ", n)) + ") SUBJECT hello"
	start := time.Now()
	// Nesting past the decoder's depth limit is refused as a syntax
	// error, before any evaluation; thousands of terms side by side are
	// evaluated.
	c.Run("C: q0 SEARCH "+nested, "S: q0 BAD [CLIENTBUG] *",
		"C: q1 SEARCH "+flat, "S: * SEARCH 1", "S: q1 OK *",
		"C: q2 SEARCH "+strings.Repeat("OR SUBJECT nomatch ", 20)+"SUBJECT hello", "S: * SEARCH 1", "S: q2 OK *")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("searches took %v", d)
	}
	c.Run("C: z NOOP", "S: z OK *")
	hHealthy(t, srv, 2)
}

// TestHardeningSlowloris: a client trickling one byte at a time cannot
// hold a connection past the autologout timers, before or after login.
func TestHardeningSlowloris(t *testing.T) {
	srv := imaptest.NewServer(t, &imaptest.Options{Configure: func(s *imap.Server) {
		s.PreAuthTimeout = 300 * time.Millisecond
		s.ReadTimeout = 300 * time.Millisecond
	}})
	srv.Append(t, "test", "INBOX", hMsg)
	for _, authed := range []bool{false, true} {
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		if authed {
			fmt.Fprintf(nc, "l LOGIN test test\r\n")
		}
		closed := soak.Trickle(nc, "a LOGIN test "+strings.Repeat("x", 1000)+"\r\n", 50*time.Millisecond, 5*time.Second)
		if !closed {
			t.Errorf("authed=%v: a slowloris kept its connection for 5 s", authed)
		}
	}
	hHealthyTimeouts(t, srv)
}

// healthyTimeouts is healthy for a server with short autologout timers.
func hHealthyTimeouts(t *testing.T, srv *imaptest.Server) {
	t.Helper()
	c := srv.Dial(t)
	c.Run("C: h1 LOGIN test test", "S: h1 OK *", "C: h2 STATUS INBOX (MESSAGES)", "S: * STATUS INBOX (MESSAGES 1)", "S: h2 OK *")
}

// TestHardeningAuthBruteForce: each failed login is delayed and the
// connection is closed after the limit (RFC 9051 §11.1, password guessing).
func TestHardeningAuthBruteForce(t *testing.T) {
	srv := imaptest.NewServer(t, &imaptest.Options{Configure: func(s *imap.Server) {
		s.LoginFailDelay = 100 * time.Millisecond
		s.MaxLoginFails = 3
	}})
	srv.Append(t, "test", "INBOX", hMsg)
	c := srv.Dial(t)
	start := time.Now()
	c.Run("C: a LOGIN test guess0", "S: a NO [AUTHENTICATIONFAILED] *",
		"C: b AUTHENTICATE PLAIN "+"AHRlc3QAZ3Vlc3Mx", "S: b NO [AUTHENTICATIONFAILED] *",
		"C: c LOGIN test guess2", "S: * BYE [AUTHENTICATIONFAILED] *")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("three failures answered in %v, want ≥ 300 ms", d)
	}
	hHealthy(t, srv, 1)
}

// TestHardeningSlowlorisTLS: a TLS handshake trickled one byte at a time
// after STARTTLS is cut by the pre-authentication timer. (The implicit-TLS
// listener: TestHardeningSlowlorisImplicitTLS.)
func TestHardeningSlowlorisTLS(t *testing.T) {
	srv := imaptest.NewServer(t, &imaptest.Options{TLS: true, Configure: func(s *imap.Server) { s.PreAuthTimeout = 300 * time.Millisecond }})
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "a STARTTLS\r\n")
	if !soak.Trickle(nc, clientHello, 50*time.Millisecond, 5*time.Second) {
		t.Error("a slowloris handshake kept its connection for 5 s")
	}
}

// clientHello is the start of a TLS ClientHello, then zeros.
var clientHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + strings.Repeat("\x00", 500)
