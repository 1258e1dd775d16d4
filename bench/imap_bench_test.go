package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/bench/targets"
)

// imapTarget starts one IMAP server holding msgs for targets.IMAPUser.
type imapTarget struct {
	name  string
	start func(t testing.TB, msgs [][]byte) (addr string, stop func())
}

func mustStart(t testing.TB, addr string, stop func(), err error) (string, func()) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return addr, stop
}

// shortDir returns a fresh directory with a short path (Dovecot's socket
// paths must stay under ~100 bytes).
func shortDir(t testing.TB) string {
	d, err := os.MkdirTemp("/tmp", "phb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

var imapTargets = []imapTarget{
	{"posthorn-maildir", func(t testing.TB, msgs [][]byte) (string, func()) {
		a, s, err := targets.PosthornIMAP(shortDir(t), msgs)
		return mustStart(t, a, s, err)
	}},
	{"posthorn-mem", func(t testing.TB, msgs [][]byte) (string, func()) {
		a, s, err := targets.PosthornIMAPMem(msgs)
		return mustStart(t, a, s, err)
	}},
	{"goimap-mem", func(t testing.TB, msgs [][]byte) (string, func()) {
		a, s, err := targets.GoIMAPMem(msgs)
		return mustStart(t, a, s, err)
	}},
	{"dovecot-maildir", func(t testing.TB, msgs [][]byte) (string, func()) {
		a, _, s, err := targets.Dovecot(shortDir(t), msgs)
		if err != nil {
			t.Skip(err)
		}
		return a, s
	}},
}

// imapOps are the measured commands; perMsg marks those answered with one
// untagged FETCH per message.
var imapOps = []struct {
	name   string
	cmd    string
	perMsg bool
}{
	{"select", "SELECT INBOX", false},
	{"fetch-envelope", "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)", true},
	{"fetch-bodystructure", "UID FETCH 1:* (BODYSTRUCTURE)", true},
	{"fetch-body", "FETCH 1:* BODY.PEEK[]", true},
	{"search-text", "UID SEARCH TEXT posthornneedle", false},
	{"store-flags", "UID STORE 1:* +FLAGS.SILENT (\\Seen)", false},
	{"store-flags-fetch", "UID STORE 1:* +FLAGS (\\Seen)", true},
}

func benchMessages() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_IMAP_MESSAGES")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// BenchmarkIMAPServer runs each command over the whole folder; one op is
// one command, and msgs/s counts messages covered per second.
func BenchmarkIMAPServer(b *testing.B) {
	n := benchMessages()
	msgs := load.Corpus(n, 1)
	for _, tg := range imapTargets {
		b.Run(tg.name, func(b *testing.B) {
			addr, stop := tg.start(b, msgs)
			defer stop()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			c, err := load.DialIMAP(ctx, addr, targets.IMAPUser, targets.IMAPPass)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			// Warm up: the first SELECT builds indexes and caches.
			if _, err := c.Cmd("SELECT INBOX"); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Cmd("UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)"); err != nil {
				b.Fatal(err)
			}
			for _, op := range imapOps {
				b.Run(op.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := c.Cmd(op.cmd); err != nil {
							b.Fatal(err)
						}
						if strings.HasPrefix(op.name, "store-flags") {
							b.StopTimer()
							if _, err := c.Cmd("UID STORE 1:* -FLAGS.SILENT (\\Seen)"); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				})
			}
		})
	}
}

func TestIMAPTargetsAnswer(t *testing.T) {
	msgs := load.Corpus(50, 1)
	for _, tg := range imapTargets {
		t.Run(tg.name, func(t *testing.T) {
			addr, stop := tg.start(t, msgs)
			defer stop()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := load.DialIMAP(ctx, addr, targets.IMAPUser, targets.IMAPPass)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res, err := c.Cmd("SELECT INBOX")
			if err != nil {
				t.Fatal(err)
			}
			if res.Untagged == 0 {
				t.Fatal("SELECT returned no untagged data")
			}
			for _, op := range imapOps {
				res, err := c.Cmd(op.cmd)
				if err != nil {
					t.Fatalf("%s: %v", op.cmd, err)
				}
				if op.perMsg && res.Untagged != len(msgs) {
					t.Fatalf("%s: %d FETCH responses, want %d", op.cmd, res.Untagged, len(msgs))
				}
				if strings.HasPrefix(op.name, "store-flags") {
					if _, err := c.Cmd("UID STORE 1:* -FLAGS.SILENT (\\Seen)"); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := c.Append("INBOX", msgs[0]); err != nil {
				t.Fatal(fmt.Errorf("APPEND: %w", err))
			}
		})
	}
}

// BenchmarkIMAPLoadCeiling runs the load generator against a replay server
// that answers each FETCH with canned responses (captured from the Posthorn
// target) at memory speed: the most msgs/s the load generator itself can
// count, which bounds every server's number in BenchmarkIMAPServer.
func BenchmarkIMAPLoadCeiling(b *testing.B) {
	n := benchMessages()
	msgs := load.Corpus(n, 1)
	addr, stop, err := targets.PosthornIMAP(shortDir(b), msgs)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	for _, op := range imapOps {
		if op.cmd[:3] != "UID" && op.cmd[:5] != "FETCH" || op.name == "store-flags" {
			continue
		}
		b.Run(op.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			canned, err := load.Capture(ctx, addr, targets.IMAPUser, targets.IMAPPass, op.cmd)
			if err != nil {
				b.Fatal(err)
			}
			raddr, rstop, err := targets.ReplayIMAP(canned, n)
			if err != nil {
				b.Fatal(err)
			}
			defer rstop()
			c, err := load.DialIMAP(ctx, raddr, targets.IMAPUser, targets.IMAPPass)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(canned)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Cmd(op.cmd); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
