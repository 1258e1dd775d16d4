package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/posthorn/posthorn/bench/clients"
	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/bench/targets"
)

var clientServers = []struct {
	name  string
	start func() (string, func(), error)
}{
	{"to-posthorn", targets.PosthornSMTP},
	{"to-smtp-sink", targets.PostfixSink},
}

// BenchmarkSMTPClient sends messages over one connection to the same
// server with each client library: the Posthorn SMTP server (which offers
// PIPELINING and CHUNKING) and Postfix's smtp-sink (PIPELINING only).
func BenchmarkSMTPClient(b *testing.B) {
	for _, srv := range clientServers {
		for _, size := range []struct {
			name string
			n    int
		}{{"1KiB", 1 << 10}, {"100KiB", 100 << 10}} {
			for _, cl := range clients.SMTP {
				b.Run(srv.name+"/"+size.name+"/"+cl.Name, func(b *testing.B) {
					addr, stop, err := srv.start()
					if err != nil {
						b.Skip(err)
					}
					defer stop()
					s, err := cl.Open(addr)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					body := load.Body(size.n)
					b.SetBytes(int64(len(body)))
					b.ReportAllocs()
					for b.Loop() {
						if err := s.Send(body); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				})
			}
		}
	}
}

func TestSMTPClientsSend(t *testing.T) {
	for _, srv := range clientServers {
		for _, cl := range clients.SMTP {
			t.Run(srv.name+"/"+cl.Name, func(t *testing.T) {
				addr, stop, err := srv.start()
				if err != nil {
					t.Fatal(err)
				}
				defer stop()
				s, err := cl.Open(addr)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				for i := 0; i < 5; i++ {
					if err := s.Send(load.Body(2000)); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkIMAPClient runs each IMAP client (the raw socket: the
// ceiling) against a private Dovecot, our server on the memory store and,
// for FETCH, a replay server that costs nothing (the client alone): one op
// of fetch-* is the whole folder, of append 200 pipelined APPENDs.
func BenchmarkIMAPClient(b *testing.B) {
	n := benchMessages()
	msgs := load.Corpus(n, 1)
	dovecot, _, stop, err := targets.Dovecot(shortDir(b), msgs)
	if err != nil {
		b.Skip(err)
	}
	defer stop()
	mem, stopMem, err := targets.PosthornIMAPMem(msgs)
	if err != nil {
		b.Fatal(err)
	}
	defer stopMem()
	for _, op := range clients.IMAPFetches {
		replay, stopReplay, err := targets.ReplayFrom(context.Background(), dovecot, op.Cmd, n)
		if err != nil {
			b.Fatal(err)
		}
		defer stopReplay()
		for _, srv := range []struct{ name, addr string }{{"from-dovecot", dovecot}, {"from-posthorn-mem", mem}, {"from-replay", replay}} {
			for _, cl := range clients.IMAP {
				b.Run(op.Name+"/"+srv.name+"/"+cl.Name, func(b *testing.B) {
					benchIMAPClient(b, cl.Open, srv.addr, n, func(c *clients.IMAPClient) error {
						got, err := op.Run(c)
						if err == nil && got != n {
							err = fmt.Errorf("fetched %d of %d", got, n)
						}
						return err
					})
				})
			}
		}
	}
	const appends = 200
	for _, srv := range []struct{ name, addr string }{{"to-dovecot", dovecot}, {"to-posthorn-mem", mem}} {
		for _, cl := range clients.IMAP {
			b.Run("append/"+srv.name+"/"+cl.Name, func(b *testing.B) {
				benchIMAPClient(b, cl.Open, srv.addr, appends, func(c *clients.IMAPClient) error {
					return c.Append(msgs[:appends])
				})
			})
		}
	}
}

func benchIMAPClient(b *testing.B, open func(addr, user, pass string) (*clients.IMAPClient, error), addr string, n int, op func(*clients.IMAPClient) error) {
	c, err := open(addr, targets.IMAPUser, targets.IMAPPass)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := op(c); err != nil { // warm the server's cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := op(c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// Every IMAP client fetches the whole folder (envelopes, then bodies
// octet for octet) and appends messages on both sides of the 4 KiB
// LITERAL- limit, from our server and from Dovecot.
func TestIMAPClients(t *testing.T) {
	msgs := load.Corpus(30, 1)
	var octets int64
	for _, m := range msgs {
		octets += int64(len(m))
	}
	small, large := 0, 0
	for _, m := range msgs[:6] {
		if len(m) <= 4096 {
			small++
		} else {
			large++
		}
	}
	if small == 0 || large == 0 {
		t.Fatalf("the appended messages should be on both sides of 4 KiB: %d small, %d large", small, large)
	}
	for _, tg := range []imapTarget{imapTargets[1], imapTargets[3]} {
		for _, cl := range clients.IMAP {
			t.Run(tg.name+"/"+cl.Name, func(t *testing.T) {
				addr, stop := tg.start(t, msgs)
				defer stop()
				c, err := cl.Open(addr, targets.IMAPUser, targets.IMAPPass)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				got, err := c.FetchEnvelopes()
				if err != nil || got != len(msgs) {
					t.Fatalf("envelopes: fetched %d of %d: %v", got, len(msgs), err)
				}
				got, n, err := c.FetchBodies()
				if err != nil || got != len(msgs) {
					t.Fatalf("bodies: fetched %d of %d: %v", got, len(msgs), err)
				}
				if n != octets && (cl.Name != clients.RawSocket || n < octets) {
					t.Fatalf("bodies: read %d octets, the messages have %d", n, octets)
				}
				if err := c.Append(msgs[:6]); err != nil {
					t.Fatal(err)
				}
				check, err := load.DialIMAP(context.Background(), addr, targets.IMAPUser, targets.IMAPPass)
				if err != nil {
					t.Fatal(err)
				}
				defer check.Close()
				check.Cmd("SELECT INBOX")
				res, err := check.Cmd("UID FETCH 1:* (RFC822.SIZE)")
				if err != nil || res.Untagged != len(msgs)+6 {
					t.Fatalf("after APPEND: %d messages, want %d: %v", res.Untagged, len(msgs)+6, err)
				}
			})
		}
	}
}
