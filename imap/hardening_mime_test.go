package imap_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/imap/imaptest"
)

// fetchBounded runs FETCH 1 items on the only message of a fresh mailbox
// holding msg and returns the response lines; it fails when the command
// takes longer than limit or the heap grows by more than maxHeap.
func hFetchBounded(t *testing.T, msg, items string, limit time.Duration, maxHeap uint64) []string {
	t.Helper()
	srv := imaptest.NewServer(t, nil)
	srv.Append(t, "test", "INBOX", msg)
	c := hLogin(t, srv)
	c.Timeout = limit + 5*time.Second
	c.Run("C: s SELECT INBOX")
	hReadUntil(c, "s")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the heap while the server works
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	c.Send("f FETCH 1 " + items)
	lines := hReadUntil(c, "f")
	d := time.Since(start)
	close(stop)
	<-sampled
	if d > limit {
		t.Errorf("FETCH %s took %v (limit %v)", items, d, limit)
	}
	if peak > base && peak-base > maxHeap {
		t.Errorf("FETCH %s grew the heap by %d MiB (limit %d MiB)", items, (peak-base)>>20, maxHeap>>20)
	}
	t.Logf("FETCH %s: %v, heap +%d KiB, %d lines, first %d bytes", items, d, (peak-base)>>10, len(lines), len(lines[0]))
	c.Run("C: n NOOP", "S: n OK *")
	hHealthy(t, srv, 1)
	return lines
}

// TestHardeningDeepMIME: 10,000 nested multiparts, and 10,000 nested
// message/rfc822 parts, rendered within a bounded time and heap.
func TestHardeningDeepMIME(t *testing.T) {
	const depth = 10000
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nSubject: deep\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nleaf\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	lines := hFetchBounded(t, b.String(), "(BODYSTRUCTURE BODY[1.1.1] BODY[TEXT])", 30*time.Second, 256<<20)
	if !strings.HasPrefix(lines[0], "* 1 FETCH (BODYSTRUCTURE (") || !strings.HasPrefix(lines[len(lines)-1], "f OK") {
		t.Errorf("multipart: %.200q ... %q", lines[0], lines[len(lines)-1])
	}

	b.Reset()
	for range depth {
		b.WriteString("Subject: wrapped\r\nContent-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("Subject: core\r\n\r\ncore\r\n")
	lines = hFetchBounded(t, b.String(), "(BODYSTRUCTURE ENVELOPE BODY[1.1.HEADER])", 30*time.Second, 256<<20)
	if !strings.HasPrefix(lines[0], "* 1 FETCH (BODYSTRUCTURE (") || !strings.HasPrefix(lines[len(lines)-1], "f OK") {
		t.Errorf("message/rfc822: %.200q ... %q", lines[0], lines[len(lines)-1])
	}
}

// TestHardeningManyMIMEParts: 100,000 tiny parts in one multipart.
func TestHardeningManyMIMEParts(t *testing.T) {
	const parts = 100000
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range parts {
		b.WriteString("--x\r\n\r\ny\r\n")
	}
	b.WriteString("--x--\r\n")
	lines := hFetchBounded(t, b.String(), "(BODYSTRUCTURE BODY[99999])", 30*time.Second, 512<<20)
	if !strings.HasPrefix(lines[0], "* 1 FETCH (BODYSTRUCTURE (") || !strings.HasPrefix(lines[len(lines)-1], "f OK") {
		t.Errorf("%.200q ... %q", lines[0], lines[len(lines)-1])
	}
}

// TestHardeningHugeHeader: a 10 MiB header (one folded field of 10 MiB and
// 100,000 short fields) through ENVELOPE, BODYSTRUCTURE and HEADER.FIELDS.
func TestHardeningHugeHeader(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nSubject: big\r\nX-Big: start")
	line := "\r\n " + strings.Repeat("z", 96)
	for b.Len() < 10<<20 {
		b.WriteString(line)
	}
	b.WriteString("\r\n")
	for i := 0; b.Len() < 20<<20; i++ {
		fmt.Fprintf(&b, "X-F%d: v\r\n", i)
	}
	b.WriteString("\r\nbody\r\n")
	lines := hFetchBounded(t, b.String(), "(ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)])", 30*time.Second, 512<<20)
	if !strings.HasPrefix(lines[0], `* 1 FETCH (ENVELOPE (NIL "big" `) || !strings.HasPrefix(lines[len(lines)-1], "f OK") {
		t.Errorf("%.300q ... %q", lines[0], lines[len(lines)-1])
	}
	if !strings.Contains(lines[0], "BODY[HEADER.FIELDS (SUBJECT)] {16}Subject: big\r\n\r\n)") {
		t.Errorf("header field section: %.300q", lines[0][max(0, len(lines[0])-300):])
	}
}
