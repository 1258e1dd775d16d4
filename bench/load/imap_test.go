package load

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLiteralSize(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int64
		ok   bool
	}{
		{"* 1 FETCH (BODY[] {123}\r\n", 123, true},
		{"* 1 FETCH (BODY[] ~{7}\r\n", 7, true},
		{"a APPEND INBOX {5+}\r\n", 5, true},
		{"* 1 FETCH (BODY[] {0}\r\n", 0, true},
		{"* OK {x}\r\n", 0, false},
		{"* OK {}\r\n", 0, false},
		{"* OK done\r\n", 0, false},
		{"* OK {1234567890123456789}\r\n", 0, false},
	} {
		n, ok := literalSize([]byte(tc.line))
		if n != tc.n || ok != tc.ok {
			t.Errorf("literalSize(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}

// Cmd counts untagged responses and bytes, literals (whose contents look
// like response lines) included, and keeps the tag of a line longer than
// the read buffer.
func TestIMAPConnCmdCounts(t *testing.T) {
	cli, srv := net.Pipe()
	defer cli.Close()
	long := "* OK " + strings.Repeat("x", 300<<10) + "\r\n"
	resp := "* 1 FETCH (BODY[] {14}\r\n* 9 EXISTS\r\n)\r\n" +
		"* 2 FETCH (BODY[] {3}\r\nabc BODY[1] {2}\r\nxy)\r\n" + long +
		"b1 OK done\r\n"
	go func() {
		defer srv.Close()
		br := bufio.NewReader(srv)
		br.ReadString('\n')
		srv.Write([]byte(resp))
	}()
	ic := &IMAPConn{c: cli, br: bufio.NewReaderSize(cli, 4096), bw: bufio.NewWriter(cli)}
	cli.SetDeadline(time.Now().Add(5 * time.Second))
	res, err := ic.Cmd("FETCH 1:2 BODY[]")
	if err != nil {
		t.Fatal(err)
	}
	if res.Untagged != 3 || res.Bytes != int64(len(resp)) {
		t.Fatalf("got %+v, want 3 untagged, %d bytes", res, len(resp))
	}
}

// AppendPipelined writes every APPEND before reading the answers; a
// server that refuses the first and stops reading gets its error back to
// the caller, with the writer unblocked (it closes the connection).
func TestAppendPipelinedRefused(t *testing.T) {
	cli, srv := net.Pipe()
	defer cli.Close()
	first := make(chan string, 1)
	go func() {
		br := bufio.NewReader(srv)
		line, _ := br.ReadString('\n')
		first <- line
		srv.Write([]byte("b1 NO [TRYCREATE] no such mailbox\r\n"))
		// and reads nothing more: net.Pipe blocks the writer
	}()
	defer srv.Close()
	ic := &IMAPConn{c: cli, br: bufio.NewReaderSize(cli, 4096), bw: bufio.NewWriterSize(cli, 64)}
	done := make(chan error, 1)
	go func() {
		done <- ic.AppendPipelined("Sent", [][]byte{[]byte("a\r\n"), []byte(strings.Repeat("x", 1000))})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "NO [TRYCREATE]") {
			t.Fatalf("AppendPipelined = %v, want the server's NO", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("AppendPipelined blocked after the server refused")
	}
	if got := <-first; got != "b1 APPEND \"Sent\" {3+}\r\n" {
		t.Fatalf("first line %q, want a LITERAL+ APPEND", got)
	}
}
