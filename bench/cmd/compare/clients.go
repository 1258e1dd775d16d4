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

// imapClient measures the IMAP client libraries over one connection,
// each scenario against Dovecot (Maildir), against our server on the
// memory store (not the bottleneck) and, for FETCH, against a replay
// server that costs nothing (the client alone). The raw-socket client
// issues the same commands without parsing anything: against the same
// server it is the ceiling, and the table gives each library's share of it.
func (c *compare) imapClient() {
	n, appends := 10000, 200
	if c.quick {
		n, appends = 500, 20
	}
	const suite = "IMAP client, one connection"
	c.ceiling(suite, clients.RawSocket)
	msgs := load.Corpus(n, 1)
	dir, _ := os.MkdirTemp("/tmp", "phc-")
	defer os.RemoveAll(dir)
	dovecot, _, stop, err := targets.Dovecot(dir, msgs)
	if err != nil {
		c.note("IMAP client: %v", err)
		return
	}
	defer stop()
	// Our server runs in a child process, like Dovecot in its own: the
	// clients' garbage collection never scans its 10,000 messages.
	mem, err := startChild("imap:posthorn-mem", n)
	if err != nil {
		c.note("IMAP client: %v", err)
		return
	}
	defer mem.stop()
	type server struct{ name, addr string }
	servers := []server{{"Dovecot", dovecot}, {"Posthorn server (memory store)", mem.addr}}
	for _, f := range clients.IMAPFetches {
		replay, stopReplay, err := targets.ReplayFrom(context.Background(), dovecot, f.Cmd, n)
		if err != nil {
			c.note("IMAP client: replay: %v", err)
			return
		}
		defer stopReplay()
		for _, srv := range append(servers, server{"a replay server (client alone)", replay}) {
			r := c.row(suite, fmt.Sprintf("%s of %d messages from %s", f.Cmd, n, srv.name), "msgs/s", true)
			c.eachIMAPClient(r, srv.addr, func(cl *clients.IMAPClient) (float64, error) {
				start := time.Now()
				got, err := f.Run(cl)
				if err == nil && got != n {
					err = fmt.Errorf("fetched %d of %d", got, n)
				}
				return float64(n) / time.Since(start).Seconds(), err
			})
		}
	}
	// APPEND last: it grows INBOX.
	for _, srv := range servers {
		r := c.row(suite, fmt.Sprintf("APPEND of %d messages to %s", appends, srv.name), "msgs/s", true)
		c.eachIMAPClient(r, srv.addr, func(cl *clients.IMAPClient) (float64, error) {
			start := time.Now()
			err := cl.Append(msgs[:appends])
			return float64(appends) / time.Since(start).Seconds(), err
		})
	}
}

// eachIMAPClient fills r with the median of 3×c.runs calls of measure
// for every IMAP client, each on its own connection to addr, after one
// warm-up call each (the server's caches). The clients take turns, one
// call each per round, so that a server whose speed drifts (Dovecot's
// caches, the machine's other work) weighs on every client alike. A call
// lasts a fraction of a second, so more of them than the servers' runs
// keep the median steady on a shared machine.
func (c *compare) eachIMAPClient(r *row, addr string, measure func(*clients.IMAPClient) (float64, error)) {
	type open struct {
		name string
		f    *clients.IMAPClient
		vals []float64
	}
	var opened []*open
	for _, cl := range clients.IMAP {
		f, err := cl.Open(addr, targets.IMAPUser, targets.IMAPPass)
		if err != nil {
			c.note("IMAP client %s: %v", cl.Name, err)
			continue
		}
		defer f.Close()
		opened = append(opened, &open{name: cl.Name, f: f})
	}
	for run := -1; run < 3*c.runs; run++ {
		for _, o := range opened {
			if o.f == nil {
				continue
			}
			v, err := measure(o.f)
			if err != nil {
				c.note("IMAP client %s, %s: %v", o.name, r.scenario, err)
				o.f = nil
				continue
			}
			if run >= 0 {
				o.vals = append(o.vals, v)
			}
		}
	}
	for _, o := range opened {
		if len(o.vals) > 0 {
			r.values[o.name] = median(o.vals)
		}
	}
}
