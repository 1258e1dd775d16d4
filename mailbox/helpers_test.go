package mailbox

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSection(t *testing.T) {
	msg := "Subject: x\r\n\r\nhello world\r\n"
	// With io.ReaderAt.
	r, err := Section(bytes.NewReader([]byte(msg)), 14, 5)
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))

	// Without: skips forward.
	r, err = Section(iotest.OneByteReader(strings.NewReader(msg)), 20, 5)
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "world", string(got))

	// Past the end: empty, both ways.
	for _, r := range []io.Reader{iotest.OneByteReader(strings.NewReader(msg)), bytes.NewReader([]byte(msg))} {
		s, err := Section(r, 1000, 5)
		require.NoError(t, err)
		got, err = io.ReadAll(s)
		require.NoError(t, err)
		assert.Empty(t, got)
	}
	// Partly past the end: shorter.
	s, err := Section(iotest.OneByteReader(strings.NewReader(msg)), int64(len(msg)-3), 10)
	require.NoError(t, err)
	got, _ = io.ReadAll(s)
	assert.Equal(t, "d\r\n", string(got))
}
