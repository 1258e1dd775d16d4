package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/mailbox"
)

func TestShutdownSaysBye(t *testing.T) {
	e := newTestEnv(t)
	idle := e.login()
	idling := e.selectInbox()
	idling.run("C: i IDLE", "S: + idling")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.srv.Shutdown(ctx))
	idle.expect("* BYE *shutting down")
	idle.expectClosed()
	idling.expect("* BYE *shutting down")
	idling.expectClosed()
	assert.ErrorIs(t, <-e.done, ErrServerClosed)
	e.done <- ErrServerClosed // for the cleanup
	_, err := net.Dial("tcp", e.addr)
	assert.Error(t, err)
}

func TestServeAfterCloseAndNoStore(t *testing.T) {
	s := &Server{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	assert.Error(t, s.Serve(l))
	e := newTestEnv(t)
	require.NoError(t, e.srv.Close())
	assert.ErrorIs(t, e.srv.Serve(l), ErrServerClosed)
	assert.ErrorIs(t, e.srv.ListenAndServe("127.0.0.1:0"), ErrServerClosed)
}

func TestMaxConns(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxConns = 1 })
	e.dial()
	nc, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer nc.Close()
	c := &client{t: t, nc: nc, br: newReader(nc)}
	c.expect("* BYE [UNAVAILABLE] *")
	c.expectClosed()
}

func TestMaxConnsPerUser(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxConnsPerUser = 1 })
	e.login()
	c := e.dial()
	c.run("C: a LOGIN sara secret", "S: a NO [LIMIT] *")
}

func TestPreAuthTimeout(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.PreAuthTimeout = 50 * time.Millisecond })
	c := e.dial()
	c.expect("* BYE *Autologout*")
	c.expectClosed()
}

func TestLineTooLong(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxLineLength = 100 })
	c := e.login()
	c.run(
		"C: a LIST \"\" "+strings.Repeat("x", 200),
		"S: a BAD [TOOBIG] *",
		"C: b NOOP",
		"S: b OK *",
	)
}

func TestHugeLiteralRefusedWithoutAllocation(t *testing.T) {
	e := newTestEnv(t)
	c := e.login()
	c.run(
		"C: a CREATE {9999999999}",
		"S: a NO [TOOBIG] *",
		"C: b APPEND INBOX {9999999999}",
		"S: b NO [TOOBIG] *",
		"C: c NOOP",
		"S: c OK *",
		// A non-synchronising literal over the limit cannot be skipped
		// cheaply: the server gives up on the connection.
		"C: d APPEND INBOX {9999999999+}",
		"S: d BAD [TOOBIG] *",
		"S: * BYE *",
	)
	c.expectClosed()
}

func TestSmallNonSyncLiteralOverLimitSkipped(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxLiteral = 4 })
	c := e.login()
	c.run(
		"C: a CREATE {8+}",
		"C: abcdefgh",
		"S: a NO [TOOBIG] *",
		"C: b NOOP",
		"S: b OK *",
	)
}

type panicAuth struct{}

func (panicAuth) Authenticate(ctx context.Context, u, p string) (string, error) {
	panic("boom")
}

func TestPanicAnsweredWithBye(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.Auth = panicAuth{} })
	c := e.dial()
	c.run("C: a LOGIN sara secret", "S: * BYE [SERVERBUG] *")
	c.expectClosed()
	// The server keeps serving.
	e.dial()
}

type failingAuth struct{}

func (failingAuth) Authenticate(ctx context.Context, u, p string) (string, error) {
	return "", errors.New("database on fire: secret detail")
}

func TestInternalErrorIsServerBug(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.Auth = failingAuth{} })
	c := e.dial()
	c.send("a LOGIN sara secret")
	line := c.readLine()
	assert.True(t, strings.HasPrefix(line, "a NO [SERVERBUG]"), line)
	assert.NotContains(t, line, "fire")
}

func TestConnStateHook(t *testing.T) {
	var mu sync.Mutex
	var states []ConnState
	closed := make(chan struct{})
	e := newTestEnv(t, func(s *Server) {
		s.ConnState = func(_ net.Conn, st ConnState) {
			mu.Lock()
			states = append(states, st)
			mu.Unlock()
			if st == StateClosed {
				close(closed)
			}
		}
	})
	c := e.dial()
	c.run("C: a LOGOUT", "S: * BYE *", "S: a OK *")
	<-closed
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []ConnState{StateNew, StateIdle, StateActive, StateClosed}, states)
	assert.Equal(t, "idle", StateIdle.String())
}

// blockingStore makes Mailbox.Status wait until release is closed.
type blockingStore struct {
	mailbox.Store
	entered chan struct{}
	release chan struct{}
}

type blockingAccount struct {
	mailbox.Account
	s *blockingStore
}

type blockingMailbox struct {
	mailbox.Mailbox
	s *blockingStore
}

func (s *blockingStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(ctx, user)
	if err != nil {
		return nil, err
	}
	return blockingAccount{a, s}, nil
}

func (s *blockingStore) Authenticate(ctx context.Context, u, p string) (string, error) {
	return s.Store.(mailbox.Authenticator).Authenticate(ctx, u, p)
}

func (a blockingAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	if err != nil {
		return nil, err
	}
	return blockingMailbox{m, a.s}, nil
}

func (m blockingMailbox) Status(ctx context.Context) (mailbox.Status, error) {
	if m.Name() == "Slow" {
		close(m.s.entered)
		<-m.s.release
	}
	return m.Mailbox.Status(ctx)
}

func TestShutdownLetsBusyCommandFinish(t *testing.T) {
	bs := &blockingStore{entered: make(chan struct{}), release: make(chan struct{})}
	e := newTestEnv(t, func(s *Server) { bs.Store, s.Store = s.Store, bs })
	c := e.login()
	c.run("C: a CREATE Slow", "S: a OK *", "C: b STATUS Slow (MESSAGES)")
	<-bs.entered
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- e.srv.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned while a command was running: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(bs.release)
	c.expect("* STATUS Slow (MESSAGES 0)", "b OK *", "* BYE *shutting down")
	c.expectClosed()
	require.NoError(t, <-shut)
}

// Every write gets a fresh WriteTimeout: a long response after the
// client was quiet for longer than the timeout still goes out.
func TestWriteTimeoutPerWrite(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.WriteTimeout = 50 * time.Millisecond })
	e.appendMsg("INBOX", msg("big", strings.Repeat("x", 20000)+"\r\n"))
	c := e.selectInbox()
	time.Sleep(100 * time.Millisecond)
	c.run("C: a FETCH 1 BODY.PEEK[TEXT]", "S: * 1 FETCH (BODY[TEXT] {20002}x*x\r\n)", "S: a OK *")
}

// recordHandler keeps every log message with its attributes.
type recordHandler struct {
	mu   *sync.Mutex
	msgs *[]string
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

func TestTraceRedactsCredentials(t *testing.T) {
	var mu sync.Mutex
	var msgs []string
	e := newTestEnv(t, func(s *Server) { s.Logger = slog.New(recordHandler{&mu, &msgs}) })
	c := e.dial()
	c.run("C: a LOGIN sara s3cr3t-pw", "S: a NO *", "C: b AUTHENTICATE PLAIN AHNhcmEAczNjcjN0LXB3", "S: b NO *", "C: c LOGIN sara secret", "S: c OK *",
		"C: s STATUS INBOX (MESSAGES)", "S: * STATUS *", "S: s OK *",
		"C: ap APPEND INBOX {11}", "S: + *", "C: body-secret", "S: ap OK *",
		"C: d LOGOUT", "S: * BYE *", "S: d OK *")
	c.expectClosed()
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(msgs, "\n")
	assert.Contains(t, all, "C: a LOGIN <redacted>")
	assert.Contains(t, all, "C: d LOGOUT")
	assert.Contains(t, all, "S: c OK")
	assert.Contains(t, all, "C: s STATUS INBOX (MESSAGES)")
	assert.Contains(t, all, "C: ap APPEND INBOX {11}")
	for _, secret := range []string{"s3cr3t-pw", "AHNhcmEAczNjcjN0LXB3", "secret"} {
		assert.NotContains(t, all, secret)
	}
}

func TestListenAndServeTLS(t *testing.T) {
	certFile, keyFile := testcert.WriteFiles(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	e := newTestEnv(t)
	srv := &Server{Store: e.store, Logger: e.srv.Logger}
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServeTLS(addr, certFile, keyFile) }()
	var tc *tls.Conn
	for i := 0; i < 100; i++ {
		if tc, err = tls.Dial("tcp", addr, testcert.ClientTLS()); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err)
	defer tc.Close()
	c := &client{t: t, nc: tc, br: newReader(tc)}
	c.run("S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN *] *", "C: a LOGIN sara secret", "S: a OK *")
	require.NoError(t, srv.Close())
	assert.ErrorIs(t, <-done, ErrServerClosed)
}

func TestLiteralsPerCommandBounded(t *testing.T) {
	e := newTestEnv(t, func(s *Server) { s.MaxCommandLiterals = 10 })
	c := e.selectInbox()
	c.run(
		"C: a SEARCH SUBJECT {6}",
		"S: + *",
		"C: abcdef BODY {6}",
		"S: a NO [TOOBIG] *",
		"C: b SEARCH SUBJECT {6}",
		"S: + *",
		"C: abcdef",
		"S: * SEARCH",
		"S: b OK *",
		// APPEND literals stream and do not count.
		"C: c APPEND INBOX {20+}",
		"C: Subject: x\r\n\r\n12345",
		"S: * 1 EXISTS",
		"S: * 1 RECENT",
		"S: c OK *",
	)
}

// Pipelined commands are answered in order without waiting for round trips.
func TestPipelining(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("one", "x\r\n"))
	c := e.dial()
	c.send("a LOGIN sara secret\r\nb SELECT INBOX\r\nc FETCH 1 UID\r\nd STORE 1 +FLAGS (\\Seen)\r\ne NOOP")
	c.skipUntil("a OK *")
	c.skipUntil("b OK *")
	c.expect("* 1 FETCH (UID 1)", "c OK *", `* 1 FETCH (UID 1 FLAGS (\Seen))`, "d OK *", "e OK *")
}

type ctxKey struct{}

// ctxAuth reports the context value the server passed to Authenticate.
type ctxAuth struct{ got chan any }

func (a ctxAuth) Authenticate(ctx context.Context, u, p string) (string, error) {
	a.got <- ctx.Value(ctxKey{})
	return u, nil
}

func TestBaseAndConnContextReachStore(t *testing.T) {
	auth := ctxAuth{got: make(chan any, 1)}
	e := newTestEnv(t, func(s *Server) {
		s.Auth = auth
		s.BaseContext = func(net.Listener) context.Context { return context.WithValue(context.Background(), ctxKey{}, "base") }
		s.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, ctxKey{}, ctx.Value(ctxKey{}).(string)+"+conn")
		}
	})
	c := e.dial()
	c.run("C: a LOGIN sara x", "S: a OK *")
	assert.Equal(t, "base+conn", <-auth.got)
}

func TestMapError(t *testing.T) {
	c := &conn{log: slog.New(slog.DiscardHandler), ctx: context.Background()}
	for _, tc := range []struct {
		err  error
		typ  StatusType
		code ResponseCode
	}{
		{mailbox.ErrNotExist, StatusNO, CodeNonExistent},
		{fmt.Errorf("x: %w", mailbox.ErrExist), StatusNO, CodeAlreadyExists},
		{mailbox.ErrAuthFailed, StatusNO, CodeAuthenticationFailed},
		{mailbox.ErrInUse, StatusNO, CodeInUse},
		{mailbox.ErrOverQuota, StatusNO, CodeOverQuota},
		{mailbox.ErrTooLarge, StatusNO, CodeTooBig},
		{mailbox.ErrReadOnly, StatusNO, CodeNoPerm},
		{mailbox.ErrNotPermitted, StatusNO, CodeNoPerm},
		{mailbox.ErrInvalidName, StatusNO, CodeCannot},
		{mailbox.ErrInvalidFlag, StatusBAD, CodeClientBug},
		{mailbox.ErrHasChildren, StatusNO, CodeHasChildren},
		{mailbox.ErrNoSelect, StatusNO, CodeCannot},
		{context.Canceled, StatusNO, CodeUnavailable},
		{&Error{Code: CodeLimit, Text: "x"}, StatusNO, CodeLimit},
		{errors.New("disk on fire"), StatusNO, CodeServerBug},
	} {
		e := c.mapError(tc.err)
		assert.Equal(t, tc.typ, e.Type, "%v", tc.err)
		assert.Equal(t, tc.code, e.Code, "%v", tc.err)
		assert.NotContains(t, e.Text, "fire")
	}
}
