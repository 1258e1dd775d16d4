package pop3

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
)

type poplibResult struct {
	Welcome string   `json:"welcome"`
	Capa    []string `json:"capa"`
	Stat    [2]int   `json:"stat"`
	List    []string `json:"list"`
	UIDL    []string `json:"uidl"`
	Top     []string `json:"top"`
	Retr    []struct {
		Body   string `json:"body"`
		Octets int    `json:"octets"`
	} `json:"retr"`
	Quit string `json:"quit"`
}

// TestPythonPoplib runs Python's poplib against our server: USER/PASS,
// APOP, STLS and implicit TLS; STAT, LIST, UIDL, TOP, RETR, DELE, QUIT.
func TestPythonPoplib(t *testing.T) {
	python := testpeer.Require(t, "python3", "python3")
	certFile, _ := testcert.WriteFiles(t)
	for _, mode := range []string{"user", "apop", "stls", "ssl"} {
		t.Run(mode, func(t *testing.T) {
			st := newStore(t, msg1, msg2)
			srv := &Server{Store: st, TLSConfig: testcert.ServerTLS(), AllowInsecureAuth: mode != "stls"}
			var addr string
			if mode == "ssl" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				go srv.ServeTLS(ln, "", "")
				t.Cleanup(func() { srv.Close() })
				addr = ln.Addr().String()
			} else {
				addr = startServer(t, srv)
			}
			host, port, _ := net.SplitHostPort(addr)
			if mode != "user" && mode != "apop" {
				host = "localhost"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, python, "testdata/poplib_client.py", host, port, "sara", "secret", mode, certFile).CombinedOutput()
			if err != nil {
				t.Fatalf("poplib: %v\n%s", err, out)
			}
			var r poplibResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if r.Stat != [2]int{2, len(msg1) + len(msg2)} {
				t.Errorf("STAT %v", r.Stat)
			}
			if len(r.List) != 2 || r.List[0] != "1 "+strconv.Itoa(len(msg1)) {
				t.Errorf("LIST %q", r.List)
			}
			if len(r.UIDL) != 2 || !strings.HasPrefix(r.UIDL[1], "2 ") {
				t.Errorf("UIDL %q", r.UIDL)
			}
			if strings.Join(r.Top, "\r\n") != "From: a@example.org\r\nSubject: one\r\n" {
				t.Errorf("TOP %q", r.Top)
			}
			// poplib undoes the dot-stuffing; octets counts the wire bytes
			// with CRLF minus the stuffing, i.e. the message size.
			if len(r.Retr) != 2 || r.Retr[0].Body != msg1 || r.Retr[1].Body != msg2 {
				t.Errorf("RETR %+v", r.Retr)
			}
			if !strings.HasPrefix(r.Quit, "+OK") {
				t.Errorf("QUIT %q", r.Quit)
			}
			if s := status(t, st); s.Messages != 1 {
				t.Errorf("%d messages after DELE 1 and QUIT", s.Messages)
			}
		})
	}
}
