package pop3

import (
	"strings"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER sara", "PASS two words ", "TOP 1 10", "AUTH PLAIN =", "capa", "UIDL", "LIST\x00", "ÜBER x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, arg, err := parseCommand(line)
		if err != nil {
			return
		}
		if cmd != strings.ToUpper(cmd) || cmd == "" {
			t.Fatalf("keyword %q", cmd)
		}
		// Re-rendering the parsed command gives a line that parses the same.
		again := cmd
		if arg != "" || strings.Contains(string(line), " ") {
			again += " " + arg
		}
		c2, a2, err := parseCommand([]byte(again))
		if err != nil || c2 != cmd || a2 != arg {
			t.Fatalf("%q → (%q, %q) → %q → (%q, %q, %v)", line, cmd, arg, again, c2, a2, err)
		}
		if !strings.EqualFold(again, string(line)) {
			t.Fatalf("%q re-rendered as %q", line, again)
		}
	})
}
