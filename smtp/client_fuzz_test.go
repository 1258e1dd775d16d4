package smtp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseCapabilities checks the EHLO keyword parser: what it reports
// is consistent, and formatting the keywords back and parsing them again
// gives the same capabilities.
func FuzzParseCapabilities(f *testing.F) {
	f.Add("SIZE 10240000\nAUTH PLAIN LOGIN\nPIPELINING\nCHUNKING\n8BITMIME\nSMTPUTF8\nDSN\n")
	f.Add("LIMITS RCPTMAX=50 MAILMAX=10\nENHANCEDSTATUSCODES\nSTARTTLS\nREQUIRETLS\nBINARYMIME\n\n")
	f.Add("size\nauth=login\nAUTH cram-md5 plain plain\nX-EXT a  b\n")
	f.Add("LIMITS RCPTMAX=x RCPTMAX=-1 RCPTDOMAINMAX=99999999999999999999\nSIZE 99999999999999999999\n")
	f.Fuzz(func(t *testing.T, in string) {
		caps := parseCapabilities(strings.Split(in, "\n"))
		if caps.Size < 0 || caps.Limits.RcptMax < 0 || caps.Limits.MailMax < 0 || caps.Limits.RcptDomainMax < 0 {
			t.Fatalf("negative value in %+v", caps)
		}
		if caps.Size > 0 && !caps.HasSize {
			t.Fatalf("Size without HasSize: %+v", caps)
		}
		seen := map[string]bool{}
		for _, m := range caps.Auth {
			if m != strings.ToUpper(m) || m == "" || seen[m] {
				t.Fatalf("AUTH list %q not upper-case and unique", caps.Auth)
			}
			seen[m] = true
		}
		var lines []string
		for kw, params := range caps.Extensions {
			if !caps.Has(kw) || kw != strings.ToUpper(kw) || strings.ContainsAny(kw, " ") {
				t.Fatalf("bad keyword %q in %v", kw, caps.Extensions)
			}
			lines = append(lines, strings.TrimSpace(kw+" "+params))
		}
		again := parseCapabilities(lines)
		if !reflect.DeepEqual(caps.Extensions, again.Extensions) || caps.Size != again.Size ||
			caps.Limits != again.Limits || caps.Pipelining != again.Pipelining || caps.Chunking != again.Chunking ||
			caps.SMTPUTF8 != again.SMTPUTF8 || caps.StartTLS != again.StartTLS || len(caps.Auth) != len(again.Auth) {
			t.Fatalf("re-parse differs:\n%+v\n%+v", caps, again)
		}
	})
}

// scriptConn is a net.Conn that reads a fixed server script and records
// what the client writes.
type scriptConn struct {
	r *bytes.Reader
	w bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)        { return c.w.Write(p) }
func (c *scriptConn) Close() error                       { return nil }
func (c *scriptConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *scriptConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzClient runs a whole session against arbitrary server bytes. Whatever
// the server says, the client must not panic or hang, and every line it
// sends outside the message body must be one of the commands it was asked
// to send: a hostile server cannot make it say something else.
func FuzzClient(f *testing.F) {
	f.Add("220 x\r\n250-x\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n250 ok\r\n221 bye\r\n")
	f.Add("220 x\r\n250-x\r\n250 CHUNKING\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n")
	f.Add("220 x\r\n250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n")
	f.Add("220 x\r\n500 no\r\n250 helo\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n")
	f.Add("220 x\r\n250-x\r\n250 AUTH PLAIN\r\n334 \r\n235 ok\r\n")
	f.Add("220 x\r\n250-x\r\n250 PIPELINING\r\n421 bye\r\n")
	f.Add("220 x\r\n250-x\r\n250 LIMITS RCPTMAX=1\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n")
	f.Fuzz(func(t *testing.T, script string) {
		conn := &scriptConn{r: bytes.NewReader([]byte(script))}
		d := &Dialer{Security: Plain, ChunkSize: 16, Logger: slog.New(slog.DiscardHandler)}
		ctx := context.Background()
		c, err := d.NewClient(ctx, conn, "mx.test")
		if err == nil {
			if c.Capabilities().HasAuth("PLAIN") {
				c.Auth(ctx, PlainAuth("", "u", "p"))
			}
			w, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}, {Address: "c@example.com"}})
			if err == nil {
				io.WriteString(w, "Subject: x\r\n\r\nQUIT\r\n.\r\nRSET\r\n")
				w.Close()
			}
			c.Send(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}}, strings.NewReader("Subject: y\r\n\r\n.\r\n"))
			c.Noop(ctx)
			c.Quit(ctx)
		}
		allowed := []string{"EHLO localhost", "HELO localhost", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>",
			"RCPT TO:<c@example.com>", "DATA", "RSET", "NOOP", "QUIT", "*", "AUTH PLAIN AHUAcA==", "", "."}
		sent := conn.w.String()
		for sent != "" {
			line, rest, _ := strings.Cut(sent, "\r\n")
			sent = rest
			switch {
			case strings.HasPrefix(line, "BDAT "):
				var n int
				fields := strings.Fields(line)
				if len(fields) < 2 {
					t.Fatalf("bad BDAT line %q", line)
				}
				for _, ch := range fields[1] {
					n = n*10 + int(ch-'0')
				}
				if n > len(sent) {
					t.Fatalf("BDAT %d with %d bytes left", n, len(sent))
				}
				sent = sent[n:]
			case line == "DATA":
				// The body runs to "\r\n.\r\n"; its lines are dot-stuffed.
				end := strings.Index(sent, "\r\n.\r\n")
				if strings.HasPrefix(sent, ".\r\n") {
					sent = sent[3:]
				} else if end >= 0 {
					sent = sent[end+5:]
				}
			case !slices.Contains(allowed, line):
				t.Fatalf("client sent %q; script %q; wire %q", line, script, conn.w.String())
			}
		}
	})
}
