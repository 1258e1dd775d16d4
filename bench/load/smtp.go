// Package load holds load generators written on raw sockets, so that they
// measure every server the same way and depend on none of the libraries
// they compare.
package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SMTP describes an SMTP load: Conns connections deliver Messages messages
// in all, each of Size bytes to Recipients recipients.
type SMTP struct {
	Addr       string
	Conns      int
	Messages   int
	Size       int
	Recipients int
	Pipelining bool // MAIL, RCPT and DATA/BDAT in one write
	BDAT       bool // BDAT <n> LAST instead of DATA
	LMTP       bool // LHLO instead of EHLO, one reply per recipient after the body
}

// Stats is what a load run measured.
type Stats struct {
	Messages int64
	Bytes    int64
	Elapsed  time.Duration
}

// MsgsPerSec is the message rate.
func (s Stats) MsgsPerSec() float64 { return float64(s.Messages) / s.Elapsed.Seconds() }

// MBPerSec is the payload rate in MB/s (10^6 bytes).
func (s Stats) MBPerSec() float64 { return float64(s.Bytes) / 1e6 / s.Elapsed.Seconds() }

// Body returns a message of about size bytes with 76-character lines,
// a header section, and lines starting with a dot (so dot-stuffing is
// exercised), in wire form: CRLF line ends.
func Body(size int) []byte {
	var b strings.Builder
	b.WriteString("From: load@example.org\r\nTo: sink@example.org\r\nSubject: load test\r\nMessage-ID: <load@example.org>\r\n\r\n")
	line := strings.Repeat("abcdefghij", 8)[:74] + "\r\n"
	for i := 0; b.Len() < size; i++ {
		if i%50 == 49 {
			b.WriteString("." + line[1:])
		} else {
			b.WriteString(line)
		}
	}
	return []byte(b.String())
}

// dotStuff returns body dot-stuffed and terminated for DATA.
func dotStuff(body []byte) []byte {
	s := strings.ReplaceAll("\n"+string(body), "\n.", "\n..")[1:]
	return []byte(s + ".\r\n")
}

// Run drives the load and returns what it measured.
func (l SMTP) Run(ctx context.Context) (Stats, error) {
	if l.Conns <= 0 {
		l.Conns = 1
	}
	if l.Recipients <= 0 {
		l.Recipients = 1
	}
	body := Body(l.Size)
	wire := body
	if !l.BDAT {
		wire = dotStuff(body)
	}
	var left atomic.Int64
	left.Store(int64(l.Messages))
	var sent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, l.Conns)
	start := time.Now()
	for i := 0; i < l.Conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.conn(ctx, wire, len(body), &left, &sent); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	n := sent.Load()
	return Stats{Messages: n, Bytes: n * int64(len(body)), Elapsed: elapsed}, errors.Join(all...)
}

func (l SMTP) conn(ctx context.Context, wire []byte, bodyLen int, left, sent *atomic.Int64) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", l.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	br := bufio.NewReaderSize(c, 4096)
	bw := bufio.NewWriterSize(c, 64<<10)
	if _, err := readReply(br); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	hello := "EHLO"
	if l.LMTP {
		hello = "LHLO"
	}
	bw.WriteString(hello + " load.example.org\r\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	code, text, err := readReplyText(br)
	if err != nil || code != 250 {
		return fmt.Errorf("%s: %d %v", hello, code, err)
	}
	if l.BDAT && !strings.Contains(strings.ToUpper(text), "\nCHUNKING") {
		return ErrNoChunking
	}
	var cmds strings.Builder
	cmds.WriteString("MAIL FROM:<load@example.org>\r\n")
	for r := 0; r < l.Recipients; r++ {
		fmt.Fprintf(&cmds, "RCPT TO:<sink%d@example.org>\r\n", r)
	}
	rcptCmds := cmds.String()
	dataCmd := "DATA\r\n"
	if l.BDAT {
		dataCmd = "BDAT " + strconv.Itoa(bodyLen) + " LAST\r\n"
	}
	for left.Add(-1) >= 0 {
		if l.Pipelining {
			bw.WriteString(rcptCmds)
			bw.WriteString(dataCmd)
			if l.BDAT {
				bw.Write(wire)
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			for r := 0; r < 1+l.Recipients; r++ {
				if code, err := readReply(br); err != nil || code != 250 {
					return fmt.Errorf("MAIL/RCPT: %d %v", code, err)
				}
			}
		} else {
			for _, cmd := range strings.SplitAfter(rcptCmds, "\r\n") {
				if cmd == "" {
					continue
				}
				bw.WriteString(cmd)
				if err := bw.Flush(); err != nil {
					return err
				}
				if code, err := readReply(br); err != nil || code != 250 {
					return fmt.Errorf("%q: %d %v", cmd, code, err)
				}
			}
			bw.WriteString(dataCmd)
			if l.BDAT {
				bw.Write(wire)
			}
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if !l.BDAT {
			if code, err := readReply(br); err != nil || code != 354 {
				return fmt.Errorf("DATA: %d %v", code, err)
			}
			bw.Write(wire)
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		replies := 1
		if l.LMTP {
			replies = l.Recipients
		}
		for r := 0; r < replies; r++ {
			if code, err := readReply(br); err != nil || code != 250 {
				return fmt.Errorf("end of data: %d %v", code, err)
			}
		}
		sent.Add(1)
	}
	bw.WriteString("QUIT\r\n")
	bw.Flush()
	readReply(br)
	return nil
}

// ErrNoChunking is returned for a BDAT load against a server without
// CHUNKING.
var ErrNoChunking = errors.New("load: server does not offer CHUNKING")

// readReply reads one (possibly multi-line) SMTP reply and returns its code.
func readReply(br *bufio.Reader) (int, error) {
	code, _, err := readReplyText(br)
	return code, err
}

// readReplyText reads one reply and returns its code and its lines' texts,
// each after a newline.
func readReplyText(br *bufio.Reader) (int, string, error) {
	var text strings.Builder
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, "", err
		}
		if len(line) < 4 {
			if len(line) >= 3 { // "250\r\n" style
				code, err := strconv.Atoi(string(line[:3]))
				return code, text.String(), err
			}
			return 0, "", fmt.Errorf("short reply line %q", line)
		}
		code, err := strconv.Atoi(string(line[:3]))
		if err != nil {
			return 0, "", fmt.Errorf("bad reply line %q", line)
		}
		text.WriteByte('\n')
		text.Write(bytes.TrimRight(line[4:], "\r\n"))
		if line[3] != '-' {
			return code, text.String(), nil
		}
	}
}
