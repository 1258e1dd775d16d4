package smtp

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientLoginChoosesMechanism(t *testing.T) {
	for _, tt := range []struct{ offer, want string }{
		{"AUTH LOGIN PLAIN CRAM-MD5", "AUTH PLAIN AHUAcA=="},
		{"AUTH CRAM-MD5 LOGIN", "AUTH LOGIN"},
		{"AUTH LOGIN PLAIN SCRAM-SHA-256", "AUTH SCRAM-SHA-256 biwsbj11LHI9"}, // "n,,n=u,r=" + nonce
	} {
		c := dialFake(t, plainDialer(), func(f *fakeConn) {
			if !greetFake(f, tt.offer) {
				return
			}
			if got := f.recv(); !strings.HasPrefix(got, tt.want) {
				f.t.Errorf("got %q, want prefix %q", got, tt.want)
			}
			f.send("535 5.7.8 bad credentials")
		})
		err := c.Login(context.Background(), "u", "p")
		var se *Error
		require.ErrorAs(t, err, &se, tt.offer)
		assert.Equal(t, 535, se.Code)
	}
	c := dialFake(t, plainDialer(), func(f *fakeConn) { greetFake(f, "AUTH CRAM-MD5"); f.recv() })
	assert.ErrorIs(t, c.Login(context.Background(), "u", "p"), ErrUnsupported, "CRAM-MD5 only when asked")
	assert.ErrorIs(t, c.LoginOAuth(context.Background(), "u", "t"), ErrUnsupported)
}

func TestClientLoginOAuth(t *testing.T) {
	for _, tt := range []struct{ offer, want string }{
		{"AUTH XOAUTH2 OAUTHBEARER", "AUTH OAUTHBEARER bixhPXUsAWhvc3Q9MTI3LjAuMC4xAXBvcnQ9"}, // "n,a=u,\x01host=127.0.0.1\x01port="
		{"AUTH PLAIN XOAUTH2", "AUTH XOAUTH2 dXNlcj11AWF1dGg9QmVhcmVyIHQBAQ=="},               // "user=u\x01auth=Bearer t\x01\x01"
	} {
		d := plainDialer()
		d.LocalName = "localhost"
		c := dialFake(t, d, func(f *fakeConn) {
			if !greetFake(f, tt.offer) {
				return
			}
			if got := f.recv(); !strings.HasPrefix(got, tt.want) {
				f.t.Errorf("got %q, want prefix %q", got, tt.want)
			}
			f.send("235 2.7.0 ok")
		})
		require.NoError(t, (&OAuthToken{Username: "u", Token: "t"}).Authenticate(context.Background(), c))
	}
}
