package pop3

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/posthorn/posthorn/internal/textwire"
	"github.com/posthorn/posthorn/mailbox"
)

// live counts the messages not marked deleted and their size.
func (c *conn) live() (n int, size int64) {
	for i := range c.msgs {
		if !c.msgs[i].deleted {
			n++
			size += c.msgs[i].size
		}
	}
	return n, size
}

func (c *conn) cmdStat(arg string) {
	n, size := c.live()
	c.reply(true, "", strconv.Itoa(n)+" "+strconv.FormatInt(size, 10))
}

func (c *conn) cmdList(arg string) {
	if arg != "" {
		if n, m := c.msg(arg); m != nil {
			c.reply(true, "", strconv.Itoa(n)+" "+strconv.FormatInt(m.size, 10))
		}
		return
	}
	n, size := c.live()
	c.reply(true, "", fmt.Sprintf("%d messages (%d octets)", n, size))
	var buf []byte
	for i := range c.msgs {
		if m := &c.msgs[i]; !m.deleted {
			buf = strconv.AppendInt(buf[:0], int64(i+1), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, m.size, 10)
			buf = append(buf, '\r', '\n')
			c.bw.Write(buf)
		}
	}
	c.endMulti()
}

func (c *conn) cmdUidl(arg string) {
	if arg != "" {
		if n, m := c.msg(arg); m != nil {
			c.reply(true, "", strconv.Itoa(n)+" "+c.uidl(m))
		}
		return
	}
	c.reply(true, "", "unique-id listing follows")
	c.fillUIDLs()
	var buf []byte
	for i := range c.msgs {
		if m := &c.msgs[i]; !m.deleted {
			buf = strconv.AppendInt(buf[:0], int64(i+1), 10)
			buf = append(buf, ' ')
			buf = append(buf, c.uidl(m)...)
			buf = append(buf, '\r', '\n')
			c.bw.Write(buf)
		}
	}
	c.endMulti()
}

// uidl returns the unique-id of m (RFC 1939 §7): the store's, when it has
// a valid one, else UIDVALIDITY "." UID, which is stable across sessions.
func (c *conn) uidl(m *message) string {
	if m.uidl != "" {
		return m.uidl
	}
	if c.uidler != nil {
		id, err := c.uidler.UIDL(c.ctx, m.uid)
		if err == nil && validUIDL(id) {
			m.uidl = id
			return id
		}
		c.log.LogAttrs(c.ctx, slog.LevelWarn, "pop3: store gave no valid UIDL; using the default", slog.Any("uid", m.uid), slog.Any("err", err))
	}
	m.uidl = strconv.FormatUint(uint64(c.uidValidity), 10) + "." + strconv.FormatUint(uint64(m.uid), 10)
	return m.uidl
}

// uidlBatcher is implemented by a mailbox.UIDLer that also answers for
// many messages at once (the Maildir store): a listing of a big maildrop
// then costs the store one look at its files, not one per message.
type uidlBatcher interface {
	UIDLs(ctx context.Context, uids []mailbox.UID) ([]string, error)
}

// fillUIDLs asks the store for the unique ids of the messages that have
// none yet, in one call when it can answer in batch. Ids it does not give
// are left to uidl.
func (c *conn) fillUIDLs() {
	b, ok := c.uidler.(uidlBatcher)
	if !ok {
		return
	}
	var uids []mailbox.UID
	for i := range c.msgs {
		if m := &c.msgs[i]; !m.deleted && m.uidl == "" {
			uids = append(uids, m.uid)
		}
	}
	if len(uids) == 0 {
		return
	}
	ids, err := b.UIDLs(c.ctx, uids)
	if err != nil || len(ids) != len(uids) {
		c.log.LogAttrs(c.ctx, slog.LevelWarn, "pop3: store gave no unique-id listing; asking message by message", slog.Any("err", err))
		return
	}
	k := 0
	for i := range c.msgs {
		if m := &c.msgs[i]; !m.deleted && m.uidl == "" {
			if validUIDL(ids[k]) {
				m.uidl = ids[k]
			}
			k++
		}
	}
}

// validUIDL: 1 to 70 characters in 0x21–0x7E (RFC 1939 §7).
func validUIDL(s string) bool {
	if len(s) < 1 || len(s) > 70 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (c *conn) cmdRetr(arg string) {
	_, m := c.msg(arg)
	if m == nil {
		return
	}
	if c.send(m, -1) && !m.seen && !c.srv.KeepUnseen {
		// A mail reader has now seen the message; IMAP shows it read
		// once the session ends in UPDATE, in one change for all (as
		// deletions: a dropped connection changes nothing).
		m.read = true
	}
}

func (c *conn) cmdTop(arg string) {
	num, lines, ok := cutSpace(arg)
	if !ok {
		c.bad("TOP takes a message number and a line count")
		return
	}
	n, ok := parseMsgNum(lines)
	if !ok {
		c.bad("invalid line count")
		return
	}
	if _, m := c.msg(num); m != nil {
		c.send(m, n)
	}
}

// cutSpace splits "a b" into its two words.
func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], s[:i] != "" && s[i+1:] != ""
		}
	}
	return "", "", false
}

// send writes message m as a multi-line response: whole (lines < 0), or
// the header and the first lines of the body (TOP). It reports whether the
// whole response went out.
func (c *conn) send(m *message, lines int) bool {
	rc, err := c.mbox.Open(c.ctx, m.uid)
	if err != nil {
		if isNotExist(err) {
			// Expunged through IMAP since the snapshot.
			c.reply(false, "", "message was removed by another session")
			return false
		}
		c.internalError("opening message", err)
		return false
	}
	defer rc.Close()
	if lines < 0 {
		c.reply(true, "", strconv.FormatInt(m.size, 10)+" octets")
	} else {
		c.reply(true, "", "top of message follows")
	}
	c.traceOut("<message body>")
	if lines < 0 {
		// Not flushed: the serve loop flushes once no command is
		// waiting, so pipelined RETRs share large writes.
		err = sendStuffed(c.bw, rc)
	} else {
		dw := textwire.NewDotWriter(c.bw)
		err = copyTop(dw, rc, lines)
		if err == nil {
			err = dw.Close()
		}
	}
	if err != nil {
		// Part of the body went out: the session cannot be put back in
		// step, so it ends (without deleting anything).
		c.log.LogAttrs(c.ctx, slog.LevelWarn, "pop3: sending message failed", slog.Any("uid", m.uid), slog.Any("err", err))
		c.closing = true
		return false
	}
	return true
}

// copyTop copies the header, the empty line and n lines of the body
// (RFC 1939 §7 TOP).
func copyTop(w io.Writer, r io.Reader, n int) error {
	br := bufio.NewReader(r)
	inBody := false
	for {
		if inBody && n == 0 {
			return nil
		}
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
		}
		if err == bufio.ErrBufferFull {
			continue // the rest of a long line follows
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case inBody:
			n--
		case len(line) <= 2 && (string(line) == "\r\n" || string(line) == "\n"):
			inBody = true
		}
	}
}

func (c *conn) cmdDele(arg string) {
	n, m := c.msg(arg)
	if m == nil {
		return
	}
	m.deleted = true
	c.reply(true, "", fmt.Sprintf("message %d deleted", n))
}

func (c *conn) cmdNoop(arg string) { c.reply(true, "", "") }

func (c *conn) cmdRset(arg string) {
	for i := range c.msgs {
		c.msgs[i].deleted = false
	}
	n, size := c.live()
	c.reply(true, "", fmt.Sprintf("maildrop has %d messages (%d octets)", n, size))
}

// update is the UPDATE state (RFC 1939 §6): remove what DELE marked.
func (c *conn) update() {
	var uids []mailbox.UID
	for i := range c.msgs {
		if c.msgs[i].deleted {
			uids = append(uids, c.msgs[i].uid)
		}
	}
	if len(uids) > 0 {
		if _, err := c.mbox.Expunge(c.ctx, uids); err != nil {
			c.log.LogAttrs(c.ctx, slog.LevelError, "pop3: expunge at QUIT", slog.Any("err", err))
			c.reply(false, CodeSysTemp, "some deleted messages not removed")
			return
		}
	}
	var read []mailbox.UID
	for i := range c.msgs {
		if c.msgs[i].read && !c.msgs[i].deleted {
			read = append(read, c.msgs[i].uid)
		}
	}
	if len(read) > 0 {
		if _, err := c.mbox.SetFlags(c.ctx, read, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0); err != nil {
			c.log.LogAttrs(c.ctx, slog.LevelWarn, "pop3: setting \\Seen at QUIT", slog.Any("err", err))
		}
	}
	// Release the maildrop before answering, so that a client that
	// reconnects at once does not find it locked.
	c.closeMaildrop()
	n, _ := c.live()
	c.reply(true, "", fmt.Sprintf("bye (%d messages left)", n))
}
