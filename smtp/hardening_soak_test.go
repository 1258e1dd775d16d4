package smtp_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/soak"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/smtp"
)

// TestHardeningSoakDeliveriesMemstore: concurrent clients deliver through
// smtp.Receiver into a memory store (see TestHardeningSoakDeliveriesMaildir
// for Maildir) while the store fails at random (disk full,
// EIO) and some clients reset their connection in the middle of DATA and
// one never reads its replies. Afterwards every message that got a 250 is
// in each recipient's INBOX exactly once, UIDs are increasing, failures
// were answered with 4xx, and no goroutine or descriptor is left behind.
// POSTHORN_SOAK=full runs 200 clients for 60 s (docs/SECURITY.md).
func TestHardeningSoakDeliveriesMemstore(t *testing.T) {
	const nusers = 8
	soak.LeakCheck(t, 2)
	mem := memstore.New()
	for i := range nusers {
		if err := mem.AddUser(fmt.Sprint("u", i), "pw", fmt.Sprintf("u%d@example.org", i)); err != nil {
			t.Fatal(err)
		}
	}
	soakDeliveries(t, mem, nusers)
}

// soakDeliveries runs the load against st, whose users u0…u(nusers-1)
// receive u<i>@example.org.
func soakDeliveries(t *testing.T, st mailbox.Store, nusers int) {
	size := soak.Pick(soak.Size{Clients: 16, Ops: 25, Duration: 8 * time.Second},
		soak.Size{Clients: 200, Ops: 1 << 30, Duration: 60 * time.Second})
	fst := &soak.FaultStore{Store: st, Rate: 0.05, Seed: 1}
	srv := &smtp.Server{Hostname: "mx.example.org", Logger: hQuiet,
		Backend:      &smtp.Receiver{Store: fst, Hostname: "mx.example.org", TempDir: t.TempDir(), Logger: hQuiet},
		WriteTimeout: 2 * time.Second, MaxConnectionsPerIP: -1, MaxBadCommands: -1}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	var (
		mu     sync.Mutex
		acked  = map[string][]string{} // user → Message-IDs acknowledged
		temp   int
		resets int
	)
	end := size.Deadline()
	var wg sync.WaitGroup
	stuck := make(chan bool, 1)
	go func() { stuck <- soak.StuckReader(addr, "HELP", 10*time.Second) }()
	for ci := range size.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(ci), 7))
			for op := 0; op < size.Ops && time.Now().Before(end); op++ {
				var to []int
				for range 1 + rnd.IntN(2) {
					to = append(to, rnd.IntN(nusers))
				}
				id := fmt.Sprintf("<%d.%d@soak>", ci, op)
				code, err := soakSend(addr, id, to, rnd.IntN(20) == 0)
				mu.Lock()
				switch {
				case err != nil:
					t.Errorf("client %d: %v", ci, err)
				case code == 0:
					resets++
				case code == 250:
					for _, u := range to {
						acked[fmt.Sprint("u", u)] = append(acked[fmt.Sprint("u", u)], id)
					}
				case code/100 == 4:
					temp++
				default:
					t.Errorf("client %d: reply %d to a delivery", ci, code)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !<-stuck {
		t.Error("a client that never reads kept its connection")
	}
	fst.Stop()
	n := 0
	for _, ids := range acked {
		n += len(ids)
	}
	t.Logf("%d deliveries acknowledged, %d temporary failures (%d injected), %d resets", n, temp, fst.Injected(), resets)
	if n == 0 || temp == 0 || fst.Injected() == 0 {
		t.Errorf("the run proved nothing: %d acknowledged, %d temporary failures", n, temp)
	}
	for i := range nusers {
		u := fmt.Sprint("u", i)
		checkInbox(t, fst, u, acked[u])
		// What the run stored is not part of the heap check (LeakCheck).
		soak.Empty(t, fst, u)
	}
}

// soakSend delivers one message with Message-ID id to users to and returns
// the final reply code, 0 if it reset the connection in the middle of DATA.
func soakSend(addr, id string, to []int, reset bool) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	var last string
	read := func() (int, error) {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return 0, err
			}
			if len(line) < 4 {
				return 0, fmt.Errorf("short reply %q", line)
			}
			if line[3] != '-' {
				var code int
				fmt.Sscanf(line, "%d", &code)
				last = strings.TrimSpace(line)
				return code, nil
			}
		}
	}
	step := func(cmd string, want int) (int, error) {
		if cmd != "" {
			if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
				return 0, err
			}
		}
		code, err := read()
		if err == nil && code != want {
			if code/100 == 5 {
				return code, fmt.Errorf("%s: %s", cmd, last)
			}
			return code, errStop
		}
		return code, err
	}
	if code, err := step("", 220); err != nil {
		return code, err
	}
	cmds := []string{"EHLO soak.test", "MAIL FROM:<s@soak.test>"}
	for _, u := range to {
		cmds = append(cmds, fmt.Sprintf("RCPT TO:<u%d@example.org>", u))
	}
	for _, cmd := range cmds {
		if code, err := step(cmd, 250); err != nil {
			return code, ignoreStop(err)
		}
	}
	if code, err := step("DATA", 354); err != nil {
		return code, ignoreStop(err)
	}
	body := fmt.Sprintf("Message-ID: %s\r\nSubject: soak\r\n\r\n%s\r\n", id, strings.Repeat("line of text\r\n", 50))
	if reset {
		io.WriteString(c, body[:len(body)/2])
		soak.Reset(c)
		return 0, nil
	}
	if _, err := io.WriteString(c, body+".\r\n"); err != nil {
		return 0, err
	}
	code, err := read()
	if err == nil && code/100 == 5 {
		err = fmt.Errorf("after the data: %s", last)
	}
	io.WriteString(c, "QUIT\r\n")
	return code, err
}

var errStop = fmt.Errorf("unexpected reply")

func ignoreStop(err error) error {
	if err == errStop {
		return nil
	}
	return err
}

// checkInbox checks that every id in want is in user's INBOX exactly once
// (and, through soak.Inbox, that UIDs increase).
func checkInbox(t *testing.T, st mailbox.Store, user string, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range soak.Inbox(t, st, user) {
		_, rest, ok := strings.Cut(string(m.Data), "Message-ID: ")
		id, _, _ := strings.Cut(rest, "\r\n")
		if !ok {
			t.Errorf("%s: UID %d has no Message-ID", user, m.UID)
		}
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("%s: acknowledged %s present %d times", user, id, seen[id])
		}
	}
}
