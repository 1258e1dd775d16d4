package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/posthorn/posthorn/internal/textwire"
)

// stuffed runs msg through a stuffer in chunks of the given sizes (the
// last size repeats), as reads of a file would hand it over.
func stuffed(msg []byte, sizes ...int) []byte {
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 16)
	s := stuffer{bw: bw, lineStart: true}
	for k := 0; len(msg) > 0; k++ {
		n := max(sizes[min(k, len(sizes)-1)], 1)
		n = min(n, len(msg))
		s.write(msg[:n])
		msg = msg[n:]
	}
	s.end()
	bw.Flush()
	return out.Bytes()
}

// TestStuffer: the output is what the reference encoder (textwire) gives,
// however the message is cut into chunks, and decodes back to the message
// with its line endings made CRLF.
func TestStuffer(t *testing.T) {
	for _, msg := range []string{
		"",
		"a",
		".",
		"..\r\n",
		"Subject: x\r\n\r\n.\r\n.. two\r\nend\r\n",
		"no final line end",
		"bare\nlf\n.dot after bare LF\n",
		"bare\rcr\r.dot after bare CR\r",
		"mixed\r\r\n\n\r.\r\n\r",
		"\n.\r.\r\n.",
		".start\r\n" + strings.Repeat("x", 100) + "\r\n.end",
	} {
		want := textwire.EncodeDot([]byte(msg))
		for _, sizes := range [][]int{{1 << 20}, {1}, {2}, {3}, {1, 7}, {5, 1}} {
			got := stuffed([]byte(msg), sizes...)
			if !bytes.Equal(got, want) {
				t.Errorf("%q in chunks %v:\n got %q\nwant %q", msg, sizes, got, want)
			}
		}
		back, err := textwire.DecodeDot(want)
		if err != nil || !bytes.Equal(back, wireForm([]byte(msg))) {
			t.Errorf("%q: decodes to %q, %v", msg, back, err)
		}
	}
}

// TestSendStuffedErrors: a read error ends the body at once and is
// returned; a write error stops the copy.
func TestSendStuffedErrors(t *testing.T) {
	boom := errors.New("disk gone")
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	r := io.MultiReader(strings.NewReader("line\r\n"), iotest.ErrReader(boom))
	if err := sendStuffed(bw, r); !errors.Is(err, boom) {
		t.Fatalf("read error: got %v", err)
	}
	bw.Flush()
	if bytes.Contains(out.Bytes(), []byte("\r\n.\r\n")) {
		t.Errorf("a failed message was terminated: %q", out.Bytes())
	}

	wbw := bufio.NewWriterSize(errWriter{boom}, 16)
	if err := sendStuffed(wbw, strings.NewReader(strings.Repeat("0123456789\r\n", 100))); !errors.Is(err, boom) {
		t.Fatalf("write error: got %v", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write(p []byte) (int, error) { return 0, w.err }

// FuzzStuffer: for any bytes and any chunk size, the stuffer's output
// equals the reference encoder's, and decodes back to the input with CRLF
// line endings.
func FuzzStuffer(f *testing.F) {
	for _, s := range []string{"", ".\r\n", "a\r\n.b\r\n", "x\ry\nz", "\r", "\n.", "..\r\r\n\n"} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, msg []byte, chunk uint8) {
		want := textwire.EncodeDot(msg)
		got := stuffed(msg, int(chunk))
		if !bytes.Equal(got, want) {
			t.Fatalf("%q in chunks of %d:\n got %q\nwant %q", msg, chunk, got, want)
		}
		back, err := textwire.DecodeDot(got)
		if err != nil || !bytes.Equal(back, wireForm(msg)) {
			t.Fatalf("%q: decodes to %q, %v", msg, back, err)
		}
	})
}

// BenchmarkStuffer: dot-stuffing a 1 MiB CRLF message from 64 KiB reads.
func BenchmarkStuffer(b *testing.B) {
	msg := []byte(benchMessage(0, 1<<20))
	bw := bufio.NewWriterSize(io.Discard, 32<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := sendStuffed(bw, bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDotWriter is BenchmarkStuffer with textwire.DotWriter, the
// general encoder RETR used before.
func BenchmarkDotWriter(b *testing.B) {
	msg := []byte(benchMessage(0, 1<<20))
	bw := bufio.NewWriterSize(io.Discard, 32<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		dw := textwire.NewDotWriter(bw)
		if _, err := io.Copy(dw, bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
		dw.Close()
	}
}

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestPipelinedRetrSharesWrites: the replies to RETRs sent in one batch
// leave in one write, not one (or more) per message.
func TestPipelinedRetrSharesWrites(t *testing.T) {
	const n = 20
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = msg1
	}
	st := newStore(t, msgs...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int32
	srv := &Server{Store: st, AllowInsecureAuth: true, AuthFailureDelay: -1, Hostname: "pop.test", Logger: discard()}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(countingListener{ln, &writes}) }()
	t.Cleanup(func() { srv.Close(); <-done })
	w := dialWire(t, ln.Addr().String())
	w.login()
	var batch strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&batch, "RETR %d\r\n", i)
	}
	before := writes.Load()
	if _, err := io.WriteString(w.c, batch.String()); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("+OK "+strconv.Itoa(len(msg1))+" octets\r\n"+string(textwire.EncodeDot([]byte(msg1))), n)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(w.br, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("replies:\n%q\nwant\n%q", got, want)
	}
	if k := writes.Load() - before; k > 2 {
		t.Errorf("%d pipelined RETRs answered in %d writes, want 1 (2 if the batch arrived in two reads)", n, k)
	}
}
