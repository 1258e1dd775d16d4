package imaptest_test

import (
	"crypto/tls"
	"testing"

	"github.com/posthorn/posthorn/imap/imaptest"
)

func TestTranscript(t *testing.T) {
	srv := imaptest.NewServer(t, nil)
	srv.Append(t, "test", "INBOX", "Subject: hi\r\n\r\nhello\r\n")
	c := srv.Dial(t)
	c.Run(
		"C: a LOGIN test test",
		"S: a OK *",
		"C: b SELECT INBOX",
		"S: * 1 EXISTS",
	)
	for {
		if line := c.ReadLine(); imaptest.Match("b OK *", line) {
			break
		}
	}
	c.Run(
		"C: c FETCH 1 BODY.PEEK[TEXT]",
		"S: * 1 FETCH (BODY[TEXT] {7}hello\r\n)",
		"S: c OK *",
	)
}

func TestTLSOptions(t *testing.T) {
	srv := imaptest.NewServer(t, &imaptest.Options{TLS: true, Users: map[string]string{"jim": "pw"}})
	c := srv.Dial(t)
	c.Run("C: a LOGIN jim pw", "S: a NO [PRIVACYREQUIRED] *", "C: b STARTTLS", "S: b OK *")
	var _ *tls.Config = srv.ClientTLSConfig()

	isrv := imaptest.NewServer(t, &imaptest.Options{ImplicitTLS: true})
	ic := isrv.Dial(t)
	ic.Run("C: a LOGIN test test", "S: a OK *")
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"a OK *", "a OK LOGIN completed", true},
		{"*", "", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"* 1 EXISTS", "* 2 EXISTS", false},
		{"x", "xy", false},
	} {
		if got := imaptest.Match(tc.p, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}
