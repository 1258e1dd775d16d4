package relay

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
	"github.com/posthorn/posthorn/smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newUsers(t *testing.T) *memstore.Store {
	t.Helper()
	st := memstore.New()
	require.NoError(t, st.AddUser("bob", "bobpw", "bob@bob.example"))
	require.NoError(t, st.AddUser("alice", "alicepw", "alice@bob.example"))
	return st
}

// session opens a submission session as the server would.
func session(t *testing.T, sub *Submission) smtp.Session {
	t.Helper()
	ci := &smtp.ConnInfo{Hello: "client.example", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}}
	s, err := sub.NewSession(context.Background(), ci)
	require.NoError(t, err)
	return s
}

func replyCode(err error) int {
	var se *smtp.Error
	if e, ok := err.(*smtp.Error); ok {
		se = e
	}
	if se == nil {
		return 0
	}
	return se.Code
}

func TestSubmissionRequiresAuth(t *testing.T) {
	users := newUsers(t)
	net := newFakeNet(nil)
	q := newQueue(t, net, "")
	sub := &Submission{Queue: q, Auth: users, Recipients: users}
	s := session(t, sub)
	ctx := context.Background()
	// No open relay: nothing goes through without AUTH, whatever the mode.
	assert.Equal(t, 530, replyCode(s.Mail(ctx, "bob@bob.example", nil)))
	assert.Equal(t, 530, replyCode(s.Rcpt(ctx, "jim@jim.example", nil)))
	assert.Equal(t, 530, replyCode(s.Data(ctx, strings.NewReader(msg))))
	assert.Empty(t, q.List())
}

func TestSubmissionSenderPolicy(t *testing.T) {
	users := newUsers(t)
	q := newQueue(t, newFakeNet(nil), "")
	sub := &Submission{Queue: q, Auth: users, Recipients: users}
	s := session(t, sub).(smtp.PasswordAuthSession)
	ctx := context.Background()
	assert.Equal(t, 535, replyCode(s.AuthPassword(ctx, "", "bob", "wrong")))
	require.NoError(t, s.AuthPassword(ctx, "", "bob", "bobpw"))
	assert.Equal(t, 553, replyCode(s.Mail(ctx, "alice@bob.example", nil)), "another user's address")
	assert.Equal(t, 553, replyCode(s.Mail(ctx, "", nil)), "users do not send bounces")
	assert.Equal(t, 553, replyCode(s.Mail(ctx, "bob@elsewhere.example", nil)))
	assert.NoError(t, s.Mail(ctx, "bob@bob.example", nil))

	// Proxy authorization is refused.
	s2 := session(t, sub).(smtp.PasswordAuthSession)
	assert.Equal(t, 535, replyCode(s2.AuthPassword(ctx, "alice", "bob", "bobpw")))

	// A custom policy replaces the ownership check.
	sub.SenderAllowed = func(_ context.Context, user, from string) bool { return from == "" }
	s3 := session(t, sub).(smtp.PasswordAuthSession)
	require.NoError(t, s3.AuthPassword(ctx, "", "bob", "bobpw"))
	assert.NoError(t, s3.Mail(ctx, "", nil))
}

func TestSubmissionQueuesAndDeliversLocally(t *testing.T) {
	users := newUsers(t)
	remote := newFakeNet(nil)
	isLocal := func(d string) bool { return d == "bob.example" }
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: remote, Hostname: "relay.bob.example",
		Local: &MailboxTransport{Store: users, Recipients: users}, IsLocal: isLocal}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	sub := &Submission{Queue: q, Auth: users, Recipients: users, IsLocal: isLocal}
	s := session(t, sub)
	ctx := context.Background()
	require.NoError(t, s.(smtp.PasswordAuthSession).AuthPassword(ctx, "", "bob", "bobpw"))
	require.NoError(t, s.Mail(ctx, "bob@bob.example", &smtp.MailOptions{EnvelopeID: "e1"}))
	assert.Equal(t, 550, replyCode(s.Rcpt(ctx, "nobody@bob.example", nil)), "unknown local recipient refused at RCPT")
	require.NoError(t, s.Rcpt(ctx, "alice@bob.example", nil))
	require.NoError(t, s.Rcpt(ctx, "jim@jim.example", &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyNever}}))
	require.NoError(t, s.Data(ctx, strings.NewReader(msg)))
	waitEmpty(t, q)

	got := remote.got("jim@jim.example")
	require.Len(t, got, 1)
	assert.True(t, strings.HasPrefix(got[0], "Received: from client.example ([127.0.0.1])\r\n\tby relay.bob.example with ESMTPA\r\n\t(authenticated as bob); "), got[0])
	assert.True(t, strings.HasSuffix(got[0], msg))

	acct, err := users.Open(ctx, "alice")
	require.NoError(t, err)
	defer acct.Close()
	inbox, err := acct.Mailbox(ctx, mailbox.Inbox)
	require.NoError(t, err)
	defer inbox.Close()
	var uids []mailbox.UID
	for info, err := range inbox.Messages(ctx, 1) {
		require.NoError(t, err)
		uids = append(uids, info.UID)
	}
	require.Len(t, uids, 1)
	rc, err := inbox.Open(ctx, uids[0])
	require.NoError(t, err)
	stored, _ := io.ReadAll(rc)
	rc.Close()
	assert.True(t, strings.HasPrefix(string(stored), "Return-Path: <bob@bob.example>\r\nReceived: from client.example"), string(stored))
}

func TestMailboxTransportUnknownUser(t *testing.T) {
	users := newUsers(t)
	tr := &MailboxTransport{Store: users, Recipients: users}
	res := tr.Deliver(context.Background(), &Delivery{From: "x@y", Recipients: []string{"ghost@bob.example"},
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(msg)), nil }})
	require.Len(t, res, 1)
	perm, status := Permanent(res[0].Err)
	assert.True(t, perm)
	assert.Equal(t, "5.1.1", status)
}

func TestAddressLiteral(t *testing.T) {
	assert.Equal(t, "[192.0.2.1]", addressLiteral(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}))
	assert.Equal(t, "[IPv6:2001:db8::1]", addressLiteral(&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 25}))
	assert.Equal(t, "[192.0.2.1]", addressLiteral(&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 25}))
}

func TestReceivedFieldSanitized(t *testing.T) {
	f := receivedField(&smtp.ConnInfo{Hello: "evil\r\nX-Injected: 1"}, "h", "u(x)", true, testEnvelope().Received)
	assert.Equal(t, 3, strings.Count(f, "\r\n"), "no injected lines: %q", f)
	assert.Contains(t, f, "with UTF8SMTPA")
	assert.NotContains(t, f, "u(x)")
}

func TestSubmissionSecretAuth(t *testing.T) {
	users := newUsers(t)
	q := newQueue(t, newFakeNet(nil), "")
	sub := &Submission{Queue: q, Auth: users, Recipients: users}
	ci := &smtp.ConnInfo{}
	s, err := sub.NewSession(context.Background(), ci)
	require.NoError(t, err)
	ss, ok := s.(smtp.SecretAuthSession)
	require.True(t, ok, "a store with secrets enables CRAM-MD5 and SCRAM")
	ctx := context.Background()
	secret, err := ss.AuthSecret(ctx, "bob@bob.example")
	require.NoError(t, err)
	assert.Equal(t, "bobpw", secret)
	// The exchange is not confirmed yet: still unauthenticated.
	assert.Equal(t, 530, replyCode(s.Mail(ctx, "bob@bob.example", nil)))
	ci.Identity = "bob@bob.example" // the server confirms the exchange
	assert.NoError(t, s.Mail(ctx, "bob@bob.example", nil))
}
