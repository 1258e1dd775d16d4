package sasl

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/secure/precis"
)

const scramMech = "SCRAM-SHA-256"

// SCRAM iteration counts: what the server uses for a plaintext secret, and
// the range a client accepts (RFC 7677 §4: at least 4096; the upper bound
// keeps a hostile server from making the client burn CPU).
const (
	DefaultSCRAMIterations = 4096
	minSCRAMIterations     = 4096
	maxSCRAMIterations     = 1 << 20
)

// SCRAMCredentials are the keys a server stores for SCRAM-SHA-256 instead of
// a plaintext-equivalent secret (RFC 5802 §3).
type SCRAMCredentials struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte // H(ClientKey)
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")
}

// SCRAMCredentialsFunc returns the stored SCRAM keys of username. For an
// unknown user it returns an error matching ErrAuthFailed.
type SCRAMCredentialsFunc func(ctx context.Context, username string) (SCRAMCredentials, error)

// NewSCRAMSHA256Credentials derives the keys a server stores for password.
func NewSCRAMSHA256Credentials(password string, salt []byte, iterations int) SCRAMCredentials {
	return credentialsFromSalted(saltedPassword(password, salt, iterations), salt, iterations)
}

func credentialsFromSalted(salted, salt []byte, iterations int) SCRAMCredentials {
	return SCRAMCredentials{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  sha256Sum(hmacSHA256(salted, "Client Key")),
		ServerKey:  hmacSHA256(salted, "Server Key"),
	}
}

func saltedPassword(password string, salt []byte, iter int) []byte {
	// RFC 7677 asks for SASLprep; PRECIS OpaqueString (RFC 8265) replaces it.
	if p, err := precis.OpaqueString.String(password); err == nil {
		password = p
	}
	k, _ := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	return k
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, msg)
	return m.Sum(nil)
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

type scramServer struct {
	creds SCRAMCredentialsFunc
	rand  io.Reader // nil → crypto/rand; tests set it

	step        int
	gs2         string // gs2 header as the client sent it
	clientFirst string // client-first-message-bare
	serverFirst string
	nonce       string
	user        string
	authzid     string
	keys        SCRAMCredentials
	lookupErr   error  // the user does not exist: fail at the proof
	fixedNonce  string // tests: the server part of the nonce
	id          Identity
}

// NewSCRAMSHA256Server returns the server side of SCRAM-SHA-256 (RFC 7677)
// over a plaintext-equivalent secret: each exchange uses a fresh random salt
// and DefaultSCRAMIterations. The mechanism has no channel binding; a client
// gs2 flag "y" is accepted, since this server never offers -PLUS.
func NewSCRAMSHA256Server(f SecretFunc) Server {
	var s *scramServer
	s = &scramServer{creds: func(ctx context.Context, user string) (SCRAMCredentials, error) {
		secret, err := f(ctx, user)
		if err != nil {
			return SCRAMCredentials{}, err
		}
		salt, err := randomBytes(s.rand, 16)
		if err != nil {
			return SCRAMCredentials{}, err
		}
		return NewSCRAMSHA256Credentials(secret, salt, DefaultSCRAMIterations), nil
	}}
	return s
}

// NewSCRAMSHA256CredentialsServer returns the server side of SCRAM-SHA-256
// over stored keys, so the server never holds a plaintext-equivalent
// secret.
func NewSCRAMSHA256CredentialsServer(f SCRAMCredentialsFunc) Server {
	return &scramServer{creds: f}
}

func (s *scramServer) Identity() Identity { return s.id }

func scramErr(reason string) error { return &Error{Mech: scramMech, Reason: reason} }

func (s *scramServer) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if resp == nil {
			s.step = 1
			return []byte{}, false, nil
		}
		fallthrough
	case 1:
		s.step = 4
		return s.first(ctx, resp)
	case 2:
		s.step = 4
		return s.final(resp)
	case 3:
		s.step = 4
		if len(resp) != 0 {
			return nil, false, scramErr("want an empty response after server-final")
		}
		return nil, true, nil
	}
	return nil, false, errFinished(scramMech)
}

// first handles client-first-message and returns server-first-message.
func (s *scramServer) first(ctx context.Context, msg []byte) ([]byte, bool, error) {
	gs2, bare, err := parseGS2(string(msg), false)
	if err != nil {
		return nil, false, err
	}
	s.gs2, s.authzid = gs2.header, gs2.authzid
	s.clientFirst = bare
	attrs, err := parseAttrs(bare)
	if err != nil {
		return nil, false, err
	}
	// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
	if len(attrs) < 2 || attrs[0].key != 'n' || attrs[1].key != 'r' {
		return nil, false, scramErr("client-first must start n=...,r=...")
	}
	if s.user, err = decodeSaslname(attrs[0].val); err != nil {
		return nil, false, err
	}
	cnonce := attrs[1].val
	if cnonce == "" || !validNonce(cnonce) {
		return nil, false, scramErr("invalid client nonce")
	}
	keys, err := s.creds(ctx, s.user)
	if err != nil {
		if !errors.Is(err, ErrAuthFailed) {
			return nil, false, err
		}
		// Unknown user: go on with made-up keys and fail at the proof,
		// so that the exchange does not tell which users exist.
		s.lookupErr = err
		salt, rerr := randomBytes(s.rand, 16)
		if rerr != nil {
			return nil, false, rerr
		}
		keys = SCRAMCredentials{Salt: salt, Iterations: DefaultSCRAMIterations, StoredKey: make([]byte, 32), ServerKey: make([]byte, 32)}
	}
	if keys.Iterations <= 0 || len(keys.Salt) == 0 {
		return nil, false, errors.New("sasl: SCRAM credentials without salt or iterations")
	}
	s.keys = keys
	snonce, err := scramNonce(s.rand, s.fixedNonce)
	if err != nil {
		return nil, false, err
	}
	s.nonce = cnonce + snonce
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(keys.Salt) + ",i=" + strconv.Itoa(keys.Iterations)
	s.step = 2
	return []byte(s.serverFirst), false, nil
}

// final checks client-final-message and returns server-final-message.
func (s *scramServer) final(msg []byte) ([]byte, bool, error) {
	m := string(msg)
	i := strings.LastIndex(m, ",p=")
	if i < 0 {
		return nil, false, scramErr("client-final without proof")
	}
	withoutProof, proofB64 := m[:i], m[i+3:]
	attrs, err := parseAttrs(withoutProof)
	if err != nil {
		return nil, false, err
	}
	if len(attrs) < 2 || attrs[0].key != 'c' || attrs[1].key != 'r' {
		return nil, false, scramErr("client-final must start c=...,r=...")
	}
	// RFC 5802 §5.1: c= is the base64 gs2 header exactly as sent ("biws"
	// for "n,,", "eSws" for "y,,").
	if attrs[0].val != base64.StdEncoding.EncodeToString([]byte(s.gs2)) {
		return nil, false, scramErr("channel binding data does not match the gs2 header")
	}
	if attrs[1].val != s.nonce {
		return nil, false, scramErr("nonce mismatch")
	}
	proof, err := base64.StdEncoding.Strict().DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return nil, false, scramErr("invalid proof encoding")
	}
	authMsg := s.clientFirst + "," + s.serverFirst + "," + withoutProof
	clientSig := hmacSHA256(s.keys.StoredKey, authMsg)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	if s.lookupErr != nil {
		return nil, false, s.lookupErr
	}
	if !hmac.Equal(sha256Sum(clientKey), s.keys.StoredKey) {
		return nil, false, ErrAuthFailed
	}
	s.id = Identity{Authzid: s.authzid, Username: s.user}
	s.step = 3
	sig := hmacSHA256(s.keys.ServerKey, authMsg)
	return []byte("v=" + base64.StdEncoding.EncodeToString(sig)), false, nil
}

type gs2Header struct {
	header  string // "n,," … including the final comma
	flag    byte   // 'n' or 'y'
	authzid string
}

// parseGS2 splits the GS2 header (RFC 5801 §4) off msg: cbind-flag ","
// [ "a=" saslname ] ",". Channel binding ("p=") is refused.
func parseGS2(msg string, oauth bool) (gs2Header, string, error) {
	mech := scramMech
	if oauth {
		mech = "OAUTHBEARER"
	}
	bad := func(r string) (gs2Header, string, error) { return gs2Header{}, "", &Error{Mech: mech, Reason: r} }
	if len(msg) < 3 {
		return bad("missing gs2 header")
	}
	var h gs2Header
	switch msg[0] {
	case 'n', 'y':
		h.flag = msg[0]
	case 'p':
		return bad("channel binding not supported")
	default:
		return bad("invalid gs2 cbind flag")
	}
	if msg[1] != ',' {
		return bad("invalid gs2 header")
	}
	rest := msg[2:]
	j := strings.IndexByte(rest, ',')
	if j < 0 {
		return bad("invalid gs2 header")
	}
	if az := rest[:j]; az != "" {
		if !strings.HasPrefix(az, "a=") {
			return bad("invalid gs2 authzid")
		}
		var err error
		if h.authzid, err = decodeSaslnameMech(az[2:], mech); err != nil || h.authzid == "" {
			return bad("invalid gs2 authzid")
		}
	}
	h.header = msg[:2+j+1]
	return h, rest[j+1:], nil
}

type attr struct {
	key byte
	val string
}

// parseAttrs splits "k=v,k=v" (RFC 5802 §7). Keys are single letters.
func parseAttrs(s string) ([]attr, error) {
	var out []attr
	for part := range strings.SplitSeq(s, ",") {
		if len(part) < 2 || part[1] != '=' || !('a' <= part[0] && part[0] <= 'z' || 'A' <= part[0] && part[0] <= 'Z') {
			return nil, scramErr("invalid attribute")
		}
		if part[0] == 'm' && len(out) == 0 {
			return nil, scramErr("unsupported mandatory extension")
		}
		out = append(out, attr{part[0], part[2:]})
		if len(out) > 32 {
			return nil, scramErr("too many attributes")
		}
	}
	return out, nil
}

// scramNonce returns fixed if set (tests), else 18 random bytes in base64.
func scramNonce(r io.Reader, fixed string) (string, error) {
	if fixed != "" {
		return fixed, nil
	}
	b, err := randomBytes(r, 18)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// validNonce: printable ASCII except ',' (RFC 5802 §7).
func validNonce(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

func decodeSaslname(s string) (string, error) { return decodeSaslnameMech(s, scramMech) }

// decodeSaslname undoes "=2C" → "," and "=3D" → "="; any other "=" is an
// error (RFC 5802 §5.1).
func decodeSaslnameMech(s, mech string) (string, error) {
	if s == "" || len(s) > maxPlainField {
		return "", &Error{Mech: mech, Reason: "empty or too long username"}
	}
	if strings.IndexByte(s, '=') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", &Error{Mech: mech, Reason: "invalid escape in username"}
		}
		i += 2
	}
	return b.String(), nil
}

// encodeSaslname escapes "," and "=".
func encodeSaslname(s string) string {
	if !strings.ContainsAny(s, ",=") {
		return s
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

type scramClient struct {
	authzid, user, pass string
	rand                io.Reader // nil → crypto/rand; tests set it
	fixedNonce          string    // tests: the client nonce

	step        int
	gs2         string
	clientFirst string
	nonce       string
	serverSig   []byte
}

// NewSCRAMSHA256Client returns the client side of SCRAM-SHA-256 without
// channel binding (gs2 flag "n"). authzid may be empty. The client checks
// the server's signature in server-final; the exchange is only proven when
// the server sent it.
func NewSCRAMSHA256Client(authzid, user, pass string) Client {
	return &scramClient{authzid: authzid, user: user, pass: pass}
}

func (c *scramClient) Start() (string, []byte, error) {
	if c.user == "" {
		return "", nil, scramErr("empty username")
	}
	var err error
	if c.nonce, err = scramNonce(c.rand, c.fixedNonce); err != nil {
		return "", nil, err
	}
	c.gs2 = "n,,"
	if c.authzid != "" {
		c.gs2 = "n,a=" + encodeSaslname(c.authzid) + ","
	}
	c.clientFirst = "n=" + encodeSaslname(c.user) + ",r=" + c.nonce
	c.step = 1
	return scramMech, []byte(c.gs2 + c.clientFirst), nil
}

func (c *scramClient) Next(challenge []byte) ([]byte, error) {
	switch c.step {
	case 1:
		c.step = 3
		return c.final(string(challenge))
	case 2:
		c.step = 3
		attrs, err := parseAttrs(string(challenge))
		if err != nil {
			return nil, err
		}
		if len(attrs) >= 1 && attrs[0].key == 'e' {
			return nil, scramErr("server error: " + attrs[0].val)
		}
		if len(attrs) < 1 || attrs[0].key != 'v' {
			return nil, scramErr("invalid server-final")
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(attrs[0].val)
		if err != nil || !hmac.Equal(sig, c.serverSig) {
			return nil, scramErr("server signature does not verify")
		}
		return []byte{}, nil
	}
	return nil, ErrUnexpectedChallenge
}

// final answers server-first with client-final.
func (c *scramClient) final(serverFirst string) ([]byte, error) {
	attrs, err := parseAttrs(serverFirst)
	if err != nil {
		return nil, err
	}
	if len(attrs) < 3 || attrs[0].key != 'r' || attrs[1].key != 's' || attrs[2].key != 'i' {
		return nil, scramErr("invalid server-first")
	}
	nonce := attrs[0].val
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) || !validNonce(nonce) {
		return nil, scramErr("server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.Strict().DecodeString(attrs[1].val)
	if err != nil || len(salt) == 0 {
		return nil, scramErr("invalid salt")
	}
	iter, err := strconv.Atoi(attrs[2].val)
	if err != nil || iter < minSCRAMIterations || iter > maxSCRAMIterations {
		return nil, scramErr("iteration count out of range")
	}
	salted := saltedPassword(c.pass, salt, iter)
	keys := credentialsFromSalted(salted, salt, iter)
	clientKey := hmacSHA256(salted, "Client Key")
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2)) + ",r=" + nonce
	authMsg := c.clientFirst + "," + serverFirst + "," + withoutProof
	clientSig := hmacSHA256(keys.StoredKey, authMsg)
	proof := make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ clientSig[i]
	}
	c.serverSig = hmacSHA256(keys.ServerKey, authMsg)
	c.step = 2
	var b bytes.Buffer
	b.WriteString(withoutProof)
	b.WriteString(",p=")
	b.WriteString(base64.StdEncoding.EncodeToString(proof))
	return b.Bytes(), nil
}
