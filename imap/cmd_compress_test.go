package imap

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testpeer"
)

// COMPRESS=DEFLATE against Python's zlib, flushing after every command
// with a sync flush, a full flush, a partial flush (which compress/flate
// alone would stall on), and a sync flush sent one byte at a
// time: the server must answer each command without waiting for more.
func TestInteropPythonCompress(t *testing.T) {
	py := testpeer.Require(t, "python3", "python3")
	for _, mode := range []string{"sync", "full", "partial", "dribble"} {
		t.Run(mode, func(t *testing.T) {
			e := newTestEnv(t)
			e.appendMsg("INBOX", msg("first", "first body\r\n"))
			e.appendMsg("INBOX", msg("second", "second body\r\n"))
			host, port := e.hostPort()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, py, "testdata/compress_interop.py", host, port, "sara", "secret", mode).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "compress interop OK")
		})
	}
}

func TestCompressGrammar(t *testing.T) {
	e := newTestEnv(t)
	c := e.dial()
	c.run(
		"C: a COMPRESS DEFLATE",
		"S: a BAD *not allowed now",
		"C: b LOGIN sara secret",
		"S: b OK [CAPABILITY * COMPRESS=DEFLATE*] *",
		"C: c COMPRESS",
		"S: c BAD *",
		"C: d COMPRESS LZW",
		"S: d BAD *",
	)
}
