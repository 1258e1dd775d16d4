package pop3

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/posthorn/posthorn/internal/testcert"
	"github.com/posthorn/posthorn/internal/testpeer"
)

// startDovecot starts a private POP3-only Dovecot with user sara
// (password "secret") whose INBOX holds msgs.
func startDovecot(t *testing.T, msgs ...string) *testpeer.DovecotInstance {
	d := testpeer.Dovecot(t, testpeer.DovecotOptions{POP3: true, TLS: true,
		Users:          map[string]string{"sara": "secret"},
		AuthMechanisms: "plain login cram-md5 scram-sha-256 apop"})
	d.Deliver(t, "sara", msgs...)
	return d
}

// TestClientAgainstDovecot runs every client command against Dovecot's
// POP3 server.
func TestClientAgainstDovecot(t *testing.T) {
	msgs := []string{msg1, msg2, "From: c@example.org\r\nSubject: three\r\n\r\n" + string(bytes.Repeat([]byte("long line "), 3000)) + "\r\n"}
	d := startDovecot(t, msgs...)
	ctx := testCtx(t)
	plain := &Dialer{Security: Plaintext}

	t.Run("read", func(t *testing.T) {
		c, err := plain.Dial(ctx, d.POP3Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, cp := range []string{"TOP", "UIDL", "SASL", "STLS", "PIPELINING", "RESP-CODES"} {
			if !c.Capabilities().Has(cp) {
				t.Errorf("CAPA lacks %s: %v", cp, c.Capabilities())
			}
		}
		var pe *Error
		if err := c.Login(ctx, "sara", "secret"); err != nil {
			t.Fatal(err)
		}
		n, size, err := c.Stat(ctx)
		total := 0
		for _, m := range msgs {
			total += len(m)
		}
		if err != nil || n != 3 || size != int64(total) {
			t.Fatalf("Stat = %d %d %v", n, size, err)
		}
		list, err := c.List(ctx)
		if err != nil || len(list) != 3 || list[2].Size != int64(len(msgs[2])) {
			t.Fatalf("List = %v %v", list, err)
		}
		if one, err := c.ListOne(ctx, 2); err != nil || one.Size != int64(len(msg2)) {
			t.Fatalf("ListOne = %v %v", one, err)
		}
		uids, err := c.UIDL(ctx)
		if err != nil || len(uids) != 3 {
			t.Fatalf("UIDL = %v %v", uids, err)
		}
		if u, err := c.UIDLOne(ctx, 3); err != nil || u != uids[2].UID {
			t.Fatalf("UIDLOne = %q %v", u, err)
		}
		for i, m := range msgs {
			r, err := c.Retr(ctx, i+1)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, r); got != m {
				t.Fatalf("Retr %d = %q", i+1, got)
			}
		}
		r, err := c.Top(ctx, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, r); got != "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n" {
			t.Fatalf("Top = %q", got)
		}
		if _, err := c.Retr(ctx, 9); !errors.As(err, &pe) {
			t.Fatalf("Retr 9: %v", err)
		}
		if err := c.Dele(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Rset(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Noop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("auth", func(t *testing.T) {
		for name, login := range map[string]func(c *Client) error{
			"PLAIN over STLS": func(c *Client) error { return c.Auth(ctx, PlainAuth("", "sara", "secret")) },
			"LOGIN":           func(c *Client) error { return c.Auth(ctx, LoginAuth("sara", "secret")) },
			"CRAM-MD5":        func(c *Client) error { return c.Auth(ctx, CRAMMD5Auth("sara", "secret")) },
			"SCRAM-SHA-256":   func(c *Client) error { return c.Auth(ctx, SCRAMSHA256Auth("", "sara", "secret")) },
			"APOP":            func(c *Client) error { return c.APOP(ctx, "sara", "secret") },
			"implicit TLS":    func(c *Client) error { return c.Login(ctx, "sara", "secret") },
		} {
			t.Run(name, func(t *testing.T) {
				var c *Client
				var err error
				switch name {
				case "PLAIN over STLS":
					c, err = (&Dialer{TLSConfig: testcert.ClientTLS()}).Dial(ctx, d.POP3Addr)
				case "implicit TLS":
					c, err = DialTLS(ctx, d.POP3SAddr, testcert.ClientTLS())
				default:
					c, err = plain.Dial(ctx, d.POP3Addr)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := login(c); err != nil {
					t.Fatal(err)
				}
				if n, _, err := c.Stat(ctx); err != nil || n != 3 {
					t.Fatalf("Stat = %d %v", n, err)
				}
				if err := c.Quit(ctx); err != nil {
					t.Fatal(err)
				}
			})
		}
	})

	t.Run("fetch and delete", func(t *testing.T) {
		c, err := plain.Dial(ctx, d.POP3Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(ctx, "sara", "secret"); err != nil {
			t.Fatal(err)
		}
		uids, _ := c.UIDL(ctx)
		var got []string
		_, err = c.FetchNew(ctx, func(u string) bool { return u == uids[0].UID }, &FetchOptions{Delete: true},
			func(m Fetched, body io.Reader) error {
				b, err := io.ReadAll(body)
				got = append(got, string(b))
				return err
			})
		if err != nil || len(got) != 2 || got[0] != msgs[1] || got[1] != msgs[2] {
			t.Fatalf("FetchNew: %v, %d messages", err, len(got))
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
		c2, err := plain.Dial(ctx, d.POP3Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		if err := c2.Login(ctx, "sara", "secret"); err != nil {
			t.Fatal(err)
		}
		if n, _, err := c2.Stat(ctx); err != nil || n != 1 {
			t.Fatalf("after fetch with delete: Stat = %d %v", n, err)
		}
		if u, _ := c2.UIDLOne(ctx, 1); u != uids[0].UID {
			t.Fatalf("the message left is %q, want %q", u, uids[0].UID)
		}
	})

	// Last: Dovecot slows down logins from an address after a failure.
	t.Run("wrong password", func(t *testing.T) {
		c, err := plain.Dial(ctx, d.POP3Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var pe *Error
		if err := c.Login(ctx, "sara", "wrong"); !errors.As(err, &pe) || pe.Code != CodeAuth {
			t.Fatalf("wrong password: %v", err)
		}
	})
}
