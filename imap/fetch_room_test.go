package imap

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lenRecorder records the length of the buffer of each Read.
type lenRecorder struct {
	r    *strings.Reader
	lens []int
}

func (l *lenRecorder) Read(p []byte) (int, error) {
	l.lens = append(l.lens, len(p))
	return l.r.Read(p)
}

// roomyLimit passes on exactly n octets, drops what a reader gives past
// them, and offers the reader one octet of room past the end, so that a
// store reader can tell a longer file in the read that reaches the end.
func TestRoomyLimit(t *testing.T) {
	for _, extra := range []int{0, 1, 100} {
		src := &lenRecorder{r: strings.NewReader(strings.Repeat("a", 5000) + strings.Repeat("b", extra))}
		var out bytes.Buffer
		bw := bufio.NewWriterSize(struct{ io.Writer }{&out}, 64<<10) // as the connection's: no ReadFrom
		lr := &roomyLimit{r: src, n: 5000}
		n, err := bw.ReadFrom(lr)
		require.NoError(t, err)
		require.NoError(t, bw.Flush())
		require.EqualValues(t, 5000, n)
		require.Equal(t, strings.Repeat("a", 5000), out.String())
		require.Equal(t, 5001, src.lens[0], "the read reaching the end has one octet of room")
	}
}
