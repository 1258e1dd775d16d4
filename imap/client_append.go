package imap

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// AppendMessage is one message for Append or AppendMulti.
type AppendMessage struct {
	// Body yields exactly Size octets of the message (CRLF line ends).
	// It is streamed to the server, never held in memory.
	Body  io.Reader
	Size  int64
	Flags []Flag
	Date  time.Time // INTERNALDATE; zero → the server's clock
	// Binary sends the message as a literal8 (RFC 3516), for bodies
	// with NUL octets.
	Binary bool
}

// AppendResult is the APPENDUID response code (RFC 4315). UIDs is empty
// when the server does not support UIDPLUS.
type AppendResult struct {
	UIDValidity uint32
	UIDs        []uint32
}

// Append adds a message to mailbox, streaming it from msg.Body, with a
// non-synchronising literal when the server offers LITERAL+ (or
// LITERAL- and the message is at most 4 KiB).
func (c *Client) Append(ctx context.Context, mailbox string, msg AppendMessage) (*AppendResult, error) {
	return c.AppendMulti(ctx, mailbox, []AppendMessage{msg})
}

// AppendMulti adds several messages in one command (MULTIAPPEND, RFC
// 3502): all of them or none. Without MULTIAPPEND it is an error for
// more than one message.
func (c *Client) AppendMulti(ctx context.Context, mailbox string, msgs []AppendMessage) (res *AppendResult, err error) {
	if len(msgs) == 0 {
		return nil, errors.New("imap: no message to append")
	}
	end, err := c.beginCaps(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	if len(msgs) > 1 && !c.has("MULTIAPPEND") {
		return nil, errors.New("imap: server does not support MULTIAPPEND")
	}
	cmd, w := c.newCommand("APPEND")
	if err := writeAppend(w, mailbox, msgs); err != nil {
		return nil, err
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	return appendResult(cmd.status), nil
}

// writeAppend writes the arguments of APPEND.
func writeAppend(w *cmdWriter, mailbox string, msgs []AppendMessage) error {
	w.sp().mailbox(mailbox)
	for _, m := range msgs {
		if m.Size < 0 || m.Body == nil {
			return errors.New("imap: append needs a body and its size")
		}
		if len(m.Flags) > 0 {
			w.sp().flags(m.Flags)
		}
		if !m.Date.IsZero() {
			w.sp().dateTime(m.Date)
		}
		w.sp()
		w.literal(m.Body, m.Size, m.Binary)
	}
	return nil
}

// appendResult reads APPENDUID from a tagged OK.
func appendResult(st *Error) *AppendResult {
	res := &AppendResult{}
	if st.Code == CodeAppendUID {
		f := strings.Fields(st.CodeArg)
		if len(f) == 2 {
			v, _ := strconv.ParseUint(f[0], 10, 32)
			res.UIDValidity = uint32(v)
			if set, err := ParseNumSet(f[1]); err == nil {
				res.UIDs = expandUIDs(set)
			}
		}
	}
	return res
}

// AppendEach appends each message with its own APPEND, pipelined: all
// commands go out before the first answer is read when their literals
// need no continuation (LITERAL+, or LITERAL-/IMAP4rev2 for messages up
// to 4 KiB); otherwise each waits for the server's go-ahead. Unlike
// AppendMulti, each message succeeds or fails alone: results[i] is nil
// for a failed one, and err joins the failures.
func (c *Client) AppendEach(ctx context.Context, mailbox string, msgs []AppendMessage) (results []*AppendResult, err error) {
	end, err := c.beginCaps(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmds := make([]*clientCmd, len(msgs))
	var errs []error
	for i, m := range msgs {
		cmd, w := c.newCommand("APPEND")
		if err := writeAppend(w, mailbox, []AppendMessage{m}); err != nil {
			return nil, err
		}
		if err := c.send(cmd, w); err != nil {
			if c.broken != nil {
				return nil, err
			}
			errs = append(errs, err) // refused before sending
			continue
		}
		cmds[i] = cmd
	}
	results = make([]*AppendResult, len(msgs))
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if err := c.wait(cmd); err != nil {
			if c.broken != nil {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		results[i] = appendResult(cmd.status)
	}
	return results, errors.Join(errs...)
}
