package sasl

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"
)

// exchange runs c against s as a protocol layer would. With useIR false the
// initial response is held back and sent after the server's first
// challenge, as when the protocol has no SASL-IR.
func exchange(c Client, s Server, useIR bool) (Identity, error) {
	ctx := context.Background()
	mech, ir, err := c.Start()
	if err != nil {
		return Identity{}, err
	}
	resp := ir
	if !useIR && ir != nil {
		chal, done, err := s.Next(ctx, nil)
		if err != nil || done || len(chal) != 0 {
			return Identity{}, fmt.Errorf("%s: first challenge %q done=%v err=%v", mech, chal, done, err)
		}
	}
	for range 10 {
		chal, done, err := s.Next(ctx, resp)
		if err != nil {
			return Identity{}, err
		}
		if done {
			if chal != nil {
				return Identity{}, fmt.Errorf("%s: data with success", mech)
			}
			return s.(Identifier).Identity(), nil
		}
		if resp, err = c.Next(chal); err != nil {
			return Identity{}, err
		}
	}
	return Identity{}, fmt.Errorf("%s: exchange does not end", mech)
}

var errBackend = errors.New("backend down")

func passwords(ctx context.Context, authzid, user, pass string) error {
	switch {
	case user == "down":
		return errBackend
	case user == "alice" && pass == "wonder land" && (authzid == "" || authzid == "bob"):
		return nil
	}
	return ErrAuthFailed
}

func secrets(ctx context.Context, user string) (string, error) {
	switch user {
	case "alice", "a,l=ice":
		return "wonder land", nil
	case "down":
		return "", errBackend
	}
	return "", ErrAuthFailed
}

func tokens(ctx context.Context, authzid, user, token string) error {
	if user == "down" {
		return errBackend
	}
	if user == "alice" && token == "ya29.tok" {
		return nil
	}
	return ErrAuthFailed
}

func TestRoundTrips(t *testing.T) {
	type pair struct {
		name   string
		client func(user, pass string) Client
		server func() Server
	}
	pairs := []pair{
		{"PLAIN", func(u, p string) Client { return NewPlainClient("", u, p) }, func() Server { return NewPlainServer(passwords) }},
		{"PLAIN authzid", func(u, p string) Client { return NewPlainClient("bob", u, p) }, func() Server { return NewPlainServer(passwords) }},
		{"LOGIN", NewLoginClient, func() Server { return NewLoginServer(passwords) }},
		{"CRAM-MD5", NewCRAMMD5Client, func() Server { return NewCRAMMD5Server(secrets, "mx.example") }},
		{"SCRAM-SHA-256", func(u, p string) Client { return NewSCRAMSHA256Client("", u, p) }, func() Server { return NewSCRAMSHA256Server(secrets) }},
		{"SCRAM-SHA-256 stored keys", func(u, p string) Client { return NewSCRAMSHA256Client("", u, p) }, func() Server {
			return NewSCRAMSHA256CredentialsServer(func(ctx context.Context, user string) (SCRAMCredentials, error) {
				secret, err := secrets(ctx, user)
				if err != nil {
					return SCRAMCredentials{}, err
				}
				return NewSCRAMSHA256Credentials(secret, []byte("salty"), 4096), nil
			})
		}},
		{"XOAUTH2", NewXOAuth2Client, func() Server { return NewXOAuth2Server(tokens) }},
		{"OAUTHBEARER", func(u, p string) Client { return NewOAuthBearerClient(u, p, "mail.example", 993) }, func() Server { return NewOAuthBearerServer(tokens) }},
		{"OAUTHBEARER no host", func(u, p string) Client { return NewOAuthBearerClient(u, p, "", 0) }, func() Server { return NewOAuthBearerServer(tokens) }},
	}
	for _, p := range pairs {
		good := "wonder land"
		if p.name[0] == 'X' || p.name[0] == 'O' {
			good = "ya29.tok"
		}
		for _, useIR := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/ir=%v", p.name, useIR), func(t *testing.T) {
				id, err := exchange(p.client("alice", good), p.server(), useIR)
				if err != nil {
					t.Fatalf("good credentials: %v", err)
				}
				if id.Username != "alice" {
					t.Errorf("identity %+v", id)
				}
				if p.name == "PLAIN authzid" && id.Authzid != "bob" {
					t.Errorf("authzid %q", id.Authzid)
				}
				if _, err := exchange(p.client("alice", good+"x"), p.server(), useIR); !errors.Is(err, ErrAuthFailed) {
					t.Errorf("wrong secret: %v, want ErrAuthFailed", err)
				}
				if _, err := exchange(p.client("mallory", good), p.server(), useIR); !errors.Is(err, ErrAuthFailed) {
					t.Errorf("unknown user: %v, want ErrAuthFailed", err)
				}
				if _, err := exchange(p.client("down", good), p.server(), useIR); !errors.Is(err, errBackend) {
					t.Errorf("backend error: %v, want it passed through", err)
				}
			})
		}
	}
}

func TestSCRAMAuthzidAndEscapedName(t *testing.T) {
	id, err := exchange(NewSCRAMSHA256Client("b=o,b", "a,l=ice", "wonder land"), NewSCRAMSHA256Server(secrets), true)
	if err != nil {
		t.Fatal(err)
	}
	if id != (Identity{Authzid: "b=o,b", Username: "a,l=ice"}) {
		t.Fatalf("identity %+v", id)
	}
}

func TestPlainRFC4616(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Identity
		pass string
	}{
		{"\x00tim\x00tanstaaftanstaaf", Identity{Username: "tim"}, "tanstaaftanstaaf"},
		{"Ursel\x00Kurt\x00xipj3plmq", Identity{Authzid: "Ursel", Username: "Kurt"}, "xipj3plmq"},
	} {
		var got [3]string
		s := NewPlainServer(func(ctx context.Context, authzid, user, pass string) error {
			got = [3]string{authzid, user, pass}
			return nil
		})
		_, done, err := s.Next(context.Background(), []byte(tc.msg))
		if err != nil || !done {
			t.Fatalf("%q: done=%v err=%v", tc.msg, done, err)
		}
		if got != [3]string{tc.want.Authzid, tc.want.Username, tc.pass} || s.(Identifier).Identity() != tc.want {
			t.Errorf("%q: got %q", tc.msg, got)
		}
		_, ir, _ := NewPlainClient(tc.want.Authzid, tc.want.Username, tc.pass).Start()
		if string(ir) != tc.msg {
			t.Errorf("client sent %q, want %q", ir, tc.msg)
		}
	}
}

func TestCRAMMD5RFC2195(t *testing.T) {
	s := NewCRAMMD5Server(func(ctx context.Context, user string) (string, error) {
		if user != "tim" {
			return "", ErrAuthFailed
		}
		return "tanstaaftanstaaf", nil
	}, "postoffice.reston.mci.net").(*cramServer)
	s.rand = bytes.NewReader([]byte{0, 0, 0, 0, 0, 0, 0x07, 0x68}) // 1896
	s.now = func() time.Time { return time.Unix(697170952, 0) }
	chal, _, err := s.Next(context.Background(), nil)
	if err != nil || string(chal) != "<1896.697170952@postoffice.reston.mci.net>" {
		t.Fatalf("challenge %q %v", chal, err)
	}
	resp, _ := NewCRAMMD5Client("tim", "tanstaaftanstaaf").Next(chal)
	if string(resp) != "tim b913a602c7eda7a495b4e6e7334d3890" {
		t.Fatalf("client response %q", resp)
	}
	if _, done, err := s.Next(context.Background(), resp); !done || err != nil {
		t.Fatalf("server: done=%v err=%v", done, err)
	}
}

func TestSCRAMSHA256RFC7677(t *testing.T) {
	const (
		clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
		serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
		clientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
		serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
	)
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	c := NewSCRAMSHA256Client("", "user", "pencil").(*scramClient)
	c.fixedNonce = "rOprNGfwEbeRWgbNEkqO"
	s := NewSCRAMSHA256CredentialsServer(func(ctx context.Context, user string) (SCRAMCredentials, error) {
		if user != "user" {
			return SCRAMCredentials{}, ErrAuthFailed
		}
		return NewSCRAMSHA256Credentials("pencil", salt, 4096), nil
	}).(*scramServer)
	s.fixedNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	ctx := context.Background()

	_, ir, _ := c.Start()
	if string(ir) != clientFirst {
		t.Fatalf("client-first %q", ir)
	}
	chal, _, err := s.Next(ctx, ir)
	if err != nil || string(chal) != serverFirst {
		t.Fatalf("server-first %q %v", chal, err)
	}
	resp, err := c.Next(chal)
	if err != nil || string(resp) != clientFinal {
		t.Fatalf("client-final %q %v", resp, err)
	}
	chal, done, err := s.Next(ctx, resp)
	if err != nil || done || string(chal) != serverFinal {
		t.Fatalf("server-final %q done=%v %v", chal, done, err)
	}
	resp, err = c.Next(chal)
	if err != nil || len(resp) != 0 {
		t.Fatalf("client after server-final %q %v", resp, err)
	}
	if _, done, err := s.Next(ctx, resp); !done || err != nil {
		t.Fatalf("end: done=%v %v", done, err)
	}
}

func TestSCRAMClientRejectsForgedServer(t *testing.T) {
	c := NewSCRAMSHA256Client("", "user", "pencil").(*scramClient)
	c.fixedNonce = "abc"
	c.Start()
	for _, sf := range []string{
		"r=xyz123,s=c2FsdA==,i=4096", // nonce not extending ours
		"r=abc,s=c2FsdA==,i=4096",    // nonce not extended
		"r=abcd,s=c2FsdA==,i=1",      // too few iterations
		"r=abcd,s=c2FsdA==,i=9999999999",
		"r=abcd,s=!!,i=4096",
		"garbage",
	} {
		c2 := *c
		if _, err := c2.Next([]byte(sf)); !errors.Is(err, ErrMalformed) {
			t.Errorf("server-first %q: %v", sf, err)
		}
	}
	if _, err := c.Next([]byte("r=abcd,s=c2FsdA==,i=4096")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next([]byte("v=" + base64.StdEncoding.EncodeToString(make([]byte, 32)))); err == nil {
		t.Fatal("forged server signature accepted")
	}
}

func TestSCRAMGS2Flags(t *testing.T) {
	ctx := context.Background()
	// "y": the client supports channel binding but thinks we do not; we
	// offer no -PLUS, so it is fine, and c= must carry "y,,".
	for _, tc := range []struct {
		first, cbind string
		ok           bool
	}{
		{"y,,n=alice,r=abc", "eSws", true},
		{"y,,n=alice,r=abc", "biws", false}, // c= must match the header sent
		{"n,,n=alice,r=abc", "eSws", false},
		{"p=tls-unique,,n=alice,r=abc", "", false},
		{"n,,m=ext,n=alice,r=abc", "", false},
		{"x,,n=alice,r=abc", "", false},
	} {
		s := NewSCRAMSHA256Server(secrets)
		c := NewSCRAMSHA256Client("", "alice", "wonder land").(*scramClient)
		c.fixedNonce = "abc"
		c.Start()
		c.gs2 = tc.first[:3]
		chal, _, err := s.Next(ctx, []byte(tc.first))
		if err != nil {
			if tc.ok {
				t.Errorf("%q: %v", tc.first, err)
			} else if !errors.Is(err, ErrMalformed) {
				t.Errorf("%q: %v, want ErrMalformed", tc.first, err)
			}
			continue
		}
		resp, err := c.Next(chal)
		if err != nil {
			t.Fatal(err)
		}
		sent := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2))
		resp = bytes.Replace(resp, []byte(sent), []byte("c="+tc.cbind), 1)
		_, _, err = s.Next(ctx, resp)
		if (err == nil) != tc.ok {
			t.Errorf("%q with c=%s: %v", tc.first, tc.cbind, err)
		}
	}
}

func TestSCRAMUnknownUserLooksNormal(t *testing.T) {
	s := NewSCRAMSHA256Server(secrets)
	chal, _, err := s.Next(context.Background(), []byte("n,,n=mallory,r=abc"))
	if err != nil || !bytes.HasPrefix(chal, []byte("r=abc")) {
		t.Fatalf("unknown user revealed at client-first: %q %v", chal, err)
	}
}

func TestOAuthFailureChallenge(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		s   Server
		c   Client
		ack []byte
	}{
		{NewXOAuth2Server(tokens), NewXOAuth2Client("alice", "bad"), []byte{}},
		{NewOAuthBearerServer(tokens), NewOAuthBearerClient("alice", "bad", "h", 1), []byte{1}},
	} {
		_, ir, _ := tc.c.Start()
		chal, done, err := tc.s.Next(ctx, ir)
		if err != nil || done || !bytes.Contains(chal, []byte(`"status"`)) {
			t.Fatalf("failure challenge %q done=%v %v", chal, done, err)
		}
		resp, err := tc.c.Next(chal)
		if err != nil || !bytes.Equal(resp, tc.ack) {
			t.Fatalf("client ack %q %v", resp, err)
		}
		if _, _, err := tc.s.Next(ctx, resp); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("after ack: %v", err)
		}
	}
}

func TestMalformed(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		s     Server
		resps []string // the last one must fail with ErrMalformed
	}{
		{"plain two fields", NewPlainServer(passwords), []string{"alice\x00pw"}},
		{"plain empty", NewPlainServer(passwords), []string{""}},
		{"plain empty password", NewPlainServer(passwords), []string{"\x00alice\x00"}},
		{"plain four fields", NewPlainServer(passwords), []string{"a\x00b\x00c\x00d"}},
		{"plain long", NewPlainServer(passwords), []string{"\x00" + string(make([]byte, 300)) + "\x00x"}},
		{"plain bad utf8", NewPlainServer(passwords), []string{"\x00\xff\x00x"}},
		{"login empty user", NewLoginServer(passwords), []string{""}},
		{"login nul", NewLoginServer(passwords), []string{"a\x00b"}},
		{"cram ir", NewCRAMMD5Server(secrets, ""), []string{"x"}},
		{"scram garbage", NewSCRAMSHA256Server(secrets), []string{"hello"}},
		{"scram no nonce", NewSCRAMSHA256Server(secrets), []string{"n,,n=alice"}},
		{"scram bad escape", NewSCRAMSHA256Server(secrets), []string{"n,,n=al=ice,r=x"}},
		{"scram nonce with space", NewSCRAMSHA256Server(secrets), []string{"n,,n=alice,r=a b"}},
		{"xoauth2 no end", NewXOAuth2Server(tokens), []string{"user=alice\x01auth=Bearer x"}},
		{"xoauth2 basic", NewXOAuth2Server(tokens), []string{"user=alice\x01auth=Basic x\x01\x01"}},
		{"oauthbearer no gs2", NewOAuthBearerServer(tokens), []string{"auth=Bearer x\x01\x01"}},
		{"oauthbearer no user", NewOAuthBearerServer(tokens), []string{"n,,\x01auth=Bearer x\x01\x01"}},
		{"oauthbearer dup key", NewOAuthBearerServer(tokens), []string{"n,a=alice,\x01auth=Bearer x\x01auth=Bearer y\x01\x01"}},
	} {
		var err error
		for _, r := range tc.resps {
			_, _, err = tc.s.Next(ctx, []byte(r))
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
		var e *Error
		if errors.As(err, &e) && e.Error() == "" {
			t.Errorf("%s: empty message", tc.name)
		}
		if _, _, err := tc.s.Next(ctx, []byte("more")); err == nil {
			t.Errorf("%s: exchange continued after an error", tc.name)
		}
	}
	// SCRAM client-final errors.
	for _, final := range []string{"c=biws,r=x", "c=biws,r=WRONG,p=AAAA", "c=biws,r=NONCE,p=!!!", "c=Zm9v,r=NONCE,p=AAAA"} {
		s := NewSCRAMSHA256Server(secrets)
		chal, _, _ := s.Next(ctx, []byte("n,,n=alice,r=abc"))
		nonce := bytes.TrimPrefix(bytes.SplitN(chal, []byte(","), 2)[0], []byte("r="))
		msg := bytes.Replace([]byte(final), []byte("NONCE"), nonce, 1)
		if _, _, err := s.Next(ctx, msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("client-final %q: %v", final, err)
		}
	}
}

func TestClientsRefuseUnexpectedChallenges(t *testing.T) {
	for _, c := range []Client{NewPlainClient("", "a", "b"), NewCRAMMD5Client("a", "b"), NewLoginClient("a", "b"), NewXOAuth2Client("a", "b")} {
		var err error
		for range 3 {
			if _, err = c.Next([]byte("x")); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrUnexpectedChallenge) {
			t.Errorf("%T: %v", c, err)
		}
	}
	if _, _, err := NewPlainClient("", "a\x00", "b").Start(); err == nil {
		t.Error("PLAIN client sent a NUL inside a field")
	}
	if _, _, err := NewXOAuth2Client("a\x01", "b").Start(); err == nil {
		t.Error("XOAUTH2 client sent ^A inside a field")
	}
}
