package sasl

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Error challenges sent when a token is refused. The client answers with an
// empty response (XOAUTH2) or "\x01" (OAUTHBEARER, RFC 7628 §3.2.3), and the
// exchange then fails.
var (
	xoauth2Failure     = []byte(`{"status":"401","schemes":"bearer"}`)
	oauthBearerFailure = []byte(`{"status":"invalid_token"}`)
)

type oauthServer struct {
	f      TokenFunc
	bearer bool // OAUTHBEARER rather than XOAUTH2
	step   int  // 0 start, 1 asked for the message, 2 sent the error, 3 finished
	err    error
	id     Identity
}

// NewXOAuth2Server returns the server side of XOAUTH2, the mechanism Google
// and Microsoft document: "user=" user ^A "auth=Bearer " token ^A ^A.
func NewXOAuth2Server(f TokenFunc) Server { return &oauthServer{f: f} }

// NewOAuthBearerServer returns the server side of OAUTHBEARER (RFC 7628).
// The gs2 authzid ("a=") names the user; the TokenFunc gets it as username,
// with an empty authzid.
func NewOAuthBearerServer(f TokenFunc) Server { return &oauthServer{f: f, bearer: true} }

func (s *oauthServer) Identity() Identity { return s.id }

func (s *oauthServer) mech() string {
	if s.bearer {
		return "OAUTHBEARER"
	}
	return "XOAUTH2"
}

func (s *oauthServer) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if resp == nil {
			s.step = 1
			return []byte{}, false, nil
		}
		fallthrough
	case 1:
		s.step = 3
		var user, token string
		var err error
		if s.bearer {
			user, token, err = parseOAuthBearer(string(resp))
		} else {
			user, token, err = parseXOAuth2(string(resp))
		}
		if err != nil {
			return nil, false, err
		}
		if err := s.f(ctx, "", user, token); err != nil {
			if !errors.Is(err, ErrAuthFailed) {
				return nil, false, err
			}
			// RFC 7628 §3.2.2: report the failure in a challenge; the
			// client acknowledges it and the exchange fails.
			s.err, s.step = err, 2
			if s.bearer {
				return oauthBearerFailure, false, nil
			}
			return xoauth2Failure, false, nil
		}
		s.id = Identity{Username: user}
		return nil, true, nil
	case 2:
		s.step = 3
		return nil, false, s.err
	}
	return nil, false, errFinished(s.mech())
}

// parseXOAuth2 splits "user=" user ^A "auth=Bearer " token ^A ^A.
func parseXOAuth2(msg string) (user, token string, err error) {
	body, ok := strings.CutSuffix(msg, "\x01\x01")
	if !ok {
		return "", "", &Error{Mech: "XOAUTH2", Reason: "message must end in ^A^A"}
	}
	for kv := range strings.SplitSeq(body, "\x01") {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "user":
			user = v
		case "auth":
			token, ok = bearerToken(v)
			if !ok {
				return "", "", &Error{Mech: "XOAUTH2", Reason: "auth is not a Bearer token"}
			}
		}
	}
	if user == "" || token == "" || len(user) > maxPlainField {
		return "", "", &Error{Mech: "XOAUTH2", Reason: "missing user or auth"}
	}
	return user, token, nil
}

// parseOAuthBearer splits a gs2 header, then key=value pairs separated by
// ^A, ending in ^A^A (RFC 7628 §3.1).
func parseOAuthBearer(msg string) (user, token string, err error) {
	bad := func(r string) (string, string, error) { return "", "", &Error{Mech: "OAUTHBEARER", Reason: r} }
	gs2, rest, err := parseGS2(msg, true)
	if err != nil {
		return "", "", err
	}
	rest, ok := strings.CutPrefix(rest, "\x01")
	if !ok {
		return bad("want ^A after the gs2 header")
	}
	body, ok := strings.CutSuffix(rest, "\x01\x01")
	if !ok {
		return bad("message must end in ^A^A")
	}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(body, "\x01") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || seen[k] {
			return bad("invalid or repeated key=value")
		}
		seen[k] = true
		if k == "auth" {
			if token, ok = bearerToken(v); !ok {
				return bad("auth is not a Bearer token")
			}
		}
	}
	if gs2.authzid == "" || token == "" {
		return bad("missing a= user or auth")
	}
	return gs2.authzid, token, nil
}

// bearerToken takes the token from "Bearer <token>" (the scheme is
// case-insensitive, RFC 6750 §2.1).
func bearerToken(v string) (string, bool) {
	if len(v) < 8 || !strings.EqualFold(v[:7], "Bearer ") {
		return "", false
	}
	t := v[7:]
	if t == "" || strings.ContainsAny(t, " \x01") {
		return "", false
	}
	return t, true
}

type oauthClient struct {
	user, token, host string
	port              int
	bearer            bool
	failed            bool
}

// NewXOAuth2Client returns the client side of XOAUTH2.
func NewXOAuth2Client(user, token string) Client {
	return &oauthClient{user: user, token: token}
}

// NewOAuthBearerClient returns the client side of OAUTHBEARER. host and
// port describe the server, as RFC 7628 asks; host "" and port 0 leave them
// out.
func NewOAuthBearerClient(user, token, host string, port int) Client {
	return &oauthClient{user: user, token: token, host: host, port: port, bearer: true}
}

func (c *oauthClient) Start() (string, []byte, error) {
	if strings.ContainsAny(c.user+c.token+c.host, "\x01") || c.user == "" || c.token == "" {
		return "", nil, &Error{Mech: "XOAUTH2", Reason: "empty field or ^A in credentials"}
	}
	if !c.bearer {
		return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
	}
	var b strings.Builder
	b.WriteString("n,a=" + encodeSaslname(c.user) + ",\x01")
	if c.host != "" {
		b.WriteString("host=" + c.host + "\x01")
	}
	if c.port != 0 {
		b.WriteString("port=" + strconv.Itoa(c.port) + "\x01")
	}
	b.WriteString("auth=Bearer " + c.token + "\x01\x01")
	return "OAUTHBEARER", []byte(b.String()), nil
}

// Next acknowledges the server's error challenge; the server then fails the
// exchange and the protocol reply carries the failure.
func (c *oauthClient) Next([]byte) ([]byte, error) {
	if c.failed {
		return nil, ErrUnexpectedChallenge
	}
	c.failed = true
	if c.bearer {
		return []byte{1}, nil
	}
	return []byte{}, nil
}
