package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The bulk buffer keeps the order of what is written before, during and
// after it, and the writer is the connection's small one again after.
func TestRespWriterBulkOrder(t *testing.T) {
	var out bytes.Buffer
	small := bufio.NewWriterSize(&out, writeBufSize)
	w := respWriter{bw: small, dst: &out}
	w.raw("* 1 EXISTS")
	w.crlf()
	require.NoError(t, w.beginBulk())
	require.NotSame(t, small, w.bw)
	require.Equal(t, bulkBufSize, w.bw.Size())
	require.NoError(t, w.beginBulk()) // nested: no change
	body := strings.Repeat("x", 3*bulkBufSize)
	w.raw("* 1 FETCH (BODY[] ")
	w.literalHeader(int64(len(body)))
	w.data([]byte(body))
	w.raw(")")
	w.crlf()
	require.NoError(t, w.endBulk())
	require.Same(t, small, w.bw)
	require.NoError(t, w.endBulk()) // not in bulk: no change
	w.raw("a OK done")
	w.crlf()
	require.NoError(t, w.bw.Flush())
	want := fmt.Sprintf("* 1 EXISTS\r\n* 1 FETCH (BODY[] {%d}\r\n%s)\r\na OK done\r\n", len(body), body)
	require.Equal(t, want, out.String())
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// A bulk buffer that cannot be flushed stays, so the error is seen at the
// session's next flush instead of being lost with the data.
func TestRespWriterBulkFlushErrorSticks(t *testing.T) {
	small := bufio.NewWriterSize(failWriter{}, writeBufSize)
	w := respWriter{bw: small, dst: failWriter{}}
	require.NoError(t, w.beginBulk())
	w.raw("* 1 FETCH (UID 1)")
	w.crlf()
	require.Error(t, w.endBulk())
	require.NotSame(t, small, w.bw)
	require.Error(t, w.bw.Flush())
}

// A FETCH of many bodies, far more than the bulk buffer holds, comes out
// whole and in order, then the tagged response.
func TestFetchManyBodies(t *testing.T) {
	e := newTestEnv(t)
	const n = 60
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = strings.Repeat(fmt.Sprintf("line %d of the body\r\n", i), 150)
		e.appendMsg("INBOX", msg(fmt.Sprint("m", i), bodies[i]))
	}
	c := e.selectInbox()
	c.send("a FETCH 1:* (UID BODY.PEEK[TEXT])")
	for i := range bodies {
		got := c.readLine()
		want := fmt.Sprintf("* %d FETCH (UID %d BODY[TEXT] {%d}%s)", i+1, i+1, len(bodies[i]), bodies[i])
		require.Equal(t, want, got)
	}
	c.expect("a OK *")
	c.run("C: b NOOP", "S: b OK *")
}
