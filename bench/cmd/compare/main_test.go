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
	got := ratioColumns(names)
	want := [][2]string{{"posthorn", "dovecot"}, {"posthorn", "go-imap-mem"}, {"posthorn-mem", "go-imap-mem"}}
	if !slices.Equal(got, want) {
		t.Fatalf("ratioColumns = %v, want %v", got, want)
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
