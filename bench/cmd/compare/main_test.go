package main

import (
	"slices"
	"strings"
	"testing"
)

func TestRatioColumns(t *testing.T) {
	rows := []*row{{suite: "IMAP", values: map[string]float64{"posthorn": 1, "go-imap-mem": 2, "dovecot": 3, "posthorn-mem": 4}}}
	names := targetNames(rows, "IMAP")
	if want := []string{"posthorn", "posthorn-mem", "dovecot", "go-imap-mem"}; !slices.Equal(names, want) {
		t.Fatalf("targetNames = %v, want %v", names, want)
	}
	got, shares := ratioColumns(names, "")
	want := [][2]string{{"posthorn", "dovecot"}, {"posthorn", "go-imap-mem"}, {"posthorn-mem", "go-imap-mem"}}
	if !slices.Equal(got, want) || shares != nil {
		t.Fatalf("ratioColumns = %v, %v; want %v, nil", got, shares, want)
	}
}

// A ceiling gets no ratio column; every other target gets its share of
// it, lower-is-better rows inverted.
func TestMarkdownCeilingShares(t *testing.T) {
	c := &compare{runs: 1}
	c.ceiling("IMAP client", "raw-socket")
	r := c.row("IMAP client", "FETCH", "msgs/s", true)
	r.values = map[string]float64{"posthorn": 80, "go-imap": 50, "raw-socket": 100}
	r = c.row("IMAP client", "login", "ms", false)
	r.values = map[string]float64{"posthorn": 4, "go-imap": 8, "raw-socket": 2}
	r = c.row("SMTP", "send", "msgs/s", true)
	r.values = map[string]float64{"posthorn": 10, "raw-socket": 20}
	md := c.markdown()
	for _, s := range []string{
		"| scenario | unit | posthorn | go-imap | raw-socket | posthorn ÷ go-imap | posthorn % of raw-socket | go-imap % of raw-socket |",
		"| FETCH | msgs/s | 80.0 | 50.0 | 100.0 | 1.60× | 80% | 50% |",
		"| login | ms | 4.00 | 8.00 | 2.00 | 2.00× | 50% | 25% |",
		// not the ceiling in another suite
		"| scenario | unit | posthorn | raw-socket | posthorn ÷ raw-socket |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
}

func TestMarkdownVariantRatio(t *testing.T) {
	c := &compare{runs: 1}
	r := c.row("IMAP", "STORE", "msgs/s", true)
	r.values = map[string]float64{"posthorn": 10, "posthorn-mem": 300, "go-imap-mem": 100}
	md := c.markdown()
	for _, s := range []string{
		"| scenario | unit | posthorn | posthorn-mem | go-imap-mem | posthorn ÷ go-imap-mem | posthorn-mem ÷ go-imap-mem |",
		"| STORE | msgs/s | 10.0 | 300.0 | 100.0 | 0.10× | 3.00× |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
}
