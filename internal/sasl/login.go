package sasl

import (
	"context"
	"unicode/utf8"
)

type loginServer struct {
	f    PasswordFunc
	step int // 0 start, 1 asked for username, 2 asked for password, 3 finished
	user string
	id   Identity
}

// NewLoginServer returns the server side of LOGIN
// (draft-murchison-sasl-login): "Username:" and "Password:" challenges. A
// username sent as the initial response is accepted.
func NewLoginServer(f PasswordFunc) Server { return &loginServer{f: f} }

func (s *loginServer) Identity() Identity { return s.id }

func (s *loginServer) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if resp == nil {
			s.step = 1
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		if err := checkLoginField(resp); err != nil {
			s.step = 3
			return nil, false, err
		}
		s.user = string(resp)
		s.step = 2
		return []byte("Password:"), false, nil
	case 2:
		s.step = 3
		if err := checkLoginField(resp); err != nil {
			return nil, false, err
		}
		if err := s.f(ctx, "", s.user, string(resp)); err != nil {
			return nil, false, err
		}
		s.id = Identity{Username: s.user}
		return nil, true, nil
	}
	return nil, false, errFinished("LOGIN")
}

func checkLoginField(b []byte) error {
	if len(b) == 0 || len(b) > maxPlainField || !utf8.Valid(b) {
		return &Error{Mech: "LOGIN", Reason: "empty, too long or not UTF-8"}
	}
	for _, c := range b {
		if c == 0 {
			return &Error{Mech: "LOGIN", Reason: "NUL in field"}
		}
	}
	return nil
}

type loginClient struct {
	user, pass string
	step       int
}

// NewLoginClient returns the client side of LOGIN. It answers the first
// challenge with the username and the second with the password, whatever
// their text.
func NewLoginClient(user, pass string) Client { return &loginClient{user: user, pass: pass} }

func (c *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (c *loginClient) Next([]byte) ([]byte, error) {
	c.step++
	switch c.step {
	case 1:
		return []byte(c.user), nil
	case 2:
		return []byte(c.pass), nil
	}
	return nil, ErrUnexpectedChallenge
}
