package main

import (
	"time"

	"github.com/posthorn/posthorn/bench/clients"
	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/bench/targets"
)

// smtpClient measures the SMTP client libraries sending over one
// connection to the same server.
func (c *compare) smtpClient() {
	servers := []struct {
		name  string
		start func() (string, func(), error)
	}{
		{"Posthorn server (PIPELINING, CHUNKING)", targets.PosthornSMTP},
		{"Postfix smtp-sink (PIPELINING)", targets.PostfixSink},
	}
	for _, srv := range servers {
		for _, size := range []struct {
			name string
			n    int
			msgs int
		}{{"1 KiB", 1 << 10, 5000}, {"100 KiB", 100 << 10, 1000}} {
			r := c.row("SMTP client, one connection", size.name+" to "+srv.name, "msgs/s", true)
			msgs := size.msgs
			if c.quick {
				msgs /= 10
			}
			body := load.Body(size.n)
			for _, cl := range clients.SMTP {
				var vals []float64
				for run := 0; run < c.runs; run++ {
					v, err := func() (float64, error) {
						addr, stop, err := srv.start()
						if err != nil {
							return 0, err
						}
						defer stop()
						s, err := cl.Open(addr)
						if err != nil {
							return 0, err
						}
						defer s.Close()
						start := time.Now()
						for i := 0; i < msgs; i++ {
							if err := s.Send(body); err != nil {
								return 0, err
							}
						}
						return float64(msgs) / time.Since(start).Seconds(), nil
					}()
					if err != nil {
						c.note("SMTP client %s to %s: %v", cl.Name, srv.name, err)
						break
					}
					vals = append(vals, v)
				}
				if len(vals) > 0 {
					r.values[cl.Name] = median(vals)
				}
			}
		}
	}
}
