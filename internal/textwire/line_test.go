package textwire

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 40)
	for _, tc := range []struct {
		name  string
		in    string
		max   int
		lines []string // "!" prefix marks a bare-LF line
		errs  []error  // per line, then the final error
	}{
		{"crlf", "HELO a\r\nQUIT\r\n", 10, []string{"HELO a", "QUIT"}, []error{nil, nil, io.EOF}},
		{"bare lf reported", "NOOP\nQUIT\r\n", 10, []string{"!NOOP", "QUIT"}, []error{nil, nil, io.EOF}},
		{"empty line", "\r\n", 10, []string{""}, []error{nil, io.EOF}},
		{"exactly max", "abcd\r\n", 4, []string{"abcd"}, []error{nil, io.EOF}},
		{"over max then in step", "abcde\r\nok\r\n", 4, []string{"", "ok"}, []error{ErrLineTooLong, nil, io.EOF}},
		{"longer than buffer, within max", long + "\r\nok\r\n", 50, []string{long, "ok"}, []error{nil, nil, io.EOF}},
		{"longer than buffer, over max", long + "\r\nok\r\n", 30, []string{"", "ok"}, []error{ErrLineTooLong, nil, io.EOF}},
		{"long bare lf", long + "\n", 50, []string{"!" + long}, []error{nil, io.EOF}},
		{"no limit", long + "\r\n", 0, []string{long}, []error{nil, io.EOF}},
		{"partial line", "abc", 10, nil, []error{io.ErrUnexpectedEOF}},
		{"partial long line", long, 100, nil, []error{io.ErrUnexpectedEOF}},
		{"cr inside kept", "a\rb\r\n", 10, []string{"a\rb"}, []error{nil, io.EOF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			for i, want := range tc.errs {
				line, bare, err := ReadLine(br, tc.max)
				if !errors.Is(err, want) {
					t.Fatalf("line %d: err %v, want %v", i, err, want)
				}
				if err != nil {
					continue
				}
				w := tc.lines[i]
				wantBare := strings.HasPrefix(w, "!")
				w = strings.TrimPrefix(w, "!")
				if string(line) != w || bare != wantBare {
					t.Errorf("line %d: got %q bare=%v, want %q bare=%v", i, line, bare, w, wantBare)
				}
			}
		})
	}
}

func TestReadLineDoesNotGrowPastMax(t *testing.T) {
	// A 1 MiB line with a 100-byte limit must not be accumulated.
	in := strings.Repeat("y", 1<<20) + "\r\nnext\r\n"
	br := bufio.NewReaderSize(strings.NewReader(in), 64)
	allocs := testing.AllocsPerRun(1, func() {
		br.Reset(strings.NewReader(in))
		if _, _, err := ReadLine(br, 100); err != ErrLineTooLong {
			t.Fatalf("err %v", err)
		}
	})
	if allocs > 10 {
		t.Errorf("%v allocations for a discarded long line", allocs)
	}
	line, _, err := ReadLine(br, 100)
	if err != nil || string(line) != "next" {
		t.Fatalf("after long line: %q %v", line, err)
	}
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b>\nQUIT\r\n"), 8)
	f.Add([]byte(strings.Repeat("z", 100)+"\r\nend"), 20)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		max %= 64
		br := bufio.NewReaderSize(strings.NewReader(string(in)), 16)
		rest := string(in)
		for {
			line, bare, err := ReadLine(br, max)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			// The line must be the text up to the next LF, minus CR.
			i := strings.IndexByte(rest, '\n')
			if i < 0 {
				t.Fatalf("line returned with no LF left in %q", rest)
			}
			want, wantBare := rest[:i], true
			if strings.HasSuffix(want, "\r") {
				want, wantBare = want[:len(want)-1], false
			}
			rest = rest[i+1:]
			if max > 0 && len(want) > max {
				if err != ErrLineTooLong {
					t.Fatalf("line %q over %d: err %v", want, max, err)
				}
				continue
			}
			if err != nil || string(line) != want || bare != wantBare {
				t.Fatalf("got %q bare=%v err=%v, want %q bare=%v", line, bare, err, want, wantBare)
			}
		}
	})
}
