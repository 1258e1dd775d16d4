package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Transaction runs MAIL FROM and one RCPT TO per recipient, then starts the
// body (DATA, or BDAT chunks when the server offers CHUNKING). When the
// server offers PIPELINING (RFC 2920) the commands, DATA included, go out
// in one write and the replies are read afterwards.
//
// The result per recipient is in the returned slice (and in
// DataWriter.Results): a recipient the server refused, or whose address is
// invalid, does not stop the others. Recipients past the server's LIMITS
// RCPTMAX (RFC 9422) are not sent and get a local 452 4.5.3, to be retried
// in another transaction.
//
// Transaction fails with the MAIL reply's *Error, or, when no recipient
// was accepted, with ErrNoRecipients joined with a *RecipientError per
// recipient; the transaction is then reset and the Client stays usable.
// On success the caller writes the body to the DataWriter and must Close
// it; ctx governs the writes and Close.
//
// SMTPUTF8 is requested when an address needs it; set opts.UTF8 when only
// the header does.
func (c *Client) Transaction(ctx context.Context, from string, opts *MailOptions, to []Recipient) (*DataWriter, []RcptResult, error) {
	tx, err := c.prepare(ctx, from, opts, to)
	if err != nil {
		return nil, tx.results, err
	}
	var accept []int
	if c.pipelining() {
		accept, err = c.transactPipelined(tx.mail, tx.lines, tx.send, tx.results)
	} else {
		accept, err = c.transactInTurn(tx.mail, tx.lines, tx.send, tx.results)
	}
	if err != nil {
		c.binary = false
		return nil, tx.results, c.end(err)
	}
	return c.newDataWriter(c.chunking(), tx.results, accept), tx.results, nil
}

// txPlan is a transaction checked and ready to send.
type txPlan struct {
	mail    string       // the MAIL command
	lines   []string     // the RCPT commands to send
	send    []int        // for each line, the index of its recipient
	results []RcptResult // one per recipient
}

// prepare checks a transaction's addresses and options and, when there is
// something to send, begins the operation.
func (c *Client) prepare(ctx context.Context, from string, opts *MailOptions, to []Recipient) (txPlan, error) {
	if err := c.ready(); err != nil {
		return txPlan{}, err
	}
	if len(to) == 0 {
		return txPlan{}, errors.New("smtp: Transaction without recipients")
	}
	tx := txPlan{
		results: make([]RcptResult, len(to)),
		lines:   make([]string, 0, len(to)),
		send:    make([]int, 0, len(to)),
	}
	needUTF8 := false
	max := c.caps.Limits.RcptMax
	for i, r := range to {
		tx.results[i].Address = r.Address
		line, utf8, err := c.rcptCommand(r.Address, r.Options)
		if err != nil {
			tx.results[i].Err = err
			continue
		}
		if max > 0 && len(tx.lines) >= max {
			tx.results[i].Err = &Error{Code: 452, EnhancedCode: EnhancedCode{4, 5, 3},
				Message: fmt.Sprintf("Not sent: the server accepts %d recipients per transaction (LIMITS RCPTMAX)", max)}
			continue
		}
		needUTF8 = needUTF8 || utf8
		tx.lines = append(tx.lines, line)
		tx.send = append(tx.send, i)
	}
	if len(tx.send) == 0 {
		return tx, noRecipients(tx.results)
	}
	var err error
	if tx.mail, err = c.mailCommand(from, opts, needUTF8); err != nil {
		return tx, err
	}
	if err := c.begin(ctx, c.timeout(c.d.CommandTimeout, DefaultCommandTimeout)); err != nil {
		return tx, err
	}
	c.mails++
	c.binary = opts != nil && opts.Body == BodyBinaryMIME
	return tx, nil
}

// Send runs a whole transaction with the body read from body, and returns
// the result per recipient (see Transaction). The error is nil when the
// server took the message for the accepted recipients; in LMTP mode it
// joins a *RecipientError per failed delivery. If reading body fails the
// message is abandoned (see DataWriter.Abort), never sent truncated.
//
// When the server offers both CHUNKING and PIPELINING, MAIL, the RCPTs and
// the first BDAT chunk leave in one write and a message that fits in one
// chunk costs a single round trip; otherwise Send is Transaction, a copy
// and Close.
func (c *Client) Send(ctx context.Context, from string, opts *MailOptions, to []Recipient, body io.Reader) ([]RcptResult, error) {
	var w *DataWriter
	if !c.chunking() || !c.pipelining() || len(to) > maxPipelined {
		var err error
		var results []RcptResult
		if w, results, err = c.Transaction(ctx, from, opts, to); err != nil {
			return results, err
		}
	} else {
		tx, err := c.prepare(ctx, from, opts, to)
		if err != nil {
			return tx.results, err
		}
		c.writeLine(tx.mail)
		for _, l := range tx.lines {
			c.writeLine(l)
		}
		// The replies are read before the first chunk reply (readTx).
		w = c.newDataWriter(true, tx.results, nil)
		w.tx = tx.send
	}
	if c.copyBuf == nil {
		c.copyBuf = make([]byte, 32<<10)
	}
	src := &readErrTracker{r: body}
	if _, err := io.CopyBuffer(w, src, c.copyBuf); err != nil && src.err != nil {
		w.Abort()
		return w.Results(), fmt.Errorf("smtp: reading message: %w", src.err)
	}
	err := w.Close()
	return w.Results(), err
}

// readErrTracker tells the errors of the message source from those of the
// connection.
type readErrTracker struct {
	r   io.Reader
	err error
}

func (t *readErrTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// maxPipelined is the most RCPT commands written before their replies are
// read. Replies the client does not read pile up in the server's socket
// buffer; past it the server stops reading and both sides wait for ever
// (RFC 2920 §3.1 asks the client to avoid this).
const maxPipelined = 100

// transactPipelined writes MAIL, the RCPTs and DATA at once (in groups of
// maxPipelined recipients), then reads the replies in order (RFC 2920).
func (c *Client) transactPipelined(mail string, lines []string, send []int, results []RcptResult) ([]int, error) {
	chunking := c.chunking()
	c.writeLine(mail)
	var mr *Reply
	var accept []int
	dataSent := false
	for start := 0; ; {
		end := min(start+maxPipelined, len(lines))
		for _, l := range lines[start:end] {
			c.writeLine(l)
		}
		if end == len(lines) && !chunking {
			c.writeLine("DATA")
			dataSent = true
		}
		if err := c.flush(); err != nil {
			return nil, err
		}
		if mr == nil {
			var err error
			if mr, err = c.readReply(); err != nil {
				return nil, err
			}
		}
		acc, err := c.readRcptReplies(send[start:end], results)
		if err != nil {
			return nil, err
		}
		accept = append(accept, acc...)
		if end == len(lines) {
			break
		}
		if err := checkReply(mr, 250); err != nil {
			for _, i := range send[end:] {
				results[i].Err = err // not sent: the transaction failed
			}
			break
		}
		start = end
	}
	var dataErr error
	if dataSent {
		c.step(c.timeout(c.d.DataStartTimeout, DefaultDataStartTimeout))
		dr, err := c.readReply()
		if err != nil {
			return nil, err
		}
		dataErr = checkReply(dr, 354)
		if dataErr == nil && (mr.Code != 250 || len(accept) == 0) {
			// The server took DATA although the transaction failed:
			// end the empty body at once (RFC 2920 §3.1).
			if err := c.writeLine("."); err != nil {
				return nil, err
			}
			if err := c.flush(); err != nil {
				return nil, err
			}
			if _, err := c.readReply(); err != nil {
				return nil, err
			}
		}
	}
	if err := checkReply(mr, 250); err != nil {
		return nil, err
	}
	if len(accept) == 0 {
		if err := c.rset(); err != nil {
			return nil, err
		}
		return nil, noRecipients(results)
	}
	if dataErr != nil {
		if asError(dataErr) != nil {
			if err := c.rset(); err != nil {
				return nil, err
			}
		}
		return nil, dataErr
	}
	return accept, nil
}

// transactInTurn sends each command and waits for its reply.
func (c *Client) transactInTurn(mail string, lines []string, send []int, results []RcptResult) ([]int, error) {
	if _, err := c.cmd(250, mail); err != nil {
		return nil, err
	}
	var accept []int
	for k, l := range lines {
		i := send[k]
		_, err := c.cmd(2, l)
		if err != nil && asError(err) == nil {
			return nil, err
		}
		if results[i].Err = err; err == nil {
			accept = append(accept, i)
		}
	}
	if len(accept) == 0 {
		if err := c.rset(); err != nil {
			return nil, err
		}
		return nil, noRecipients(results)
	}
	if !c.chunking() {
		c.step(c.timeout(c.d.DataStartTimeout, DefaultDataStartTimeout))
		if _, err := c.cmd(354, "DATA"); err != nil {
			if asError(err) != nil {
				if rerr := c.rset(); rerr != nil {
					return nil, rerr
				}
			}
			return nil, err
		}
	}
	return accept, nil
}

// readRcptReplies reads one reply per recipient sent and records it.
func (c *Client) readRcptReplies(send []int, results []RcptResult) ([]int, error) {
	var accept []int
	for _, i := range send {
		r, err := c.readReply()
		if err != nil {
			return nil, err
		}
		err = checkReply(r, 2)
		if err != nil && asError(err) == nil {
			return nil, err
		}
		if results[i].Err = err; err == nil {
			accept = append(accept, i)
		}
	}
	return accept, nil
}

// noRecipients joins ErrNoRecipients with each recipient's failure.
func noRecipients(results []RcptResult) error {
	errs := make([]error, 0, len(results)+1)
	errs = append(errs, ErrNoRecipients)
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, &RecipientError{Address: r.Address, Err: r.Err})
		}
	}
	return errors.Join(errs...)
}
