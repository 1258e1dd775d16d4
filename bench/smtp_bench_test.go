package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/bench/targets"
)

// smtpTarget starts one SMTP server to measure.
type smtpTarget struct {
	name  string
	start func() (addr string, stop func(), err error)
}

var smtpTargets = []smtpTarget{
	{"raw", targets.RawSMTP},
	{"gosmtp", targets.GoSMTP},
	{"posthorn", targets.PosthornSMTP},
	{"postfix-smtp-sink", targets.PostfixSink},
}

func TestLoadGeneratorAgainstTargets(t *testing.T) {
	for _, tg := range smtpTargets {
		for _, l := range []load.SMTP{
			{Conns: 2, Messages: 20, Size: 1 << 10, Pipelining: true},
			{Conns: 2, Messages: 20, Size: 10 << 10},
			{Conns: 1, Messages: 10, Size: 100 << 10, Pipelining: true, BDAT: true, Recipients: 3},
		} {
			t.Run(fmt.Sprintf("%s/%+v", tg.name, l), func(t *testing.T) {
				addr, stop, err := tg.start()
				if err != nil {
					t.Fatal(err)
				}
				defer stop()
				l.Addr = addr
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				st, err := l.Run(ctx)
				if errors.Is(err, load.ErrNoChunking) {
					t.Skipf("%s has no CHUNKING", tg.name)
				}
				if err != nil {
					t.Fatal(err)
				}
				if st.Messages != int64(l.Messages) {
					t.Fatalf("delivered %d messages, want %d", st.Messages, l.Messages)
				}
			})
		}
	}
}

// BenchmarkSMTPServer measures each target with the same raw-socket load:
// one op is one message. Compare with benchstat across targets.
func BenchmarkSMTPServer(b *testing.B) {
	for _, tg := range smtpTargets {
		for _, c := range []struct {
			name  string
			conns int
			size  int
			pipe  bool
			bdat  bool
		}{
			{"1KiB-pipelined-1conn", 1, 1 << 10, true, false},
			{"1KiB-1conn", 1, 1 << 10, false, false},
			{"10KiB-pipelined-10conn", 10, 10 << 10, true, false},
			{"100KiB-pipelined-50conn", 50, 100 << 10, true, false},
			{"100KiB-bdat-50conn", 50, 100 << 10, true, true},
			{"1MiB-pipelined-10conn", 10, 1 << 20, true, false},
		} {
			b.Run(tg.name+"/"+c.name, func(b *testing.B) {
				addr, stop, err := tg.start()
				if err != nil {
					b.Fatal(err)
				}
				defer stop()
				l := load.SMTP{Addr: addr, Conns: c.conns, Messages: b.N, Size: c.size, Pipelining: c.pipe, BDAT: c.bdat}
				b.SetBytes(int64(len(load.Body(c.size))))
				b.ResetTimer()
				st, err := l.Run(context.Background())
				if errors.Is(err, load.ErrNoChunking) {
					b.Skipf("%s has no CHUNKING", tg.name)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(st.MsgsPerSec(), "msgs/s")
			})
		}
	}
}
