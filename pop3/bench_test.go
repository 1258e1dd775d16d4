package pop3

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/maildir"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// benchStores builds each store kind once per process: filling 10,000
// messages is setup, not what is measured.
var benchStores sync.Map // key → mailbox.Store

// benchMessage returns a message of about size bytes in 78-byte lines.
func benchMessage(i, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: bench@example.org\r\nSubject: message %d\r\n\r\n", i)
	line := strings.Repeat("abcdefghij", 7) + "klmnop\r\n"
	for b.Len() < size {
		if b.Len()%(50*len(line)) == 0 {
			b.WriteString(".")
		}
		b.WriteString(line)
	}
	return b.String()
}

// benchStore returns a store whose user sara (password secret) holds n
// messages of size bytes. kind is "memstore" or "maildir"; the maildir
// messages are dropped into new/ as another delivery agent would, and the
// store indexes them on first open.
func benchStore(b *testing.B, kind string, n, size int) mailbox.Store {
	key := fmt.Sprintf("%s/%d/%d", kind, n, size)
	if st, ok := benchStores.Load(key); ok {
		return st.(mailbox.Store)
	}
	var st mailbox.Store
	switch kind {
	case "memstore":
		ms := memstore.New()
		ms.AddUser("sara", "secret")
		for i := range n {
			if _, err := mailbox.Deliver(context.Background(), ms, "sara", strings.NewReader(benchMessage(i, size)), nil); err != nil {
				b.Fatal(err)
			}
		}
		st = ms
	case "maildir":
		dir, err := os.MkdirTemp("", "pop3bench")
		if err != nil {
			b.Fatal(err)
		}
		users := &maildir.Users{}
		users.Add("sara", "secret")
		md := &maildir.Store{Root: dir, Users: users, PollInterval: -1}
		if err := md.CreateUser(context.Background(), "sara"); err != nil {
			b.Fatal(err)
		}
		for i := range n {
			name := filepath.Join(dir, "sara", "new", fmt.Sprintf("1700000000.M%dP1.bench", i))
			if err := os.WriteFile(name, []byte(benchMessage(i, size)), 0o600); err != nil {
				b.Fatal(err)
			}
		}
		// A maildrop at rest: indexed, and its directories not changed
		// in the last seconds (a fresh change makes the store look at
		// them again on every open, in case it missed one in the same
		// mtime tick).
		for range 2 {
			acct, err := md.Open(context.Background(), "sara")
			if err != nil {
				b.Fatal(err)
			}
			mb, err := acct.Mailbox(context.Background(), "INBOX")
			if err != nil {
				b.Fatal(err)
			}
			mb.Close()
			acct.Close()
			past := time.Now().Add(-time.Hour)
			for _, sub := range []string{"new", "cur"} {
				if err := os.Chtimes(filepath.Join(dir, "sara", sub), past, past); err != nil {
					b.Fatal(err)
				}
			}
		}
		st = md
	}
	benchStores.Store(key, st)
	return st
}

// BenchmarkRetr measures RETR throughput of 1 MiB messages, through our
// client over loopback TCP.
func BenchmarkRetr(b *testing.B) {
	for _, kind := range []string{"memstore", "maildir"} {
		b.Run(kind, func(b *testing.B) {
			const n, size = 8, 1 << 20
			st := benchStore(b, kind, n, size)
			addr := startServer(b, &Server{Store: st, AllowInsecureAuth: true})
			ctx := context.Background()
			c, err := (&Dialer{Security: Plaintext}).Dial(ctx, addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(ctx, "sara", "secret"); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(len(benchMessage(0, size))))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r, err := c.Retr(ctx, i%n+1)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
					b.Fatal(err)
				}
				r.Close()
				i++
			}
			b.StopTimer()
			c.Quit(ctx)
		})
	}
}

// BenchmarkLoginStatUIDL measures a whole short session on a maildrop of
// 10,000 messages: connect, USER/PASS (lock and snapshot), STAT, UIDL,
// QUIT.
func BenchmarkLoginStatUIDL(b *testing.B) {
	for _, kind := range []string{"memstore", "maildir"} {
		b.Run(kind, func(b *testing.B) {
			const n = 10000
			st := benchStore(b, kind, n, 2000)
			addr := startServer(b, &Server{Store: st, AllowInsecureAuth: true})
			ctx := context.Background()
			d := &Dialer{Security: Plaintext}
			b.ReportAllocs()
			for b.Loop() {
				c, err := d.Dial(ctx, addr)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Login(ctx, "sara", "secret"); err != nil {
					b.Fatal(err)
				}
				if cnt, _, err := c.Stat(ctx); err != nil || cnt != n {
					b.Fatalf("Stat: %d %v", cnt, err)
				}
				if u, err := c.UIDL(ctx); err != nil || len(u) != n {
					b.Fatalf("UIDL: %d %v", len(u), err)
				}
				if err := c.Quit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRetrPipelined measures what a mail client downloading a whole
// maildrop does: RETR of 4 KiB messages pipelined 32 at a time (RFC 2449
// PIPELINING), read with a raw socket so that the client costs little.
func BenchmarkRetrPipelined(b *testing.B) {
	const n, size, batch = 1000, 4 << 10, 32
	st := benchStore(b, "maildir", n, size)
	addr := startServer(b, &Server{Store: st, AllowInsecureAuth: true})
	w := dialWire(b, addr)
	w.login()
	w.c.SetDeadline(time.Time{})
	br := bufio.NewReaderSize(w.c, 64<<10)
	var cmds []byte
	b.SetBytes(int64(batch * len(benchMessage(0, size))))
	b.ReportAllocs()
	next := 0
	for b.Loop() {
		cmds = cmds[:0]
		for k := 0; k < batch; k++ {
			cmds = fmt.Appendf(cmds, "RETR %d\r\n", (next+k)%n+1)
		}
		next += batch
		if _, err := w.c.Write(cmds); err != nil {
			b.Fatal(err)
		}
		for k := 0; k < batch; k++ {
			line, err := br.ReadSlice('\n')
			if err != nil || !strings.HasPrefix(string(line), "+OK") {
				b.Fatalf("RETR: %q %v", line, err)
			}
			for {
				line, err = br.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					b.Fatal(err)
				}
				if string(line) == ".\r\n" {
					break
				}
			}
		}
	}
}
