package relay

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mx/mxtest"
	"github.com/posthorn/posthorn/smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInteropPythonSubmission: Python's smtplib submits through the
// submission backend with STARTTLS and AUTH; the relay delivers to a
// receiver through MX.
func TestInteropPythonSubmission(t *testing.T) {
	python := testpeer.Require(t, "python3", "python3")
	w := newWorld(t)
	users := newUsers(t)
	sub := &Submission{Queue: w.q, Auth: users, Recipients: users, IsLocal: w.q.IsLocal}
	srv := &smtp.Server{Hostname: "submit.bob.example", Backend: sub, Mode: smtp.ModeSubmission,
		TLSConfig: testcert.ServerTLS(), Logger: slog.New(slog.DiscardHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, testcert.CertPEM(), 0o600))
	_, port, _ := net.SplitHostPort(l.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "testdata/submit.py", "localhost", port, ca,
		"bob", "bobpw", "bob@bob.example", "jim@jim.example,sara@sara.example").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "refused: {}")
	assert.Contains(t, string(out), "other sender refused: 553")
	waitEmpty(t, w.q)
	got := w.mx2.messages("jim@jim.example")
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "Hello from Python's smtplib.")
	assert.Contains(t, got[0], "with ESMTPSA", "the Received field records TLS and AUTH")
	require.Len(t, w.mx3.messages("sara@sara.example"), 1)
}

// TestInteropDeliverToSMTPSink: the relay delivers into Postfix's
// smtp-sink, an independent SMTP server.
func TestInteropDeliverToSMTPSink(t *testing.T) {
	sinkBin := testpeer.Require(t, "smtp-sink", "postfix")
	port := freeLoopbackPort(t, "127.0.0.5")
	// smtp-sink drops to nobody: its directory must be reachable by it.
	dir, err := os.MkdirTemp("", "phsink-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	args := []string{"-d", filepath.Join(dir, "%Y%m%d-%H%M%S."), "127.0.0.5:" + strconv.Itoa(port), "64"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	cmd := exec.Command(sinkBin, args...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", "127.0.0.5:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)

	dns := mxtest.NewServer(t, "sink.example. 300 IN MX 10 mx.sink.example.\nmx.sink.example. 300 IN A 127.0.0.5\n")
	bounces := newFakeNet(nil)
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Hostname: "relay.bob.example", DelayNotice: -1,
		Transport: &SMTPTransport{Resolver: dns.Resolver(), Port: port, Dialer: smtp.Dialer{LocalName: "relay.bob.example"}},
		Local:     bounces, IsLocal: func(d string) bool { return d == "bob.example" }, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	for i := 0; i < 5; i++ {
		send(t, q, "bob@bob.example", msg, "a@sink.example", "b@sink.example")
	}
	waitEmpty(t, q)
	assert.Empty(t, bounces.got("bob@bob.example"))
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	require.Len(t, files, 5, "smtp-sink stored every message")
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(data), "X-Rcpt-Args: <a@sink.example>")
	assert.Contains(t, string(data), "X-Rcpt-Args: <b@sink.example>")
	assert.True(t, strings.Contains(string(data), "Subject: hi"))
}

// TestInteropDeliverToPostfix: the relay delivers through MX into a real
// Postfix (a private instance on 127.0.0.7 that accepts mail for
// postfix.example), with STARTTLS, and Postfix logs each recipient as sent.
func TestInteropDeliverToPostfix(t *testing.T) {
	pf := testpeer.StartPostfix(t, testpeer.PostfixOptions{IP: "127.0.0.7", RelayDomains: []string{"postfix.example"}})
	_, port, _ := net.SplitHostPort(pf.Addr)
	dns := mxtest.NewServer(t, "postfix.example. 300 IN MX 10 mx.postfix.example.\nmx.postfix.example. 300 IN A 127.0.0.7\n"+
		"elsewhere.example. 300 IN MX 10 mx.postfix.example.\n")
	bounces := newFakeNet(nil)
	p, _ := strconv.Atoi(port)
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Hostname: "relay.bob.example", DelayNotice: -1,
		Schedule: []time.Duration{100 * time.Millisecond}, Logger: slog.New(slog.DiscardHandler),
		Transport: &SMTPTransport{Resolver: dns.Resolver(), Port: p, Dialer: smtp.Dialer{LocalName: "relay.bob.example", Logger: slog.New(slog.DiscardHandler)}},
		Local:     bounces, IsLocal: func(d string) bool { return d == "bob.example" }}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	send(t, q, "bob@bob.example", msg, "a@postfix.example", "b@postfix.example")
	send(t, q, "bob@bob.example", msg, "c@elsewhere.example") // Postfix refuses to relay: 554, bounced
	require.Eventually(t, func() bool { return len(q.List()) == 0 }, 20*time.Second, 20*time.Millisecond, "queue never emptied:\n%s", pf.Log())
	pf.WaitLog(t, 10*time.Second, "to=<a@postfix.example>", "to=<b@postfix.example>", "status=sent")
	assert.Contains(t, pf.Log(), "starttls=1", "opportunistic STARTTLS was used")
	bouncesGot := bounces.got("bob@bob.example")
	require.Len(t, bouncesGot, 1, "the refused recipient is bounced")
	assert.Contains(t, bouncesGot[0], "Final-Recipient: rfc822; c@elsewhere.example")
	assert.Contains(t, bouncesGot[0], "Diagnostic-Code: smtp; 554 5.7.1")
}
