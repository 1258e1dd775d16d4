package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// POP3Result is what one POP3 session measured.
type POP3Result struct {
	LoginStatUIDL time.Duration // connect, USER/PASS, STAT and UIDL
	Retrieved     int           // messages read with RETR
	Bytes         int64         // bytes of those messages, as sent (dot-stuffed)
}

// POP3Session logs in, runs STAT and UIDL, then RETRs up to retr messages
// (all when retr < 0) and QUITs without deleting anything.
func POP3Session(ctx context.Context, addr, user, pass string, retr int) (POP3Result, error) {
	var res POP3Result
	start := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriter(c)
	status := func() (string, error) {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return "", err
		}
		if !bytes.HasPrefix(line, []byte("+OK")) {
			return "", fmt.Errorf("%s", bytes.TrimSpace(line))
		}
		return string(line), nil
	}
	multi := func() (int64, int, error) {
		var n int64
		lines := 0
		for {
			line, err := br.ReadSlice('\n')
			for err == bufio.ErrBufferFull {
				n += int64(len(line))
				line, err = br.ReadSlice('\n')
			}
			if err != nil {
				return n, lines, err
			}
			if len(line) == 3 && line[0] == '.' {
				return n, lines, nil
			}
			n += int64(len(line))
			lines++
		}
	}
	cmd := func(s string) (string, error) {
		bw.WriteString(s + "\r\n")
		if err := bw.Flush(); err != nil {
			return "", err
		}
		return status()
	}
	if _, err := status(); err != nil {
		return res, fmt.Errorf("greeting: %w", err)
	}
	if _, err := cmd("USER " + user); err != nil {
		return res, err
	}
	if _, err := cmd("PASS " + pass); err != nil {
		return res, err
	}
	st, err := cmd("STAT")
	if err != nil {
		return res, err
	}
	var count int
	fmt.Sscanf(st, "+OK %d", &count)
	if _, err := cmd("UIDL"); err != nil {
		return res, err
	}
	if _, n, err := multi(); err != nil || n != count {
		return res, fmt.Errorf("UIDL: %d lines for %d messages: %v", n, count, err)
	}
	res.LoginStatUIDL = time.Since(start)
	if retr < 0 || retr > count {
		retr = count
	}
	// RETRs are pipelined in batches, as a client with PIPELINING would.
	const batch = 32
	for i := 1; i <= retr; i += batch {
		end := min(i+batch-1, retr)
		for k := i; k <= end; k++ {
			bw.WriteString("RETR " + strconv.Itoa(k) + "\r\n")
		}
		if err := bw.Flush(); err != nil {
			return res, err
		}
		for k := i; k <= end; k++ {
			if _, err := status(); err != nil {
				return res, fmt.Errorf("RETR %d: %w", k, err)
			}
			n, _, err := multi()
			if err != nil {
				return res, err
			}
			res.Bytes += n
			res.Retrieved++
		}
	}
	_, err = cmd("QUIT")
	return res, err
}
