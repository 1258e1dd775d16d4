package smtp

// Interop with a real Postfix (Debian package postfix) on loopback for
// STARTTLS and AUTH, with Dovecot (dovecot-core) as its SASL backend: a
// private instance from testpeer.StartPostfix. Postfix's master must run
// as root.

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startPostfix runs a private Postfix with Dovecot SASL (user "alice",
// password "s3cret") and returns its address.
func startPostfix(t *testing.T) string {
	return testpeer.StartPostfix(t, testpeer.PostfixOptions{Users: map[string]string{"alice": "s3cret"}}).Addr
}

func TestPostfixStartTLSAuth(t *testing.T) {
	addr := startPostfix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Without TLS Postfix offers no AUTH (smtpd_tls_auth_only) and refuses
	// to relay.
	c, err := quietDialer(Plain).Dial(ctx, addr)
	require.NoError(t, err)
	caps := c.Capabilities()
	assert.True(t, caps.StartTLS)
	assert.Empty(t, caps.Auth)
	assert.ErrorIs(t, c.Login(ctx, "alice", "s3cret"), ErrUnsupported)
	_, _, err = c.Transaction(ctx, "alice@example.org", nil, []Recipient{{Address: "b@example.com"}})
	require.ErrorIs(t, err, ErrNoRecipients)
	var se *Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 554, se.Code, "relay access denied")
	require.NoError(t, c.Quit(ctx))

	for _, chunking := range []bool{true, false} {
		d := quietDialer(StartTLSRequired)
		d.DisableChunking = !chunking
		c, err := d.Dial(ctx, addr)
		require.NoError(t, err)
		require.NotNil(t, c.TLSConnectionState())
		caps := c.Capabilities()
		assert.True(t, caps.Pipelining && caps.EnhancedStatusCodes && caps.DSN && caps.EightBitMIME)
		assert.Equal(t, chunking, caps.Chunking && !d.DisableChunking)
		assert.True(t, caps.HasAuth("PLAIN") && caps.HasAuth("LOGIN"))

		if chunking {
			require.NoError(t, c.Login(ctx, "alice", "s3cret"))
			assert.Equal(t, "PLAIN", c.Mechanism())
		} else {
			require.NoError(t, c.Auth(ctx, LoginAuth("alice", "s3cret")))
		}
		w, res, err := c.Transaction(ctx, "alice@example.org", &MailOptions{Return: DSNReturnHeaders, EnvelopeID: "id 1"},
			[]Recipient{{Address: "b@example.com", Options: &RcptOptions{Notify: []DSNNotify{DSNNotifyFailure}}}, {Address: "c@example.net"}})
		require.NoError(t, err)
		for _, r := range res {
			assert.NoError(t, r.Err)
		}
		_, err = io.WriteString(w, "Subject: via postfix\n\n.dot\nbody\n")
		require.NoError(t, err)
		require.NoError(t, w.Close())
		assert.Contains(t, w.Reply().Message(), "queued as")
		require.NoError(t, c.Quit(ctx))
	}

	err = quietDialer(StartTLSRequired).SendMail(ctx, addr, &Credentials{Username: "alice", Password: "s3cret"},
		"alice@example.org", []string{"b@example.com"}, bytes.NewReader([]byte("Subject: x\r\n\r\nhi\r\n")))
	require.NoError(t, err)

	// Last, as Dovecot slows down logins from an address after a failure.
	err = quietDialer(StartTLSRequired).SendMail(ctx, addr, &Credentials{Username: "alice", Password: "wrong"},
		"alice@example.org", []string{"b@example.com"}, bytes.NewReader([]byte("x\r\n")))
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 535, se.Code)
	assert.Equal(t, EnhancedCode{5, 7, 8}, se.EnhancedCode)
}
