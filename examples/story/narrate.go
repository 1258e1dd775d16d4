package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/posthorn/posthorn/smtp"
)

// narrator prints the story: step headings, checks, and the protocol
// lines the clients trace.
type narrator struct {
	mu   sync.Mutex
	out  io.Writer
	step int
	// held collects the protocol lines of actors whose part of the story
	// has not come yet (the relay starts delivering while Bob's client is
	// still being narrated); release prints them.
	held map[string][]string
}

// hold makes the lines of who wait until release(who).
func (n *narrator) hold(who string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.held == nil {
		n.held = map[string][]string{}
	}
	n.held[who] = []string{}
}

// release prints the lines held for who, and prints later ones at once.
func (n *narrator) release(who string) {
	n.mu.Lock()
	lines := n.held[who]
	delete(n.held, who)
	n.mu.Unlock()
	for _, l := range lines {
		n.printf("%s", l)
	}
}

// wireLine prints (or holds) one protocol line of who.
func (n *narrator) wireLine(who, line string) {
	text := fmt.Sprintf("   %-8s %s\n", who, line)
	n.mu.Lock()
	if lines, ok := n.held[who]; ok {
		n.held[who] = append(lines, text)
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	n.printf("%s", text)
}

func (n *narrator) printf(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.out, format, args...)
}

// heading starts step number n.step+1.
func (n *narrator) heading(title string) {
	n.mu.Lock()
	n.step++
	step := n.step
	n.mu.Unlock()
	n.printf("\n%d. %s\n", step, title)
}

// say prints an indented line of narration.
func (n *narrator) say(format string, args ...any) { n.printf("   "+format+"\n", args...) }

// ok prints a verified fact.
func (n *narrator) ok(format string, args ...any) { n.printf("   ✓ "+format+"\n", args...) }

// wire returns a logger whose protocol trace lines (C: and S:) are printed
// under who, when keep says so. onLine, if set, sees every line.
func (n *narrator) wire(who string, keep func(line string) bool, onLine func(line string)) *slog.Logger {
	return slog.New(&wireHandler{n: n, who: who, keep: keep, onLine: onLine})
}

// wireHandler turns the trace records of the smtp, pop3 and imap clients
// into "C: ..." and "S: ..." lines; other records are dropped.
type wireHandler struct {
	n      *narrator
	who    string
	keep   func(string) bool
	onLine func(string)
}

// Enabled takes the trace level of the clients (slog.LevelDebug-4) and
// nothing below it, so that AUTH payloads stay redacted (the smtp client
// shows them only at its LevelTraceAuth, further below).
func (h *wireHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= smtp.LevelTrace && l < slog.LevelDebug
}

func (h *wireHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	// The IMAP client logs "imap client C" with the line as an attribute.
	if dir, ok := strings.CutPrefix(line, "imap client "); ok {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "line" {
				line = dir + ": " + a.Value.String()
				return false
			}
			return true
		})
	}
	if !strings.HasPrefix(line, "C: ") && !strings.HasPrefix(line, "S: ") {
		return nil
	}
	line = strings.Replace(line, " imap: ", " ", 1) // tagged replies are traced as errors
	if h.onLine != nil {
		h.onLine(line)
	}
	if h.keep == nil || h.keep(line) {
		if len(line) > 100 {
			line = line[:97] + "..."
		}
		h.n.wireLine(h.who, line)
	}
	return nil
}

func (h *wireHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *wireHandler) WithGroup(string) slog.Handler      { return h }

// prefixes returns a keep function for the lines starting with one of ps.
func prefixes(ps ...string) func(string) bool {
	return func(line string) bool {
		for _, p := range ps {
			if strings.HasPrefix(line, p) {
				return true
			}
		}
		return false
	}
}

// imapLines keeps the IMAP commands named in cmds and their tagged
// replies (the IMAP client traces commands by name, without arguments).
func imapLines(cmds ...string) func(string) bool {
	return func(line string) bool {
		if strings.HasPrefix(line, "S: +") {
			return true
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return false
		}
		for _, c := range cmds {
			if f[0] == "C:" && f[2] == c || f[0] == "S:" && strings.Contains(line, " "+c+" ") {
				return true
			}
		}
		return false
	}
}
