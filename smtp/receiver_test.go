package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inbox returns the messages in user's INBOX.
func inbox(t *testing.T, s mailbox.Store, user string) []string {
	t.Helper()
	ctx := context.Background()
	acct, err := s.Open(ctx, user)
	require.NoError(t, err)
	defer acct.Close()
	mb, err := acct.Mailbox(ctx, mailbox.Inbox)
	require.NoError(t, err)
	defer mb.Close()
	var out []string
	for info, err := range mb.Messages(ctx, 1) {
		require.NoError(t, err)
		rc, err := mb.Open(ctx, info.UID)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

func newTestStore(t *testing.T) *memstore.Store {
	s := memstore.New()
	require.NoError(t, s.AddUser("jim", "pw", "jim@example.com"))
	require.NoError(t, s.AddUser("sara", "pw", "sara@example.com", "s@example.com"))
	return s
}

func TestReceiver(t *testing.T) {
	store := newTestStore(t)
	addr := startServer(t, &Server{Backend: &Receiver{Store: store, Hostname: "mx.example.com"}})
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:<bob@example.org>", "250 ")
	cl.cmd("RCPT TO:<nobody@example.com>", "550 5.1.1 ")
	cl.cmd("RCPT TO:<Jim@Example.com>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("Subject: one\r\n\r\nHello Jim\r\n.\r\n")
	cl.expect("250 ")

	// Two recipients of one user and another user: spooled, delivered once each.
	cl.cmd("MAIL FROM:<bob@example.org>", "250 ")
	cl.cmd("RCPT TO:<sara@example.com>", "250 ")
	cl.cmd("RCPT TO:<s@example.com>", "250 ")
	cl.cmd("RCPT TO:<jim@example.com>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("Subject: two\r\n\r\nHello all\r\n.\r\n")
	cl.expect("250 ")

	jim := inbox(t, store, "jim")
	require.Len(t, jim, 2)
	assert.True(t, strings.HasPrefix(jim[0], "Return-Path: <bob@example.org>\r\nReceived: from client.test ([127.0.0.1])\r\n\tby mx.example.com with ESMTP id "), jim[0])
	assert.Contains(t, jim[0], "\r\n\tfor <Jim@Example.com>;\r\n\t")
	assert.True(t, strings.HasSuffix(jim[0], "\r\nSubject: one\r\n\r\nHello Jim\r\n"))
	assert.NotContains(t, jim[1], "for <")
	assert.True(t, strings.HasSuffix(jim[1], "\r\nSubject: two\r\n\r\nHello all\r\n"))
	sara := inbox(t, store, "sara")
	require.Len(t, sara, 1)
	assert.Equal(t, jim[1][strings.Index(jim[1], "Received:"):][30:], sara[0][strings.Index(sara[0], "Received:"):][30:])
}

func TestReceiverLMTPQuota(t *testing.T) {
	store := newTestStore(t)
	require.NoError(t, store.SetQuota("sara", 10, 0))
	addr := startServer(t, &Server{Backend: &Receiver{Store: store, Hostname: "lmtp.example.com"}, Mode: ModeLMTP})
	cl := greeted(t, addr)
	cl.cmd("LHLO client.test", "250 ")
	cl.cmd("MAIL FROM:<bob@example.org>", "250 ")
	cl.cmd("RCPT TO:<jim@example.com>", "250 ")
	cl.cmd("RCPT TO:<sara@example.com>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("Subject: big\r\n\r\nThis is more than ten bytes\r\n.\r\n")
	cl.expect("250 2.0.0 <jim@example.com>")
	cl.expect("452 4.2.2 ")
	jim := inbox(t, store, "jim")
	require.Len(t, jim, 1)
	assert.Contains(t, jim[0], "with LMTP id")
	assert.Empty(t, inbox(t, store, "sara"))
}

func TestReceiverTooLarge(t *testing.T) {
	store := newTestStore(t)
	addr := startServer(t, &Server{Backend: &Receiver{Store: store}, MaxMessageBytes: 100})
	cl := ehlo(t, addr)
	for _, rcpts := range [][]string{{"jim@example.com"}, {"jim@example.com", "sara@example.com"}} {
		cl.cmd("MAIL FROM:<bob@example.org>", "250 ")
		for _, r := range rcpts {
			cl.cmd("RCPT TO:<"+r+">", "250 ")
		}
		cl.cmd("DATA", "354 ")
		cl.send(strings.Repeat("x", 200) + "\r\n.\r\n")
		cl.expect("552 5.3.4 ")
	}
	assert.Empty(t, inbox(t, store, "jim"))
	assert.Empty(t, inbox(t, store, "sara"))
}

func TestReceiverNeedsResolver(t *testing.T) {
	r := &Receiver{}
	_, err := r.NewSession(context.Background(), &ConnInfo{})
	assert.Error(t, err)
}

func TestReceivedHeader(t *testing.T) {
	s := &receiverSession{r: &Receiver{Hostname: "mx.example.com"}, from: "a@example.org", info: &ConnInfo{
		RemoteAddr: &net.TCPAddr{IP: net.ParseIP("2001:db8::7"), Port: 4000},
		Hello:      "client(evil)", ESMTP: true, Identity: "jim",
	}}
	h := s.traceHeader("b@example.com")
	assert.True(t, strings.HasPrefix(h, "Return-Path: <a@example.org>\r\nReceived: from client_evil_ ([IPv6:2001:db8::7])\r\n\tby mx.example.com with ESMTPA id "), h)
	assert.Contains(t, h, "\r\n\tfor <b@example.com>;\r\n\t")
	assert.True(t, strings.HasSuffix(h, "\r\n"))
	s.info.ESMTP = false
	s.info.Identity = ""
	assert.Contains(t, s.traceHeader(""), " with SMTP id ")
	s.info.ESMTP, s.utf8 = true, true
	assert.Contains(t, s.traceHeader(""), " with UTF8ESMTP id ")
}

func TestReceiverPostmaster(t *testing.T) {
	store := newTestStore(t)
	require.NoError(t, store.AddUser("admin", "pw", "postmaster@mx.example.com"))
	addr := startServer(t, &Server{Backend: &Receiver{Store: store, Hostname: "mx.example.com"}})
	cl := ehlo(t, addr)
	cl.cmd("MAIL FROM:<bob@example.org>", "250 ")
	cl.cmd("RCPT TO:<Postmaster>", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("hi\r\n.\r\n")
	cl.expect("250 ")
	require.Len(t, inbox(t, store, "admin"), 1)
	// Without such a user, even postmaster is refused.
	addr2 := startServer(t, &Server{Backend: &Receiver{Store: newTestStore(t), Hostname: "mx.example.com"}})
	cl2 := ehlo(t, addr2)
	cl2.cmd("MAIL FROM:<bob@example.org>", "250 ")
	cl2.cmd("RCPT TO:<postmaster>", "550 5.1.1 ")
}

func TestReceiverErrorMapping(t *testing.T) {
	r := &Receiver{Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	custom := &Error{Code: 550, EnhancedCode: EnhancedCode{5, 7, 1}, Message: "policy"}
	for _, tc := range []struct {
		err  error
		want *Error
	}{
		{fmt.Errorf("x: %w", mailbox.ErrNotExist), ErrNoSuchUser},
		{fmt.Errorf("x: %w", mailbox.ErrTooLarge), ErrDataTooLarge},
		{fmt.Errorf("x: %w", custom), custom},
		{errors.New("disk exploded"), errInternal},
	} {
		got := asError(r.mapError(ctx, tc.err, "test"))
		require.NotNil(t, got, "%v", tc.err)
		assert.Equal(t, tc.want.Code, got.Code, "%v", tc.err)
		assert.Equal(t, tc.want.EnhancedCode, got.EnhancedCode, "%v", tc.err)
	}
	over := asError(r.mapError(ctx, mailbox.ErrOverQuota, "test"))
	assert.Equal(t, EnhancedCode{4, 2, 2}, over.EnhancedCode)
	busy := asError(r.mapError(ctx, mailbox.ErrInUse, "test"))
	assert.Equal(t, EnhancedCode{4, 2, 0}, busy.EnhancedCode)
}
