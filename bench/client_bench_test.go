package bench

import (
	"context"
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

// BenchmarkIMAPClientFetch: "UID FETCH 1:* (UID FLAGS ENVELOPE)" of the
// whole folder from a private Dovecot with each client library; one op is
// the whole folder.
func BenchmarkIMAPClientFetch(b *testing.B) {
	n := benchMessages()
	addr, _, stop, err := targets.Dovecot(shortDir(b), load.Corpus(n, 1))
	if err != nil {
		b.Skip(err)
	}
	defer stop()
	// The same responses replayed by a server that costs nothing: the
	// client alone.
	captured, err := load.Capture(context.Background(), addr, targets.IMAPUser, targets.IMAPPass, "UID FETCH 1:* (UID FLAGS ENVELOPE)")
	if err != nil {
		b.Fatal(err)
	}
	replay, stopReplay, err := targets.ReplayIMAP(captured, n)
	if err != nil {
		b.Fatal(err)
	}
	defer stopReplay()
	for _, srv := range []struct{ name, addr string }{{"from-dovecot", addr}, {"from-replay", replay}} {
		for _, cl := range clients.IMAP {
			b.Run(srv.name+"/"+cl.Name, func(b *testing.B) {
				benchFetch(b, cl.Open, srv.addr, n)
			})
		}
	}
}

func benchFetch(b *testing.B, open func(addr, user, pass string) (*clients.IMAPFetcher, error), addr string, n int) {
	f, err := open(addr, targets.IMAPUser, targets.IMAPPass)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.FetchAll(); err != nil { // warm the server's cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := f.FetchAll()
		if err != nil || got != n {
			b.Fatalf("fetched %d of %d: %v", got, n, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func TestIMAPClientsFetch(t *testing.T) {
	msgs := load.Corpus(30, 1)
	addr, stop := imapTargets[0].start(t, msgs)
	defer stop()
	for _, cl := range clients.IMAP {
		t.Run(cl.Name, func(t *testing.T) {
			f, err := cl.Open(addr, targets.IMAPUser, targets.IMAPPass)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := f.FetchAll()
			if err != nil || got != len(msgs) {
				t.Fatalf("fetched %d of %d: %v", got, len(msgs), err)
			}
		})
	}
}
