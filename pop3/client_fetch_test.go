package pop3

import (
	"errors"
	"io"
	"testing"
)

func TestFetchNew(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		name := "pipelining"
		if !pipelining {
			name = "one at a time"
		}
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			msgs := []string{msg1, msg2, msg1 + "x\r\n", msg2 + "y\r\n", msg1 + "z\r\n"}
			c, st := dialPlain(t, msgs...)
			if err := c.Login(ctx, "sara", "secret"); err != nil {
				t.Fatal(err)
			}
			if !pipelining {
				delete(c.caps, "PIPELINING")
			}
			uids, _ := c.UIDL(ctx)
			seen := map[string]bool{uids[1].UID: true}
			var bodies []string
			got, err := c.FetchNew(ctx, func(u string) bool { return seen[u] }, &FetchOptions{Delete: true, Window: 3},
				func(m Fetched, body io.Reader) error {
					b, err := io.ReadAll(body)
					if int64(len(b)) != m.Size {
						t.Errorf("message %d: %d bytes, LIST said %d", m.Number, len(b), m.Size)
					}
					bodies = append(bodies, string(b))
					return err
				})
			if err != nil || len(got) != 4 {
				t.Fatalf("FetchNew = %v, %v", got, err)
			}
			if bodies[0] != msgs[0] || bodies[1] != msgs[2] || bodies[3] != msgs[4] {
				t.Fatalf("bodies out of order: %q", bodies)
			}
			if err := c.Quit(ctx); err != nil {
				t.Fatal(err)
			}
			if s := status(t, st); s.Messages != 1 {
				t.Fatalf("%d messages left, want the one already seen", s.Messages)
			}
		})
	}
}

func TestFetchNewKeepAndStop(t *testing.T) {
	ctx := testCtx(t)
	c, st := dialPlain(t, msg1, msg2, msg1)
	if err := c.Login(ctx, "sara", "secret"); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("disk full")
	calls := 0
	got, err := c.FetchNew(ctx, nil, &FetchOptions{Delete: true}, func(m Fetched, body io.Reader) error {
		calls++
		if m.Number == 2 {
			return stop
		}
		return nil
	})
	if err != stop || len(got) != 1 || calls != 2 {
		t.Fatalf("FetchNew = %v, %v after %d calls", got, err, calls)
	}
	// The session is still in step.
	if n, _, err := c.Stat(ctx); err != nil || n != 2 {
		t.Fatalf("Stat after stopped fetch: %d %v", n, err)
	}
	// Without Delete nothing is removed.
	if _, err := c.FetchNew(ctx, nil, nil, func(Fetched, io.Reader) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c.Rset(ctx)
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if s := status(t, st); s.Messages != 3 {
		t.Fatalf("%d messages left", s.Messages)
	}
}
