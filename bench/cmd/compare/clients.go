package main

import (
	"context"
	"fmt"
	"os"
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

// imapClient measures the IMAP client libraries fetching a whole folder,
// from Dovecot and from a replay server that costs nothing (the client
// alone).
func (c *compare) imapClient() {
	n := 10000
	if c.quick {
		n = 500
	}
	dir, _ := os.MkdirTemp("/tmp", "phc-")
	defer os.RemoveAll(dir)
	addr, _, stop, err := targets.Dovecot(dir, load.Corpus(n, 1))
	if err != nil {
		c.note("IMAP client: %v", err)
		return
	}
	defer stop()
	ctx := context.Background()
	captured, err := load.Capture(ctx, addr, targets.IMAPUser, targets.IMAPPass, "UID FETCH 1:* (UID FLAGS ENVELOPE)")
	if err != nil {
		c.note("IMAP client: capture: %v", err)
		return
	}
	replay, stopReplay, err := targets.ReplayIMAP(captured, n)
	if err != nil {
		c.note("IMAP client: %v", err)
		return
	}
	defer stopReplay()
	for _, srv := range []struct{ name, addr string }{{"from Dovecot", addr}, {"from a replay server (client alone)", replay}} {
		r := c.row("IMAP client", fmt.Sprintf("UID FETCH 1:* (UID FLAGS ENVELOPE) of %d messages %s", n, srv.name), "msgs/s", true)
		for _, cl := range clients.IMAP {
			var vals []float64
			f, err := cl.Open(srv.addr, targets.IMAPUser, targets.IMAPPass)
			if err != nil {
				c.note("IMAP client %s: %v", cl.Name, err)
				continue
			}
			f.FetchAll() // warm-up
			for run := 0; run < c.runs; run++ {
				start := time.Now()
				got, err := f.FetchAll()
				if err != nil || got != n {
					c.note("IMAP client %s: fetched %d of %d: %v", cl.Name, got, n, err)
					break
				}
				vals = append(vals, float64(n)/time.Since(start).Seconds())
			}
			f.Close()
			if len(vals) > 0 {
				r.values[cl.Name] = median(vals)
			}
		}
	}
}
