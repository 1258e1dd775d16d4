package imap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

const benchMessages = 10000

// benchEnv is a server with a 10,000-message INBOX in the memory store.
func benchEnv(b *testing.B) *testEnv {
	b.Helper()
	st := memstore.New()
	if err := st.AddUser("sara", "secret"); err != nil {
		b.Fatal(err)
	}
	fillInbox(b, st)
	return &testEnv{srv: nil, store: st, addr: serveBench(b, st)}
}

// openInbox opens sara's INBOX directly in the store; close releases it.
func openInbox(b *testing.B, st mailbox.Store) (mb mailbox.Mailbox, close func()) {
	ctx := context.Background()
	acct, err := st.Open(ctx, "sara")
	if err != nil {
		b.Fatal(err)
	}
	mb, err = acct.Mailbox(ctx, "INBOX")
	if err != nil {
		acct.Close()
		b.Fatal(err)
	}
	return mb, func() { mb.Close(); acct.Close() }
}

// fillInbox appends benchMessages messages to sara's INBOX.
func fillInbox(b *testing.B, st mailbox.Store) {
	ctx := context.Background()
	mb, done := openInbox(b, st)
	defer done()
	for i := range benchMessages {
		if _, err := mb.Append(ctx, strings.NewReader(benchMessage(i)), &mailbox.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// serveBench serves st on 127.0.0.1 until the benchmark ends.
func serveBench(b *testing.B, st mailbox.Store) string {
	srv := &Server{Store: st, AllowInsecureAuth: true, MaxConnsPerUser: -1, Logger: slog.New(slog.DiscardHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	b.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String()
}

// benchClient sends a command and reads until its tagged response,
// skipping literal data; it returns the bytes read.
type benchClient struct {
	w  io.Writer
	br *bufio.Reader
	n  int
}

func dialBench(b *testing.B, addr string, cmds ...string) *benchClient {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	c := &benchClient{w: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	if _, err := c.br.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	for _, cmd := range cmds {
		c.do(b, cmd)
	}
	return c
}

func (c *benchClient) do(b *testing.B, cmd string) int64 {
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	if _, err := io.WriteString(c.w, tag+" "+cmd+"\r\n"); err != nil {
		b.Fatal(err)
	}
	var total int64
	tagged, ok := []byte(tag+" "), []byte(tag+" OK")
	for {
		line, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			total += int64(len(line))
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(line))
		l := bytes.TrimSuffix(line, []byte("\r\n"))
		if i := bytes.LastIndexByte(l, '{'); i >= 0 && l[len(l)-1] == '}' {
			if n, isLit := literalSuffix(string(l[i:])); isLit {
				c.br.Discard(n)
				total += int64(n)
				continue
			}
		}
		if bytes.HasPrefix(line, tagged) {
			if !bytes.HasPrefix(line, ok) {
				b.Fatalf("%s: %s", cmd, line)
			}
			return total
		}
	}
}

func runBench(b *testing.B, setup []string, cmd string) {
	e := benchEnv(b)
	c := dialBench(b, e.addr, append([]string{"LOGIN sara secret"}, setup...)...)
	c.do(b, cmd) // warm up (and fill any metadata cache)
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int64
	cpu := cpuTime()
	for b.Loop() {
		bytes = c.do(b, cmd)
	}
	reportCPU(b, cpu)
	b.SetBytes(bytes)
}

func BenchmarkSelect(b *testing.B) { runBench(b, nil, "SELECT INBOX") }

func BenchmarkFetchFlagsEtc(b *testing.B) {
	runBench(b, []string{"SELECT INBOX"}, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)")
}

func BenchmarkFetchEnvelope(b *testing.B) {
	runBench(b, []string{"SELECT INBOX"}, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
}

func BenchmarkFetchBodyStructure(b *testing.B) {
	runBench(b, []string{"SELECT INBOX"}, "UID FETCH 1:* (BODYSTRUCTURE)")
}

func BenchmarkFetchBodyPeek(b *testing.B) {
	runBench(b, []string{"SELECT INBOX"}, "FETCH 1:* BODY.PEEK[]")
}

func BenchmarkFetchHeaderFields(b *testing.B) {
	runBench(b, []string{"SELECT INBOX"}, "UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (From Subject Date)])")
}

func BenchmarkSearchText(b *testing.B) {
	runBench(b, []string{"SELECT INBOX"}, "UID SEARCH TEXT nothere")
}

// BenchmarkStoreSeen: one op sets \Seen on every message and clears it
// again (20,000 flag changes), silently.
func BenchmarkStoreSeen(b *testing.B) {
	benchStore(b, `UID STORE 1:* +FLAGS.SILENT (\Seen)`, `UID STORE 1:* -FLAGS.SILENT (\Seen)`)
}

// BenchmarkStoreSeenFetch is BenchmarkStoreSeen answering with one
// untagged FETCH (UID FLAGS) per message changed, both ways.
func BenchmarkStoreSeenFetch(b *testing.B) {
	benchStore(b, `UID STORE 1:* +FLAGS (\Seen)`, `UID STORE 1:* -FLAGS (\Seen)`)
}

func benchStore(b *testing.B, set, clear string) {
	e := benchEnv(b)
	c := dialBench(b, e.addr, "LOGIN sara secret", "SELECT INBOX")
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		c.do(b, set)
		c.do(b, clear)
	}
	reportCPU(b, cpu)
}

// BenchmarkIdleConnMemory measures the memory held per idle,
// authenticated connection (server and the raw client socket together)
// over 1,000 connections.
func BenchmarkIdleConnMemory(b *testing.B) { idleConnMemory(b, "") }

// idleConnMemory is BenchmarkIdleConnMemory with cmd (a command line, or
// "") sent after the login.
func idleConnMemory(b *testing.B, cmd string) {
	const conns = 1000
	for b.Loop() {
		st := memstore.New()
		st.AddUser("sara", "secret")
		srv := &Server{Store: st, AllowInsecureAuth: true, MaxConnsPerUser: -1, Logger: slog.New(slog.DiscardHandler)}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(l)
		before := memInUse()
		clients := make([]net.Conn, 0, conns)
		buf := make([]byte, 4096)
		for range conns {
			nc, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			clients = append(clients, nc)
			io.WriteString(nc, "a LOGIN sara secret\r\n"+cmd)
			got := ""
			for !strings.Contains(got, "a OK") || (cmd != "" && !strings.Contains(got, "b OK")) {
				nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := nc.Read(buf)
				if err != nil {
					b.Fatal(err)
				}
				got += string(buf[:n])
			}
		}
		after := memInUse()
		b.ReportMetric(float64(after-before)/conns, "bytes/conn")
		srv.Close()
		for _, nc := range clients {
			nc.Close()
		}
	}
}

func memInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

// append sends one APPEND with a synchronizing literal and reads its
// responses.
func (c *benchClient) append(b *testing.B, mailbox, msg string) {
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	if _, err := fmt.Fprintf(c.w, "%s APPEND %s {%d}\r\n", tag, mailbox, len(msg)); err != nil {
		b.Fatal(err)
	}
	line, err := c.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "+") {
		b.Fatalf("APPEND: %q %v", line, err)
	}
	if _, err := io.WriteString(c.w, msg+"\r\n"); err != nil {
		b.Fatal(err)
	}
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				b.Fatalf("APPEND: %s", line)
			}
			return
		}
	}
}

// benchAppend: one op is one APPEND of a 1.3 KB message to the selected
// INBOX (answered with EXISTS), one round trip for the literal.
func benchAppend(b *testing.B, addr string) {
	c := dialBench(b, addr, "LOGIN sara secret", "SELECT INBOX")
	m := benchMessage(1)
	b.SetBytes(int64(len(m)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		c.append(b, "INBOX", m)
	}
	reportCPU(b, cpu)
}

// BenchmarkAppend appends to the selected 10,000-message INBOX of the
// memory store.
func BenchmarkAppend(b *testing.B) { benchAppend(b, benchEnv(b).addr) }
