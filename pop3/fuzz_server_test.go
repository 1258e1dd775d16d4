package pop3

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzServer feeds arbitrary client input to a logged-in or fresh session
// over net.Pipe. The server must not panic, must answer only in CRLF lines
// that begin a status, a continuation or belong to a multi-line response,
// and must end the session cleanly.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"STAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\n",
		"AUTH PLAIN\r\nAHNhcmEAc2VjcmV0\r\nSTAT\r\n",
		"AUTH LOGIN\r\nc2FyYQ==\r\nc2VjcmV0\r\n",
		"AUTH SCRAM-SHA-256 biwsbj1zYXJhLHI9YWJj\r\n=\r\n",
		"CAPA\r\nAPOP sara 0123456789abcdef0123456789abcdef\r\nUTF8\r\n",
		"LIST 99999999999\r\nTOP 1 -1\r\nRETR\r\n\x00\r\n",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, input []byte, loggedIn bool) {
		st := newStore(t, msg1, msg2)
		var logs syncBuffer
		srv := &Server{Store: st, AllowInsecureAuth: true, AuthFailureDelay: -1, MaxBadCommands: -1, Hostname: "h",
			ReadTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))}
		a, b := net.Pipe()
		defer a.Close()
		c := srv.newConn(context.Background(), b)
		served := make(chan struct{})
		go func() { c.serve(); close(served) }()
		out := make(chan []byte, 1)
		go func() {
			o, _ := io.ReadAll(a)
			out <- o
		}()
		a.SetDeadline(time.Now().Add(10 * time.Second))
		if loggedIn {
			a.Write([]byte("USER sara\r\nPASS secret\r\n"))
		}
		a.Write(input)
		a.Write([]byte("\r\n*\r\nQUIT\r\n"))
		var o []byte
		select {
		case o = <-out:
		case <-time.After(5 * time.Second):
			t.Fatalf("session did not end")
		}
		a.Close()
		<-served
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("server panicked: %s", logs.String())
		}
		checkReplies(t, o)
	})
}

// multiStatus matches the +OK lines of RETR and LIST that start a
// multi-line response.
var multiStatus = regexp.MustCompile(`^\+OK \d+ (octets|messages \(\d+ octets\))$`)

// checkReplies checks that o is a sequence of CRLF lines, each a status
// line, a continuation, or part of a multi-line response.
func checkReplies(t *testing.T, o []byte) {
	t.Helper()
	if len(o) > 0 && !bytes.HasSuffix(o, []byte("\r\n")) {
		t.Fatalf("output does not end in CRLF: %q", o)
	}
	inMulti := false
	for _, line := range bytes.Split(bytes.TrimSuffix(o, []byte("\r\n")), []byte("\r\n")) {
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			t.Fatalf("bare line ending in %q", line)
		}
		if inMulti {
			inMulti = string(line) != "."
			continue
		}
		switch {
		case bytes.HasPrefix(line, []byte("+OK")):
			// Multi-line replies follow these status lines.
			s := string(line)
			inMulti = strings.Contains(s, "follow") || multiStatus.MatchString(s)
		case bytes.HasPrefix(line, []byte("-ERR")), bytes.HasPrefix(line, []byte("+ ")):
		default:
			t.Fatalf("unexpected line %q in %q", line, o)
		}
	}
}
