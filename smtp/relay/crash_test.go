package relay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/mx/mxtest"
	"github.com/posthorn/posthorn/smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCrashHelperProcess is the relay process of TestCrashRecovery: it runs
// a queue on the spool it is given, enqueues the messages named on stdin
// and prints "ACK n" once each is accepted (durably spooled).
func TestCrashHelperProcess(t *testing.T) {
	if os.Getenv("POSTHORN_RELAY_CRASH_CHILD") != "1" {
		t.Skip("helper process for TestCrashRecovery")
	}
	port, _ := strconv.Atoi(os.Getenv("CRASH_PORT"))
	res := mxResolver(os.Getenv("CRASH_DNS"))
	q := &Queue{Spool: &DirSpool{Dir: os.Getenv("CRASH_SPOOL")}, Hostname: "relay", DelayNotice: -1,
		Schedule: []time.Duration{20 * time.Millisecond}, Logger: slog.New(slog.DiscardHandler),
		Transport: &SMTPTransport{Resolver: res, Port: port,
			Dialer: smtp.Dialer{LocalName: "relay", Logger: slog.New(slog.DiscardHandler)}}}
	if err := q.Start(context.Background()); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	// Messages are enqueued concurrently, as from many submission
	// sessions, so that kills land inside shared fsync rounds.
	sem := make(chan struct{}, 16)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		n := strings.TrimPrefix(sc.Text(), "MSG ")
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			body := "Message-ID: <" + n + "@crash>\r\nSubject: crash " + n + "\r\n\r\nbody\r\n"
			env := &Envelope{From: "bob@bob.example", Recipients: []Recipient{{Address: "a@crash.example"}, {Address: "b@crash.example"}}}
			if _, err := q.Enqueue(context.Background(), env, strings.NewReader(body)); err != nil {
				fmt.Println("ERR", err)
				return
			}
			fmt.Println("ACK", n) // one write: lines from goroutines do not mix
		}()
	}
	select {} // deliver until killed
}

// TestCrashRecovery SIGKILLs the relay process at random moments during a
// burst of deliveries and restarts it on the same spool: every message it
// acknowledged reaches every recipient. A delivery in flight at the kill
// (the receiver said 250, the spool had not recorded it yet) is the only
// way to a duplicate, so duplicates are bounded by the kills times the
// deliveries that can be in flight.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	port := freeLoopbackPort(t, "127.0.0.6")
	rcv := startReceiver(t, "127.0.0.6:"+strconv.Itoa(port))
	dns := mxtest.NewServer(t, "crash.example. 300 IN MX 10 mx.crash.example.\nmx.crash.example. 300 IN A 127.0.0.6\n")
	spool := t.TempDir()

	var mu sync.Mutex
	acked := map[string]bool{}
	start := func() (*exec.Cmd, io.WriteCloser, chan struct{}) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$")
		cmd.Env = append(os.Environ(), "POSTHORN_RELAY_CRASH_CHILD=1", "CRASH_SPOOL="+spool,
			"CRASH_DNS="+dns.Addr(), "CRASH_PORT="+strconv.Itoa(port))
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
					mu.Lock()
					acked[n] = true
					mu.Unlock()
				}
			}
		}()
		return cmd, stdin, done
	}

	kills := 0
	next := 0
	deadline := time.Now().Add(15 * time.Second)
	for kills < 10 && time.Now().Before(deadline) {
		cmd, stdin, done := start()
		stop := time.After(time.Duration(50+rand.IntN(250)) * time.Millisecond)
	feed:
		for {
			select {
			case <-stop:
				break feed
			default:
			}
			for range 4 { // a burst of submissions at once
				fmt.Fprintf(stdin, "MSG %d\n", next)
				next++
			}
			time.Sleep(4 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		<-done
		kills++
	}
	// A last run delivers what is left.
	cmd, stdin, done := start()
	defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait(); <-done }()

	mu.Lock()
	want := len(acked)
	mu.Unlock()
	require.Greater(t, want, 20, "the burst acknowledged too few messages to mean anything")
	id := regexp.MustCompile(`Message-ID: <(\d+)@crash>`)
	count := func(rcpt string) map[string]int {
		m := map[string]int{}
		for _, msg := range rcv.messages(rcpt) {
			if s := id.FindStringSubmatch(msg); s != nil {
				m[s[1]]++
			}
		}
		return m
	}
	require.Eventually(t, func() bool {
		a, b := count("a@crash.example"), count("b@crash.example")
		mu.Lock()
		defer mu.Unlock()
		for n := range acked {
			if a[n] == 0 || b[n] == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "an acknowledged message was lost")

	dups := 0
	for _, r := range []string{"a@crash.example", "b@crash.example"} {
		for _, c := range count(r) {
			dups += c - 1
		}
	}
	t.Logf("%d kills, %d messages acknowledged, %d duplicate deliveries", kills, want, dups)
	assert.LessOrEqual(t, dups, kills*DefaultWorkers*2, "duplicates only from deliveries in flight at a kill")
}

// mxResolver returns a resolver asking the DNS server at addr.
func mxResolver(addr string) *mx.Resolver { return &mx.Resolver{Servers: []string{addr}} }
