package imap

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// DefaultIdleRestart is how long Idle waits before ending IDLE and
// starting it again: under the 29 minutes after which RFC 9051 §6.3.13
// lets a server drop an idle client.
const DefaultIdleRestart = 28 * time.Minute

// DefaultIdlePoll is how often Idle sends NOOP to a server without IDLE.
const DefaultIdlePoll = time.Minute

// Idle waits for the server to report changes (RFC 2177, IMAP4rev2),
// passing each unsolicited response to handler (nil → the client's
// ClientOptions.Handler) until ctx ends; it then sends DONE, reads the
// completion and returns nil. The client stays usable. IDLE is restarted
// every restart interval (0 → DefaultIdleRestart). A server without
// IDLE is polled with NOOP instead, every ClientOptions.IdlePoll. A
// failure of the connection, or a refusal, is returned.
func (c *Client) Idle(ctx context.Context, restart time.Duration, handler func(Update)) error {
	if c.broken != nil {
		return c.broken
	}
	if restart <= 0 {
		restart = DefaultIdleRestart
	}
	if handler != nil {
		prev := c.opts.Handler
		c.opts.Handler = handler
		defer func() { c.opts.Handler = prev }()
	}
	if c.caps == nil {
		if _, err := c.Capability(ctx); err != nil {
			return err
		}
	}
	if !c.has("IDLE") && !c.has("IMAP4REV2") {
		return c.poll(ctx)
	}
	for ctx.Err() == nil {
		if err := c.idleOnce(ctx, restart); err != nil {
			return err
		}
	}
	return nil
}

// poll sends NOOP every IdlePoll until ctx ends.
func (c *Client) poll(ctx context.Context) error {
	every := c.opts.IdlePoll
	if every <= 0 {
		every = DefaultIdlePoll
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// The NOOP itself is bounded, not ended by ctx: ending the wait
		// must not break the client.
		nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err := c.Noop(nctx)
		cancel()
		if err != nil {
			return err
		}
	}
}

// idleOnce runs one IDLE ... DONE exchange.
func (c *Client) idleOnce(ctx context.Context, restart time.Duration) error {
	// Setting up and ending IDLE get a bounded time of their own: ctx
	// ending is the normal way out, not a failure.
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var err error
	end, err := c.begin(setup)
	if err != nil {
		return err
	}
	cmd, w := c.newCommand("IDLE")
	if err = c.send(cmd, w); err == nil {
		err = c.waitContinuation(cmd)
	}
	end(&err)
	if err != nil {
		return err
	}

	var mu sync.Mutex
	waiting, stop := false, false
	interrupt := func() {
		mu.Lock()
		stop = true
		if waiting {
			c.conn.SetReadDeadline(time.Unix(1, 0))
		}
		mu.Unlock()
	}
	stopCtx := context.AfterFunc(ctx, interrupt)
	timer := time.AfterFunc(restart, interrupt)
	defer stopCtx()
	defer timer.Stop()
	for !cmd.done {
		mu.Lock()
		if stop {
			mu.Unlock()
			break
		}
		waiting = true
		mu.Unlock()
		// Wait for the start of a line only: a response is never cut
		// in the middle by the interruption.
		_, perr := c.rd.br.Peek(1)
		mu.Lock()
		waiting = false
		c.conn.SetReadDeadline(time.Time{})
		stopped := stop
		mu.Unlock()
		if perr != nil {
			var ne net.Error
			if stopped && errors.As(perr, &ne) && ne.Timeout() {
				break
			}
			c.fail(perr)
			return perr
		}
		if err := c.readResponse(); err != nil {
			return err
		}
	}
	if cmd.done { // the server ended IDLE itself
		return cmd.result()
	}
	end, err = c.begin(setup)
	if err != nil {
		return err
	}
	c.bw.WriteString("DONE\r\n")
	if err = c.bw.Flush(); err != nil {
		c.fail(err)
	} else {
		err = c.wait(cmd)
	}
	end(&err)
	return err
}
