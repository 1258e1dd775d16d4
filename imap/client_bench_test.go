package imap

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"testing"
	"testing/fstest"
	"time"

	"github.com/posthorn/posthorn/internal/testpeer"
)

// fetchResponses returns n FETCH responses with FLAGS, UID and a
// realistic ENVELOPE, as a server sends for UID FETCH 1:* (FLAGS
// ENVELOPE).
func fetchResponses(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `* %d FETCH (UID %d FLAGS (\Seen $Label%d) ENVELOPE ("Tue, 5 Mar 2024 10:%02d:00 +0000" "Quarterly report number %d, with figures" (("Sara Example" NIL "sara" "example.org")) (("Sara Example" NIL "sara" "example.org")) (("Sara Example" NIL "sara" "example.org")) (("Jim" NIL "jim" "example.net")("Bob Builder" NIL "bob" "example.com")) NIL NIL "<parent%d@example.org>" "<msg%d@example.org>"))`+"\r\n",
			i, i+100, i%7, i%60, i, i-1, i)
	}
	return b.Bytes()
}

// BenchmarkClientParseFetch measures the client's FETCH response parser:
// bytes per second and allocations per response.
func BenchmarkClientParseFetch(b *testing.B) {
	benchParseFetch(b, fetchResponses(1000), 1000, func(*FetchMessage) {})
}

// benchParseFetch runs the client's FETCH parser over data, n FETCH
// responses, calling each on every message before the loop moves on.
func benchParseFetch(b *testing.B, data []byte, n int, each func(*FetchMessage)) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c := newBytesClient(data, nil)
		fs := &fetchState{c: c}
		c.fetching = fs
		got := 0
		for c.readResponse() == nil {
			if m := fs.ready; m != nil {
				fs.ready = nil
				each(m)
				fs.finish()
				got++
			}
		}
		if got != n {
			b.Fatalf("parsed %d of %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// fetchBodyResponses returns n FETCH responses with UID and a BODY[]
// literal of size octets, as a server sends for UID FETCH 1:*
// (BODY.PEEK[]).
func fetchBodyResponses(n, size int) []byte {
	body := bytes.Repeat([]byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"), size/58+1)[:size]
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "* %d FETCH (UID %d BODY[] {%d}\r\n", i, i+100, size)
		b.Write(body)
		b.WriteString(")\r\n")
	}
	return b.Bytes()
}

// BenchmarkClientParseFetchBody measures the client's FETCH parser on
// streamed body sections, each copied to io.Discard through NextBody as
// in a Fetch loop: messages per second and allocations per message.
func BenchmarkClientParseFetchBody(b *testing.B) {
	benchParseFetch(b, fetchBodyResponses(1000, 2000), 1000, func(m *FetchMessage) {
		sb, err := m.NextBody()
		if err != nil || sb == nil {
			b.Fatal(sb, err)
		}
		if k, err := io.Copy(io.Discard, sb.Reader); err != nil || k != 2000 {
			b.Fatal(k, err)
		}
	})
}

// BenchmarkClientFetchDovecot fetches UID FETCH 1:* (FLAGS ENVELOPE) of
// 10,000 messages from a private Dovecot whose Maildir was filled with
// files before it started.
func BenchmarkClientFetchDovecot(b *testing.B) {
	const n = 10000
	inbox := fstest.MapFS{}
	base := time.Now().Unix()
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("From: Sara Example <sara@example.org>\r\nTo: Jim <jim@example.net>, Bob Builder <bob@example.com>\r\n"+
			"Subject: Quarterly report number %d, with figures\r\nDate: Tue, 5 Mar 2024 10:00:00 +0000\r\n"+
			"Message-ID: <msg%d@example.org>\r\nIn-Reply-To: <parent%d@example.org>\r\n\r\nBody %d\r\n", i, i, i, i)
		inbox[fmt.Sprintf("cur/%d.M%dP1.bench:2,S", base, i)] = &fstest.MapFile{Data: []byte(msg)}
	}
	d := testpeer.Dovecot(b, testpeer.DovecotOptions{IMAP: true,
		Users:    map[string]string{"user1": "secret"},
		Maildirs: map[string]fs.FS{"user1": inbox},
	})
	ctx := ctxT(b)
	c, err := Dial(ctx, d.IMAPAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "user1", "secret"); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Examine(ctx, "INBOX"); err != nil {
		b.Fatal(err)
	}
	fetch := func(b *testing.B) int {
		got := 0
		for m, err := range c.UIDFetch(ctx, span(1, Star), &FetchOptions{Flags: true, Envelope: true}) {
			if err != nil {
				b.Fatal(err)
			}
			if m.Envelope == nil {
				b.Fatal("no envelope")
			}
			got++
		}
		return got
	}
	if got := fetch(b); got != n { // warm Dovecot's index and cache
		b.Fatalf("fetched %d of %d", got, n)
	}
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fetch(b)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	// The same command over a bare socket, reading lines until the
	// tagged OK: what Dovecot and the loopback cost without any parsing.
	b.Run("raw-socket", func(b *testing.B) {
		nc, err := net.Dial("tcp", d.IMAPAddr)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		br := bufio.NewReaderSize(nc, 64<<10)
		cmd := func(line, tag string) {
			if _, err := io.WriteString(nc, line+"\r\n"); err != nil {
				b.Fatal(err)
			}
			for {
				l, err := br.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					b.Fatal(err)
				}
				if bytes.HasPrefix(l, []byte(tag+" ")) {
					return
				}
			}
		}
		br.ReadSlice('\n')
		cmd("a LOGIN user1 secret", "a")
		cmd("b EXAMINE INBOX", "b")
		for b.Loop() {
			cmd("c UID FETCH 1:* (FLAGS ENVELOPE)", "c")
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
