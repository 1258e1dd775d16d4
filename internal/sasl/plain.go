package sasl

import (
	"bytes"
	"context"
	"unicode/utf8"
)

// RFC 4616 §2: each of authzid, authcid and passwd is at most 255 octets.
const maxPlainField = 255

type plainServer struct {
	f    PasswordFunc
	step int // 0 before the message, 1 after an empty challenge, 2 finished
	id   Identity
}

// NewPlainServer returns the server side of PLAIN (RFC 4616). f checks the
// credentials.
func NewPlainServer(f PasswordFunc) Server { return &plainServer{f: f} }

func (s *plainServer) Identity() Identity { return s.id }

func (s *plainServer) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch {
	case s.step == 0 && resp == nil:
		s.step = 1
		return []byte{}, false, nil
	case s.step >= 2:
		return nil, false, errFinished("PLAIN")
	}
	s.step = 2
	authzid, user, pass, err := parsePlain(resp)
	if err != nil {
		return nil, false, err
	}
	if err := s.f(ctx, authzid, user, pass); err != nil {
		return nil, false, err
	}
	s.id = Identity{Authzid: authzid, Username: user}
	return nil, true, nil
}

// parsePlain splits a PLAIN message: [authzid] NUL authcid NUL passwd.
func parsePlain(msg []byte) (authzid, user, pass string, err error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return "", "", "", &Error{Mech: "PLAIN", Reason: "want authzid NUL authcid NUL passwd"}
	}
	for i, p := range parts {
		if len(p) > maxPlainField {
			return "", "", "", &Error{Mech: "PLAIN", Reason: "field longer than 255 octets"}
		}
		if !utf8.Valid(p) {
			return "", "", "", &Error{Mech: "PLAIN", Reason: "field not UTF-8"}
		}
		if i > 0 && len(p) == 0 {
			return "", "", "", &Error{Mech: "PLAIN", Reason: "empty authcid or passwd"}
		}
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

type plainClient struct{ authzid, user, pass string }

// NewPlainClient returns the client side of PLAIN. authzid may be empty.
func NewPlainClient(authzid, user, pass string) Client {
	return &plainClient{authzid, user, pass}
}

func (c *plainClient) Start() (string, []byte, error) {
	if bytes.IndexByte([]byte(c.authzid+c.user+c.pass), 0) >= 0 {
		return "", nil, &Error{Mech: "PLAIN", Reason: "NUL in credentials"}
	}
	msg := make([]byte, 0, len(c.authzid)+len(c.user)+len(c.pass)+2)
	msg = append(msg, c.authzid...)
	msg = append(msg, 0)
	msg = append(msg, c.user...)
	msg = append(msg, 0)
	msg = append(msg, c.pass...)
	return "PLAIN", msg, nil
}

func (c *plainClient) Next([]byte) ([]byte, error) { return nil, ErrUnexpectedChallenge }
