package imap

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/posthorn/posthorn/mailbox/maildir"
)

// The benchmarks on a 10,000-message Maildir folder, for our
// server and, in the same run, Dovecot's imap binary on a copy of the
// same folder (PREAUTH over pipes), so the two can be compared.

func benchMessage(i int) string {
	return fmt.Sprintf("From: Bob <bob@example.org>\r\nTo: Sara <sara@example.org>\r\nSubject: message %d about things\r\n"+
		"Date: Tue, 5 Mar 2024 10:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello Sara, this is message %d.\r\n%s\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Hello</p>\r\n--b--\r\n",
		i, i, i, strings.Repeat("Some filler text for the body of the message. ", 20))
}

// maildirBench builds a Maildir store with sara's INBOX of benchMessages
// messages and serves it.
func maildirBench(b *testing.B) (addr, userDir string, st *maildir.Store) {
	b.Helper()
	root := b.TempDir()
	users := new(maildir.Users)
	users.Add("sara", "secret")
	st = &maildir.Store{Root: root, Users: users, PollInterval: -1, Logger: slog.New(slog.DiscardHandler)}
	fillInbox(b, st)
	return serveBench(b, st), filepath.Join(root, "sara"), st
}

// maildirCommands are the commands measured; undo, when set, is sent after
// each one (and counted with it) so that every op does the same work.
var maildirCommands = []struct{ name, cmd, undo string }{
	{"Select", "SELECT INBOX", ""},
	{"FetchEnvelope", "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)", ""},
	{"FetchBodyStructure", "UID FETCH 1:* (BODYSTRUCTURE)", ""},
	{"FetchBodyPeek", "FETCH 1:* BODY.PEEK[]", ""},
	{"SearchText", "UID SEARCH TEXT nothere", ""},
	{"StoreSeen", `UID STORE 1:* +FLAGS.SILENT (\Seen)`, `UID STORE 1:* -FLAGS.SILENT (\Seen)`},
}

// BenchmarkMaildir runs each command on the Maildir folder, on our server
// and on Dovecot (when installed).
func BenchmarkMaildir(b *testing.B) {
	addr, userDir, st := maildirBench(b)
	for _, mc := range maildirCommands {
		b.Run("posthorn/"+mc.name, func(b *testing.B) {
			c := dialBench(b, addr, "LOGIN sara secret", "SELECT INBOX")
			c.do(b, mc.cmd)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				c.do(b, mc.cmd)
				if mc.undo != "" {
					c.do(b, mc.undo)
				}
			}
			reportCPU(b, cpu)
		})
	}
	// The store renames message files behind flag changes: they carry
	// their flags before Dovecot gets a copy of the folder.
	if err := st.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	dove := startDovecot(b, userDir)
	for _, mc := range maildirCommands {
		b.Run("dovecot/"+mc.name, func(b *testing.B) {
			dove.do(b, "SELECT INBOX")
			dove.do(b, mc.cmd)
			b.ResetTimer()
			for b.Loop() {
				dove.do(b, mc.cmd)
				if mc.undo != "" {
					dove.do(b, mc.undo)
				}
			}
		})
	}
}

// BenchmarkFetchShared fetches every message of the Maildir folder whole,
// with the connection's goroutine doing all the store's work (serial) and
// sharing it with a helper (shared, what the server does with two CPUs or
// more); cpu-ns/op is the CPU time of the whole process, client included.
func BenchmarkFetchShared(b *testing.B) {
	addr, _, _ := maildirBench(b)
	benchFetchHelped(b, addr, splitLatency, "shared")
}

// startDovecot runs Dovecot's imap binary in PREAUTH mode on a copy of the
// Maildir at src and returns a client on its stdin/stdout.
func startDovecot(b *testing.B, src string) *benchClient {
	d := testpeer.Dovecot(b, testpeer.DovecotOptions{Maildirs: map[string]fs.FS{"sara": os.DirFS(src)}})
	cmd := d.PreauthIMAP(b, "sara")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	c := &benchClient{w: stdin, br: bufio.NewReaderSize(stdout, 64<<10)}
	if _, err := c.br.ReadString('\n'); err != nil { // PREAUTH greeting
		b.Fatal(err)
	}
	return c
}

// BenchmarkMaildirAppend appends to a Maildir INBOX: every message is
// written, fsynced and renamed into new/ before the OK (durable).
func BenchmarkMaildirAppend(b *testing.B) {
	users := new(maildir.Users)
	users.Add("sara", "secret")
	st := &maildir.Store{Root: b.TempDir(), Users: users, PollInterval: -1, Logger: slog.New(slog.DiscardHandler)}
	benchAppend(b, serveBench(b, st))
}
