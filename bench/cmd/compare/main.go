// Command compare runs Posthorn's servers side by side with the systems
// users would otherwise pick — github.com/emersion/go-smtp,
// github.com/emersion/go-imap/v2's memory server, Dovecot and Postfix's
// smtp-sink — under the same raw-socket load, in one run on one machine,
// and prints a Markdown table of medians with Posthorn's ratio to each.
//
//	go run ./cmd/compare [-runs 3] [-out results.md] [-suites smtp,smtpclient,imap,imapclient,pop3,mem] [-quick]
//	go run ./cmd/compare -suites imap -targets posthorn-mem,go-imap-mem
//
// Posthorn's IMAP server runs twice: on the Maildir store ("posthorn",
// against Dovecot on the same files) and on the memory store
// ("posthorn-mem", against go-imap's memory server).
//
// Run it from the bench/ directory, as root for Dovecot (it drops to
// nobody). Every load is bounded in count and time; the whole matrix takes
// a few minutes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/bench/targets"
)

type row struct {
	suite, scenario, unit string
	higherBetter          bool
	values                map[string]float64 // target → median
}

type startFunc func(dir string, msgs [][]byte) (addr string, stop func(), err error)

var smtpTargets = []struct {
	name  string
	start func() (string, func(), error)
}{
	{"posthorn", targets.PosthornSMTP},
	{"go-smtp", targets.GoSMTP},
	{"postfix-smtp-sink", targets.PostfixSink},
	{"raw-responder", targets.RawSMTP},
}

var imapTargets = []struct {
	name  string
	start startFunc
}{
	{"posthorn", targets.PosthornIMAP},
	{"posthorn-mem", func(_ string, msgs [][]byte) (string, func(), error) { return targets.PosthornIMAPMem(msgs) }},
	{"go-imap-mem", func(_ string, msgs [][]byte) (string, func(), error) { return targets.GoIMAPMem(msgs) }},
	{"dovecot", func(dir string, msgs [][]byte) (string, func(), error) {
		a, _, s, err := targets.Dovecot(dir, msgs)
		return a, s, err
	}},
}

var pop3Targets = []struct {
	name  string
	start startFunc
}{
	{"posthorn", targets.PosthornPOP3},
	{"dovecot", func(dir string, msgs [][]byte) (string, func(), error) {
		_, a, s, err := targets.Dovecot(dir, msgs)
		return a, s, err
	}},
}

func main() {
	runs := flag.Int("runs", 3, "runs per measurement (the median is reported)")
	out := flag.String("out", "", "also write the Markdown table to this file")
	suites := flag.String("suites", "smtp,smtpclient,imap,imapclient,pop3,mem", "suites to run")
	quick := flag.Bool("quick", false, "smaller loads (a smoke test of the tool)")
	only := flag.String("targets", "", "comma-separated targets of the imap suite to run (default all)")
	serve := flag.String("serve", "", "internal: serve one target in this process (memory and client suites)")
	serveMsgs := flag.Int("serve-msgs", 0, "internal: with -serve, the messages of an IMAP or POP3 target")
	flag.Parse()
	if *serve != "" {
		if err := serveTarget(*serve, *serveMsgs); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		return
	}
	c := &compare{runs: *runs, quick: *quick}
	if *only != "" {
		c.only = map[string]bool{}
		for _, t := range strings.Split(*only, ",") {
			c.only[t] = true
		}
	}
	for _, s := range strings.Split(*suites, ",") {
		switch s {
		case "smtp":
			c.smtp()
		case "smtpclient":
			c.smtpClient()
		case "imapclient":
			c.imapClient()
		case "imap":
			c.imap()
		case "pop3":
			c.pop3()
		case "mem":
			c.mem()
		default:
			fmt.Fprintln(os.Stderr, "error: unknown suite", s)
			os.Exit(2)
		}
	}
	table := c.markdown()
	fmt.Print(table)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
	}
}

type compare struct {
	runs  int
	quick bool
	only  map[string]bool // imap targets to run; nil: all
	rows  []*row
	notes []string
	// ceilings names, by suite, the target that is the most any other
	// can get (a client that parses nothing): the table shows every
	// other target's share of it rather than a ratio.
	ceilings map[string]string
}

// ceiling marks target as the ceiling of suite.
func (c *compare) ceiling(suite, target string) {
	if c.ceilings == nil {
		c.ceilings = map[string]string{}
	}
	c.ceilings[suite] = target
}

func (c *compare) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.notes = append(c.notes, msg)
	fmt.Fprintln(os.Stderr, "note:", msg)
}

func (c *compare) row(suite, scenario, unit string, higherBetter bool) *row {
	r := &row{suite: suite, scenario: scenario, unit: unit, higherBetter: higherBetter, values: map[string]float64{}}
	c.rows = append(c.rows, r)
	return r
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func (c *compare) smtp() {
	type scen struct {
		name           string
		conns, size, n int
		pipe, bdat     bool
		mbps           bool
	}
	scens := []scen{
		{"1 conn × 1 KiB, pipelined", 1, 1 << 10, 20000, true, false, false},
		{"1 conn × 1 KiB, no pipelining", 1, 1 << 10, 10000, false, false, false},
		{"50 conns × 100 KiB, DATA", 50, 100 << 10, 5000, true, false, true},
		{"50 conns × 100 KiB, BDAT", 50, 100 << 10, 5000, true, true, true},
		{"10 conns × 1 MiB, DATA", 10, 1 << 20, 1000, true, false, true},
	}
	for _, s := range scens {
		unit := "msgs/s"
		if s.mbps {
			unit = "MB/s"
		}
		r := c.row("SMTP server", s.name, unit, true)
		n := s.n
		if c.quick {
			n /= 20
		}
		for _, tg := range smtpTargets {
			var vals []float64
			for i := 0; i < c.runs; i++ {
				addr, stop, err := tg.start()
				if err != nil {
					c.note("%s: %v", tg.name, err)
					break
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				st, err := load.SMTP{Addr: addr, Conns: s.conns, Messages: n, Size: s.size, Pipelining: s.pipe, BDAT: s.bdat}.Run(ctx)
				cancel()
				stop()
				if errors.Is(err, load.ErrNoChunking) {
					break
				}
				if err != nil {
					c.note("%s %s: %v", tg.name, s.name, err)
					break
				}
				if s.mbps {
					vals = append(vals, st.MBPerSec())
				} else {
					vals = append(vals, st.MsgsPerSec())
				}
			}
			if len(vals) > 0 {
				r.values[tg.name] = median(vals)
			}
		}
	}
}

// imapOps are the measured commands, each over the whole folder. perMsg
// marks those that must answer with one untagged FETCH per message: a
// target that sends another number did less (or other) work, which the
// notes say. undo, when set, is sent after the measurement.
var imapOps = []struct {
	name, cmd, undo string
	perMsg          bool
}{
	{"SELECT", "SELECT INBOX", "", false},
	{"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)", "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)", "", true},
	{"UID FETCH 1:* (BODYSTRUCTURE)", "UID FETCH 1:* (BODYSTRUCTURE)", "", true},
	{"FETCH 1:* BODY.PEEK[]", "FETCH 1:* BODY.PEEK[]", "", true},
	{"UID SEARCH TEXT", "UID SEARCH TEXT posthornneedle", "", false},
	{"UID STORE 1:* +FLAGS.SILENT (\\Seen)", "UID STORE 1:* +FLAGS.SILENT (\\Seen)", "UID STORE 1:* -FLAGS.SILENT (\\Seen)", false},
	{"UID STORE 1:* +FLAGS (\\Seen), 1 FETCH each", "UID STORE 1:* +FLAGS (\\Seen)", "UID STORE 1:* -FLAGS.SILENT (\\Seen)", true},
}

// imapReps is how many times each IMAP command is measured per run.
const imapReps = 5

func (c *compare) imap() {
	n := 10000
	if c.quick {
		n = 500
	}
	msgs := load.Corpus(n, 1)
	rows := make([]*row, len(imapOps))
	for i, op := range imapOps {
		rows[i] = c.row(fmt.Sprintf("IMAP server, %d messages", n), op.name, "msgs/s", true)
	}
	app := c.row(fmt.Sprintf("IMAP server, %d messages", n), "APPEND (1 conn, 200 msgs)", "msgs/s", true)
	for _, tg := range imapTargets {
		if c.only != nil && !c.only[tg.name] {
			continue
		}
		vals := make([][]float64, len(imapOps))
		var appVals []float64
		for run := 0; run < c.runs; run++ {
			dir, _ := os.MkdirTemp("/tmp", "phc-")
			addr, stop, err := tg.start(dir, msgs)
			if err != nil {
				c.note("%s: %v", tg.name, err)
				os.RemoveAll(dir)
				break
			}
			err = func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				conn, err := load.DialIMAP(ctx, addr, targets.IMAPUser, targets.IMAPPass)
				if err != nil {
					return err
				}
				defer conn.Close()
				if _, err := conn.Cmd("SELECT INBOX"); err != nil { // warm-up: indexes, caches
					return err
				}
				if _, err := conn.Cmd("UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)"); err != nil {
					return err
				}
				for i, op := range imapOps {
					// A command over the folder takes from under a
					// millisecond to about a second: it is repeated
					// (with its undo) imapReps times, and the median
					// of every run's repetitions is reported.
					for rep := 0; rep < imapReps; rep++ {
						start := time.Now()
						res, err := conn.Cmd(op.cmd)
						if err != nil {
							return fmt.Errorf("%s: %w", op.cmd, err)
						}
						vals[i] = append(vals[i], float64(n)/time.Since(start).Seconds())
						if op.perMsg && res.Untagged != n && run == 0 && rep == 0 {
							c.note("%s: %s answered with %d untagged responses for %d messages", tg.name, op.cmd, res.Untagged, n)
						}
						if op.undo != "" {
							if _, err := conn.Cmd(op.undo); err != nil {
								return fmt.Errorf("%s: %w", op.undo, err)
							}
						}
					}
				}
				start := time.Now()
				for i := 0; i < 200; i++ {
					if err := conn.Append("INBOX", msgs[i%len(msgs)]); err != nil {
						return err
					}
				}
				appVals = append(appVals, 200/time.Since(start).Seconds())
				return nil
			}()
			stop()
			os.RemoveAll(dir)
			if err != nil {
				c.note("%s: %v", tg.name, err)
				break
			}
		}
		for i := range imapOps {
			if len(vals[i]) > 0 {
				rows[i].values[tg.name] = median(vals[i])
			}
		}
		if len(appVals) > 0 {
			app.values[tg.name] = median(appVals)
		}
	}
}

func (c *compare) pop3() {
	n := 10000
	if c.quick {
		n = 500
	}
	msgs := load.Corpus(n, 2)
	login := c.row(fmt.Sprintf("POP3 server, %d messages", n), "login + STAT + UIDL", "ms", false)
	retr := c.row(fmt.Sprintf("POP3 server, %d messages", n), "RETR all (pipelined)", "MB/s", true)
	for _, tg := range pop3Targets {
		var lv, rv []float64
		for run := 0; run < c.runs; run++ {
			dir, _ := os.MkdirTemp("/tmp", "phc-")
			addr, stop, err := tg.start(dir, msgs)
			if err != nil {
				c.note("%s: %v", tg.name, err)
				os.RemoveAll(dir)
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			load.POP3Session(ctx, addr, targets.IMAPUser, targets.IMAPPass, 0) // warm-up: first scan, index
			start := time.Now()
			res, err := load.POP3Session(ctx, addr, targets.IMAPUser, targets.IMAPPass, -1)
			total := time.Since(start)
			cancel()
			stop()
			os.RemoveAll(dir)
			if err != nil {
				c.note("%s: %v", tg.name, err)
				break
			}
			lv = append(lv, float64(res.LoginStatUIDL.Microseconds())/1000)
			rv = append(rv, float64(res.Bytes)/1e6/(total-res.LoginStatUIDL).Seconds())
		}
		if len(lv) > 0 {
			login.values[tg.name] = median(lv)
			retr.values[tg.name] = median(rv)
		}
	}
}

// markdown renders the rows, one table per suite, with Posthorn's ratio to
// every other target (>1 means Posthorn is better).
func (c *compare) markdown() string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Posthorn comparison\n\n%s, %s/%s, %d CPUs, %s, host %s; medians of %d runs.\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), host, c.runs)
	suite := ""
	var names []string
	var ratios, shares [][2]string
	for _, r := range c.rows {
		if r.suite != suite {
			suite = r.suite
			names = targetNames(c.rows, suite)
			ratios, shares = ratioColumns(names, c.ceilings[suite])
			fmt.Fprintf(&b, "\n## %s\n\n| scenario | unit | %s |", suite, strings.Join(names, " | "))
			for _, rc := range ratios {
				fmt.Fprintf(&b, " %s ÷ %s |", rc[0], rc[1])
			}
			for _, rc := range shares {
				fmt.Fprintf(&b, " %s %% of %s |", rc[0], rc[1])
			}
			b.WriteString("\n|---|---|")
			b.WriteString(strings.Repeat("---:|", len(names)+len(ratios)+len(shares)))
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "| %s | %s |", r.scenario, r.unit)
		for _, n := range names {
			if v, ok := r.values[n]; ok {
				fmt.Fprintf(&b, " %s |", format(v))
			} else {
				b.WriteString(" – |")
			}
		}
		for _, rc := range ratios {
			if x, ok := r.relative(rc); ok {
				fmt.Fprintf(&b, " %.2f× |", x)
			} else {
				b.WriteString(" – |")
			}
		}
		for _, rc := range shares {
			if x, ok := r.relative(rc); ok {
				fmt.Fprintf(&b, " %.0f%% |", 100*x)
			} else {
				b.WriteString(" – |")
			}
		}
		b.WriteString("\n")
	}
	if len(c.notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range c.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// relative is how well target rc[0] did on r relative to rc[1] (>1:
// better); false when either is missing or zero.
func (r *row) relative(rc [2]string) (float64, bool) {
	p, ok := r.values[rc[0]]
	v, ok2 := r.values[rc[1]]
	if !ok || !ok2 || v == 0 || p == 0 {
		return 0, false
	}
	if !r.higherBetter {
		return v / p, true
	}
	return p / v, true
}

// targetNames lists the targets measured in suite: posthorn first, then
// its other variants (posthorn-mem), then the rest, sorted.
func targetNames(rows []*row, suite string) []string {
	seen := map[string]bool{"posthorn": true}
	names := []string{"posthorn"}
	for _, r := range rows {
		if r.suite != suite {
			continue
		}
		for n := range r.values {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	slices.SortFunc(names[1:], func(a, b string) int {
		if ours(a) != ours(b) {
			if ours(a) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

func ours(name string) bool { return strings.HasPrefix(name, "posthorn") }

// ratioColumns pairs the targets whose ratio the table shows: posthorn to
// every other server, and each variant posthorn-X to the servers of the
// same kind (name ending in -X): posthorn-mem ÷ go-imap-mem. With a
// ceiling among names, shares pairs every other target with it instead.
func ratioColumns(names []string, ceiling string) (cols, shares [][2]string) {
	for _, n := range names {
		if n == ceiling {
			continue
		}
		if !ours(n) {
			cols = append(cols, [2]string{"posthorn", n})
		}
		if slices.Contains(names, ceiling) {
			shares = append(shares, [2]string{n, ceiling})
		}
	}
	for _, v := range names {
		kind, ok := strings.CutPrefix(v, "posthorn-")
		if !ok {
			continue
		}
		for _, n := range names {
			if !ours(n) && n != ceiling && strings.HasSuffix(n, "-"+kind) {
				cols = append(cols, [2]string{v, n})
			}
		}
	}
	return cols, shares
}

func format(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
