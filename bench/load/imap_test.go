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
