package pop3

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
)

// TestCurl uses curl's pop3:// support against our server: LIST, RETR,
// DELE, every login method curl has, and STLS.
func TestCurl(t *testing.T) {
	curl := testpeer.Require(t, "curl", "curl")
	certFile, _ := testcert.WriteFiles(t)
	st := newStore(t, msg1, msg2)
	addr := startServer(t, &Server{Store: st, TLSConfig: testcert.ServerTLS(), AllowInsecureAuth: true})
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		args = append([]string{"-sS", "--max-time", "15", "-u", "sara:secret"}, args...)
		out, err := exec.CommandContext(ctx, curl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	base := "pop3://127.0.0.1:" + port + "/"
	if got := run(base); got != "1 "+strconv.Itoa(len(msg1))+"\r\n2 "+strconv.Itoa(len(msg2))+"\r\n" {
		t.Errorf("LIST via curl: %q", got)
	}
	for _, login := range []string{"AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5", "AUTH=*", "AUTH=+APOP", ""} {
		args := []string{base + "1"}
		if login != "" {
			args = append(args, "--login-options", login)
		}
		if got := run(args...); got != msg1 {
			t.Errorf("RETR with %q: %q", login, got)
		}
	}
	// STLS, required, with our certificate.
	if got := run("--ssl-reqd", "--cacert", certFile, "pop3://localhost:"+port+"/2"); got != msg2 {
		t.Errorf("RETR over STLS: %q", got)
	}
	run("-X", "DELE", "-I", base+"1")
	if s := status(t, st); s.Messages != 1 {
		t.Errorf("%d messages after curl DELE", s.Messages)
	}
}
