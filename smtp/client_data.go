package smtp

import (
	"bytes"
	"context"
	"errors"
	"strconv"

	"github.com/posthorn/posthorn/internal/textwire"
)

const (
	defaultChunkSize = 64 << 10
	// maxPendingChunks bounds the BDAT replies left unread under
	// PIPELINING, so that neither side's buffers fill up.
	maxPendingChunks = 8
)

// DataWriter writes a message body. With DATA (RFC 5321 §4.1.1.4) it
// dot-stuffs the body; with BDAT (RFC 3030, used when the server offers
// CHUNKING) it sends chunks of at most Dialer.ChunkSize. Either way a lone
// LF or CR becomes CRLF (except for BODY=BINARYMIME) and the body is never
// held in memory as a whole.
//
// The ctx given to Data or Transaction governs every Write and Close.
// Close must be called: it ends the body and returns the server's verdict.
type DataWriter struct {
	c       *Client
	bdat    bool
	binary  bool
	dot     *textwire.DotWriter
	results []RcptResult // every recipient of the transaction
	accept  []int        // indexes into results of the accepted ones

	n         int  // bytes in c.chunk
	cr        bool // BDAT: the last byte buffered was a CR
	lineStart bool // BDAT: the last byte buffered was an LF, or none yet
	pending   int  // BDAT replies not read yet
	chunkErr  error

	tx []int // Send: recipients whose RCPT replies are still unread

	err      error // sticky write error
	closed   bool
	closeErr error
	reply    *Reply
}

// Data starts the body of a transaction begun with Mail and Rcpt: it sends
// DATA and waits for 354, or, when the server offers CHUNKING, prepares BDAT
// chunks. ctx governs the writes and Close of the returned DataWriter.
func (c *Client) Data(ctx context.Context) (*DataWriter, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	if err := c.begin(ctx, c.timeout(c.d.DataStartTimeout, DefaultDataStartTimeout)); err != nil {
		return nil, err
	}
	results := c.rcpts
	c.rcpts = nil
	accept := make([]int, len(results))
	for i := range accept {
		accept[i] = i
	}
	chunking := c.chunking()
	if !chunking {
		if _, err := c.cmd(354, "DATA"); err != nil {
			return nil, c.end(err)
		}
	}
	return c.newDataWriter(chunking, results, accept), nil
}

func (c *Client) chunking() bool   { return c.caps.Chunking && !c.d.DisableChunking }
func (c *Client) pipelining() bool { return c.caps.Pipelining && !c.d.DisablePipelining }

// newDataWriter is called inside an operation begun by the caller; the
// DataWriter's Close ends it.
func (c *Client) newDataWriter(bdat bool, results []RcptResult, accept []int) *DataWriter {
	w := &DataWriter{c: c, bdat: bdat, binary: c.binary, results: results, accept: accept, lineStart: true}
	if bdat {
		size := c.d.ChunkSize
		if size <= 0 {
			size = defaultChunkSize
		}
		if len(c.chunk) != size {
			c.chunk = make([]byte, size)
		}
	} else {
		w.dot = textwire.NewDotWriter(c.bw)
	}
	if c.trace {
		c.traceLine("C: <message data>")
	}
	c.data = w
	return w
}

// Write writes part of the body.
func (w *DataWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("smtp: write after Close")
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.chunkErr != nil {
		return 0, w.chunkErr
	}
	w.c.step(w.c.timeout(w.c.d.DataBlockTimeout, DefaultDataBlockTimeout))
	if !w.bdat {
		n, err := w.dot.Write(p)
		if err != nil {
			w.err = err
		}
		return n, err
	}
	if err := w.writeBDAT(p); err != nil {
		if w.chunkErr == nil {
			w.err = err
		}
		return 0, err
	}
	return len(p), nil
}

// writeBDAT buffers p, turning lone CR and LF into CRLF unless the body is
// binary, and sends every full chunk.
func (w *DataWriter) writeBDAT(p []byte) error {
	if w.binary {
		return w.put(p)
	}
	for len(p) > 0 {
		if w.cr {
			w.cr = false
			w.lineStart = true
			if err := w.put(lf); err != nil {
				return err
			}
			if p[0] == '\n' {
				p = p[1:]
			}
			continue
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			w.lineStart = false
			return w.put(p)
		}
		if i > 0 {
			w.lineStart = false
			if err := w.put(p[:i]); err != nil {
				return err
			}
		}
		if p[i] == '\n' {
			w.lineStart = true
			if err := w.put(crlf); err != nil {
				return err
			}
		} else {
			w.cr = true
			if err := w.put(cr); err != nil {
				return err
			}
		}
		p = p[i+1:]
	}
	return nil
}

var (
	cr   = []byte("\r")
	lf   = []byte("\n")
	crlf = []byte("\r\n")
)

// put copies p into the chunk buffer, sending the chunk whenever it fills.
func (w *DataWriter) put(p []byte) error {
	buf := w.c.chunk
	for len(p) > 0 {
		k := copy(buf[w.n:], p)
		w.n += k
		p = p[k:]
		if w.n == len(buf) {
			if err := w.sendChunk(false); err != nil {
				return err
			}
			if w.chunkErr != nil {
				return w.chunkErr
			}
		}
	}
	return nil
}

// sendChunk sends "BDAT n [LAST]" and the buffered bytes. Replies are read
// at once without PIPELINING, otherwise only when too many are pending.
func (w *DataWriter) sendChunk(last bool) error {
	c := w.c
	size := strconv.Itoa(w.n)
	var err error
	if last {
		err = c.writeLine("BDAT ", size, " LAST")
	} else {
		err = c.writeLine("BDAT ", size)
	}
	if err != nil {
		return err
	}
	if _, err := c.bw.Write(c.chunk[:w.n]); err != nil {
		return err
	}
	w.n = 0
	w.pending++
	if last {
		return nil
	}
	if !c.pipelining() || w.pending >= maxPendingChunks {
		if err := c.flush(); err != nil {
			return err
		}
		keep := maxPendingChunks / 2
		if !c.pipelining() {
			keep = 0
		}
		return w.readChunkReplies(keep)
	}
	return nil
}

// readChunkReplies reads BDAT replies until only keep are pending, after
// the replies Send left unread (readTx); it is called only after a flush.
// The first negative one is kept in chunkErr.
func (w *DataWriter) readChunkReplies(keep int) error {
	if err := w.readTx(); err != nil {
		return err
	}
	for w.pending > keep {
		r, err := w.c.readReply()
		if err != nil {
			return err
		}
		w.pending--
		if err := checkReply(r, 250); err != nil && w.chunkErr == nil {
			if asError(err) == nil {
				return err // a positive reply other than 250: out of step
			}
			w.chunkErr = err
		}
	}
	return nil
}

// readTx reads the MAIL and RCPT replies that Send left unread, which
// come before any chunk's reply. A failed MAIL, or no recipient accepted,
// fails the message like a failed chunk.
func (w *DataWriter) readTx() error {
	if w.tx == nil {
		return nil
	}
	send := w.tx
	w.tx = nil
	c := w.c
	mr, err := c.readReply()
	if err != nil {
		return err
	}
	accept, err := c.readRcptReplies(send, w.results)
	if err != nil {
		return err
	}
	w.accept = accept
	if err := checkReply(mr, 250); err != nil {
		if asError(err) == nil {
			return err
		}
		if w.chunkErr == nil {
			w.chunkErr = err
		}
	} else if len(accept) == 0 && w.chunkErr == nil {
		w.chunkErr = noRecipients(w.results)
	}
	return nil
}

// Close ends the body and returns the server's verdict: nil when the
// message was accepted, an *Error otherwise. In LMTP mode it reads one
// reply per accepted recipient and returns the failures joined as
// *RecipientError values (see Results). Calling Close again returns the
// same error.
func (w *DataWriter) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.closed = true
	c := w.c
	err := w.finish()
	c.data = nil
	c.binary = false
	w.closeErr = c.end(err)
	return w.closeErr
}

func (w *DataWriter) finish() error {
	c := w.c
	if w.err != nil {
		return w.err
	}
	if w.bdat {
		if w.chunkErr == nil && !w.binary {
			// End the last line as the DATA path does.
			var tail []byte
			if w.cr {
				tail = lf
			} else if !w.lineStart {
				tail = crlf
			}
			w.cr = false
			if err := w.put(tail); err != nil && err != w.chunkErr {
				return err
			}
		}
		if w.chunkErr == nil {
			if err := w.sendChunk(true); err != nil {
				return err
			}
		}
		if err := c.flush(); err != nil {
			return err
		}
		c.step(c.timeout(c.d.DataEndTimeout, DefaultDataEndTimeout))
		if w.chunkErr == nil {
			// All but the LAST chunk's replies.
			if err := w.readChunkReplies(1); err != nil {
				return err
			}
		}
		if w.chunkErr != nil {
			// RFC 3030 §3: a failed chunk fails the transaction; what
			// the server still holds is dropped with RSET.
			if err := w.readChunkReplies(0); err != nil {
				return err
			}
			if err := c.rset(); err != nil {
				return err
			}
			return w.chunkErr
		}
	} else {
		if err := w.dot.Close(); err != nil {
			return err
		}
		c.step(c.timeout(c.d.DataEndTimeout, DefaultDataEndTimeout))
	}
	if c.d.LMTP {
		return w.readLMTPReplies()
	}
	r, err := c.readReply()
	if err != nil {
		return err
	}
	w.reply = r
	return checkReply(r, 250)
}

// ErrAborted is the error of a Client whose DATA was abandoned with
// DataWriter.Abort: SMTP cannot cancel DATA, so the connection is closed.
var ErrAborted = errors.New("smtp: message aborted; connection closed")

// Abort abandons the message, for example when reading its source failed:
// the server never sees the end of the body, so the message is not
// delivered. With BDAT the transaction is reset (RSET) and the Client stays
// usable; DATA cannot be cancelled in SMTP, so Abort closes the connection
// and the Client is finished. Never Close a DataWriter whose body is
// incomplete: the server would take the truncated message. Abort after
// Close does nothing.
func (w *DataWriter) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.closeErr = ErrAborted
	c := w.c
	c.data = nil
	c.binary = false
	if !w.bdat || w.err != nil {
		c.end(ErrAborted)
		c.Close()
		return nil
	}
	w.n = 0
	err := c.flush()
	if err == nil {
		err = w.readChunkReplies(0)
	}
	if err == nil {
		err = c.rset()
	}
	return c.end(err)
}

// Reply returns the server's final reply to the body (for example
// "250 2.0.0 Ok: queued as 4XyZ", or the refusal), or nil when Close read
// none. In LMTP mode it is the last recipient's reply.
func (w *DataWriter) Reply() *Reply { return w.reply }

// Results returns the outcome per recipient. In LMTP mode, after Close,
// the Err of each accepted recipient is its delivery result.
func (w *DataWriter) Results() []RcptResult { return w.results }

// rset sends RSET inside an operation; a negative reply is ignored (the
// transaction is gone either way), a broken connection is not.
func (c *Client) rset() error {
	_, err := c.cmd(250, "RSET")
	if asError(err) != nil {
		return nil
	}
	return err
}
