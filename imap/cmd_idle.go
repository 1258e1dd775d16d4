package imap

import (
	"bytes"
	"errors"
	"net"
)

type idleLine struct {
	line []byte
	err  error
}

// IDLE (RFC 2177, RFC 9051 §6.3.13). Updates to the selected mailbox are
// sent as they happen, expunges included, until the client sends DONE.
// A helper goroutine reads the DONE line; the conn goroutine waits on it
// and on the event queue.
func cmdIdle(c *conn, cmd *command) error {
	if err := c.expectEOL(); err != nil {
		return err
	}
	if !c.sendUpdates(true) {
		return errAlreadyAnswered
	}
	c.w.raw("+ idling")
	c.w.crlf()
	if err := c.flush(); err != nil {
		c.state = stateLogout
		return errAlreadyAnswered
	}
	c.setReadDeadline()
	lines := make(chan idleLine, 1)
	br := c.br
	go func() {
		var line []byte
		for {
			b, err := br.ReadSlice('\n')
			if len(line) < 64 {
				line = append(line, b[:min(len(b), 64)]...)
			}
			if err == nil || !errors.Is(err, errBufferFull) {
				lines <- idleLine{line, err}
				return
			}
		}
	}()
	c.srv.setConnState(c, StateIdle)
	if c.srv.shuttingDown() {
		c.interrupt()
	}
	for {
		select {
		case <-c.queue.signal:
			if !c.sendUpdates(true) {
				c.nc.Close()
				<-lines
				return errAlreadyAnswered
			}
			if c.flush() != nil {
				c.nc.Close()
				<-lines
				c.state = stateLogout
				return errAlreadyAnswered
			}
		case l := <-lines:
			c.srv.setConnState(c, StateActive)
			if l.err != nil {
				var ne net.Error
				if errors.As(l.err, &ne) && ne.Timeout() {
					if c.srv.shuttingDown() {
						c.bye("", "Server shutting down")
					} else {
						c.bye("", "Autologout; idle for too long")
					}
				}
				c.state = stateLogout
				return errAlreadyAnswered
			}
			if !bytes.EqualFold(bytes.TrimRight(l.line, "\r\n"), []byte("DONE")) {
				return errBad("Expected DONE")
			}
			cmd.okText = "IDLE terminated"
			return nil
		}
	}
}
