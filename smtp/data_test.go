package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startTx opens a transaction with one recipient.
func startTx(cl *client) {
	cl.t.Helper()
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.cmd("RCPT TO:<b@example.com>", "250 ")
}

// TestDataSmuggling sends each bare-line-ending variant of the end-of-data
// marker (CVE-2023-51764 class). None may end the data; each is refused with
// 554 5.6.0 only at the real CRLF.CRLF, and the smuggled command is never run.
func TestDataSmuggling(t *testing.T) {
	for _, fake := range []string{"\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r"} {
		t.Run(fmt.Sprintf("%q", fake), func(t *testing.T) {
			be := &testBackend{}
			addr := startServer(t, &Server{Backend: be})
			cl := ehlo(t, addr)
			startTx(cl)
			cl.cmd("DATA", "354 ")
			cl.send("Subject: one\r\n\r\nbody" + fake + "MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n")
			cl.expect("554 5.6.0 ")
			// In step: the next command is answered as a command.
			cl.cmd("NOOP", "250 ")
			msgs := be.messages()
			require.Len(t, msgs, 1)
			var se *Error
			require.ErrorAs(t, msgs[0].Err, &se)
			assert.Equal(t, 554, se.Code)
			assert.Equal(t, []string{"b@example.com"}, msgs[0].To)
		})
	}
}

func TestDataNormalizeBareLineEndings(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, NormalizeBareLineEndings: true})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send("a\nb\rc\n.\nd\r\n.\r\n")
	cl.expect("250 ")
	msgs := be.messages()
	require.Len(t, msgs, 1)
	// The dot after a bare LF is unstuffed, but does not end the data.
	assert.Equal(t, "a\r\nb\r\nc\r\n\r\nd\r\n", msgs[0].Data)
}

func TestDataDotUnstuffing(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send("..\r\n...x\r\n.y\r\n a.\r\n.\r\n")
	cl.expect("250 ")
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send(".\r\n") // empty message
	cl.expect("250 ")
	msgs := be.messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, ".\r\n..x\r\ny\r\n a.\r\n", msgs[0].Data)
	assert.Equal(t, "", msgs[1].Data)
}

func TestDataTooLarge(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, MaxMessageBytes: 100})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send(strings.Repeat("0123456789\r\n", 20) + ".\r\n")
	cl.expect("552 5.3.4 ")
	cl.cmd("NOOP", "250 ") // in step
	// Exactly at the limit is fine.
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send(strings.Repeat("012345678\r\n", 8) + "0123456789\r\n.\r\n")
	cl.expect("250 ")
	msgs := be.messages()
	require.Len(t, msgs, 2)
	assert.ErrorIs(t, msgs[0].Err, ErrDataTooLarge)
	assert.Len(t, msgs[1].Data, 100)
}

// A session that stops reading early decides alone: the server skips the
// rest of the body up to the terminator without judging it.
func TestDataSessionStopsEarly(t *testing.T) {
	be := &testBackend{data: func(r io.Reader) (string, error) {
		b := make([]byte, 3)
		io.ReadFull(r, b)
		return string(b), nil
	}}
	addr := startServer(t, &Server{Backend: be, MaxMessageBytes: 50})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send("abcdef\r\n.\r\n")
	cl.expect("250 ")
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send(strings.Repeat("x", 60) + "\r\n.\r\n")
	cl.expect("250 ")
	cl.cmd("NOOP", "250 ")
}

func TestDataLineTooLong(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, MaxDataLineLength: 998})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send(strings.Repeat("x", 998) + "\r\n.\r\n")
	cl.expect("250 ")
	startTx(cl)
	cl.cmd("DATA", "354 ")
	cl.send(strings.Repeat("x", 999) + "\r\n.\r\n")
	cl.expect("554 5.6.0 ")
	cl.cmd("NOOP", "250 ")
}

func TestCommandLineTooLong(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}, MaxLineLength: 100})
	cl := ehlo(t, addr)
	cl.cmd("NOOP "+strings.Repeat("x", 95), "250 ")
	cl.cmd("NOOP "+strings.Repeat("x", 200), "500 5.5.2 ")
	cl.cmd("NOOP", "250 ")
}

func TestDataBinaryMIMENeedsBDAT(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}})
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:<a@example.org> BODY=BINARYMIME", "250 ")
	cl.cmd("RCPT TO:<b@example.com>", "250 ")
	cl.cmd("DATA", "503 5.5.1 ")
	cl.cmd("DATA x", "501 5.5.4 ")
}

func TestBDAT(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be})
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:<a@example.org> BODY=BINARYMIME", "250 ")
	cl.cmd("RCPT TO:<b@example.com>", "250 ")
	cl.send("BDAT 5\r\nhel\r\nBDAT 6\r\nlo\n.\r\n")
	cl.expect("250 2.0.0 5 octets")
	cl.expect("250 2.0.0 11 octets")
	cl.send("BDAT 3 LAST\r\n\x00\r\r")
	cl.expect("250 2.0.0 Message accepted")
	// BDAT 0 LAST ends an empty chunked message.
	startTx(cl)
	cl.cmd("BDAT 0 LAST", "250 2.0.0 Message accepted")
	// Pipelined: all replies come back.
	cl.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.com>\r\nBDAT 4\r\nabcdBDAT 2 LAST\r\nef")
	cl.expect("250 2.1.0")
	cl.expect("250 2.1.5")
	cl.expect("250 2.0.0 4 octets")
	cl.expect("250 2.0.0 Message accepted")
	msgs := be.messages()
	require.Len(t, msgs, 3)
	assert.Equal(t, "hel\r\nlo\n.\r\n\x00\r\r", msgs[0].Data)
	assert.Equal(t, "", msgs[1].Data)
	assert.Equal(t, "abcdef", msgs[2].Data)
}

func TestBDATRefusedChunksAreDrained(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, MaxMessageBytes: 10})
	cl := ehlo(t, addr)
	// No transaction: the chunk's bytes are skipped, not run as commands.
	cl.send("BDAT 12\r\nQUIT\r\nQUIT\r\n")
	cl.expect("503 5.5.1 ")
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.send("BDAT 6\r\nRSET\r\n")
	cl.expect("503 5.5.1 ") // no recipients
	cl.cmd("RCPT TO:<b@example.com>", "250 ")
	// Over the limit in one chunk.
	cl.send("BDAT 12 LAST\r\nQUIT\r\nQUIT\r\n")
	cl.expect("552 5.3.4 ")
	cl.cmd("NOOP", "250 ")
	// Over the limit across chunks.
	startTx(cl)
	cl.send("BDAT 6\r\n123456BDAT 6 LAST\r\nQUIT\r\n")
	cl.expect("250 2.0.0 6 octets")
	cl.expect("552 5.3.4 ")
	cl.cmd("NOOP", "250 ")
	// The transaction is gone.
	cl.send("BDAT 1 LAST\r\nx")
	cl.expect("503 5.5.1 ")
	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "123456", msgs[0].Data)
	assert.ErrorIs(t, msgs[0].Err, ErrDataTooLarge)
}

func TestBDATInterrupted(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.send("BDAT 3\r\nabcRSET\r\n")
	cl.expect("250 2.0.0 3 octets")
	cl.expect("250 2.0.0 OK") // RSET's own reply
	cl.cmd("RCPT TO:<b@example.com>", "503 5.5.1 ")
	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.ErrorIs(t, msgs[0].Err, errBDATInterrupted)
}

func TestBDATSyntaxCloses(t *testing.T) {
	addr := startServer(t, &Server{Backend: &testBackend{}})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.cmd("BDAT x", "501 5.5.4 ")
	cl.closed()
}

func TestBDATSessionError(t *testing.T) {
	be := &testBackend{data: func(r io.Reader) (string, error) {
		b := make([]byte, 2)
		io.ReadFull(r, b)
		return string(b), &Error{Code: 554, EnhancedCode: EnhancedCode{5, 6, 0}, Message: "bad content"}
	}}
	addr := startServer(t, &Server{Backend: be})
	cl := ehlo(t, addr)
	startTx(cl)
	cl.send("BDAT 4\r\nabcdBDAT 2 LAST\r\nef")
	cl.expect("554 5.6.0 bad content")
	cl.expect("503 5.5.1 ") // the failed transaction is over; its chunk is drained
	cl.cmd("NOOP", "250 ")
}

// lmtpSession gives a status per recipient.
type lmtpSession struct{ testSession }

func (s *lmtpSession) LMTPData(ctx context.Context, r io.Reader) ([]error, error) {
	if err := s.Data(ctx, r); err != nil {
		return nil, err
	}
	errs := make([]error, len(s.cur.To))
	for i, to := range s.cur.To {
		if strings.HasPrefix(to, "full") {
			errs[i] = &Error{Code: 452, EnhancedCode: EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
		}
	}
	return errs, nil
}

func TestLMTP(t *testing.T) {
	be := &testBackend{}
	lb := BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) {
		return &lmtpSession{testSession{b: be, info: c}}, nil
	})
	addr := startServer(t, &Server{Backend: lb, Mode: ModeLMTP})
	cl := dial(t, addr)
	assert.Contains(t, cl.expect("220 "), "LMTP")
	cl.cmd("EHLO x", "500 5.5.1 ")
	cl.cmd("LHLO client.test", "250 ")
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.cmd("RCPT TO:<b@example.com>", "250 ")
	cl.cmd("RCPT TO:<full@example.com>", "250 ")
	cl.cmd("RCPT TO:<c@example.com>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("hi\r\n.\r\n")
	assert.Equal(t, "250 2.0.0 <b@example.com> Message delivered", cl.reply())
	assert.Equal(t, "452 4.2.2 Mailbox full", cl.reply())
	assert.Equal(t, "250 2.0.0 <c@example.com> Message delivered", cl.reply())
	// BDAT too.
	cl.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl.cmd("RCPT TO:<full@example.com>", "250 ")
	cl.cmd("RCPT TO:<d@example.com>", "250 ")
	cl.send("BDAT 4 LAST\r\nhi\r\n")
	cl.expect("452 4.2.2 ")
	cl.expect("250 2.0.0 <d@example.com>")
	// A plain Session's error applies to every recipient.
	be2 := &testBackend{data: func(r io.Reader) (string, error) { return "", errors.New("disk on fire") }}
	addr2 := startServer(t, &Server{Backend: be2, Mode: ModeLMTP})
	cl2 := greeted(t, addr2)
	cl2.cmd("LHLO client.test", "250 ")
	cl2.cmd("MAIL FROM:<a@example.org>", "250 ")
	cl2.cmd("RCPT TO:<b@example.com>", "250 ")
	cl2.cmd("RCPT TO:<c@example.com>", "250 ")
	cl2.cmd("DATA", "354 ")
	cl2.send("hi\r\n.\r\n")
	cl2.expect("451 4.3.0 ")
	cl2.expect("451 4.3.0 ")
}
