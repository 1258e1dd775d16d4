package smtp

// Tests of the client against this package's Server.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lmtpRcptSession answers per recipient: mailboxes named full@ are over quota.
type lmtpRcptSession struct{ *testSession }

func (s *lmtpRcptSession) LMTPData(ctx context.Context, r io.Reader) ([]error, error) {
	if err := s.Data(ctx, r); err != nil {
		return nil, err
	}
	errs := make([]error, len(s.cur.To))
	for i, to := range s.cur.To {
		if strings.HasPrefix(to, "full@") {
			errs[i] = &Error{Code: 452, EnhancedCode: EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
		}
	}
	return errs, nil
}

func quietDialer(sec Security) *Dialer {
	return &Dialer{Security: sec, TLSConfig: testcert.ClientTLS(), LocalName: "client.test", Logger: slog.New(slog.DiscardHandler)}
}

func TestClientServerTransaction(t *testing.T) {
	for _, tt := range []struct {
		name            string
		noPipe, noChunk bool
	}{
		{"pipelining+chunking", false, false},
		{"pipelining+DATA", false, true},
		{"in turn+DATA", true, true},
		{"in turn+chunking", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			be := &testBackend{rcpt: func(to string) error {
				if strings.HasPrefix(to, "nobody@") {
					return ErrNoSuchUser
				}
				return nil
			}}
			addr := startServer(t, &Server{Backend: be})
			d := quietDialer(Plain)
			d.DisablePipelining, d.DisableChunking = tt.noPipe, tt.noChunk
			d.ChunkSize = 1000
			ctx := context.Background()
			c, err := d.Dial(ctx, addr)
			require.NoError(t, err)
			defer c.Close()
			assert.True(t, c.Capabilities().Pipelining)
			assert.Equal(t, int64(DefaultMaxMessageBytes), c.Capabilities().Size)

			body := "Subject: test\n\n.a line with a dot\n..two\r\n.\r\nend\n" + strings.Repeat("0123456789abcdef", 300)
			want := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
			for i := 0; i < 2; i++ {
				w, res, err := c.Transaction(ctx, "a@example.org", &MailOptions{Size: int64(len(want))},
					[]Recipient{{Address: "b@example.com"}, {Address: "nobody@example.com"}, {Address: "c@example.com"}})
				require.NoError(t, err)
				assert.NoError(t, res[0].Err)
				var se *Error
				require.ErrorAs(t, res[1].Err, &se)
				assert.Equal(t, 550, se.Code)
				_, err = io.Copy(w, strings.NewReader(body))
				require.NoError(t, err)
				require.NoError(t, w.Close())
				assert.Equal(t, 250, w.Reply().Code)
			}
			require.NoError(t, c.Quit(ctx))
			msgs := be.messages()
			require.Len(t, msgs, 2)
			for _, m := range msgs {
				assert.Equal(t, "a@example.org", m.From)
				assert.Equal(t, []string{"b@example.com", "c@example.com"}, m.To)
				assert.Equal(t, want, m.Data)
				assert.NoError(t, m.Err)
			}
		})
	}
}

func TestClientServerStartTLS(t *testing.T) {
	be := &testBackend{}
	addr := startServer(t, &Server{Backend: be, TLSConfig: testcert.ServerTLS()})
	ctx := context.Background()

	c, err := quietDialer(StartTLSRequired).Dial(ctx, addr)
	require.NoError(t, err)
	defer c.Close()
	require.NotNil(t, c.TLSConnectionState())
	assert.False(t, c.Capabilities().StartTLS, "capabilities re-read after STARTTLS")
	assert.True(t, c.Capabilities().RequireTLS)
	w, _, err := c.Transaction(ctx, "u@example.org", &MailOptions{RequireTLS: true}, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "hi\r\n")
	require.NoError(t, w.Close())
	require.NoError(t, c.Quit(ctx))
	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.True(t, msgs[0].MailOpts.RequireTLS)

	// Opportunistic TLS upgrades too; plain does not.
	c, err = quietDialer(StartTLSOpportunistic).Dial(ctx, addr)
	require.NoError(t, err)
	assert.NotNil(t, c.TLSConnectionState())
	c.Close()
	c, err = quietDialer(Plain).Dial(ctx, addr)
	require.NoError(t, err)
	assert.Nil(t, c.TLSConnectionState())
	assert.True(t, c.Capabilities().StartTLS)
	c.Close()

	// A certificate the client does not trust fails the dial.
	d := quietDialer(StartTLSRequired)
	d.TLSConfig = &tls.Config{}
	_, err = d.Dial(ctx, addr)
	var ce *tls.CertificateVerificationError
	require.ErrorAs(t, err, &ce)
}

func TestClientServerImplicitTLS(t *testing.T) {
	srv := &Server{Backend: &testBackend{}, TLSConfig: testcert.ServerTLS(), Hostname: "mx.test", Logger: slog.New(slog.DiscardHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	c, err := DialTLS(context.Background(), l.Addr().String(), testcert.ClientTLS())
	require.NoError(t, err)
	defer c.Close()
	require.NotNil(t, c.TLSConnectionState())
	require.NoError(t, c.Noop(context.Background()))

	// A connection that is TLS already needs no STARTTLS, whatever the
	// Dialer's Security, with or without its handshake done.
	for _, handshake := range []bool{true, false} {
		raw, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		tc := tls.Client(raw, testcert.ClientTLS())
		if handshake {
			require.NoError(t, tc.Handshake())
		}
		c, err := quietDialer(StartTLSRequired).NewClient(context.Background(), tc, "localhost")
		require.NoError(t, err, "handshake done before: %v", handshake)
		require.NotNil(t, c.TLSConnectionState())
		require.NoError(t, c.Quit(context.Background()))
	}
}

func TestClientServerLMTP(t *testing.T) {
	tb := &testBackend{}
	be := BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) {
		s, err := tb.NewSession(ctx, c)
		if err != nil {
			return nil, err
		}
		return &lmtpRcptSession{s.(*testSession)}, nil
	})
	addr := startServer(t, &Server{Backend: be, Mode: ModeLMTP})
	for _, chunking := range []bool{true, false} {
		d := quietDialer(Plain)
		d.LMTP = true
		d.DisableChunking = !chunking
		c, err := d.Dial(context.Background(), addr)
		require.NoError(t, err)
		w, _, err := c.Transaction(context.Background(), "a@example.org", nil,
			[]Recipient{{Address: "b@example.com"}, {Address: "full@example.com"}, {Address: "c@example.com"}})
		require.NoError(t, err)
		io.WriteString(w, "hello\r\n")
		err = w.Close()
		var re *RecipientError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "full@example.com", re.Address)
		res := w.Results()
		assert.NoError(t, res[0].Err)
		assert.Error(t, res[1].Err)
		assert.NoError(t, res[2].Err)
		require.NoError(t, c.Quit(context.Background()))
	}
}

func TestClientServerLargeMessage(t *testing.T) {
	be := &testBackend{data: func(r io.Reader) (string, error) {
		n, err := io.Copy(io.Discard, r)
		return strings.Repeat("x", int(n/1000)), err
	}}
	addr := startServer(t, &Server{Backend: be, MaxMessageBytes: 3 << 20})
	for _, chunking := range []bool{true, false} {
		d := quietDialer(Plain)
		d.DisableChunking = !chunking
		c, err := d.Dial(context.Background(), addr)
		require.NoError(t, err)
		w, _, err := c.Transaction(context.Background(), "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
		require.NoError(t, err)
		line := bytes.Repeat([]byte("y"), 998)
		line = append(line, '\r', '\n')
		for i := 0; i < 2000; i++ { // 2 MB
			_, err := w.Write(line)
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())

		// Past the server's limit the message is refused with 552.
		w, _, err = c.Transaction(context.Background(), "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
		require.NoError(t, err)
		for i := 0; i < 4000; i++ {
			if _, err = w.Write(line); err != nil {
				break
			}
		}
		err = w.Close()
		var se *Error
		require.ErrorAs(t, err, &se, "chunking=%v", chunking)
		assert.Equal(t, 552, se.Code)
		require.NoError(t, c.Noop(context.Background()), "usable after the refusal")
		c.Close()
	}
	msgs := be.messages()
	require.NotEmpty(t, msgs)
	assert.Len(t, msgs[0].Data, 2000)
}

// TestStartTLSResponseInjection: bytes a server (or a man in the middle)
// sends after the 220 to STARTTLS are never read as replies inside TLS.
func TestStartTLSResponseInjection(t *testing.T) {
	addr := startFake(t, func(f *fakeConn) {
		if !greetFake(f, "STARTTLS", "PIPELINING") {
			return
		}
		f.expect("STARTTLS")
		f.send("220 2.0.0 go ahead", "250-injected.test", "250 AUTH PLAIN EVIL")
		tc := tls.Server(f.c, testcert.ServerTLS())
		if err := tc.Handshake(); err != nil {
			t.Errorf("fake server: handshake: %v", err)
			return
		}
		f.c = tc
		f.br.Reset(tc)
		if !f.expect("EHLO localhost") {
			return
		}
		f.send(ehloReply("SIZE 1000")...)
		f.expect("NOOP")
		f.send("250 2.0.0 ok")
	})
	d := quietDialer(StartTLSRequired)
	d.LocalName = ""
	c, err := d.Dial(context.Background(), addr)
	require.NoError(t, err)
	defer c.Close()
	caps := c.Capabilities()
	assert.Empty(t, caps.Auth, "injected capabilities ignored")
	assert.Equal(t, int64(1000), caps.Size)
	assert.False(t, caps.Pipelining, "capabilities from before TLS forgotten")
	require.NoError(t, c.Noop(context.Background()))
}

func TestClientServerContextDeadline(t *testing.T) {
	block := make(chan struct{})
	be := &testBackend{mail: func(string, *MailOptions) error { <-block; return nil }}
	addr := startServer(t, &Server{Backend: be})
	defer close(block)
	c, err := quietDialer(Plain).Dial(context.Background(), addr)
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = c.Transaction(ctx, "a@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, errors.Is(c.Noop(context.Background()), context.DeadlineExceeded), "broken")
}

func TestClientServerLMTPUnixSocket(t *testing.T) {
	tb := &testBackend{}
	srv := &Server{Backend: tb, Mode: ModeLMTP, Hostname: "lmtp.test", Logger: slog.New(slog.DiscardHandler)}
	path := t.TempDir() + "/lmtp.sock"
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })

	ctx := context.Background()
	c, err := DialLMTP(ctx, "unix", path)
	require.NoError(t, err)
	defer c.Close()
	w, _, err := c.Transaction(ctx, "", nil, []Recipient{{Address: "b@example.com"}})
	require.NoError(t, err)
	io.WriteString(w, "x\r\n")
	require.NoError(t, w.Close())
	require.NoError(t, c.Quit(ctx))
	msgs := tb.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "", msgs[0].From, "null reverse-path")
}

func TestClientServerSendMailPartial(t *testing.T) {
	be := &testBackend{rcpt: func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return ErrNoSuchUser
		}
		return nil
	}}
	addr := startServer(t, &Server{Backend: be})
	err := quietDialer(Plain).SendMail(context.Background(), addr, nil, "a@example.org",
		[]string{"b@example.com", "nobody@example.com"}, strings.NewReader("x\r\n"))
	var re *RecipientError
	require.ErrorAs(t, err, &re, "a refused recipient is reported")
	assert.Equal(t, "nobody@example.com", re.Address)
	assert.Contains(t, err.Error(), "smtp: recipient <nobody@example.com>: 550 5.1.1")
	require.Len(t, be.messages(), 1, "the message went to the others")
	assert.Equal(t, []string{"b@example.com"}, be.messages()[0].To)
}

func TestClientServerSend(t *testing.T) {
	tb := &testBackend{}
	lmtp := BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) {
		s, err := tb.NewSession(ctx, c)
		if err != nil {
			return nil, err
		}
		return &lmtpRcptSession{s.(*testSession)}, nil
	})
	for _, mode := range []Mode{ModeReceiver, ModeLMTP} {
		addr := startServer(t, &Server{Backend: lmtp, Mode: mode})
		for _, chunking := range []bool{true, false} {
			d := quietDialer(Plain)
			d.LMTP = mode == ModeLMTP
			d.DisableChunking = !chunking
			d.ChunkSize = 100
			c, err := d.Dial(context.Background(), addr)
			require.NoError(t, err)
			body := strings.Repeat("a line of the message\n", 20)
			res, err := c.Send(context.Background(), "a@example.org", nil,
				[]Recipient{{Address: "b@example.com"}, {Address: "full@example.com"}}, strings.NewReader(body))
			if mode == ModeLMTP {
				var re *RecipientError
				require.ErrorAs(t, err, &re, "chunking %v", chunking)
				assert.Equal(t, "full@example.com", re.Address)
				assert.NoError(t, res[0].Err)
				assert.Error(t, res[1].Err)
			} else {
				require.NoError(t, err)
			}
			require.NoError(t, c.Quit(context.Background()))
		}
	}
	msgs := tb.messages()
	require.Len(t, msgs, 4)
	for _, m := range msgs {
		assert.Equal(t, strings.Repeat("a line of the message\r\n", 20), m.Data)
	}
}
