package sasl

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"time"
)

type cramServer struct {
	f         SecretFunc
	hostname  string
	rand      io.Reader        // nil → crypto/rand; tests set it
	now       func() time.Time // nil → time.Now; tests set it
	step      int
	challenge []byte
	id        Identity
}

// NewCRAMMD5Server returns the server side of CRAM-MD5 (RFC 2195). The
// challenge is "<random.time@hostname>"; hostname "" → "localhost". f returns
// the user's plaintext-equivalent secret.
func NewCRAMMD5Server(f SecretFunc, hostname string) Server {
	if hostname == "" {
		hostname = "localhost"
	}
	return &cramServer{f: f, hostname: hostname}
}

func (s *cramServer) Identity() Identity { return s.id }

func (s *cramServer) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		s.step = 2
		if resp != nil { // RFC 2195 has no initial response
			return nil, false, &Error{Mech: "CRAM-MD5", Reason: "initial response not allowed"}
		}
		r, err := randomBytes(s.rand, 8)
		if err != nil {
			return nil, false, err
		}
		now := time.Now
		if s.now != nil {
			now = s.now
		}
		s.challenge = fmt.Appendf(nil, "<%s.%d@%s>", new(big.Int).SetBytes(r), now().Unix(), s.hostname)
		s.step = 1
		return s.challenge, false, nil
	case 1:
		s.step = 2
		user, digest, err := parseCRAM(resp)
		if err != nil {
			return nil, false, err
		}
		secret, err := s.f(ctx, user)
		if err != nil {
			return nil, false, err
		}
		want := cramDigest(secret, s.challenge)
		if !hmac.Equal(want, digest) {
			return nil, false, ErrAuthFailed
		}
		s.id = Identity{Username: user}
		return nil, true, nil
	}
	return nil, false, errFinished("CRAM-MD5")
}

// parseCRAM splits "user SP digest", the digest being 32 lowercase hex
// digits.
func parseCRAM(resp []byte) (string, []byte, error) {
	i := bytes.LastIndexByte(resp, ' ')
	if i <= 0 || len(resp)-i-1 != 32 || i > maxPlainField {
		return "", nil, &Error{Mech: "CRAM-MD5", Reason: "want user SP 32 hex digits"}
	}
	d := resp[i+1:]
	for _, c := range d {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", nil, &Error{Mech: "CRAM-MD5", Reason: "digest not lowercase hex"}
		}
	}
	return string(resp[:i]), d, nil
}

// cramDigest returns the lowercase hex HMAC-MD5 of challenge keyed by secret.
func cramDigest(secret string, challenge []byte) []byte {
	m := hmac.New(md5.New, []byte(secret))
	m.Write(challenge)
	return hex.AppendEncode(nil, m.Sum(nil))
}

type cramClient struct {
	user, secret string
	done         bool
}

// NewCRAMMD5Client returns the client side of CRAM-MD5.
func NewCRAMMD5Client(user, secret string) Client { return &cramClient{user: user, secret: secret} }

func (c *cramClient) Start() (string, []byte, error) { return "CRAM-MD5", nil, nil }

func (c *cramClient) Next(challenge []byte) ([]byte, error) {
	if c.done {
		return nil, ErrUnexpectedChallenge
	}
	c.done = true
	resp := append([]byte(c.user), ' ')
	return append(resp, cramDigest(c.secret, challenge)...), nil
}
