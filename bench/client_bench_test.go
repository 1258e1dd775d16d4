package bench

import (
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
