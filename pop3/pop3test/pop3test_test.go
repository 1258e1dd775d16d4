package pop3test_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/posthorn/posthorn/pop3"
	"github.com/posthorn/posthorn/pop3/pop3test"
)

const msg = "Subject: hi\r\n\r\nbody\r\n"

func TestServerModes(t *testing.T) {
	for name, opts := range map[string]*pop3test.Options{
		"plain":    {Messages: []string{msg}},
		"stls":     {Messages: []string{msg}, TLS: true},
		"implicit": {Messages: []string{msg}, ImplicitTLS: true},
		"user":     {Messages: []string{msg}, User: "jim", Password: "pw"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := pop3test.NewServer(t, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := srv.Dialer().Dial(ctx, srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(ctx, srv.User, srv.Password); err != nil {
				t.Fatal(err)
			}
			r, err := c.Retr(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			if string(b) != msg {
				t.Fatalf("Retr = %q", b)
			}
			c.Dele(ctx, 1)
			if err := c.Quit(ctx); err != nil {
				t.Fatal(err)
			}
			if n := srv.Count(t); n != 0 {
				t.Fatalf("%d messages after DELE and QUIT", n)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	srv := pop3test.NewServer(t, &pop3test.Options{Configure: func(s *pop3.Server) { s.Expire = "NEVER" }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := srv.Dialer().Dial(ctx, srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Capabilities()["EXPIRE"]; len(got) != 1 || got[0] != "NEVER" {
		t.Fatalf("EXPIRE = %q", got)
	}
}
