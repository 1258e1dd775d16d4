package pop3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/textwire"
)

// readRawLine reads one reply line as text.
func (c *Client) readRawLine() (string, error) {
	line, _, err := textwire.ReadLine(c.br, maxReplyLine)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return string(line), err
}

// Stat returns the number of messages and their total size (STAT).
func (c *Client) Stat(ctx context.Context) (count int, size int64, err error) {
	text, err := c.do(ctx, "STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(text)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("pop3: malformed STAT reply %q", truncate(text))
	}
	count, err1 := strconv.Atoi(f[0])
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || count < 0 || size < 0 {
		return 0, 0, fmt.Errorf("pop3: malformed STAT reply %q", truncate(text))
	}
	return count, size, nil
}

// MessageSize is one entry of a LIST response.
type MessageSize struct {
	Number int
	Size   int64
}

// MessageUID is one entry of a UIDL response.
type MessageUID struct {
	Number int
	UID    string
}

// parseListLine parses "n size" (LIST) with any amount of space.
func parseListLine(s string) (MessageSize, error) {
	f := strings.Fields(s)
	if len(f) >= 2 {
		n, err1 := strconv.Atoi(f[0])
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 == nil && err2 == nil && n > 0 && size >= 0 {
			return MessageSize{n, size}, nil
		}
	}
	return MessageSize{}, fmt.Errorf("pop3: malformed LIST line %q", truncate(s))
}

// parseUIDLLine parses "n uid" (UIDL) with any amount of space.
func parseUIDLLine(s string) (MessageUID, error) {
	f := strings.Fields(s)
	if len(f) >= 2 {
		n, err := strconv.Atoi(f[0])
		if err == nil && n > 0 {
			return MessageUID{n, f[1]}, nil
		}
	}
	return MessageUID{}, fmt.Errorf("pop3: malformed UIDL line %q", truncate(s))
}

// List returns the number and size of every message (LIST).
func (c *Client) List(ctx context.Context) ([]MessageSize, error) {
	var out []MessageSize
	err := c.multi(ctx, "LIST", func(line string) error {
		m, err := parseListLine(line)
		out = append(out, m)
		return err
	})
	return out, err
}

// ListOne returns the size of message n (LIST n).
func (c *Client) ListOne(ctx context.Context, n int) (MessageSize, error) {
	text, err := c.do(ctx, "LIST "+strconv.Itoa(n))
	if err != nil {
		return MessageSize{}, err
	}
	return parseListLine(text)
}

// UIDL returns the unique-id of every message (UIDL). It fails with
// ErrUnsupported if the server announced CAPA without UIDL.
func (c *Client) UIDL(ctx context.Context) ([]MessageUID, error) {
	if c.caps != nil && !c.caps.Has("UIDL") {
		return nil, fmt.Errorf("%w: UIDL", ErrUnsupported)
	}
	var out []MessageUID
	err := c.multi(ctx, "UIDL", func(line string) error {
		m, err := parseUIDLLine(line)
		out = append(out, m)
		return err
	})
	return out, err
}

// UIDLOne returns the unique-id of message n (UIDL n).
func (c *Client) UIDLOne(ctx context.Context, n int) (string, error) {
	text, err := c.do(ctx, "UIDL "+strconv.Itoa(n))
	if err != nil {
		return "", err
	}
	m, err := parseUIDLLine(text)
	return m.UID, err
}

// multi sends cmd and passes each line of the multi-line reply to fn.
func (c *Client) multi(ctx context.Context, cmd string, fn func(string) error) error {
	done, err := c.begin(ctx)
	if err != nil {
		return err
	}
	c.send(cmd, false)
	if _, err = c.flushRead(); err == nil {
		err = c.readLines(fn)
	}
	return c.end(done, err)
}

// Retr retrieves message n (RETR). The body streams from the returned
// reader, exactly as stored: dot-unstuffed, CRLF line endings. It must be
// read to the end or closed before the next command; Close reads whatever
// is left. ctx governs the whole transfer.
func (c *Client) Retr(ctx context.Context, n int) (io.ReadCloser, error) {
	return c.openBody(ctx, "RETR "+strconv.Itoa(n))
}

// Top retrieves the header of message n and the first lines of its body
// (TOP, RFC 1939 §7), streamed as Retr does.
func (c *Client) Top(ctx context.Context, n, lines int) (io.ReadCloser, error) {
	if lines < 0 {
		return nil, errors.New("pop3: negative TOP line count")
	}
	if c.caps != nil && !c.caps.Has("TOP") {
		return nil, fmt.Errorf("%w: TOP", ErrUnsupported)
	}
	return c.openBody(ctx, "TOP "+strconv.Itoa(n)+" "+strconv.Itoa(lines))
}

func (c *Client) openBody(ctx context.Context, cmd string) (io.ReadCloser, error) {
	done, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	c.send(cmd, false)
	if _, err := c.flushRead(); err != nil {
		return nil, c.end(done, err)
	}
	c.body = &body{c: c, done: done, r: textwire.NewDotReader(c.br, textwire.DotOptions{NormalizeBareLineEndings: true})}
	return c.body, nil
}

// body is the reader of a RETR or TOP response.
type body struct {
	c      *Client
	r      *textwire.DotReader
	done   func() error
	closed bool
	err    error
}

func (b *body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("pop3: read from closed message body")
	}
	n, err := b.r.Read(p)
	if err != nil && b.done != nil {
		b.finish(err)
	}
	return n, err
}

// finish ends the body's command once the terminator was read (or failed).
func (b *body) finish(err error) {
	if err == io.EOF {
		err = nil
	}
	b.err = b.c.end(b.done, err)
	b.done = nil
	if b.c.body == b {
		b.c.body = nil
	}
}

// Close reads the rest of the body so the session stays in step.
func (b *body) Close() error {
	if b.closed {
		return b.err
	}
	b.closed = true
	if b.done != nil {
		b.finish(b.r.Drain())
	}
	return b.err
}

// Dele marks message n deleted (DELE); the server removes it at Quit.
func (c *Client) Dele(ctx context.Context, n int) error {
	_, err := c.do(ctx, "DELE "+strconv.Itoa(n))
	return err
}

// Rset unmarks every message marked deleted (RSET).
func (c *Client) Rset(ctx context.Context) error {
	_, err := c.do(ctx, "RSET")
	return err
}

// Noop does nothing; it keeps the session alive (NOOP).
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.do(ctx, "NOOP")
	return err
}

// Quit ends the session (QUIT): the server removes the messages marked
// deleted, then the connection is closed. A -ERR reply means the deletions
// failed.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.do(ctx, "QUIT")
	cerr := c.conn.Close()
	if err == nil {
		err = cerr
	}
	return err
}
