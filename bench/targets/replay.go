package targets

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strconv"

	"github.com/posthorn/posthorn/bench/load"
)

// ReplayFrom captures the responses to cmd from the IMAP server at addr
// (INBOX selected, as IMAPUser) and serves them with ReplayIMAP.
func ReplayFrom(ctx context.Context, addr, cmd string, exists int) (replay string, stop func(), err error) {
	captured, err := load.Capture(ctx, addr, IMAPUser, IMAPPass, cmd)
	if err != nil {
		return "", nil, err
	}
	return ReplayIMAP(captured, exists)
}

// ReplayIMAP is an IMAP server that answers every command OK at once and
// every FETCH with the same captured untagged responses: a server that
// costs nothing, so that a client benchmark measures the client alone.
func ReplayIMAP(fetch []byte, exists int) (addr string, stop func(), err error) {
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
			go replayConn(c, fetch, exists)
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

func replayConn(c net.Conn, fetch []byte, exists int) {
	defer c.Close()
	br := bufio.NewReader(c)
	bw := bufio.NewWriterSize(c, 64<<10)
	bw.WriteString("* OK [CAPABILITY IMAP4rev1] replay\r\n")
	bw.Flush()
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return
		}
		tag, rest, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(" "))
		verb, _, _ := bytes.Cut(rest, []byte(" "))
		v := string(bytes.ToUpper(verb))
		if v == "UID" {
			v = "FETCH"
		}
		switch v {
		case "SELECT", "EXAMINE":
			bw.WriteString("* " + strconv.Itoa(exists) + " EXISTS\r\n* OK [UIDVALIDITY 1] x\r\n* OK [UIDNEXT " + strconv.Itoa(exists+1) + "] x\r\n")
			bw.Write(tag)
			bw.WriteString(" OK [READ-WRITE] done\r\n")
		case "FETCH":
			bw.Write(fetch)
			bw.Write(tag)
			bw.WriteString(" OK done\r\n")
		case "LOGOUT":
			bw.WriteString("* BYE\r\n")
			bw.Write(tag)
			bw.WriteString(" OK done\r\n")
			bw.Flush()
			return
		default:
			bw.Write(tag)
			bw.WriteString(" OK done\r\n")
		}
		bw.Flush()
	}
}
