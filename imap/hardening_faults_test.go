package imap_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/imap/imaptest"
	"github.com/posthorn/posthorn/internal/soak"
)

// TestHardeningStoreFaults: with the store failing at random (disk full,
// EIO), APPEND, STORE, FETCH and EXPUNGE get NO, never BAD or BYE; every
// APPEND answered OK is stored once; the server keeps serving.
func TestHardeningStoreFaults(t *testing.T) {
	base := imaptest.NewServer(t, nil) // for its memory store with user test
	fst := &soak.FaultStore{Store: base.Store, Rate: 0.2, Seed: 9}
	srv := imaptest.NewServer(t, &imaptest.Options{Store: fst})
	c := hClient(t, srv.Addr())
	ctx := context.Background()
	var acked []uint32
	nos := 0
	for i := range 60 {
		body := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat("y", 100))
		res, err := c.Append(ctx, "INBOX", imap.AppendMessage{Body: strings.NewReader(body), Size: int64(len(body))})
		switch {
		case err == nil:
			acked = append(acked, res.UIDs...)
		case isBad(err):
			t.Fatalf("APPEND %d: %v", i, err)
		default:
			nos++
		}
	}
	if _, err := c.Select(ctx, "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	all, _ := imap.ParseNumSet("1:*")
	for range 20 {
		_, err := c.Store(ctx, all, imap.StoreAdd, []imap.Flag{imap.FlagFlagged}, nil)
		if isBad(err) {
			t.Fatalf("STORE: %v", err)
		}
		nos += map[bool]int{true: 1}[err != nil]
		for _, err := range c.Fetch(ctx, all, &imap.FetchOptions{Flags: true, Envelope: true, BodyStructure: true}) {
			if isBad(err) {
				t.Fatalf("FETCH: %v", err)
			}
		}
	}
	fst.Stop()
	got := storeUIDs(t, base.Store, "test")
	if !slices.Equal(got, acked) {
		t.Errorf("acknowledged UIDs %v, stored %v", acked, got)
	}
	if nos == 0 || fst.Injected() == 0 {
		t.Errorf("no failure was injected (%d NO)", nos)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if v := sessionView(t, c); !slices.Equal(v, acked) {
		t.Errorf("session sees %v", v)
	}
}

// TestHardeningFetchOpenFails: a store that cannot open a message (EIO)
// while FETCH BODY[] is answered costs that command a NO, not the
// connection: the server must not announce a literal it cannot fill.
func TestHardeningFetchOpenFails(t *testing.T) {
	base := imaptest.NewServer(t, nil)
	base.Append(t, "test", "INBOX", hMsg)
	fst := &soak.FaultStore{Store: base.Store, Rate: 1}
	srv := imaptest.NewServer(t, &imaptest.Options{Store: fst})
	c := hLogin(t, srv)
	c.Send("s SELECT INBOX")
	hReadUntil(c, "s")
	c.Send("f FETCH 1 (FLAGS BODY.PEEK[])")
	if lines := hReadUntil(c, "f"); !strings.HasPrefix(lines[len(lines)-1], "f NO ") {
		t.Fatalf("FETCH BODY[] of a message the store cannot open: %q", lines)
	}
	c.Run("C: n NOOP", "S: n OK *")
	fst.Stop()
	c.Run("C: g FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "S: * 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {*}Subject: hello*", "S: g OK *")
}

// TestHardeningSlowlorisImplicitTLS: a TLS handshake trickled one byte at
// a time on the implicit-TLS listener is cut by the pre-authentication
// timer, as after STARTTLS.
func TestHardeningSlowlorisImplicitTLS(t *testing.T) {
	srv := imaptest.NewServer(t, &imaptest.Options{ImplicitTLS: true, Configure: func(s *imap.Server) {
		s.PreAuthTimeout = 300 * time.Millisecond
		s.WriteTimeout = 300 * time.Millisecond
	}})
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if !soak.Trickle(nc, clientHello, 50*time.Millisecond, 5*time.Second) {
		t.Error("a slowloris handshake kept its connection for 5 s")
	}
}
