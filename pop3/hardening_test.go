package pop3_test

// Adversarial, fault and soak tests of POP3 (issue 13); see
// docs/SECURITY.md. Maildrop lock and DELE-then-disconnect are covered by
// TestInUse and TestDropDeletesNothing.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/soak"
	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/pop3"
	"github.com/posthorn/posthorn/pop3/pop3test"
)

// TestHardeningSTLSResponseInjection: lines a server (or a man in the
// middle) sends after "+OK" to STLS, in plaintext, are never read as
// replies inside TLS (CVE-2021-38371 class; RFC 2595 §4).
func TestHardeningSTLSResponseInjection(t *testing.T) {
	addr := soak.FakeServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		io.WriteString(c, "+OK fake ready\r\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.TrimSpace(strings.ToUpper(line)) {
			case "CAPA":
				io.WriteString(c, "+OK\r\nSTLS\r\nUSER\r\n.\r\n")
				continue
			case "STLS":
			default:
				io.WriteString(c, "-ERR what\r\n")
				continue
			}
			// The injection: a fake CAPA answer and a fake +OK to USER
			// and PASS, in the same segment as the +OK to STLS.
			io.WriteString(c, "+OK begin TLS\r\n+OK\r\nEVIL\r\n.\r\n+OK injected\r\n+OK injected\r\n")
			tc := tls.Server(c, testcert.ServerTLS())
			if tc.Handshake() != nil {
				return
			}
			br = bufio.NewReader(tc)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				switch f := strings.Fields(strings.ToUpper(line)); f[0] {
				case "CAPA":
					io.WriteString(tc, "+OK\r\nUSER\r\n.\r\n")
				case "USER":
					io.WriteString(tc, "+OK\r\n")
				case "PASS":
					io.WriteString(tc, "-ERR [AUTH] no\r\n")
				default:
					io.WriteString(tc, "-ERR no\r\n")
				}
			}
		}
	})
	d := &pop3.Dialer{TLSConfig: testcert.ClientTLS()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, addr)
	if err != nil {
		// The strict defence: the client refuses a server that talks
		// past its STLS reply.
		if !strings.Contains(err.Error(), "after STLS") {
			t.Fatalf("Dial: %v", err)
		}
		return
	}
	defer c.Close()
	if c.Capabilities().Has("EVIL") {
		t.Error("injected capability accepted")
	}
	// Had the injected +OK lines been read, this login would succeed.
	if err := c.Login(ctx, "sara", "secret"); err == nil {
		t.Fatal("login answered by injected lines")
	}
}

// TestHardeningSlowloris: one byte at a time cannot hold a connection
// past the autologout timer, before or after login.
func TestHardeningSlowloris(t *testing.T) {
	srv := pop3test.NewServer(t, &pop3test.Options{Messages: []string{"Subject: a\r\n\r\na\r\n"},
		Configure: func(s *pop3.Server) { s.ReadTimeout = 300 * time.Millisecond }})
	for _, prefix := range []string{"", "USER sara\r\nPASS secret\r\n"} {
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		io.WriteString(nc, prefix)
		if !soak.Trickle(nc, "NOOP"+strings.Repeat(" x", 100), 50*time.Millisecond, 5*time.Second) {
			t.Errorf("prefix %q: a slowloris kept its connection for 5 s", prefix)
		}
	}
	ctx := context.Background()
	c, err := srv.Dialer().Dial(ctx, srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, srv.User, srv.Password); err != nil {
		t.Fatal(err)
	}
	if n, _, err := c.Stat(ctx); err != nil || n != 1 {
		t.Fatalf("STAT = %d, %v", n, err)
	}
}

// TestHardeningSoakFetchDelete: concurrent POP3 sessions list, retrieve and
// delete while new mail arrives and the store fails at random (disk full,
// EIO); some sessions reset their connection before QUIT, and one client
// never reads. Afterwards exactly the messages whose deletion a QUIT
// acknowledged are gone, every other one is present once, and no goroutine
// or descriptor is left. POSTHORN_SOAK=full: 200 clients for 60 s.
func TestHardeningSoakFetchDelete(t *testing.T) {
	size := soak.Pick(soak.Size{Clients: 12, Ops: 20, Duration: 6 * time.Second},
		soak.Size{Clients: 200, Ops: 1 << 30, Duration: 60 * time.Second})
	soak.LeakCheck(t, 2)
	mem := memstore.New()
	// Half as many users as clients: some lock contention (IN-USE), mostly work.
	nusers := max(6, size.Clients/2)
	for i := range nusers {
		if err := mem.AddUser(fmt.Sprint("u", i), "pw"); err != nil {
			t.Fatal(err)
		}
	}
	fst := &soak.FaultStore{Store: mem, Rate: 0.05, Seed: 2}
	srv := &pop3.Server{Store: fst, Auth: fst, AllowInsecureAuth: true, AuthFailureDelay: -1,
		WriteTimeout: 2 * time.Second, MaxConnections: 1000, Logger: slog.New(slog.DiscardHandler)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	ctx := context.Background()
	var (
		mu      sync.Mutex
		present = map[string]map[string]bool{} // user → Subject → still expected
		deleted = map[string]bool{}
		nextID  int
	)
	for i := range nusers {
		for range 5 {
			d := fmt.Sprint("u", i)
			_, err := mailbox.Deliver(ctx, mem, d, strings.NewReader(fmt.Sprintf("Subject: m%d\r\n\r\nbody\r\n", nextID)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if present[d] == nil {
				present[d] = map[string]bool{}
			}
			present[d][fmt.Sprint("m", nextID)] = true
			nextID++
		}
	}
	stuck := make(chan bool, 1)
	go func() { stuck <- soak.StuckReader(addr, "CAPA", 10*time.Second) }()
	end := size.Deadline()
	var wg sync.WaitGroup
	var sessions, inUse, tempFail, resets int
	for ci := range size.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(ci), 11))
			for op := 0; op < size.Ops && time.Now().Before(end); op++ {
				user := fmt.Sprint("u", rnd.IntN(nusers))
				if rnd.IntN(4) == 0 {
					mu.Lock()
					nextID++
					subj := fmt.Sprint("m", nextID)
					mu.Unlock()
					if _, err := mailbox.Deliver(ctx, mem, user, strings.NewReader("Subject: "+subj+"\r\n\r\nbody\r\n"), nil); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					present[user][subj] = true
					mu.Unlock()
				}
				r := soakSession(addr, user, rnd)
				mu.Lock()
				sessions++
				switch {
				case r.err != nil:
					t.Errorf("client %d: %v", ci, r.err)
				case r.inUse:
					inUse++
				case r.reset:
					resets++
				case r.quitOK:
					for _, s := range r.dele {
						present[user][s] = false
						deleted[user+"/"+s] = true
					}
				}
				tempFail += r.temp
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !<-stuck {
		t.Error("a client that never reads kept its connection")
	}
	fst.Stop()
	t.Logf("%d sessions, %d in use, %d resets, %d temporary failures, %d injected, %d deleted", sessions, inUse, resets, tempFail, fst.Injected(), len(deleted))
	if len(deleted) == 0 || tempFail == 0 {
		t.Error("the run proved nothing")
	}
	for user, want := range present {
		got := hSubjects(t, mem, user)
		for s, keep := range want {
			if keep && got[s] != 1 || !keep && got[s] != 0 {
				t.Errorf("%s: %s present %d times, want kept=%v", user, s, got[s], keep)
			}
		}
	}
}

type sessionResult struct {
	dele                 []string // subjects marked deleted
	quitOK, inUse, reset bool
	temp                 int
	err                  error
}

// soakSession runs one POP3 session over a raw connection.
func soakSession(addr, user string, rnd *rand.Rand) (r sessionResult) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		r.err = err
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	cmd := func(line string, multi bool) (string, []string, error) {
		if line != "" {
			if _, err := io.WriteString(c, line+"\r\n"); err != nil {
				return "", nil, err
			}
		}
		st, err := br.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		var body []string
		if multi && strings.HasPrefix(st, "+OK") {
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return st, body, err
				}
				if l == ".\r\n" {
					break
				}
				body = append(body, strings.TrimRight(l, "\r\n"))
			}
		}
		return strings.TrimRight(st, "\r\n"), body, nil
	}
	if st, _, err := cmd("", false); err != nil || !strings.HasPrefix(st, "+OK") {
		r.err = fmt.Errorf("greeting %q %v", st, err)
		return
	}
	cmd("USER "+user, false)
	st, _, err := cmd("PASS pw", false)
	if err != nil {
		r.err = err
		return
	}
	if strings.HasPrefix(st, "-ERR [IN-USE]") {
		r.inUse = true
		return
	}
	if !strings.HasPrefix(st, "+OK") {
		r.err = fmt.Errorf("PASS: %q", st)
		return
	}
	_, list, err := cmd("LIST", true)
	if err != nil {
		r.err = err
		return
	}
	for i := range list {
		n := i + 1
		st, body, err := cmd(fmt.Sprint("RETR ", n), true)
		if err != nil {
			r.err = err
			return
		}
		if strings.HasPrefix(st, "-ERR [SYS/TEMP]") {
			r.temp++
			continue
		}
		if !strings.HasPrefix(st, "+OK") || len(body) == 0 {
			r.err = fmt.Errorf("RETR %d: %q", n, st)
			return
		}
		subj := strings.TrimPrefix(body[0], "Subject: ")
		if rnd.IntN(2) == 0 {
			if st, _, _ := cmd(fmt.Sprint("DELE ", n), false); strings.HasPrefix(st, "+OK") {
				r.dele = append(r.dele, subj)
			}
		}
	}
	if rnd.IntN(8) == 0 {
		soak.Reset(c)
		r.reset = true
		return
	}
	st, _, err = cmd("QUIT", false)
	switch {
	case err != nil:
		r.err = err
	case strings.HasPrefix(st, "+OK"):
		r.quitOK = true
	case strings.HasPrefix(st, "-ERR [SYS/TEMP]"):
		r.temp++
	default:
		r.err = fmt.Errorf("QUIT: %q", st)
	}
	return
}

func hSubjects(t *testing.T, st mailbox.Store, user string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range soak.Inbox(t, st, user) {
		line, _, _ := strings.Cut(string(m.Data), "\r\n")
		got[strings.TrimPrefix(line, "Subject: ")]++
	}
	return got
}

// TestHardeningAuthBruteForce: each failed login is delayed and the
// connection is closed after the limit.
func TestHardeningAuthBruteForce(t *testing.T) {
	srv := pop3test.NewServer(t, &pop3test.Options{Messages: []string{"Subject: a\r\n\r\na\r\n"}, Configure: func(s *pop3.Server) {
		s.AuthFailureDelay = 100 * time.Millisecond
		s.MaxAuthFailures = 3
	}})
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	start := time.Now()
	var replies []string
	for i := range 3 {
		fmt.Fprintf(nc, "USER sara\r\nPASS guess%d\r\n", i)
		for range 2 {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", replies, err)
			}
			replies = append(replies, strings.TrimSpace(l))
		}
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("three failures answered in %v, want ≥ 300 ms", d)
	}
	for i, r := range replies {
		if want := map[bool]string{true: "+OK", false: "-ERR [AUTH] "}[i%2 == 0]; !strings.HasPrefix(r, want) {
			t.Errorf("reply %d %q, want %q…", i, r, want)
		}
	}
	if l, err := br.ReadString('\n'); err == nil {
		t.Fatalf("connection open after the limit: %q", l)
	}
	c, err := srv.Dialer().Dial(context.Background(), srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(context.Background(), srv.User, srv.Password); err != nil {
		t.Fatal(err)
	}
}

// TestHardeningSlowlorisTLS: a TLS handshake trickled one byte at a time,
// on the implicit-TLS listener and after STLS, is cut by the handshake
// timeout.
func TestHardeningSlowlorisTLS(t *testing.T) {
	configure := func(s *pop3.Server) { s.TLSHandshakeTimeout = 300 * time.Millisecond }
	implicit := pop3test.NewServer(t, &pop3test.Options{ImplicitTLS: true, Configure: configure})
	stls := pop3test.NewServer(t, &pop3test.Options{TLS: true, Configure: configure})
	hello := "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + strings.Repeat("\x00", 500)
	for name, srv := range map[string]*pop3test.Server{"implicit": implicit, "stls": stls} {
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		if name == "stls" {
			io.WriteString(nc, "STLS\r\n")
		}
		if !soak.Trickle(nc, hello, 50*time.Millisecond, 5*time.Second) {
			t.Errorf("%s: a slowloris handshake kept its connection for 5 s", name)
		}
	}
}
