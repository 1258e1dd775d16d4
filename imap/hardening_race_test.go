package imap_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/imap/imaptest"
	"github.com/posthorn/posthorn/internal/soak"
	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox"
)

var hQuiet = slog.New(slog.DiscardHandler)

func hClient(t *testing.T, addr string) *imap.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := imap.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(ctx, "test", "test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// sessionView returns the UIDs a session sees, in sequence order, after a
// NOOP has brought it up to date.
func sessionView(t *testing.T, c *imap.Client) []uint32 {
	t.Helper()
	ctx := context.Background()
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	n := c.Mailbox().Exists
	if n == 0 {
		return nil
	}
	set, _ := imap.ParseNumSet("1:*")
	var uids []uint32
	for m, err := range c.Fetch(ctx, set, &imap.FetchOptions{UID: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != uint32(len(uids)+1) {
			t.Errorf("FETCH 1:* gave seq %d at position %d", m.Seq, len(uids)+1)
		}
		uids = append(uids, m.UID)
	}
	if uint32(len(uids)) != n {
		t.Errorf("EXISTS %d but FETCH 1:* gave %d messages", n, len(uids))
	}
	return uids
}

// isBad reports whether err is a BAD or BYE (a desynchronised session);
// NO is an acceptable answer to a command that lost a race.
func isBad(err error) bool {
	var ie *imap.Error
	return err != nil && (!errors.As(err, &ie) || ie.Type != imap.StatusNO)
}

// TestHardeningExpungeRace: two sessions expunge, store and fetch by
// sequence number at the same time while mail arrives; neither gets BAD or
// BYE, and afterwards both see exactly the store's messages in UID order
// (RFC 9051 §7.5.1: a session learns of expunges only at its own command
// boundaries, and its sequence numbers stay valid until then).
func TestHardeningExpungeRace(t *testing.T) {
	srv := imaptest.NewServer(t, nil)
	for i := range 100 {
		srv.Append(t, "test", "INBOX", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))
	}
	ctx := context.Background()
	clients := []*imap.Client{hClient(t, srv.Addr()), hClient(t, srv.Addr())}
	for _, c := range clients {
		if _, err := c.Select(ctx, "INBOX", nil); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 5))
			for op := 0; op < 400 && time.Now().Before(end); op++ {
				n := c.Mailbox().Exists
				if n == 0 {
					c.Noop(ctx)
					continue
				}
				lo := 1 + rnd.Uint32N(n)
				hi := min(n, lo+rnd.Uint32N(3))
				set, _ := imap.ParseNumSet(fmt.Sprintf("%d:%d", lo, hi))
				var err error
				switch rnd.IntN(8) {
				case 0:
					_, err = c.Store(ctx, set, imap.StoreAdd, []imap.Flag{imap.FlagDeleted}, nil)
					if err == nil {
						_, _, err = c.Expunge(ctx)
					}
				case 1:
					_, err = c.Store(ctx, set, imap.StoreAdd, []imap.Flag{imap.FlagFlagged}, nil)
				case 2:
					for _, ferr := range c.Fetch(ctx, set, &imap.FetchOptions{UID: true, Flags: true}) {
						if ferr != nil {
							err = ferr
						}
					}
				case 3:
					_, err = c.UIDStore(ctx, set, imap.StoreAdd, []imap.Flag{imap.FlagSeen}, nil)
				default:
					srv.Append(t, "test", "INBOX", "Subject: new\r\n\r\nx\r\n")
				}
				if isBad(err) {
					t.Errorf("session %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	want := storeUIDs(t, srv.Store, "test")
	if !slices.IsSorted(want) || len(want) >= 100+2*400 {
		t.Fatalf("store after the race: %d UIDs", len(want))
	}
	for i, c := range clients {
		if got := sessionView(t, c); !slices.Equal(got, want) {
			t.Errorf("session %d sees %d messages %v…, the store has %d %v…", i, len(got), got[:min(5, len(got))], len(want), want[:min(5, len(want))])
		}
	}
}

// TestHardeningFetchExpungedByOther: a message another session expunged,
// still in this session's view until its next command boundary, fetched
// with ENVELOPE gets complete data or a tagged NO (RFC 2180 §4.1.2), never
// a FETCH line cut in the middle (which desynchronises every client).
func TestHardeningFetchExpungedByOther(t *testing.T) {
	srv := imaptest.NewServer(t, nil)
	uid := srv.Append(t, "test", "INBOX", hMsg)
	srv.Append(t, "test", "INBOX", hMsg)
	c := hLogin(t, srv)
	c.Send("s SELECT INBOX")
	hReadUntil(c, "s")
	mb := soak.OpenInbox(t, srv.Store, "test")
	if _, err := mb.Expunge(context.Background(), []mailbox.UID{uid}); err != nil {
		t.Fatal(err)
	}
	c.Send("f FETCH 1:2 (UID ENVELOPE)")
	lines := hReadUntil(c, "f")
	for _, l := range lines[:len(lines)-1] {
		if strings.HasPrefix(l, "* ") && strings.Contains(l, " FETCH (") && !strings.HasSuffix(l, ")") {
			t.Errorf("cut FETCH response: %q", lines)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "f OK") && !strings.HasPrefix(last, "f NO") {
		t.Errorf("FETCH: %q", lines)
	}
	c.Run("C: g NOOP", "S: * 1 EXPUNGE", "S: g OK *", "C: h FETCH 1 (UID)", "S: * 1 FETCH (UID 2)", "S: h OK *")
}

// TestHardeningResetMidCommand: connections reset in the middle of an
// APPEND literal, of a command line and of a large FETCH response leave
// the server serving and store nothing half-written.
func TestHardeningResetMidCommand(t *testing.T) {
	srv := imaptest.NewServer(t, nil)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("z", 998)+"\r\n", 2000)
	srv.Append(t, "test", "INBOX", big)
	for _, script := range []string{
		"a APPEND INBOX {100000+}\r\nSubject: half\r\n\r\n",
		"a LIST \"\" \"INB",
		"s SELECT INBOX\r\nf FETCH 1:* (BODY[] BODY[] BODY[] BODY[])\r\n",
	} {
		c := hLogin(t, srv)
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(nc, "l LOGIN test test\r\n"+script)
		time.Sleep(50 * time.Millisecond)
		soak.Reset(nc)
		c.Close()
	}
	hHealthy(t, srv, 1)
}

// TestHardeningStuckReader: a client that stops reading a large response
// is dropped when the write timeout fires, and meanwhile other sessions
// are served without delay.
func TestHardeningStuckReader(t *testing.T) {
	srv := imaptest.NewServer(t, &imaptest.Options{Configure: func(s *imap.Server) { s.WriteTimeout = 300 * time.Millisecond }})
	srv.Append(t, "test", "INBOX", "Subject: big\r\n\r\n"+strings.Repeat(strings.Repeat("z", 998)+"\r\n", 1000))
	dropped := make(chan bool, 1)
	go func() {
		// Log in and select first, then stop reading.
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			dropped <- false
			return
		}
		defer nc.Close()
		io.WriteString(nc, "l LOGIN test test\r\ns SELECT INBOX\r\n")
		dropped <- soak.StuckConn(nc, "f FETCH 1 BODY.PEEK[]", 10*time.Second)
	}()
	// Served meanwhile.
	for range 5 {
		start := time.Now()
		hHealthy(t, srv, 1)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a session took %v beside a stuck one", d)
		}
	}
	if !<-dropped {
		t.Error("the stuck reader was never dropped")
	}
	hHealthy(t, srv, 1)
}

// TestHardeningStartTLSResponseInjection: untagged lines a server (or a
// man in the middle) sends after "OK" to STARTTLS, in plaintext, are
// never taken as responses inside TLS (CVE-2021-38371 class; RFC 9051
// §6.2.1).
func TestHardeningStartTLSResponseInjection(t *testing.T) {
	addr := soak.FakeServer(t, func(c net.Conn) {
		var w io.Writer = c
		br := bufio.NewReader(c)
		io.WriteString(w, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] fake\r\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			if len(f) < 2 {
				return
			}
			tag, verb := f[0], strings.ToUpper(f[1])
			switch verb {
			case "CAPABILITY":
				fmt.Fprintf(w, "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n%s OK done\r\n", tag)
			case "STARTTLS":
				// The injection, in the same segment as the OK.
				fmt.Fprintf(w, "%s OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN EVIL\r\n* OK injected\r\n", tag)
				tc := tls.Server(c, testcert.ServerTLS())
				if tc.Handshake() != nil {
					return
				}
				w, br = tc, bufio.NewReader(tc)
			case "LOGIN":
				fmt.Fprintf(w, "%s NO [AUTHENTICATIONFAILED] no\r\n", tag)
			case "LOGOUT":
				fmt.Fprintf(w, "* BYE bye\r\n%s OK done\r\n", tag)
				return
			default:
				fmt.Fprintf(w, "%s BAD what\r\n", tag)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := imap.DialStartTLS(ctx, addr, testcert.ClientTLS())
	if err != nil {
		// The strict defence: refusing a server that talks past its OK.
		t.Logf("DialStartTLS refused: %v", err)
		return
	}
	defer c.Close()
	if c.Has(ctx, "EVIL") || c.Has(ctx, "AUTH=PLAIN") {
		t.Errorf("injected capabilities accepted: %v", c.Caps())
	}
}

// storeUIDs lists the UIDs of user's INBOX straight from the store.
func storeUIDs(t *testing.T, st mailbox.Store, user string) []uint32 {
	t.Helper()
	var uids []uint32
	for _, m := range soak.Inbox(t, st, user) {
		uids = append(uids, uint32(m.UID))
	}
	return uids
}
