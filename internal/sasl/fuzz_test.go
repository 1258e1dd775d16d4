package sasl

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// checkErr fails unless err is nil or one of the documented kinds.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("undocumented error %v", err)
	}
}

func FuzzPlainServer(f *testing.F) {
	f.Add([]byte("\x00tim\x00tanstaaftanstaaf"))
	f.Add([]byte("Ursel\x00Kurt\x00xipj3plmq"))
	f.Add([]byte("a\x00\x00"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var got [3]string
		s := NewPlainServer(func(ctx context.Context, authzid, user, pass string) error {
			got = [3]string{authzid, user, pass}
			return nil
		})
		_, done, err := s.Next(context.Background(), msg)
		checkErr(t, err)
		if !done {
			return
		}
		// Accepted: the client encodes the same fields back to msg.
		_, ir, err := NewPlainClient(got[0], got[1], got[2]).Start()
		if err != nil || !bytes.Equal(ir, msg) {
			t.Fatalf("%q parsed as %q, re-encoded as %q (%v)", msg, got, ir, err)
		}
	})
}

func FuzzLoginServer(f *testing.F) {
	f.Add([]byte("alice"), []byte("secret"), true)
	f.Add([]byte(""), []byte("x\x00"), false)
	f.Fuzz(func(t *testing.T, user, pass []byte, ir bool) {
		var got [2]string
		s := NewLoginServer(func(ctx context.Context, _, u, p string) error {
			got = [2]string{u, p}
			return nil
		})
		ctx := context.Background()
		if !ir {
			if chal, _, err := s.Next(ctx, nil); string(chal) != "Username:" || err != nil {
				t.Fatalf("first challenge %q %v", chal, err)
			}
		}
		_, _, err := s.Next(ctx, user)
		checkErr(t, err)
		if err != nil {
			return
		}
		_, done, err := s.Next(ctx, pass)
		checkErr(t, err)
		if done && got != [2]string{string(user), string(pass)} {
			t.Fatalf("sent %q %q, server saw %q", user, pass, got)
		}
	})
}

func FuzzCRAMMD5Server(f *testing.F) {
	f.Add([]byte("tim b913a602c7eda7a495b4e6e7334d3890"))
	f.Add([]byte("a b c 0123456789abcdef0123456789abcdef"))
	f.Add([]byte(" "))
	f.Fuzz(func(t *testing.T, resp []byte) {
		s := NewCRAMMD5Server(func(ctx context.Context, user string) (string, error) { return "tanstaaf", nil }, "h")
		chal, _, err := s.Next(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, done, err := s.Next(context.Background(), resp)
		checkErr(t, err)
		if done {
			user := s.(Identifier).Identity().Username
			want, _ := NewCRAMMD5Client(user, "tanstaaf").Next(chal)
			if !bytes.Equal(resp, want) {
				t.Fatalf("accepted %q, the right answer is %q", resp, want)
			}
		}
	})
}

func FuzzSCRAMServer(f *testing.F) {
	f.Add([]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"), []byte("c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	f.Add([]byte("y,a=x=2Cy,n=u=3D,r=n,e=1"), []byte("c=eSws,r=n,x=1,p=AAAA"))
	f.Fuzz(func(t *testing.T, first, final []byte) {
		s := NewSCRAMSHA256CredentialsServer(func(ctx context.Context, user string) (SCRAMCredentials, error) {
			return SCRAMCredentials{Salt: []byte("s"), Iterations: 1, StoredKey: make([]byte, 32), ServerKey: make([]byte, 32)}, nil
		})
		ctx := context.Background()
		chal, _, err := s.Next(ctx, first)
		checkErr(t, err)
		if err != nil {
			return
		}
		// Accepted client-first: the username and nonce re-encode to what
		// was sent.
		ss := s.(*scramServer)
		if !strings.HasPrefix(ss.clientFirst, "n="+encodeSaslname(ss.user)+",r=") {
			t.Fatalf("client-first %q parsed as user %q", ss.clientFirst, ss.user)
		}
		if !bytes.HasPrefix(chal, []byte("r=")) {
			t.Fatalf("server-first %q", chal)
		}
		// The server part of the nonce is random, so no fuzzed proof can
		// be accepted.
		_, done, err := s.Next(ctx, final)
		checkErr(t, err)
		if done || (err == nil && !bytes.Contains(final, []byte(ss.nonce))) {
			t.Fatalf("client-final %q accepted", final)
		}
	})
}

func FuzzSCRAMRoundTrip(f *testing.F) {
	f.Add("user", "pencil", "")
	f.Add("a,b=c", "päss\u00a0word", "z=,")
	f.Fuzz(func(t *testing.T, user, pass, authzid string) {
		if user == "" || len(user) > maxPlainField || len(authzid) > maxPlainField {
			return
		}
		s := NewSCRAMSHA256CredentialsServer(func(ctx context.Context, u string) (SCRAMCredentials, error) {
			if u != user {
				t.Fatalf("server saw user %q, client sent %q", u, user)
			}
			return NewSCRAMSHA256Credentials(pass, []byte("salt"), minSCRAMIterations), nil
		})
		id, err := exchange(NewSCRAMSHA256Client(authzid, user, pass), s, true)
		if err != nil {
			if errors.Is(err, ErrMalformed) && !validNonce(user) {
				return // e.g. a NUL in the name
			}
			t.Fatalf("user %q pass %q: %v", user, pass, err)
		}
		if id != (Identity{Authzid: authzid, Username: user}) {
			t.Fatalf("identity %+v", id)
		}
	})
}

func FuzzOAuthServer(f *testing.F) {
	f.Add([]byte("user=alice\x01auth=Bearer ya29\x01\x01"), false)
	f.Add([]byte("n,a=alice,\x01host=h\x01port=1\x01auth=Bearer t\x01\x01"), true)
	f.Add([]byte("y,a=a=2Cb,\x01auth=bearer t\x01\x01"), true)
	f.Fuzz(func(t *testing.T, msg []byte, bearer bool) {
		var got [2]string
		tf := func(ctx context.Context, _, user, token string) error {
			got = [2]string{user, token}
			return nil
		}
		s, c := NewXOAuth2Server(tf), func(u, tok string) Client { return NewXOAuth2Client(u, tok) }
		if bearer {
			s, c = NewOAuthBearerServer(tf), func(u, tok string) Client { return NewOAuthBearerClient(u, tok, "", 0) }
		}
		_, done, err := s.Next(context.Background(), msg)
		checkErr(t, err)
		if !done {
			return
		}
		// Accepted: what the client builds from the parsed fields parses
		// to the same fields.
		first := got
		_, ir, err := c(got[0], got[1]).Start()
		if err != nil {
			t.Fatalf("parsed %q from %q, client refuses it: %v", got, msg, err)
		}
		s2 := NewXOAuth2Server(tf)
		if bearer {
			s2 = NewOAuthBearerServer(tf)
		}
		if _, done, err := s2.Next(context.Background(), ir); !done || err != nil || got != first {
			t.Fatalf("%q → %q → %q → %q (%v)", msg, first, ir, got, err)
		}
	})
}
