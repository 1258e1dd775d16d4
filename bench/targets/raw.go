// Package targets starts the servers the benchmarks compare, all on
// 127.0.0.1 with a free port.
package targets

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
)

// RawSMTP is the loopback limit: a goroutine-per-connection responder that
// speaks just enough SMTP for the load generator (PIPELINING, CHUNKING) and
// does nothing else. No real server can beat it.
func RawSMTP() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go rawConn(c)
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

func rawConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	bw := bufio.NewWriterSize(c, 4096)
	reply := func(s string) {
		bw.WriteString(s)
		if br.Buffered() == 0 {
			bw.Flush()
		}
	}
	reply("220 raw ESMTP\r\n")
	bw.Flush()
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(string(bytes.TrimSpace(line)))
		switch {
		case strings.HasPrefix(verb, "EHLO"), strings.HasPrefix(verb, "LHLO"):
			reply("250-raw\r\n250-PIPELINING\r\n250 CHUNKING\r\n")
		case strings.HasPrefix(verb, "DATA"):
			reply("354 go\r\n")
			bw.Flush()
			if !skipDot(br) {
				return
			}
			reply("250 ok\r\n")
		case strings.HasPrefix(verb, "BDAT"):
			f := strings.Fields(verb)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			if _, err := io.CopyN(io.Discard, br, n); err != nil {
				return
			}
			reply("250 ok\r\n")
		case strings.HasPrefix(verb, "QUIT"):
			reply("221 bye\r\n")
			bw.Flush()
			return
		default:
			reply("250 ok\r\n")
		}
	}
}

// skipDot reads to the end of a dot-terminated body.
func skipDot(br *bufio.Reader) bool {
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return false
		}
		if len(line) == 3 && line[0] == '.' && line[1] == '\r' {
			return true
		}
	}
}
