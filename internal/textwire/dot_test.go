package textwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// refDecode is a byte-at-a-time model of DotReader: it returns the body, the
// number of wire bytes consumed, and the error.
func refDecode(wire []byte, opts DotOptions) ([]byte, int, error) {
	var out []byte
	var bad error
	i, lineLen, afterCRLF := 0, 0, true
	for bad == nil {
		// Start of line.
		if i >= len(wire) {
			return out, i, io.ErrUnexpectedEOF
		}
		if afterCRLF && bytes.HasPrefix(wire[i:], []byte(".\r\n")) {
			return out, i + 3, nil
		}
		if wire[i] == '.' {
			if len(wire)-i < 3 && (len(wire)-i < 2 || wire[i+1] == '\r') {
				return out, len(wire), io.ErrUnexpectedEOF
			}
			i++
		}
		lineLen = 0
		for bad == nil {
			if i >= len(wire) {
				return out, i, io.ErrUnexpectedEOF
			}
			c := wire[i]
			if c == '\r' && i+1 >= len(wire) {
				return out, len(wire), io.ErrUnexpectedEOF
			}
			if c == '\r' || c == '\n' {
				n := 1
				if c == '\r' && wire[i+1] == '\n' {
					n = 2
				} else if !opts.NormalizeBareLineEndings {
					bad = ErrBareLineEnding
					break
				}
				if opts.MaxSize > 0 && int64(len(out))+2 > opts.MaxSize {
					bad = ErrTooLarge
					break
				}
				out = append(out, '\r', '\n')
				i += n
				afterCRLF = n == 2
				break
			}
			if opts.MaxLineLength > 0 && lineLen+1 > opts.MaxLineLength {
				bad = ErrLineTooLong
				break
			}
			if opts.MaxSize > 0 && int64(len(out))+1 > opts.MaxSize {
				bad = ErrTooLarge
				break
			}
			out = append(out, c)
			lineLen++
			i++
		}
	}
	j := bytes.Index(wire[i:], []byte("\r\n.\r\n"))
	if j < 0 {
		return out, len(wire), io.ErrUnexpectedEOF
	}
	return out, i + j + 5, bad
}

// readAllWith reads a body through a bufio.Reader of the given size, with
// reads of at most chunk bytes, and returns the body, the bytes left after
// it, and the error.
func readAllWith(wire []byte, opts DotOptions, bufSize, chunk int) ([]byte, []byte, error) {
	br := bufio.NewReaderSize(bytes.NewReader(wire), bufSize)
	r := NewDotReader(br, opts)
	var out []byte
	buf := make([]byte, chunk)
	var err error
	for {
		var n int
		n, err = r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	if err == io.EOF {
		err = nil
	}
	if n, err2 := r.Read(buf); n != 0 || (err2 != err && !(err == nil && err2 == io.EOF)) {
		panic("error not sticky")
	}
	rest, _ := io.ReadAll(br)
	return out, rest, err
}

func TestDotReader(t *testing.T) {
	strict := DotOptions{}
	norm := DotOptions{NormalizeBareLineEndings: true}
	for _, tc := range []struct {
		name string
		wire string
		opts DotOptions
		want string
		err  error
		rest string
	}{
		{"empty body", ".\r\nNEXT", strict, "", nil, "NEXT"},
		{"simple", "Subject: x\r\n\r\nbody\r\n.\r\nNEXT", strict, "Subject: x\r\n\r\nbody\r\n", nil, "NEXT"},
		{"unstuff", "..leading\r\n.x\r\n..\r\n.\r\n", strict, ".leading\r\nx\r\n.\r\n", nil, ""},
		{"dot not at line start", "a.b\r\n.\r\n", strict, "a.b\r\n", nil, ""},
		{"bare lf dot bare lf is not the end", "a\n.\nb\r\n.\r\nNEXT", strict, "a", ErrBareLineEnding, "NEXT"},
		{"bare lf normalized", "a\n.\nb\r\n.\r\nNEXT", norm, "a\r\n\r\nb\r\n", nil, "NEXT"},
		{"lf dot crlf after bare lf not the end", "a\n.\r\nb\r\n.\r\n", norm, "a\r\n\r\nb\r\n", nil, ""},
		{"cr lf dot lf is not the end", "a\r\n.\nb\r\n.\r\n", norm, "a\r\n\r\nb\r\n", nil, ""},
		{"bare cr rejected", "a\rb\r\n.\r\nNEXT", strict, "a", ErrBareLineEnding, "NEXT"},
		{"bare cr normalized", "a\rb\r\r\n.\r\n", norm, "a\r\nb\r\n\r\n", nil, ""},
		{"dot cr x", ".\rx\r\n.\r\n", norm, "\r\nx\r\n", nil, ""},
		{"eof before terminator", "abc\r\n", strict, "abc\r\n", io.ErrUnexpectedEOF, ""},
		{"eof in dot", "abc\r\n.\r", strict, "abc\r\n", io.ErrUnexpectedEOF, ""},
		{"no input", "", strict, "", io.ErrUnexpectedEOF, ""},
		{"size exact", "abcd\r\n.\r\n", DotOptions{MaxSize: 6}, "abcd\r\n", nil, ""},
		{"size over in text", "abcdefgh\r\nmore\r\n.\r\nNEXT", DotOptions{MaxSize: 4}, "abcd", ErrTooLarge, "NEXT"},
		{"size over at crlf", "abcd\r\n.\r\nNEXT", DotOptions{MaxSize: 5}, "abcd", ErrTooLarge, "NEXT"},
		{"line exact", "abc\r\n.\r\n", DotOptions{MaxLineLength: 3}, "abc\r\n", nil, ""},
		{"line counts unstuffed", "..bc\r\n.\r\n", DotOptions{MaxLineLength: 3}, ".bc\r\n", nil, ""},
		{"line over", "ab\r\nabcd\r\nx\r\n.\r\nNEXT", DotOptions{MaxLineLength: 3}, "ab\r\nabc", ErrLineTooLong, "NEXT"},
		{"error then eof", "abcdef", DotOptions{MaxSize: 2}, "ab", io.ErrUnexpectedEOF, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sz := range [][2]int{{4096, 4096}, {16, 1}, {16, 3}, {17, 7}} {
				got, rest, err := readAllWith([]byte(tc.wire), tc.opts, sz[0], sz[1])
				if !errors.Is(err, tc.err) {
					t.Fatalf("buf %v: err %v, want %v", sz, err, tc.err)
				}
				if tc.err == nil && string(got) != tc.want || !strings.HasPrefix(tc.want, string(got)) {
					t.Errorf("buf %v: body %q, want %q", sz, got, tc.want)
				}
				if tc.err != io.ErrUnexpectedEOF && string(rest) != tc.rest {
					t.Errorf("buf %v: left %q, want %q", sz, rest, tc.rest)
				}
			}
		})
	}
}

func TestDotReaderIOTest(t *testing.T) {
	want := []byte("line one\r\n.dot line\r\n\r\nlast\r\n")
	wire := EncodeDot(want)
	r := NewDotReader(bufio.NewReader(bytes.NewReader(wire)), DotOptions{})
	if err := iotest.TestReader(r, want); err != nil {
		t.Fatal(err)
	}
}

func TestDotReaderDrain(t *testing.T) {
	wire := "first\r\nsecond\r\n..third\r\n.\r\nNEXT"
	br := bufio.NewReaderSize(strings.NewReader(wire), 16)
	r := NewDotReader(br, DotOptions{})
	buf := make([]byte, 3)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := r.Drain(); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after Drain: %d %v", n, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "NEXT" {
		t.Fatalf("left %q", rest)
	}

	// Drain reports a pending error and still reaches the terminator.
	br = bufio.NewReader(strings.NewReader("a\nb\r\n.\r\nNEXT"))
	r = NewDotReader(br, DotOptions{})
	r.Read(buf)
	if err := r.Drain(); err != ErrBareLineEnding {
		t.Fatalf("Drain: %v, want ErrBareLineEnding", err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
		t.Fatalf("left %q", rest)
	}

	// Drain of an unread body at its very start, which is the terminator.
	br = bufio.NewReader(strings.NewReader(".\r\nNEXT"))
	if err := NewDotReader(br, DotOptions{}).Drain(); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
		t.Fatalf("left %q", rest)
	}
	// And a truncated one.
	br = bufio.NewReader(strings.NewReader("abc\r\n"))
	if err := NewDotReader(br, DotOptions{}).Drain(); err != io.ErrUnexpectedEOF {
		t.Fatalf("Drain of truncated body: %v", err)
	}
}

func TestDotWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ".\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"a", "a\r\n.\r\n"},
		{".a\r\n..\r\n.\r\n", "..a\r\n...\r\n..\r\n.\r\n"},
		{"a\nb\rc\r\n", "a\r\nb\r\nc\r\n.\r\n"},
		{"a\n.\n", "a\r\n..\r\n.\r\n"},
		{"\r\r\n", "\r\n\r\n.\r\n"},
		{"x\r", "x\r\n.\r\n"},
	} {
		if got := EncodeDot([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("EncodeDot(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// Same result when written one byte at a time.
		var b bytes.Buffer
		w := NewDotWriter(&b)
		for i := range len(tc.in) {
			w.Write([]byte{tc.in[i]})
		}
		if err := w.Close(); err != nil || b.String() != tc.want {
			t.Errorf("byte writes of %q = %q (%v), want %q", tc.in, b.String(), err, tc.want)
		}
	}
}

func TestDotWriterClose(t *testing.T) {
	var b bytes.Buffer
	w := NewDotWriter(&b)
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("y")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if b.String() != "x\r\n.\r\n" {
		t.Fatalf("wrote %q", b.String())
	}
}

func TestDotWriterError(t *testing.T) {
	w := NewDotWriter(bufio.NewWriterSize(failWriter{}, 16))
	_, err := w.Write(bytes.Repeat([]byte("0123456789\r\n"), 10))
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		t.Fatal("write error not reported")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken") }

func TestNormalizeCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"":           "",
		"a\nb":       "a\r\nb",
		"a\r\nb\r":   "a\r\nb\r\n",
		"\r\r\n\n\r": "\r\n\r\n\r\n\r\n",
	} {
		if got := NormalizeCRLF([]byte(in)); string(got) != want {
			t.Errorf("NormalizeCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeDotTrailing(t *testing.T) {
	if _, err := DecodeDot([]byte("a\r\n.\r\nmore")); err == nil {
		t.Fatal("trailing data accepted")
	}
}

// wireBody adds the final CRLF that a DotWriter puts on a body lacking one.
func wireBody(msg []byte) []byte {
	n := NormalizeCRLF(msg)
	if len(n) > 0 && !bytes.HasSuffix(n, crlf) {
		n = append(n, crlf...)
	}
	return n
}

func FuzzDotRoundTrip(f *testing.F) {
	f.Add([]byte(".leading dot\r\n\r\n.\r\nlast"))
	f.Add([]byte("a\n.\n\r.\r\r\n..\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, msg []byte) {
		wire := EncodeDot(msg)
		got, err := DecodeDot(wire)
		if err != nil || !bytes.Equal(got, wireBody(msg)) {
			t.Fatalf("round trip changed message: %q → %q → %q (%v)", msg, wire, got, err)
		}
		if hasBareEOL(wire) {
			t.Fatalf("writer emitted a bare line ending: %q", wire)
		}
	})
}

func FuzzDotReader(f *testing.F) {
	f.Add([]byte("a\r\n..b\r\n.\r\nrest"), int64(0), 0, false)
	f.Add([]byte("a\n.\nb\r.\r\n\r\n.\r\n"), int64(0), 0, true)
	f.Add([]byte("abcdef\r\ngh\r\n.\r\n"), int64(7), 3, false)
	f.Add([]byte(".\r"), int64(0), 0, false)
	f.Fuzz(func(t *testing.T, wire []byte, maxSize int64, maxLine int, normalize bool) {
		opts := DotOptions{MaxSize: maxSize % 64, MaxLineLength: maxLine % 16, NormalizeBareLineEndings: normalize}
		if opts.MaxSize < 0 || opts.MaxLineLength < 0 {
			return
		}
		want, consumed, wantErr := refDecode(wire, opts)
		for _, sz := range [][2]int{{4096, 4096}, {16, 1}, {16, 5}} {
			got, rest, err := readAllWith(wire, opts, sz[0], sz[1])
			if err != wantErr {
				t.Fatalf("buf %v: err %v, model says %v", sz, err, wantErr)
			}
			if err != io.ErrUnexpectedEOF && len(rest) != len(wire)-consumed {
				t.Fatalf("buf %v: consumed %d bytes, model says %d", sz, len(wire)-len(rest), consumed)
			}
			if err == nil && !bytes.Equal(got, want) || !bytes.HasPrefix(want, got) {
				t.Fatalf("buf %v: body %q, model says %q", sz, got, want)
			}
			if hasBareEOL(got) {
				t.Fatalf("body holds a bare line ending: %q", got)
			}
			if err == nil {
				if back, err := DecodeDot(EncodeDot(got)); err != nil || !bytes.Equal(back, got) {
					t.Fatalf("body does not survive re-encoding: %q → %q (%v)", got, back, err)
				}
			}
		}
	})
}

// hasBareEOL reports whether b holds a CR not followed by LF or an LF not
// preceded by CR, ignoring a final CR (a line ending split by a limit).
func hasBareEOL(b []byte) bool {
	for i, c := range b {
		if c == '\r' && i+1 < len(b) && b[i+1] != '\n' {
			return true
		}
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}
