package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeConn is the server side of a scripted conversation.
type fakeConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// send writes reply lines, each followed by CRLF.
func (f *fakeConn) send(lines ...string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	if _, err := io.WriteString(f.c, b.String()); err != nil {
		f.t.Errorf("fake server: write: %v", err)
	}
}

// recv reads one line from the client, without CRLF; "" at EOF.
func (f *fakeConn) recv() string {
	line, err := f.br.ReadString('\n')
	if err != nil {
		return ""
	}
	if !strings.HasSuffix(line, "\r\n") {
		f.t.Errorf("fake server: line %q not CRLF-terminated", line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// expect reads one line and checks it.
func (f *fakeConn) expect(want string) bool {
	got := f.recv()
	if got != want {
		f.t.Errorf("fake server: got %q, want %q", got, want)
		return false
	}
	return true
}

// readN reads exactly n bytes.
func (f *fakeConn) readN(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(f.br, b); err != nil {
		f.t.Errorf("fake server: reading %d bytes: %v", n, err)
	}
	return string(b)
}

// readData reads a dot-terminated body as is (still stuffed).
func (f *fakeConn) readData() string {
	var b strings.Builder
	for {
		line, err := f.br.ReadString('\n')
		if err != nil {
			f.t.Errorf("fake server: reading data: %v", err)
			return b.String()
		}
		if line == ".\r\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

// acceptInTurn plays a transaction from a@example.org without PIPELINING:
// every command accepted, final the reply to the end of the data. It
// returns the body as sent (still dot-stuffed).
func (f *fakeConn) acceptInTurn(final string, rcpts ...string) string {
	f.expect("MAIL FROM:<a@example.org>")
	f.send("250 ok")
	for _, r := range rcpts {
		f.expect("RCPT TO:<" + r + ">")
		f.send("250 ok")
	}
	f.expect("DATA")
	f.send("354 go")
	body := f.readData()
	f.send(final)
	return body
}

// ehloLines is the EHLO reply of a fake server offering exts.
func ehloReply(exts ...string) []string {
	lines := []string{"250-fake.test"}
	for _, e := range exts {
		lines = append(lines, "250-"+e)
	}
	lines[len(lines)-1] = "250 " + strings.TrimPrefix(lines[len(lines)-1], "250-")
	return lines
}

// startFake serves script on one connection on 127.0.0.1:0 and returns the
// address. The test waits for the script at cleanup.
func startFake(t *testing.T, script func(f *fakeConn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	var conn net.Conn
	var mu sync.Mutex
	go func() {
		defer wg.Done()
		c, err := l.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		conn = c
		mu.Unlock()
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		script(&fakeConn{t: t, c: c, br: bufio.NewReader(c)})
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		if conn != nil {
			conn.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

// greetFake plays the greeting and EHLO with exts.
func greetFake(f *fakeConn, exts ...string) bool {
	f.send("220 fake.test ESMTP")
	if !f.expect("EHLO localhost") {
		return false
	}
	f.send(ehloReply(exts...)...)
	return true
}

// plainDialer dials without TLS and logs nothing.
func plainDialer() *Dialer {
	return &Dialer{Security: Plain, Logger: slog.New(slog.DiscardHandler)}
}

func dialFake(t *testing.T, d *Dialer, script func(f *fakeConn)) *Client {
	t.Helper()
	addr := startFake(t, script)
	c, err := d.Dial(context.Background(), addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientHELOFallback(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		f.send("220 old.test")
		f.expect("EHLO localhost")
		f.send("500 5.5.1 command unrecognized")
		f.expect("HELO localhost")
		f.send("250 old.test")
		f.expect("QUIT")
		f.send("221 bye")
	})
	assert.False(t, c.ESMTP())
	assert.False(t, c.Capabilities().Pipelining)
	require.NoError(t, c.Quit(context.Background()))
	assert.ErrorIs(t, c.Noop(context.Background()), ErrClientClosed)
}

func TestClientEHLO421NoFallback(t *testing.T) {
	addr := startFake(t, func(f *fakeConn) {
		f.send("220 busy.test")
		f.expect("EHLO localhost")
		f.send("421 4.3.2 shutting down")
	})
	_, err := plainDialer().Dial(context.Background(), addr)
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 421, se.Code)
}

func TestClientGreetingRefused(t *testing.T) {
	addr := startFake(t, func(f *fakeConn) { f.send("554 5.7.1 go away") })
	_, err := plainDialer().Dial(context.Background(), addr)
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 554, se.Code)
	assert.True(t, se.Permanent())
}

func TestParseCapabilities(t *testing.T) {
	caps := parseCapabilities([]string{
		"SIZE 10240000", "auth plain LOGIN Plain", "AUTH=LOGIN", "PIPELINING", "CHUNKING", "BINARYMIME",
		"8BITMIME", "SMTPUTF8", "DSN", "REQUIRETLS", "ENHANCEDSTATUSCODES", "STARTTLS",
		"LIMITS RCPTMAX=50 MAILMAX=10 RCPTDOMAINMAX=x BOGUS", "X-CUSTOM a b", "",
	})
	assert.Equal(t, int64(10240000), caps.Size)
	assert.True(t, caps.HasSize)
	assert.Equal(t, []string{"PLAIN", "LOGIN"}, caps.Auth)
	assert.True(t, caps.Pipelining && caps.Chunking && caps.BinaryMIME && caps.EightBitMIME && caps.SMTPUTF8 &&
		caps.DSN && caps.RequireTLS && caps.EnhancedStatusCodes && caps.StartTLS)
	assert.Equal(t, Limits{MailMax: 10, RcptMax: 50}, caps.Limits)
	assert.True(t, caps.Has("x-custom"))
	assert.Equal(t, "a b", caps.Extensions["X-CUSTOM"])
	assert.False(t, caps.Has("VRFY"))

	caps = parseCapabilities([]string{"SIZE", "SIZE -5"})
	assert.True(t, caps.HasSize)
	assert.Zero(t, caps.Size, "SIZE without a limit")
}

func TestClientPipelinedTransaction(t *testing.T) {
	var body string
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "PIPELINING", "DSN", "ENHANCEDSTATUSCODES") {
			return
		}
		// All four commands arrive before any reply is sent: a client
		// waiting for the MAIL reply would hang here.
		f.expect("MAIL FROM:<a@example.org> RET=HDRS ENVID=id+2B1")
		f.expect("RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+3Dx@example.com")
		f.expect("RCPT TO:<bad@example.com>")
		f.expect("RCPT TO:<c@example.com>")
		f.expect("DATA")
		f.send("250 2.1.0 ok", "250 2.1.5 ok", "550 5.1.1 no such user", "251 2.1.5 will forward", "354 go ahead")
		body = f.readData()
		f.send("250 2.0.0 queued as 42")
	})
	ctx := context.Background()
	w, res, err := c.Transaction(ctx, "a@example.org", &MailOptions{Return: DSNReturnHeaders, EnvelopeID: "id+1"}, []Recipient{
		{Address: "b@example.com", Options: &RcptOptions{
			Notify:            []DSNNotify{DSNNotifySuccess, DSNNotifyFailure},
			OriginalRecipient: &OriginalRecipient{Type: "rfc822", Address: "b=x@example.com"}}},
		{Address: "bad@example.com"},
		{Address: "c@example.com"},
	})
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.NoError(t, res[0].Err)
	var se *Error
	require.ErrorAs(t, res[1].Err, &se)
	assert.Equal(t, EnhancedCode{5, 1, 1}, se.EnhancedCode)
	assert.NoError(t, res[2].Err)
	_, err = io.WriteString(w, "Subject: hi\n\n.leading dot\r\nlast line")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, "queued as 42", w.Reply().Message())
	assert.Equal(t, "Subject: hi\r\n\r\n..leading dot\r\nlast line\r\n", body)
	assert.Equal(t, res, w.Results())
}

func TestClientTransactionInTurn(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "SIZE 1000") {
			return
		}
		f.expect("MAIL FROM:<> SIZE=10")
		f.send("250 ok")
		f.expect("RCPT TO:<b@example.com>")
		f.send("450 4.2.0 try later")
		f.expect("RCPT TO:<c@example.com>")
		f.send("250 ok")
		f.expect("DATA")
		f.send("354 go")
		f.readData()
		f.send("250 ok")
	})
	w, res, err := c.Transaction(context.Background(), "", &MailOptions{Size: 10, Return: DSNReturnFull},
		[]Recipient{{Address: "b@example.com", Options: &RcptOptions{Notify: []DSNNotify{DSNNotifyNever}}}, {Address: "c@example.com"}})
	require.NoError(t, err)
	var se *Error
	require.ErrorAs(t, res[0].Err, &se)
	assert.True(t, se.Temporary())
	io.WriteString(w, "x")
	require.NoError(t, w.Close())
}

func TestClientNoRecipients(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(map[bool]string{true: "pipelined", false: "in turn"}[pipelining], func(t *testing.T) {
			c := dialFake(t, plainDialer(), func(f *fakeConn) {
				exts := []string{"8BITMIME"}
				if pipelining {
					exts = append(exts, "PIPELINING")
				}
				if !greetFake(f, exts...) {
					return
				}
				f.expect("MAIL FROM:<a@example.org>")
				if pipelining {
					f.expect("RCPT TO:<b@example.com>")
					f.expect("RCPT TO:<c@example.com>")
					f.expect("DATA")
					f.send("250 ok", "550 5.1.1 no", "553 5.1.3 bad", "554 5.5.1 no valid recipients")
				} else {
					f.send("250 ok")
					f.expect("RCPT TO:<b@example.com>")
					f.send("550 5.1.1 no")
					f.expect("RCPT TO:<c@example.com>")
					f.send("553 5.1.3 bad")
				}
				f.expect("RSET")
				f.send("250 ok")
				f.expect("NOOP")
				f.send("250 ok")
			})
			ctx := context.Background()
			_, res, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}, {Address: "c@example.com"}})
			require.ErrorIs(t, err, ErrNoRecipients)
			var re *RecipientError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "b@example.com", re.Address)
			var se *Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, 550, se.Code)
			require.Len(t, res, 2)
			require.Error(t, res[1].Err)
			require.NoError(t, c.Noop(ctx), "the client is still usable")
		})
	}
}

// A server that rejects MAIL but still accepts the pipelined DATA gets an
// empty body at once, never the message.
func TestClientPipelinedMailRejectedDataAccepted(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "PIPELINING") {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.expect("DATA")
		f.send("451 4.3.0 not now", "503 5.5.1 need MAIL", "354 go ahead anyway")
		f.expect(".")
		f.send("554 5.5.1 no transaction")
		f.expect("NOOP")
		f.send("250 ok")
	})
	ctx := context.Background()
	_, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 451, se.Code)
	require.NoError(t, c.Noop(ctx))
}

func TestClientLimitsRcptMax(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "LIMITS RCPTMAX=2") {
			return
		}
		f.acceptInTurn("250 ok", "b1@example.com", "b2@example.com")
	})
	w, res, err := c.Transaction(context.Background(), "a@example.org", nil,
		[]Recipient{{Address: "b1@example.com"}, {Address: "b2@example.com"}, {Address: "b3@example.com"}})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	var se *Error
	require.ErrorAs(t, res[2].Err, &se)
	assert.Equal(t, 452, se.Code)
	assert.Equal(t, EnhancedCode{4, 5, 3}, se.EnhancedCode)
}

func TestClientLimitsMailMax(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "LIMITS MAILMAX=2") {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		f.send("250 ok")
		f.expect("RSET")
		f.send("250 ok")
		f.expect("MAIL FROM:<a@example.org>")
		f.send("250 ok")
		f.expect("RCPT TO:<b@example.com>")
		f.send("550 no")
		f.expect("RSET")
		f.send("250 ok")
	})
	ctx := context.Background()
	require.NoError(t, c.Mail(ctx, "a@example.org", nil))
	require.NoError(t, c.Reset(ctx))
	_, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.ErrorIs(t, err, ErrNoRecipients)
	_, _, err = c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.ErrorIs(t, err, ErrMailMax, "a third transaction needs a new connection")
	require.ErrorIs(t, c.Mail(ctx, "a@example.org", nil), ErrMailMax)
}

func TestClientLowLevelMailRcptData(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "8BITMIME", "PIPELINING") {
			return
		}
		f.expect("MAIL FROM:<a@example.org> BODY=8BITMIME")
		f.send("250 ok")
		f.expect("RCPT TO:<b@example.com>")
		f.send("550 no")
		f.expect("RCPT TO:<c@example.com>")
		f.send("250 ok")
		f.expect("DATA")
		f.send("354 go")
		got := f.readData()
		if got != "caf\xc3\xa9\r\n" {
			f.t.Errorf("body %q", got)
		}
		f.send("250 ok")
		f.expect("RSET")
		f.send("250 ok")
		f.expect("VRFY c@example.com")
		f.send("252 2.5.0 cannot verify")
	})
	ctx := context.Background()
	require.NoError(t, c.Mail(ctx, "a@example.org", &MailOptions{Body: Body8BitMIME}))
	require.Error(t, c.Rcpt(ctx, "b@example.com", nil))
	require.NoError(t, c.Rcpt(ctx, "c@example.com", nil))
	w, err := c.Data(ctx)
	require.NoError(t, err)
	assert.ErrorContains(t, c.Noop(ctx), "DataWriter is still open")
	io.WriteString(w, "caf\xc3\xa9")
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "second Close")
	_, err = w.Write([]byte("x"))
	require.Error(t, err)
	require.NoError(t, c.Reset(ctx))
	require.NoError(t, c.Verify(ctx, "c@example.com"))
}

func TestClientDataRejected(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f) {
			return
		}
		f.acceptInTurn("554 5.7.1 spam", "b@example.com")
		f.expect("NOOP")
		f.send("250 ok")
	})
	ctx := context.Background()
	w, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "spam\r\n")
	err = w.Close()
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 554, se.Code)
	assert.Equal(t, err, w.Close(), "Close again returns the same error")
	require.NoError(t, c.Noop(ctx))
}

func TestClientBDAT(t *testing.T) {
	var chunks []string
	d := plainDialer()
	d.ChunkSize = 8
	c := dialFake(t, d, func(f *fakeConn) {
		if !greetFake(f, "CHUNKING", "PIPELINING") {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.send("250 ok", "250 ok")
		for {
			line := f.recv()
			var n int
			last := strings.HasSuffix(line, " LAST")
			if _, err := fmt.Sscanf(strings.TrimSuffix(line, " LAST"), "BDAT %d", &n); err != nil {
				f.t.Errorf("got %q, want BDAT", line)
				return
			}
			chunks = append(chunks, f.readN(n))
			if last {
				break
			}
		}
		// All chunk replies come at the end: the client pipelines them.
		for range chunks {
			f.send("250 2.0.0 ok")
		}
	})
	w, _, err := c.Transaction(context.Background(), "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	_, err = io.WriteString(w, "line1\nline2\r")
	require.NoError(t, err)
	_, err = io.WriteString(w, "\n.dot\rend")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, "line1\r\nline2\r\n.dot\r\nend\r\n", strings.Join(chunks, ""))
	for _, ch := range chunks[:len(chunks)-1] {
		assert.Len(t, ch, 8)
	}
}

func TestClientBDATBinaryAndFailure(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "CHUNKING", "BINARYMIME") {
			return
		}
		f.expect("MAIL FROM:<a@example.org> BODY=BINARYMIME")
		f.send("250 ok")
		f.expect("RCPT TO:<b@example.com>")
		f.send("250 ok")
		f.expect("BDAT 4 LAST")
		if got := f.readN(4); got != "a\nb\r" {
			f.t.Errorf("binary body changed: %q", got)
		}
		f.send("250 ok")
		// Second transaction: the server fails the first chunk.
		f.expect("MAIL FROM:<a@example.org>")
		f.send("250 ok")
		f.expect("RCPT TO:<b@example.com>")
		f.send("250 ok")
		f.expect("BDAT 8")
		f.readN(8)
		f.send("552 5.3.4 too big")
		f.expect("RSET")
		f.send("250 ok")
	})
	ctx := context.Background()
	d := c.d
	w, _, err := c.Transaction(ctx, "a@example.org", &MailOptions{Body: BodyBinaryMIME}, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "a\nb\r")
	require.NoError(t, w.Close())

	d.ChunkSize = 8 // the buffer is reallocated for the next body
	w, _, err = c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	_, err = io.WriteString(w, "12345678")
	var se *Error
	require.ErrorAs(t, err, &se, "without PIPELINING the chunk reply is read at once")
	assert.Equal(t, 552, se.Code)
	err = w.Close()
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 552, se.Code)
}

func TestClientLMTP(t *testing.T) {
	d := plainDialer()
	d.LMTP = true
	addr := startFake(t, func(f *fakeConn) {
		f.send("220 lmtp.test LMTP")
		f.expect("LHLO localhost")
		f.send(ehloReply("PIPELINING", "ENHANCEDSTATUSCODES")...)
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.expect("RCPT TO:<nobody@example.com>")
		f.expect("RCPT TO:<c@example.com>")
		f.expect("DATA")
		f.send("250 ok", "250 ok", "550 5.1.1 unknown", "250 ok", "354 go")
		f.readData()
		f.send("250 2.0.0 delivered to b", "452 4.2.2 mailbox full")
	})
	c, err := d.Dial(context.Background(), addr)
	require.NoError(t, err)
	defer c.Close()
	w, _, err := c.Transaction(context.Background(), "a@example.org", nil,
		[]Recipient{{Address: "b@example.com"}, {Address: "nobody@example.com"}, {Address: "c@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "hello\r\n")
	err = w.Close()
	var re *RecipientError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "c@example.com", re.Address)
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 452, se.Code)
	res := w.Results()
	assert.NoError(t, res[0].Err)
	require.ErrorAs(t, res[1].Err, &se)
	assert.Equal(t, 550, se.Code, "RCPT rejection kept")
	require.ErrorAs(t, res[2].Err, &se)
	assert.Equal(t, 452, se.Code, "delivery failure recorded")
}

func TestClientProtocolErrorBreaks(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f) {
			return
		}
		f.expect("NOOP")
		f.send("354 what?")
		f.recv() // nothing more may come
	})
	ctx := context.Background()
	err := c.Noop(ctx)
	require.ErrorIs(t, err, ErrProtocol)
	assert.Equal(t, err, c.Noop(ctx), "the client stays broken")
	c.Close()
}

func TestClientNetworkErrorBreaks(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f) {
			return
		}
		f.expect("NOOP")
		f.send("250-partial")
	})
	err := c.Noop(context.Background())
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.False(t, errors.Is(err, ErrProtocol))
	var se *Error
	assert.False(t, errors.As(err, &se))
}

func TestClientContextCancel(t *testing.T) {
	release := make(chan struct{})
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f) {
			return
		}
		f.expect("NOOP")
		<-release // never answer
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err := c.Noop(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.ErrorIs(t, c.Noop(context.Background()), context.Canceled, "broken after interruption")

	_, _, err = c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.Error(t, err)
}

func TestClientCommandTimeout(t *testing.T) {
	release := make(chan struct{})
	d := plainDialer()
	d.CommandTimeout = 50 * time.Millisecond
	c := dialFake(t, d, func(f *fakeConn) {
		if !greetFake(f) {
			return
		}
		f.expect("NOOP")
		<-release
	})
	defer close(release)
	err := c.Noop(context.Background())
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestClientInputSafety(t *testing.T) {
	var got []string
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "DSN", "PIPELINING") {
			return
		}
		for line := f.recv(); line != ""; line = f.recv() {
			got = append(got, line)
			if line == "QUIT" {
				f.send("221 bye")
			} else {
				f.send("250 ok")
			}
		}
	})
	ctx := context.Background()
	bad := []string{
		"a@example.org\r\nRCPT TO:<x@evil>", "a@example.org>", "<a@example.org>", "a b@example.org",
		"a@example.org\x00", "a@exa mple.org", "a@", "@example.org", "a@b..c", "a\n@example.org",
		"Name <a@example.org>", "a@-bad.org",
	}
	for _, a := range bad {
		assert.Error(t, c.Mail(ctx, a, nil), "MAIL %q", a)
		_, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: a}})
		assert.Error(t, err, "RCPT %q", a)
		assert.Error(t, c.Verify(ctx, a+"\r\nQUIT"), "VRFY %q", a)
	}
	assert.Error(t, c.Mail(ctx, "a@example.org", &MailOptions{Extra: map[string]string{"X": "a b"}}))
	assert.Error(t, c.Mail(ctx, "a@example.org", &MailOptions{Extra: map[string]string{"X Y": ""}}))
	assert.Error(t, c.Mail(ctx, "a@example.org", &MailOptions{Extra: map[string]string{"X": "a\r\nRSET"}}))
	assert.Error(t, c.Mail(ctx, "a@example.org", &MailOptions{Return: "FULL\r\nRSET"}))
	assert.Error(t, c.Mail(ctx, "a@example.org", &MailOptions{Body: "8BIT\r\nRSET"}))
	assert.Error(t, c.Rcpt(ctx, "b@example.org", &RcptOptions{Notify: []DSNNotify{"SUCCESS\r\nRSET"}}))
	assert.Error(t, c.Rcpt(ctx, "b@example.org", &RcptOptions{Notify: []DSNNotify{DSNNotifyNever, DSNNotifySuccess}}))
	assert.Error(t, c.Rcpt(ctx, "b@example.org", &RcptOptions{OriginalRecipient: &OriginalRecipient{Type: "rfc822\r\n", Address: "x"}}))
	// Values that are legal but dangerous are xtext-encoded.
	require.NoError(t, c.Mail(ctx, `"john"@example.org`, &MailOptions{EnvelopeID: "a+b=c"}))
	require.NoError(t, c.Rcpt(ctx, `"john doe"@example.org`, &RcptOptions{OriginalRecipient: &OriginalRecipient{Type: "rfc822", Address: "x y\x7f@z"}}))
	require.NoError(t, c.Rcpt(ctx, "Postmaster", nil))
	require.NoError(t, c.Quit(ctx))
	assert.Equal(t, []string{
		"MAIL FROM:<john@example.org> ENVID=a+2Bb+3Dc",
		`RCPT TO:<"john doe"@example.org> ORCPT=rfc822;x+20y+7F@z`,
		"RCPT TO:<Postmaster>",
		"QUIT",
	}, got)
}

func TestClientInvalidLocalName(t *testing.T) {
	addr := startFake(t, func(f *fakeConn) { f.send("220 x"); f.recv() })
	d := plainDialer()
	d.LocalName = "a\r\nMAIL FROM:<x@y>"
	_, err := d.Dial(context.Background(), addr)
	require.ErrorIs(t, err, errInvalidLocalName)
}

func TestClientMailOptionsNeedExtensions(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "SIZE 100") {
			return
		}
		f.recv()
	})
	ctx := context.Background()
	err := c.Mail(ctx, "a@example.org", &MailOptions{Size: 101})
	var se *Error
	require.ErrorAs(t, err, &se, "too large for the server's SIZE")
	assert.Equal(t, 552, se.Code)
	assert.ErrorIs(t, c.Mail(ctx, "a@example.org", &MailOptions{Body: Body8BitMIME}), ErrUnsupported)
	assert.ErrorIs(t, c.Mail(ctx, "a@example.org", &MailOptions{Body: BodyBinaryMIME}), ErrUnsupported)
	assert.ErrorIs(t, c.Mail(ctx, "δοκιμή@example.org", nil), ErrUnsupported, "UTF-8 address without SMTPUTF8")
	assert.ErrorIs(t, c.Mail(ctx, "a@example.org", &MailOptions{UTF8: true}), ErrUnsupported)
	assert.ErrorIs(t, c.Mail(ctx, "a@example.org", &MailOptions{RequireTLS: true}), ErrUnsupported)
	_, _, err = c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "δ@example.org"}})
	assert.ErrorIs(t, err, ErrUnsupported, "UTF-8 recipient without SMTPUTF8")
}

func TestClientSMTPUTF8OnlyWhenNeeded(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "SMTPUTF8", "8BITMIME", "PIPELINING", "SIZE") {
			return
		}
		f.expect("MAIL FROM:<a@example.org> SIZE=5")
		f.expect("RCPT TO:<b@example.org>")
		f.expect("DATA")
		f.send("250 ok", "250 ok", "354 go")
		f.readData()
		f.send("250 ok")
		f.expect("MAIL FROM:<a@example.org> SMTPUTF8")
		f.expect("RCPT TO:<δ@example.org>")
		f.expect("DATA")
		f.send("250 ok", "250 ok", "354 go")
		f.readData()
		f.send("250 ok")
	})
	ctx := context.Background()
	for i, to := range []string{"b@example.org", "δ@example.org"} {
		w, _, err := c.Transaction(ctx, "a@example.org", &MailOptions{Size: int64(5 - 5*i)}, []Recipient{{Address: to}})
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
}

func TestClientTraceRedactsAuth(t *testing.T) {
	for _, level := range []slog.Level{LevelTrace, LevelTraceAuth} {
		var buf bytes.Buffer
		d := plainDialer()
		d.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		c := dialFake(t, d, func(f *fakeConn) {
			if !greetFake(f, "AUTH LOGIN") {
				return
			}
			f.expect("AUTH LOGIN")
			f.send("334 VXNlcm5hbWU6")
			f.expect("dXNlcg==")
			f.send("334 UGFzc3dvcmQ6")
			f.expect("c2VjcmV0")
			f.send("235 2.7.0 ok")
			f.acceptInTurn("250 ok", "b@example.org")
		})
		ctx := context.Background()
		require.NoError(t, c.Auth(ctx, &scriptSASL{mech: "LOGIN", resp: []string{"user", "secret"}}))
		assert.Equal(t, "LOGIN", c.Mechanism())
		w, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.org"}})
		require.NoError(t, err)
		io.WriteString(w, "Subject: body-secret\r\n")
		require.NoError(t, w.Close())
		log := buf.String()
		assert.Contains(t, log, "C: MAIL FROM:<a@example.org>")
		assert.Contains(t, log, "S: 334 VXNlcm5hbWU6")
		assert.NotContains(t, log, "body-secret", "bodies are never logged")
		if level == LevelTrace {
			assert.NotContains(t, log, "c2VjcmV0")
			assert.NotContains(t, log, "dXNlcg==")
			assert.Contains(t, log, "C: ***")
		} else {
			assert.Contains(t, log, "C: c2VjcmV0")
		}
	}
}

func TestClientAuthRefusedInPlaintext(t *testing.T) {
	srv, cli := net.Pipe() // neither TLS nor a loopback address
	t.Cleanup(func() { srv.Close(); cli.Close() })
	go func() {
		f := &fakeConn{t: t, c: srv, br: bufio.NewReader(srv)}
		greetFake(f, "AUTH PLAIN LOGIN")
		f.recv()
	}()
	c, err := plainDialer().NewClient(context.Background(), cli, "mail.example.com")
	require.NoError(t, err)
	assert.ErrorIs(t, c.Auth(context.Background(), &scriptSASL{mech: "PLAIN", ir: []byte("\x00u\x00p")}), ErrInsecureAuth)
	c.Close()
}

func TestClientAuthCancelOnBadChallenge(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "AUTH LOGIN") {
			return
		}
		f.expect("AUTH LOGIN")
		f.send("334 not base64!")
		f.expect("*")
		f.send("501 5.7.0 cancelled")
		f.expect("NOOP")
		f.send("250 ok")
	})
	err := c.Auth(context.Background(), &scriptSASL{mech: "LOGIN", resp: []string{"u", "p"}})
	require.ErrorContains(t, err, "malformed challenge")
	require.NoError(t, c.Noop(context.Background()))
}

// scriptSASL is a SASL mechanism that answers challenges from a list.
type scriptSASL struct {
	mech string
	ir   []byte
	resp []string
}

func (m *scriptSASL) Start() (string, []byte, error) { return m.mech, m.ir, nil }

func (m *scriptSASL) Next([]byte) ([]byte, error) {
	if len(m.resp) == 0 {
		return nil, errors.New("unexpected challenge")
	}
	r := m.resp[0]
	m.resp = m.resp[1:]
	return []byte(r), nil
}

func TestClientAuthExchange(t *testing.T) {
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "AUTH PLAIN X-TWO") {
			return
		}
		f.expect("AUTH PLAIN =")
		f.send("334 ")
		f.expect("AHUAcA==")
		f.send("235 2.7.0 ok")
		f.expect("AUTH X-TWO")
		f.send("334 Zmlyc3Q=")
		f.expect("b25l")
		f.send("334 c2Vjb25k")
		f.expect("*")
		f.send("501 5.7.0 cancelled")
		f.expect("AUTH PLAIN AHUAcA==")
		f.send("535 5.7.8 no")
	})
	ctx := context.Background()
	require.NoError(t, c.Auth(ctx, &scriptSASL{mech: "PLAIN", ir: []byte{}, resp: []string{"\x00u\x00p"}}), "empty initial response is \"=\"")
	assert.Equal(t, "PLAIN", c.Mechanism())
	err := c.Auth(ctx, &scriptSASL{mech: "X-TWO", resp: []string{"one"}})
	require.ErrorContains(t, err, "unexpected challenge", "a failing mechanism cancels with *")
	err = c.Auth(ctx, &scriptSASL{mech: "PLAIN", ir: []byte("\x00u\x00p")})
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 535, se.Code)
	assert.ErrorIs(t, c.Auth(ctx, &scriptSASL{mech: "CRAM-MD5"}), ErrUnsupported, "not offered")
}

func TestSecurityString(t *testing.T) {
	assert.Equal(t, "StartTLSRequired", StartTLSRequired.String())
	assert.Equal(t, "Plain", Plain.String())
	assert.Equal(t, "Security(9)", Security(9).String())
}

func TestDialStartTLSRequiredButMissing(t *testing.T) {
	addr := startFake(t, func(f *fakeConn) {
		greetFake(f, "PIPELINING")
		f.expect("QUIT")
		f.send("221 bye")
	})
	_, err := (&Dialer{Logger: slog.New(slog.DiscardHandler)}).Dial(context.Background(), addr)
	require.ErrorIs(t, err, ErrStartTLSUnavailable)
}

func TestClientGreetingAndDataEndTimeouts(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := startFake(t, func(f *fakeConn) { <-release }) // no greeting
	d := plainDialer()
	d.GreetingTimeout = 50 * time.Millisecond
	_, err := d.Dial(context.Background(), addr)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	d = plainDialer()
	d.DataEndTimeout = 50 * time.Millisecond
	c := dialFake(t, d, func(f *fakeConn) {
		if !greetFake(f, "PIPELINING") {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.expect("DATA")
		f.send("250 ok", "250 ok", "354 go")
		f.readData()
		<-release // never confirm the message
	})
	w, _, err := c.Transaction(context.Background(), "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "x\r\n")
	err = w.Close()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.ErrorIs(t, c.Noop(context.Background()), os.ErrDeadlineExceeded, "broken: the message's fate is unknown")
}

func TestClientAbort(t *testing.T) {
	// BDAT: the chunks sent are dropped with RSET; the Client stays usable.
	d := plainDialer()
	d.ChunkSize = 4
	c := dialFake(t, d, func(f *fakeConn) {
		if !greetFake(f, "CHUNKING", "PIPELINING") {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.send("250 ok", "250 ok")
		f.expect("BDAT 4")
		f.readN(4)
		f.send("250 ok")
		f.expect("RSET") // no BDAT LAST
		f.send("250 ok")
		f.expect("NOOP")
		f.send("250 ok")
	})
	ctx := context.Background()
	w, _, err := c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "12345")
	require.NoError(t, w.Abort())
	require.NoError(t, w.Abort(), "twice")
	assert.ErrorIs(t, w.Close(), ErrAborted)
	require.NoError(t, c.Noop(ctx))

	// DATA: the connection is closed before the final dot.
	bodyc := make(chan string, 1)
	c = dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f) {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		f.send("250 ok")
		f.expect("RCPT TO:<b@example.com>")
		f.send("250 ok")
		f.expect("DATA")
		f.send("354 go")
		b, _ := io.ReadAll(f.br)
		bodyc <- string(b)
	})
	w, _, err = c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "partial\r\n")
	require.NoError(t, w.Abort())
	require.Error(t, c.Noop(ctx))
	c.Close()
	assert.NotContains(t, <-bodyc, "\r\n.\r\n", "the message was never ended")
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("disk on fire")
	}
	r.n--
	return copy(p, "line\r\n"), nil
}

func TestSendMailSourceFails(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be})
	for _, chunking := range []bool{true, false} {
		d := quietDialer(Plain)
		d.DisableChunking = !chunking
		err := d.SendMail(context.Background(), addr, nil, "a@example.org", []string{"b@example.com"}, &failingReader{n: 3})
		require.ErrorContains(t, err, "disk on fire")
	}
	// A last good message; by the time it arrives the aborted ones are long
	// over, and none of them may have been received whole.
	require.NoError(t, quietDialer(Plain).SendMail(context.Background(), addr, nil, "z@example.org", []string{"b@example.com"}, strings.NewReader("ok\r\n")))
	waitFor(t, func() bool { m := be.messages(); return len(m) > 0 && m[len(m)-1].From == "z@example.org" })
	for _, m := range be.messages() {
		if m.From != "z@example.org" {
			assert.Error(t, m.Err, "a truncated message was received whole: %q", m.Data)
		}
	}
}

// Recipients are pipelined in groups, so that unread replies never fill
// the server's buffers.
func TestClientPipelinedGroups(t *testing.T) {
	const n = 2*maxPipelined + 5
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "PIPELINING") {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		for group := 0; group < 3; group++ {
			size := min(maxPipelined, n-group*maxPipelined)
			for i := 0; i < size; i++ {
				f.expect(fmt.Sprintf("RCPT TO:<r%d@example.com>", group*maxPipelined+i))
			}
			if group == 2 {
				f.expect("DATA")
			}
			// The client waits for this group's replies before it sends more.
			if f.br.Buffered() != 0 {
				f.t.Errorf("group %d: the client sent more before reading replies", group)
			}
			if group == 0 {
				f.send("250 ok")
			}
			for i := 0; i < size; i++ {
				f.send("250 ok")
			}
		}
		f.send("354 go")
		f.readData()
		f.send("250 ok")
	})
	rcpts := make([]Recipient, n)
	for i := range rcpts {
		rcpts[i].Address = fmt.Sprintf("r%d@example.com", i)
	}
	w, res, err := c.Transaction(context.Background(), "a@example.org", nil, rcpts)
	require.NoError(t, err)
	require.Len(t, res, n)
	require.NoError(t, w.Close())
}

func TestClientPipelinedGroupsMailRejected(t *testing.T) {
	const n = maxPipelined + 1
	c := dialFake(t, plainDialer(), func(f *fakeConn) {
		if !greetFake(f, "PIPELINING") {
			return
		}
		f.expect("MAIL FROM:<a@example.org>")
		f.send("452 4.3.1 insufficient storage")
		for i := 0; i < maxPipelined; i++ {
			f.recv()
			f.send("503 5.5.1 need MAIL")
		}
		f.expect("NOOP") // the last group and DATA are never sent
		f.send("250 ok")
	})
	rcpts := make([]Recipient, n)
	for i := range rcpts {
		rcpts[i].Address = fmt.Sprintf("r%d@example.com", i)
	}
	ctx := context.Background()
	_, res, err := c.Transaction(ctx, "a@example.org", nil, rcpts)
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 452, se.Code)
	require.ErrorAs(t, res[n-1].Err, &se)
	assert.Equal(t, 452, se.Code, "unsent recipients carry the MAIL error")
	require.NoError(t, c.Noop(ctx))
}

// readBDAT reads "BDAT n [LAST]" and its data; last reports LAST.
func (f *fakeConn) readBDAT() (data string, last bool) {
	line := f.recv()
	var n int
	last = strings.HasSuffix(line, " LAST")
	if _, err := fmt.Sscanf(strings.TrimSuffix(line, " LAST"), "BDAT %d", &n); err != nil {
		f.t.Errorf("got %q, want BDAT", line)
		return "", true
	}
	return f.readN(n), last
}

func TestClientSendOneWrite(t *testing.T) {
	d := plainDialer()
	d.ChunkSize = 8
	c := dialFake(t, d, func(f *fakeConn) {
		if !greetFake(f, "CHUNKING", "PIPELINING") {
			return
		}
		// One message of one chunk: everything before any reply.
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.expect("RCPT TO:<bad@example.com>")
		if data, last := f.readBDAT(); data != "hi\r\n" || !last {
			f.t.Errorf("BDAT %q last=%v", data, last)
		}
		f.send("250 ok", "250 ok", "550 5.1.1 no", "250 2.0.0 queued")
		// Three chunks, still all before any reply.
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		var body string
		for n := 0; ; n++ {
			data, last := f.readBDAT()
			body += data
			if last {
				break
			}
		}
		if body != "0123456789abcdefghij\r\n" {
			f.t.Errorf("body %q", body)
		}
		f.send("250 ok", "250 ok", "250 ok", "250 ok", "250 ok")
		// MAIL refused: the chunk is refused too, then RSET.
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.readBDAT()
		f.send("451 4.3.0 not now", "503 5.5.1 need MAIL", "503 5.5.1 need MAIL")
		f.expect("RSET")
		f.send("250 ok")
		// No recipient accepted.
		f.expect("MAIL FROM:<a@example.org>")
		f.expect("RCPT TO:<b@example.com>")
		f.readBDAT()
		f.send("250 ok", "550 5.1.1 no", "554 5.5.1 no valid recipients")
		f.expect("RSET")
		f.send("250 ok")
		f.expect("NOOP")
		f.send("250 ok")
	})
	ctx := context.Background()
	res, err := c.Send(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}, {Address: "bad@example.com"}}, strings.NewReader("hi\n"))
	require.NoError(t, err)
	assert.NoError(t, res[0].Err)
	var se *Error
	require.ErrorAs(t, res[1].Err, &se)
	assert.Equal(t, 550, se.Code)

	_, err = c.Send(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}}, strings.NewReader("0123456789abcdefghij"))
	require.NoError(t, err)

	_, err = c.Send(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}}, strings.NewReader("x"))
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 451, se.Code, "the MAIL error, not the chunk's")

	res, err = c.Send(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}}, strings.NewReader("x"))
	require.ErrorIs(t, err, ErrNoRecipients)
	require.ErrorAs(t, res[0].Err, &se)
	assert.Equal(t, 550, se.Code)
	require.NoError(t, c.Noop(ctx), "usable after each failure")
}
