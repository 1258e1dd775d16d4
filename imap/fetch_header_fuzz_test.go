package imap

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzHeaderBlock: the header block of a message in memory is the one
// read from a stream (readHeader, what loadHeader does for a message not
// in memory), and a prefix of the message that ends with an empty line or
// is all of its first maxHeaderBytes.
func FuzzHeaderBlock(f *testing.F) {
	for _, seed := range []string{
		"From: a\r\nSubject: b\r\n\r\nbody\r\n",
		"From: a\nSubject: b\n\nbody\n",
		"\r\nbody only",
		"Subject: no body and no empty line",
		"Subject: " + strings.Repeat("x", 5000) + "\r\n\r\nbody",
		"X: " + strings.Repeat("y", 4094) + "\r\n\r\n",
		"X: a\r\n \r\nfolded blank-ish\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		got := headerBlock(msg)
		br := bufio.NewReaderSize(io.LimitReader(bytes.NewReader(msg), maxHeaderBytes), 4096)
		want := readHeader(br, nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("headerBlock = %q, streamed %q", got, want)
		}
		if !bytes.HasPrefix(msg, got) {
			t.Fatalf("%q is not a prefix of the message", got)
		}
		if len(got) < min(len(msg), maxHeaderBytes) && !bytes.HasSuffix(got, []byte("\n\n")) &&
			!bytes.HasSuffix(got, []byte("\n\r\n")) && string(got) != "\n" && string(got) != "\r\n" {
			t.Fatalf("%q ends before the empty line", got)
		}
	})
}
