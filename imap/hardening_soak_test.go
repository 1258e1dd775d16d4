package imap_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/internal/soak"
	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// TestHardeningSoakSessions: concurrent IMAP clients of one user select,
// append, fetch, store, expunge their own messages and IDLE, while one
// client never reads and others reset their connections. Afterwards the
// INBOX holds exactly the messages appended (OK with APPENDUID) and not
// expunged (OK to UID EXPUNGE), UIDs increase, every session's view
// agrees with the store, and no goroutine or descriptor is left.
// POSTHORN_SOAK=full runs 200 clients for 60 s (docs/SECURITY.md).
// (TestHardeningSoakSessionsMaildir runs it on the Maildir store.)
func TestHardeningSoakSessions(t *testing.T) {
	soak.LeakCheck(t, 2)
	st := memstore.New()
	if err := st.AddUser("test", "test"); err != nil {
		t.Fatal(err)
	}
	soakSessions(t, st)
}

// soakSessions runs the load on st, whose user "test" has password "test".
func soakSessions(t *testing.T, st mailbox.Store) {
	size := soak.Pick(soak.Size{Clients: 10, Ops: 40, Duration: 8 * time.Second},
		soak.Size{Clients: 200, Ops: 1 << 30, Duration: 60 * time.Second})
	srv := &imap.Server{Store: st, AllowInsecureAuth: true, Logger: hQuiet, WriteTimeout: 2 * time.Second,
		MaxConnsPerUser: -1, LoginFailDelay: -1}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	stuck := make(chan bool, 1)
	go func() {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			stuck <- false
			return
		}
		defer nc.Close()
		// Its own mailbox holds one 64 KiB message, so that every FETCH
		// it sends fills the buffers at once, however few messages the
		// INBOX has yet and however slow the machine.
		msg := "Subject: stuck\r\n\r\n" + strings.Repeat("a line of the stuck reader's message\r\n", 64<<10/38)
		fmt.Fprintf(nc, "l LOGIN test test\r\nc CREATE Stuck\r\na APPEND Stuck {%d+}\r\n%s\r\ns SELECT Stuck\r\n", len(msg), msg)
		stuck <- soak.StuckConn(nc, "f FETCH 1 BODY.PEEK[]", 10*time.Second)
	}()

	var (
		mu       sync.Mutex
		live     = map[uint32]bool{}
		expunged int
		resets   int
	)
	end := size.Deadline()
	ctx := context.Background()
	var wg sync.WaitGroup
	for ci := range size.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(ci), 3))
			c, err := imap.Dial(ctx, addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if err := c.Login(ctx, "test", "test"); err != nil {
				t.Error(err)
				return
			}
			if _, err := c.Select(ctx, "INBOX", nil); err != nil {
				t.Error(err)
				return
			}
			var mine []uint32
			for op := 0; op < size.Ops && time.Now().Before(end); op++ {
				var err error
				switch k := rnd.IntN(10); {
				case k < 3:
					body := fmt.Sprintf("Subject: %d/%d\r\n\r\n%s\r\n", ci, op, strings.Repeat("text ", rnd.IntN(200)))
					var res *imap.AppendResult
					res, err = c.Append(ctx, "INBOX", imap.AppendMessage{Body: strings.NewReader(body), Size: int64(len(body))})
					if err == nil {
						mine = append(mine, res.UIDs...)
						mu.Lock()
						for _, u := range res.UIDs {
							live[u] = true
						}
						mu.Unlock()
					}
				case k < 5:
					if c.Mailbox().Exists == 0 {
						continue
					}
					// Flags of all; structure and body only of its own
					// messages, which no other client expunges (see
					// TestHardeningStoreFaults for a message vanishing
					// under FETCH).
					all, _ := imap.ParseNumSet("1:*")
					for _, ferr := range c.Fetch(ctx, all, &imap.FetchOptions{UID: true, Flags: true}) {
						if ferr != nil {
							err = ferr
						}
					}
					if len(mine) > 0 && err == nil {
						u := mine[rnd.IntN(len(mine))]
						set, _ := imap.ParseNumSet(fmt.Sprint(u))
						got := 0
						for m, ferr := range c.UIDFetch(ctx, set, &imap.FetchOptions{Envelope: true, BodyStructure: true, Sections: []imap.FetchSection{{}}}) {
							if ferr != nil {
								err = ferr
								break
							}
							if m.UID != u {
								continue // flag changes of others, sent unsolicited
							}
							got++
							if b, rerr := m.ReadBody(1 << 20); rerr != nil || !strings.HasPrefix(string(b), "Subject: ") {
								err = fmt.Errorf("BODY[] of own message %d: %q, %v", u, b, rerr)
							}
						}
						if err == nil && got != 1 {
							err = fmt.Errorf("UID FETCH %d: %d responses", u, got)
						}
					}
				case k < 7:
					if len(mine) == 0 {
						continue
					}
					set, _ := imap.ParseNumSet(fmt.Sprint(mine[rnd.IntN(len(mine))]))
					_, err = c.UIDStore(ctx, set, imap.StoreAdd, []imap.Flag{imap.FlagFlagged}, nil)
				case k < 8:
					if len(mine) == 0 {
						continue
					}
					u := mine[0]
					set, _ := imap.ParseNumSet(fmt.Sprint(u))
					if _, err = c.UIDStore(ctx, set, imap.StoreAdd, []imap.Flag{imap.FlagDeleted}, nil); err == nil {
						if _, _, err = c.UIDExpunge(ctx, set); err == nil {
							mine = mine[1:]
							mu.Lock()
							delete(live, u)
							expunged++
							mu.Unlock()
						}
					}
				case k < 9:
					ictx, cancel := context.WithTimeout(ctx, time.Duration(20+rnd.IntN(50))*time.Millisecond)
					err = c.Idle(ictx, 0, func(imap.Update) {})
					cancel()
				default:
					// A second connection reset in the middle of a command.
					if nc, derr := net.Dial("tcp", addr); derr == nil {
						fmt.Fprintf(nc, "l LOGIN test test\r\ns SELECT INBOX\r\na APPEND INBOX {5000+}\r\nSubject: cut\r\n")
						time.Sleep(5 * time.Millisecond)
						soak.Reset(nc)
						mu.Lock()
						resets++
						mu.Unlock()
					}
				}
				if err != nil {
					t.Errorf("client %d op %d: %v", ci, op, err)
					return
				}
			}
			if err := c.Logout(ctx); err != nil {
				t.Errorf("client %d: logout: %v", ci, err)
			}
		}()
	}
	wg.Wait()
	if !<-stuck {
		t.Error("a client that never reads kept its connection")
	}
	var want []uint32
	for u := range live {
		want = append(want, u)
	}
	slices.Sort(want)
	got := storeUIDs(t, st, "test")
	t.Logf("%d messages live, %d expunged, %d resets", len(want), expunged, resets)
	if !slices.Equal(got, want) {
		t.Errorf("store has %d messages, want %d (appended and not expunged)", len(got), len(want))
	}
	if expunged == 0 || len(want) == 0 {
		t.Error("the run proved nothing")
	}
	// A fresh session agrees with the store.
	c, err := imap.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "test", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if v := sessionView(t, c); !slices.Equal(v, want) {
		t.Errorf("a new session sees %d messages, want %d", len(v), len(want))
	}
	c.Logout(ctx)
	c.Close()
	// What the run stored is not part of the heap check (LeakCheck).
	soak.Empty(t, st, "test")
}
