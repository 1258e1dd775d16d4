package textwire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// benchMessage is 1 MiB of 76-character lines, some starting with a dot.
func benchMessage() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 1<<20; i++ {
		if i%50 == 0 {
			b.WriteString(".")
		}
		b.WriteString(strings.Repeat("abcdefghij", 7) + "klmnop\r\n")
	}
	return b.Bytes()
}

func BenchmarkDotReader(b *testing.B) {
	msg := benchMessage()
	wire := EncodeDot(msg)
	src := bytes.NewReader(wire)
	br := bufio.NewReaderSize(src, 64<<10)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(wire)
		br.Reset(src)
		r := NewDotReader(br, DotOptions{MaxSize: 32 << 20, MaxLineLength: 998})
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkDotWriter(b *testing.B) {
	msg := benchMessage()
	bw := bufio.NewWriterSize(io.Discard, 64<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		w := NewDotWriter(bw)
		for chunk := range slices(msg, 32<<10) {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadLine(b *testing.B) {
	in := strings.Repeat("RCPT TO:<someone@example.org>\r\n", 1000)
	src := strings.NewReader(in)
	br := bufio.NewReader(src)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(in)
		br.Reset(src)
		for range 1000 {
			if _, _, err := ReadLine(br, 2048); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// slices yields b in pieces of n bytes.
func slices(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			k := min(n, len(b))
			if !yield(b[:k]) {
				return
			}
			b = b[k:]
		}
	}
}
