package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/bench/targets"
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

// TestMain lets startChild re-run the test binary as the child server.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		main()
		return
	}
	os.Exit(m.Run())
}

// A target served by a child process holds the messages asked for and
// stops when told.
func TestStartChild(t *testing.T) {
	ch, err := startChild("imap:posthorn-mem", 30)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := load.DialIMAP(ctx, ch.addr, targets.IMAPUser, targets.IMAPPass)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Cmd("SELECT INBOX")
	res, err := c.Cmd("FETCH 1:* (RFC822.SIZE)")
	if err != nil || res.Untagged != 30 {
		t.Fatalf("FETCH: %d messages, want 30: %v", res.Untagged, err)
	}
	c.Close()
	ch.stop()
	if ch.cmd.ProcessState == nil || !ch.cmd.ProcessState.Exited() {
		t.Fatalf("child still running after stop: %v", ch.cmd.ProcessState)
	}
}
