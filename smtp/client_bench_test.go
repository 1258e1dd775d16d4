package smtp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
)

// startRawResponder serves a minimal SMTP responder that accepts and
// discards everything, with as little work as possible, so that client
// benchmarks measure the client. chunking adds CHUNKING to EHLO.
func startRawResponder(tb testing.TB, chunking bool) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ehlo := "250-raw.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 0\r\n"
	if chunking {
		ehlo += "250-CHUNKING\r\n"
	}
	ehlo += "250 ENHANCEDSTATUSCODES\r\n"
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go rawRespond(c, ehlo)
		}
	}()
	tb.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func rawRespond(c net.Conn, ehlo string) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriter(c)
	bw.WriteString("220 raw.test\r\n")
	bw.Flush()
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		verb := string(bytes.ToUpper(line[:min(4, len(line))]))
		switch verb {
		case "EHLO":
			bw.WriteString(ehlo)
		case "DATA":
			bw.WriteString("354 go\r\n")
			bw.Flush()
			for {
				l, err := br.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					return
				}
				if string(l) == ".\r\n" {
					break
				}
			}
			bw.WriteString("250 2.0.0 ok\r\n")
		case "BDAT":
			f := strings.Fields(string(line))
			n, _ := strconv.Atoi(f[1])
			if _, err := br.Discard(n); err != nil {
				return
			}
			bw.WriteString("250 2.0.0 ok\r\n")
		case "QUIT":
			bw.WriteString("221 bye\r\n")
			bw.Flush()
			return
		default:
			bw.WriteString("250 2.0.0 ok\r\n")
		}
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
	}
}

// BenchmarkClientSend sends messages over one connection: msgs/s and
// allocations per message. "lockstep" waits for each reply; "pipelined"
// sends MAIL+RCPT+DATA in one write; "bdat" pipelines and sends the body
// with BDAT; "send" uses Client.Send, which with BDAT puts MAIL, RCPT and
// a small message in one write. Server "raw" is a minimal responder (client cost alone),
// "posthorn" this package's Server with a discarding backend (its
// allocations count too).
func BenchmarkClientSend(b *testing.B) {
	for _, server := range []string{"raw", "posthorn"} {
		for _, size := range []int{1 << 10, 100 << 10} {
			for _, mode := range []string{"lockstep", "pipelined", "bdat", "send"} {
				b.Run(fmt.Sprintf("%s/%dKiB/%s", server, size>>10, mode), func(b *testing.B) {
					benchClientSend(b, server, size, mode)
				})
			}
		}
	}
}

func benchClientSend(b *testing.B, server string, size int, mode string) {
	var addr string
	if server == "raw" {
		addr = startRawResponder(b, mode == "bdat" || mode == "send")
	} else {
		addr = startBenchServer(b, &Server{MaxMessageBytes: -1})
	}
	d := quietDialer(Plain)
	d.DisablePipelining = mode == "lockstep"
	d.DisableChunking = mode != "bdat" && mode != "send"
	ctx := context.Background()
	c, err := d.Dial(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	line := append(bytes.Repeat([]byte("x"), 76), '\r', '\n')
	msg := bytes.Repeat(line, size/len(line)+1)[:size]
	rcpts := []Recipient{{Address: "rcpt@example.com"}}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if mode == "send" {
			if _, err := c.Send(ctx, "sender@example.org", nil, rcpts, bytes.NewReader(msg)); err != nil {
				b.Fatal(err)
			}
			continue
		}
		w, _, err := c.Transaction(ctx, "sender@example.org", nil, rcpts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkParseReply measures the reply reader on an EHLO reply.
func BenchmarkParseReply(b *testing.B) {
	in := "250-mx.example.com greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 2.0.0 ENHANCEDSTATUSCODES\r\n"
	r := strings.NewReader(in)
	br := bufio.NewReader(r)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		br.Reset(r)
		if _, err := parseReply(br); err != nil {
			b.Fatal(err)
		}
	}
}
