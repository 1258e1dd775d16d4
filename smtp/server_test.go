package smtp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBasicTransaction(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be})
	cl := dial(t, addr)
	assert.Equal(t, "220 mx.test ESMTP Service ready", cl.reply())
	r := cl.cmd("EHLO client.test", "250 ")
	for _, kw := range []string{"250-mx.test greets client.test", "PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 33554432", "ENHANCEDSTATUSCODES", "CHUNKING", "BINARYMIME", "DSN", "LIMITS RCPTMAX=100"} {
		assert.Contains(t, r, kw)
	}
	assert.NotContains(t, r, "STARTTLS")
	assert.NotContains(t, r, "AUTH")
	cl.cmd("MAIL FROM:<alice@example.org>", "250 2.1.0 ")
	cl.cmd("RCPT TO:<bob@example.com>", "250 2.1.5 ")
	cl.cmd("RCPT TO:<carol@example.com>", "250 2.1.5 ")
	cl.cmd("DATA", "354 ")
	cl.send("Subject: hi\r\n\r\n..leading dot\r\nbody\r\n.\r\n")
	cl.expect("250 2.0.0 ")
	cl.cmd("QUIT", "221 2.0.0 ")
	cl.closed()

	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "alice@example.org", msgs[0].From)
	assert.Equal(t, []string{"bob@example.com", "carol@example.com"}, msgs[0].To)
	assert.Equal(t, "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n", msgs[0].Data)
}

func TestCommandsOutOfOrder(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be})
	cl := greeted(t, addr)
	cl.cmd("MAIL FROM:<a@b.example>", "503 5.5.1 ")
	cl.cmd("RCPT TO:<a@b.example>", "503 5.5.1 ")
	cl.cmd("DATA", "503 5.5.1 ")
	cl.cmd("EHLO", "501 5.5.4 ")
	cl.cmd("HELO client.test", "250 mx.test")
	cl.cmd("MAIL FROM:<a@b.example> SIZE=10", "555 5.5.4 ") // parameters need EHLO
	cl.cmd("MAIL FROM:<a@b.example>", "250 ")
	cl.cmd("MAIL FROM:<a@b.example>", "503 5.5.1 ")
	cl.cmd("DATA", "503 5.5.1 ")
	cl.cmd("RSET", "250 2.0.0 ")
	cl.cmd("RCPT TO:<a@b.example>", "503 5.5.1 ")
	cl.cmd("NOOP", "250 2.0.0 ")
	cl.cmd("VRFY bob", "252 2.5.0 ")
	cl.cmd("VRFY", "501 5.5.4 ")
	cl.cmd("EXPN list", "502 5.5.1 ")
	cl.cmd("HELP", "214 2.0.0 ")
	cl.cmd("RSET x", "501 5.5.4 ")
	cl.cmd("STARTTLS", "500 5.5.2 ") // no TLSConfig
	cl.cmd("LHLO x", "500 5.5.2 ")
	cl.cmd("QUIT", "221 ")
}

func TestMailRcptSyntax(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, MaxBadCommands: -1})
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:alice@example.org", "501 5.1.7 ")
	cl.cmd("MAIL FROM:<alice@@example.org>", "501 5.1.7 ")
	cl.cmd("MAIL TO:<alice@example.org>", "501 5.5.2 ")
	cl.cmd("MAIL FROM:<alice@example.org> FOO=bar", "555 5.5.4 ")
	cl.cmd("MAIL FROM:<alice@example.org> SIZE=x", "501 5.5.4 ")
	cl.cmd("MAIL FROM:<alice@example.org> BODY=8BITMIME BODY=7BIT", "501 5.5.4 ")
	cl.cmd("MAIL FROM:<jörg@example.org>", "553 5.6.7 ")
	cl.cmd("MAIL FROM:<alice@example.org> REQUIRETLS", "530 5.7.10 ")
	cl.cmd("MAIL FROM:<alice@example.org> SIZE=33554433", "552 5.3.4 ")
	cl.cmd("MAIL FROM:<> BODY=8BITMIME SIZE=100 RET=HDRS ENVID=abc+2Bd AUTH=<>", "250 ")
	cl.cmd("RCPT TO:<>", "501 5.1.3 ")
	cl.cmd("RCPT TO:<jörg@example.com>", "553 5.6.7 ")
	cl.cmd("RCPT TO:<Postmaster>", "250 ")
	cl.cmd("RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.com", "250 ")
	cl.cmd("RCPT TO:<bob@example.com> NOTIFY=NEVER,DELAY", "501 5.5.4 ")
	cl.cmd("RCPT TO:<bob@example.com> XYZ=1", "555 5.5.4 ")
	cl.cmd("DATA", "354 ")
	cl.send("x\r\n.\r\n")
	cl.expect("250 ")
	cl.cmd("MAIL FROM:<jörg@example.org> SMTPUTF8", "250 ")
	cl.cmd("RCPT TO:<jürgen@example.com>", "250 ")

	msgs := be.messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, "", m.From)
	assert.Equal(t, Body8BitMIME, m.MailOpts.Body)
	assert.Equal(t, int64(100), m.MailOpts.Size)
	assert.Equal(t, DSNReturnHeaders, m.MailOpts.Return)
	assert.Equal(t, "abc+d", m.MailOpts.EnvelopeID)
	require.NotNil(t, m.MailOpts.Auth)
	assert.Equal(t, "<>", *m.MailOpts.Auth)
	assert.Equal(t, []string{"Postmaster", "bob@example.com"}, m.To)
	assert.Equal(t, []DSNNotify{DSNNotifySuccess, DSNNotifyFailure}, m.RcptOpts[1].Notify)
	assert.Equal(t, &OriginalRecipient{Type: "rfc822", Address: "bob@example.com"}, m.RcptOpts[1].OriginalRecipient)
}

func TestSessionErrors(t *testing.T) {
	be := &testBackend{
		mail: func(from string, o *MailOptions) error {
			switch from {
			case "spammer@example.org":
				return &Error{Code: 550, EnhancedCode: EnhancedCode{5, 7, 1}, Message: "Go away"}
			case "broken@example.org":
				return errors.New("database password is hunter2")
			case "positive@example.org":
				return &Error{Code: 250, Message: "a refusal with a positive code"}
			}
			return nil
		},
		rcpt: func(to string) error {
			if to == "nobody@example.com" {
				return fmtWrap(ErrNoSuchUser)
			}
			return nil
		},
		data: func(r io.Reader) (string, error) {
			b, _ := io.ReadAll(r)
			if strings.Contains(string(b), "virus") {
				return string(b), &Error{Code: 554, EnhancedCode: EnhancedCode{5, 7, 1}, Message: "Rejected"}
			}
			return string(b), nil
		},
	}
	addr := startServer(t, &Server{Backend: be})
	cl := ehlo(t, addr)
	assert.Equal(t, "550 5.7.1 Go away", cl.cmd("MAIL FROM:<spammer@example.org>", "550 "))
	r := cl.cmd("MAIL FROM:<broken@example.org>", "451 4.3.0 ")
	assert.NotContains(t, r, "hunter2")
	cl.cmd("MAIL FROM:<positive@example.org>", "451 4.3.0 ")
	cl.cmd("MAIL FROM:<alice@example.org>", "250 ")
	cl.cmd("RCPT TO:<nobody@example.com>", "550 5.1.1 ")
	cl.cmd("DATA", "503 5.5.1 ")
	cl.cmd("RCPT TO:<bob@example.com>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("a virus\r\n.\r\n")
	cl.expect("554 5.7.1 ")
	// The transaction is over: a new one works.
	cl.cmd("MAIL FROM:<alice@example.org>", "250 ")
}

func fmtWrap(err error) error { return errors.Join(errors.New("lookup"), err) }

func TestNewSessionRefused(t *testing.T) {
	be := &testBackend{newSession: func(c *ConnInfo) error {
		return &Error{Code: 554, EnhancedCode: NoEnhancedCode, Message: "No SMTP service here"}
	}}
	addr := startServer(t, &Server{Backend: be})
	cl := dial(t, addr)
	assert.Equal(t, "554 No SMTP service here", cl.reply())
	cl.closed()

	be2 := &testBackend{newSession: func(c *ConnInfo) error { return errors.New("secret internal") }}
	addr2 := startServer(t, &Server{Backend: be2})
	cl2 := dial(t, addr2)
	r := cl2.expect("421 4.3.0 ")
	assert.NotContains(t, r, "secret")
	cl2.closed()
}

func TestConnInfo(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be})
	cl := greeted(t, addr)
	cl.cmd("EHLO client.test", "250 ")
	cl.cmd("QUIT", "221 ")
	cl.closed()
	waitFor(t, func() bool { be.mu.Lock(); defer be.mu.Unlock(); return be.closed == 1 })
	be.mu.Lock()
	info := be.infos[0]
	be.mu.Unlock()
	assert.Equal(t, "client.test", info.Hello)
	assert.True(t, info.ESMTP)
	assert.Nil(t, info.TLS)
	assert.Equal(t, cl.c.LocalAddr().String(), info.RemoteAddr.String())
}

func TestServeErrors(t *testing.T) {
	var srv Server
	require.Error(t, srv.Serve(nil2Listener(t)))
	srv2 := &Server{Backend: &testBackend{}}
	require.NoError(t, srv2.Close())
	require.ErrorIs(t, srv2.ListenAndServe(), ErrServerClosed)
	require.ErrorIs(t, srv2.Shutdown(context.Background()), nil)
}

func TestModeAndStateStrings(t *testing.T) {
	assert.Equal(t, "submission", ModeSubmission.String())
	assert.Equal(t, "lmtp", ModeLMTP.String())
	assert.Equal(t, "Mode(9)", Mode(9).String())
	assert.Equal(t, "idle", StateIdle.String())
	assert.Equal(t, "ConnState(9)", ConnState(9).String())
}

// flakyListener fails Accept with temporary errors before handing out conns.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

type tempErr struct{}

func (tempErr) Error() string   { return "temporary" }
func (tempErr) Timeout() bool   { return true }
func (tempErr) Temporary() bool { return true }

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, tempErr{}
	}
	return l.Listener.Accept()
}

func TestServeRetriesTemporaryAcceptErrors(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &flakyListener{Listener: raw}
	l.fails.Store(3)
	srv := &Server{Backend: &testBackend{}, Hostname: "mx.test", Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	greeted(t, raw.Addr().String())
}

func TestListenAndServe(t *testing.T) {
	for _, tlsMode := range []bool{false, true} {
		srv := &Server{Addr: "127.0.0.1:0", Backend: &testBackend{}, TLSConfig: testcert.ServerTLS(), Logger: slog.New(slog.DiscardHandler)}
		done := make(chan error, 1)
		go func() {
			if tlsMode {
				done <- srv.ListenAndServeTLS()
			} else {
				done <- srv.ListenAndServe()
			}
		}()
		// Wait until the listener is registered, then shut down.
		waitFor(t, func() bool { srv.mu.Lock(); defer srv.mu.Unlock(); return len(srv.listeners) == 1 })
		require.NoError(t, srv.Shutdown(context.Background()))
		require.ErrorIs(t, <-done, ErrServerClosed)
		require.ErrorIs(t, srv.ListenAndServeTLS(), ErrServerClosed)
	}
}
