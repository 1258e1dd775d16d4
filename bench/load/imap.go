package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// IMAPConn is a minimal IMAP client on a raw socket: it sends tagged
// commands and reads responses, literals included, counting what came back.
// It depends on no IMAP library, so it measures every server alike.
type IMAPConn struct {
	c     net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	tag   int
	first [64]byte // start of the response line being read
}

// IMAPResult counts what a command returned.
type IMAPResult struct {
	Untagged int   // untagged response lines ("* ...")
	Bytes    int64 // bytes read, literals included
}

// DialIMAP connects, reads the greeting and logs in with LOGIN.
func DialIMAP(ctx context.Context, addr, user, pass string) (*IMAPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	ic := &IMAPConn{c: c, br: bufio.NewReaderSize(c, 256<<10), bw: bufio.NewWriterSize(c, 64<<10)}
	if _, err := ic.br.ReadSlice('\n'); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if _, err := ic.Cmd(fmt.Sprintf("LOGIN %s %s", quote(user), quote(pass))); err != nil {
		c.Close()
		return nil, err
	}
	return ic, nil
}

func quote(s string) string { return strconv.Quote(s) }

// Close logs out and closes the connection.
func (c *IMAPConn) Close() error {
	c.c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Cmd("LOGOUT")
	return c.c.Close()
}

// Cmd sends one command and reads its responses up to the tagged one,
// which must be OK.
func (c *IMAPConn) Cmd(cmd string) (IMAPResult, error) {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	c.bw.WriteString(tag + " " + cmd + "\r\n")
	if err := c.bw.Flush(); err != nil {
		return IMAPResult{}, err
	}
	return c.read(tag)
}

// Append stores msg in mailbox with a synchronizing literal.
func (c *IMAPConn) Append(mailbox string, msg []byte) error {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	fmt.Fprintf(c.bw, "%s APPEND %s {%d}\r\n", tag, quote(mailbox), len(msg))
	if err := c.bw.Flush(); err != nil {
		return err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) == 0 || line[0] != '+' {
		return fmt.Errorf("APPEND: no continuation: %q", line)
	}
	c.bw.Write(msg)
	c.bw.WriteString("\r\n")
	if err := c.bw.Flush(); err != nil {
		return err
	}
	_, err = c.read(tag)
	return err
}

// Capability sends CAPABILITY and returns the capability names the server
// listed, upper-cased.
func (c *IMAPConn) Capability() (map[string]bool, error) {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	c.bw.WriteString(tag + " CAPABILITY\r\n")
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	caps := map[string]bool{}
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if rest, ok := strings.CutPrefix(line, "* CAPABILITY "); ok {
			for _, f := range strings.Fields(rest) {
				caps[strings.ToUpper(f)] = true
			}
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if !strings.HasPrefix(rest, "OK") {
				return nil, fmt.Errorf("%s", strings.TrimSpace(line))
			}
			return caps, nil
		}
	}
}

// AppendPipelined stores msgs in mailbox, one APPEND each with a
// non-synchronising literal ({n+}, LITERAL+, RFC 7888), all written
// before the first answer is read: the fewest round trips an IMAP client
// can take without MULTIAPPEND. The server must offer LITERAL+.
func (c *IMAPConn) AppendPipelined(mailbox string, msgs [][]byte) error {
	first := c.tag + 1
	c.tag += len(msgs)
	werr := make(chan error, 1)
	go func() { // written while the answers are read: nothing can fill up
		for i, m := range msgs {
			fmt.Fprintf(c.bw, "b%d APPEND %s {%d+}\r\n", first+i, quote(mailbox), len(m))
			c.bw.Write(m)
			c.bw.WriteString("\r\n")
		}
		werr <- c.bw.Flush()
	}()
	var rerr error
	for i := range msgs {
		if _, rerr = c.read("b" + strconv.Itoa(first+i)); rerr != nil {
			c.c.Close() // unblocks the writer; the connection is unusable now
			break
		}
	}
	if err := <-werr; rerr == nil {
		return err
	}
	return rerr
}

func (c *IMAPConn) read(tag string) (IMAPResult, error) {
	var res IMAPResult
	tagged := []byte(tag + " ")
	for {
		line, err := c.br.ReadSlice('\n')
		// first keeps the start of the line (the tag), which a long line
		// read in several pieces would otherwise lose.
		first := c.first[:copy(c.first[:], line)]
		for err == bufio.ErrBufferFull {
			res.Bytes += int64(len(line))
			line, err = c.br.ReadSlice('\n')
		}
		if err != nil {
			return res, err
		}
		res.Bytes += int64(len(line))
		// A line ending in {n} is followed by n literal bytes and the rest
		// of the response.
		for {
			n, ok := literalSize(line)
			if !ok {
				break
			}
			// Literal data is skipped in bulk, never looked at.
			if _, err := c.br.Discard(int(n)); err != nil {
				return res, err
			}
			res.Bytes += n
			line, err = c.br.ReadSlice('\n')
			if err != nil {
				return res, err
			}
			res.Bytes += int64(len(line))
		}
		switch {
		case len(first) > 1 && first[0] == '*':
			res.Untagged++
		case bytes.HasPrefix(first, tagged):
			rest := first[len(tagged):]
			if !bytes.HasPrefix(rest, []byte("OK")) {
				return res, fmt.Errorf("%s", bytes.TrimSpace(first))
			}
			return res, nil
		}
	}
}

// literalSize parses a trailing "{n}\r\n" (or "~{n}\r\n").
func literalSize(line []byte) (int64, bool) {
	l := bytes.TrimRight(line, "\r\n")
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	digits := bytes.TrimSuffix(l[i+1:len(l)-1], []byte("+"))
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// Capture sends cmd on a new logged-in connection with INBOX selected and
// returns the raw untagged responses it got (literals included), for
// replaying them to clients.
func Capture(ctx context.Context, addr, user, pass, cmd string) ([]byte, error) {
	c, err := DialIMAP(ctx, addr, user, pass)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Cmd("SELECT INBOX"); err != nil {
		return nil, err
	}
	c.bw.WriteString("cap " + cmd + "\r\n")
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for {
		line, err := c.br.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(line, []byte("cap ")) {
			if !bytes.HasPrefix(line, []byte("cap OK")) {
				return nil, fmt.Errorf("%s", bytes.TrimSpace(line))
			}
			return out.Bytes(), nil
		}
		out.Write(line)
		if n, ok := literalSize(line); ok {
			lit := make([]byte, n)
			if _, err := io.ReadFull(c.br, lit); err != nil {
				return nil, err
			}
			out.Write(lit)
		}
	}
}
