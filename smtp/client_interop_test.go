package smtp

// Interop with Postfix's smtp-sink (Debian package postfix), an independent
// SMTP/LMTP server with fault injection.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startSink runs smtp-sink on a free loopback port with args, dumping each
// transaction into a directory, and returns the address and the directory.
func startSink(t *testing.T, args ...string) (addr, dir string) {
	t.Helper()
	bin := testpeer.Require(t, "smtp-sink", "postfix")
	// Not t.TempDir: its parent is private, and smtp-sink writes as nobody.
	dir, err := os.MkdirTemp("", "smtp-sink-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr = l.Addr().String()
	l.Close()
	full := []string{"-h", "sink.test", "-d", dir + "/%M."}
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		full = append(full, "-u", "nobody")
	}
	full = append(full, args...)
	full = append(full, addr, "16")
	cmd := exec.Command(bin, full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, dir
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink did not start on %s: %v; stderr: %s", addr, err, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sinkDumps returns the dumped transactions, waiting (bounded) for n.
func sinkDumps(t *testing.T, dir string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) >= n || time.Now().After(deadline) {
			var out []string
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				out = append(out, string(b))
			}
			require.Len(t, out, n)
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sinkSend(ctx context.Context, c *Client, from string, to []string, body string) ([]RcptResult, error) {
	rcpts := make([]Recipient, len(to))
	for i, a := range to {
		rcpts[i].Address = a
	}
	w, res, err := c.Transaction(ctx, from, nil, rcpts)
	if err != nil {
		return res, err
	}
	if _, err := io.WriteString(w, body); err != nil {
		w.Close()
		return res, err
	}
	return res, w.Close()
}

func TestSinkPlainAndPipelined(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		pipe bool
	}{{"pipelined", nil, true}, {"no pipelining", []string{"-p"}, false}} {
		t.Run(tt.name, func(t *testing.T) {
			addr, dir := startSink(t, tt.args...)
			ctx := context.Background()
			c, err := quietDialer(Plain).Dial(ctx, addr)
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, tt.pipe, c.Capabilities().Pipelining)
			assert.True(t, c.Capabilities().EightBitMIME)
			for i := 0; i < 3; i++ {
				_, err := sinkSend(ctx, c, "a@example.org", []string{"b@example.com", "c@example.com"},
					fmt.Sprintf("Subject: %d\n\n.dot line\nbody\n", i))
				require.NoError(t, err)
			}
			require.NoError(t, c.Quit(ctx))
			for _, d := range sinkDumps(t, dir, 3) {
				assert.Contains(t, d, "X-Mail-Args: <a@example.org>")
				assert.Contains(t, d, "X-Rcpt-Args: <b@example.com>\nX-Rcpt-Args: <c@example.com>")
				assert.Contains(t, d, "\n.dot line\n", "dot-stuffing removed by the sink")
			}
		})
	}
}

func TestSinkRcptRejected(t *testing.T) {
	for _, tt := range []struct {
		flag string
		code int
	}{{"-r", 450}, {"-f", 500}} {
		addr, _ := startSink(t, tt.flag, "RCPT")
		ctx := context.Background()
		c, err := quietDialer(Plain).Dial(ctx, addr)
		require.NoError(t, err)
		res, err := sinkSend(ctx, c, "a@example.org", []string{"b@example.com", "c@example.com"}, "x\r\n")
		require.ErrorIs(t, err, ErrNoRecipients)
		var se *Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, tt.code, se.Code)
		assert.Equal(t, tt.code == 450, se.Temporary())
		for _, r := range res {
			require.ErrorAs(t, r.Err, &se)
		}
		require.NoError(t, c.Noop(ctx), "still usable after %s RCPT", tt.flag)
		require.NoError(t, c.Quit(ctx))
	}
}

func TestSinkDataRejected(t *testing.T) {
	for _, cmd := range []string{"DATA", "."} {
		addr, _ := startSink(t, "-f", cmd)
		ctx := context.Background()
		c, err := quietDialer(Plain).Dial(ctx, addr)
		require.NoError(t, err)
		_, err = sinkSend(ctx, c, "a@example.org", []string{"b@example.com"}, "x\r\n")
		var se *Error
		require.ErrorAs(t, err, &se, "-f %s", cmd)
		assert.True(t, se.Permanent())
		require.NoError(t, c.Noop(ctx))
		c.Close()
	}
}

func TestSinkDisconnects(t *testing.T) {
	ctx := context.Background()
	// -Q: 421 then disconnect.
	addr, _ := startSink(t, "-Q", "MAIL")
	c, err := quietDialer(Plain).Dial(ctx, addr)
	require.NoError(t, err)
	_, err = sinkSend(ctx, c, "a@example.org", []string{"b@example.com"}, "x\r\n")
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 421, se.Code)
	// The server is gone: later calls fail with the same 421 at once.
	err = c.Noop(ctx)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 421, se.Code)
	assert.True(t, se.Temporary())
	c.Close()

	// -q: disconnect without a reply.
	addr, _ = startSink(t, "-q", "RCPT")
	c, err = quietDialer(Plain).Dial(ctx, addr)
	require.NoError(t, err)
	_, err = sinkSend(ctx, c, "a@example.org", []string{"b@example.com"}, "x\r\n")
	require.Error(t, err)
	assert.False(t, errors.As(err, &se))
	assert.ErrorIs(t, c.Noop(ctx), err, "broken")
	c.Close()
}

func TestSinkHELOFallback(t *testing.T) {
	addr, dir := startSink(t, "-f", "EHLO")
	ctx := context.Background()
	c, err := quietDialer(Plain).Dial(ctx, addr)
	require.NoError(t, err)
	defer c.Close()
	assert.False(t, c.ESMTP())
	_, err = sinkSend(ctx, c, "a@example.org", []string{"b@example.com"}, "x\r\n")
	require.NoError(t, err)
	d := sinkDumps(t, dir, 1)[0]
	assert.Contains(t, d, "X-Client-Proto: SMTP")
}

func TestSinkLMTP(t *testing.T) {
	addr, dir := startSink(t, "-L")
	d := quietDialer(Plain)
	d.LMTP = true
	ctx := context.Background()
	c, err := d.Dial(ctx, addr)
	require.NoError(t, err)
	defer c.Close()
	w, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}, {Address: "c@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "hello\r\n")
	require.NoError(t, w.Close())
	for _, r := range w.Results() {
		assert.NoError(t, r.Err)
	}
	require.NoError(t, c.Quit(ctx))
	assert.Contains(t, sinkDumps(t, dir, 1)[0], "X-Client-Proto: LMTP")
}

func TestSinkSendMail(t *testing.T) {
	addr, dir := startSink(t)
	err := SendMail(context.Background(), addr, nil, "a@example.org", []string{"b@example.com"},
		strings.NewReader("Subject: sendmail\r\n\r\nhi\r\n"))
	require.NoError(t, err, "no STARTTLS offered: opportunistic continues in plaintext")
	assert.Contains(t, sinkDumps(t, dir, 1)[0], "Subject: sendmail")
}
