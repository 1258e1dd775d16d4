package imap

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deflate compresses chunks with compress/flate, sync-flushing after each.
func deflate(t testing.TB, level int, chunks ...[]byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	require.NoError(t, err)
	for _, c := range chunks {
		w.Write(c)
		w.Flush()
	}
	w.Close()
	return buf.Bytes()
}

func inflateTestData() [][]byte {
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 70000)
	for i := range random {
		random[i] = byte(rnd.IntN(256))
	}
	text := make([]byte, 0, 100000)
	for len(text) < 100000 {
		text = append(text, []byte("a FETCH 1:* (UID FLAGS BODY.PEEK[HEADER]) "+strings.Repeat("x", rnd.IntN(40))+"\r\n")...)
	}
	return [][]byte{
		nil, []byte("a"), []byte("a NOOP\r\n"),
		[]byte(strings.Repeat("the same line again and again\r\n", 2000)),
		random, text,
	}
}

func TestInflateRoundTrip(t *testing.T) {
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, 5, flate.BestCompression, flate.HuffmanOnly} {
		for i, data := range inflateTestData() {
			z := deflate(t, level, data[:len(data)/2], data[len(data)/2:])
			got, err := io.ReadAll(newInflater(bytes.NewReader(z)))
			require.NoError(t, err, "level %d data %d", level, i)
			require.True(t, bytes.Equal(data, got), "level %d data %d: %d vs %d bytes", level, i, len(data), len(got))
		}
	}
}

// A flushed command is handed out while the rest of the stream has not
// arrived: the reader must not wait for the next block.
func TestInflateNoStallAfterFlush(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	zw, err := flate.NewWriter(pw, 5)
	require.NoError(t, err)
	go func() {
		zw.Write([]byte("a NOOP\r\n"))
		zw.Flush() // then nothing more: the client waits for the answer
	}()
	f := newInflater(pr)
	buf := make([]byte, 64)
	done := make(chan string, 1)
	go func() {
		n, _ := f.Read(buf)
		done <- string(buf[:n])
	}()
	select {
	case got := <-done:
		require.Equal(t, "a NOOP\r\n", got)
	case <-time.After(5 * time.Second):
		t.Fatal("inflater stalled on a sync-flushed command")
	}
}

func TestInflateCorrupt(t *testing.T) {
	for _, z := range [][]byte{
		{0x07},                         // reserved block type 3
		{0x01, 0x05, 0x00, 0x00, 0x00}, // stored block with a bad NLEN
		{0x03},                         // fixed block, truncated
	} {
		_, err := io.ReadAll(newInflater(bytes.NewReader(z)))
		require.Error(t, err, "%x", z)
	}
}

// FuzzInflate checks the inflater against compress/flate: whatever
// compress/flate decodes, the inflater decodes to the same bytes; and
// whatever compress/flate encodes (with flushes), the inflater restores.
func FuzzInflate(f *testing.F) {
	for _, d := range inflateTestData() {
		if len(d) < 4096 {
			f.Add(d)
		}
		f.Add(deflate(f, 5, d[:min(len(d), 2000)]))
	}
	f.Add([]byte{0x4a, 0x04, 0x00, 0x00, 0xff, 0xff})
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, in []byte) {
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(in)), limit))
		got, gerr := io.ReadAll(io.LimitReader(newInflater(bytes.NewReader(in)), limit))
		if werr == nil && len(want) < limit {
			if gerr != nil || !bytes.Equal(got, want) {
				t.Fatalf("flate decodes %d bytes, inflater %d (%v)", len(want), len(got), gerr)
			}
		}
		half := len(in) / 2
		z := deflate(t, 1+len(in)%9, in[:half], in[half:])
		back, err := io.ReadAll(newInflater(bytes.NewReader(z)))
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
