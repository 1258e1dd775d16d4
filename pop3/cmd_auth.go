package pop3

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/ctxconn"
	"github.com/posthorn/posthorn/internal/sasl"
	"github.com/posthorn/posthorn/internal/textwire"
	"github.com/posthorn/posthorn/mailbox"
)

// authAllowed reports whether credentials may be sent on this connection.
func (c *conn) authAllowed() bool { return c.isTLS || c.srv.AllowInsecureAuth }

// mechanisms lists the SASL mechanisms the authenticator supports.
func (c *conn) mechanisms() []string {
	a := c.srv.auth()
	var m []string
	if _, ok := a.(mailbox.SecretAuthenticator); ok {
		m = append(m, "SCRAM-SHA-256", "CRAM-MD5")
	}
	m = append(m, "PLAIN", "LOGIN")
	if _, ok := a.(mailbox.TokenAuthenticator); ok {
		m = append(m, "OAUTHBEARER", "XOAUTH2")
	}
	return m
}

// capabilities returns the CAPA list for the current state (RFC 2449 §5).
func (c *conn) capabilities() []string {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"}
	if c.state == stateAuthorization {
		if c.authAllowed() {
			caps = append(caps, "USER", "SASL "+strings.Join(c.mechanisms(), " "))
		}
		if c.srv.TLSConfig != nil && !c.isTLS {
			caps = append(caps, "STLS")
		}
		caps = append(caps, "UTF8")
	}
	if c.srv.Expire != "" {
		caps = append(caps, "EXPIRE "+c.srv.Expire)
	}
	if c.srv.LoginDelay > 0 {
		caps = append(caps, fmt.Sprintf("LOGIN-DELAY %d", int((c.srv.LoginDelay+time.Second-1)/time.Second)))
	}
	if c.srv.Implementation != "" {
		caps = append(caps, "IMPLEMENTATION "+c.srv.Implementation)
	}
	return caps
}

func (c *conn) cmdCapa(arg string) {
	c.reply(true, "", "capability list follows")
	for _, cp := range c.capabilities() {
		c.writeLine(cp)
	}
	c.endMulti()
}

func (c *conn) cmdQuit(arg string) {
	c.closing = true
	if c.state == stateTransaction {
		c.update()
		return
	}
	c.reply(true, "", "bye")
}

func (c *conn) cmdUTF8(arg string) {
	// RFC 6856 §2: UTF8 mode; usernames and passwords may be UTF-8.
	c.utf8 = true
	c.reply(true, "", "UTF8 enabled")
}

func (c *conn) refuseInsecure() bool {
	if c.authAllowed() {
		return false
	}
	c.reply(false, CodeAuth, "plaintext authentication disallowed on non-secure connections; use STLS")
	return true
}

func (c *conn) cmdUser(arg string) {
	if c.refuseInsecure() {
		return
	}
	if arg == "" || strings.ContainsRune(arg, ' ') {
		c.bad("USER takes one argument")
		return
	}
	c.userArg = arg
	c.reply(true, "", "send PASS")
}

func (c *conn) cmdPass(arg string) {
	user := c.userArg
	c.userArg = ""
	if user == "" {
		c.bad("USER first")
		return
	}
	if c.refuseInsecure() {
		return
	}
	// RFC 1939 §7: PASS has one argument, which may contain spaces.
	account, err := c.srv.auth().Authenticate(c.ctx, user, arg)
	if err != nil {
		c.authFailed(err)
		return
	}
	c.login(account)
}

func (c *conn) cmdApop(arg string) {
	sa, ok := c.srv.auth().(mailbox.SecretAuthenticator)
	if !ok || c.timestamp == "" {
		c.bad("APOP not supported")
		return
	}
	if c.refuseInsecure() {
		return
	}
	name, digest, ok := strings.Cut(arg, " ")
	if !ok || name == "" || len(digest) != 32 {
		c.bad("APOP takes a name and an MD5 digest")
		return
	}
	account, secret, err := sa.Secret(c.ctx, name)
	if err != nil {
		c.authFailed(err)
		return
	}
	sum := md5.Sum([]byte(c.timestamp + secret))
	want := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(digest)), []byte(want)) != 1 {
		c.authFailed(mailbox.ErrAuthFailed)
		return
	}
	c.login(account)
}

// apopTimestamp makes the greeting's msg-id style timestamp (RFC 1939 §7).
func apopTimestamp(host string) string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("<%d.%d.%d@%s>", os.Getpid(), binary.BigEndian.Uint64(b[:])>>16, time.Now().Unix(), host)
}

func (c *conn) cmdAuth(arg string) {
	if arg == "" {
		// Pre-RFC 5034 clients list the mechanisms with a bare AUTH.
		c.reply(true, "", "SASL mechanisms follow")
		if c.authAllowed() {
			for _, m := range c.mechanisms() {
				c.writeLine(m)
			}
		}
		c.endMulti()
		return
	}
	if c.refuseInsecure() {
		return
	}
	mech, irText, hasIR := strings.Cut(arg, " ")
	var account string
	srv := c.saslServer(strings.ToUpper(mech), &account)
	if srv == nil {
		c.reply(false, "", "unsupported authentication mechanism")
		return
	}
	var resp []byte
	if hasIR {
		var ok bool
		if resp, ok = decodeResponse(irText); !ok {
			c.bad("invalid base64 in initial response")
			return
		}
	}
	for {
		chal, done, err := srv.Next(c.ctx, resp)
		if err != nil {
			c.authFailed(err)
			return
		}
		if done {
			c.login(account)
			return
		}
		line := "+ " + base64.StdEncoding.EncodeToString(chal)
		c.traceOut("+ ***")
		c.bw.WriteString(line + "\r\n")
		if err := c.bw.Flush(); err != nil {
			c.closing = true
			return
		}
		c.waitIdle()
		raw, _, err := textwire.ReadLine(c.br, intOr(c.srv.MaxAuthLineLength, DefaultMaxAuthLineLength))
		c.busy()
		if err != nil {
			if err != textwire.ErrLineTooLong {
				c.closing = true
				return
			}
			c.bad("SASL response too long")
			return
		}
		text := string(raw)
		c.traceIn("***")
		if text == "*" {
			// RFC 5034 §4: the client cancelled.
			c.reply(false, "", "authentication cancelled")
			return
		}
		// RFC 5034 §4: "=" stands for empty only in the initial response.
		if resp, err = base64.StdEncoding.Strict().DecodeString(text); err != nil {
			c.bad("invalid base64 in SASL response")
			return
		}
	}
}

// decodeResponse decodes a base64 SASL response; "=" is an empty one.
func decodeResponse(s string) ([]byte, bool) {
	if s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return b, err == nil
}

// saslServer returns the server side of mech, or nil when it is not
// offered. *account receives the account to open after success.
func (c *conn) saslServer(mech string, account *string) sasl.Server {
	a := c.srv.auth()
	sa, _ := a.(mailbox.SecretAuthenticator)
	ta, _ := a.(mailbox.TokenAuthenticator)
	password := func(ctx context.Context, authzid, user, pass string) error {
		if authzid != "" && authzid != user {
			return sasl.ErrAuthFailed // acting as another user is not supported
		}
		u, err := a.Authenticate(ctx, user, pass)
		*account = u
		return err
	}
	secret := func(ctx context.Context, user string) (string, error) {
		u, s, err := sa.Secret(ctx, user)
		if isAuthErr(err) {
			return "", sasl.ErrAuthFailed
		}
		*account = u
		return s, err
	}
	token := func(ctx context.Context, authzid, user, tok string) error {
		u, err := ta.AuthenticateToken(ctx, user, tok)
		if isAuthErr(err) {
			return sasl.ErrAuthFailed
		}
		*account = u
		return err
	}
	switch {
	case mech == "PLAIN":
		return sasl.NewPlainServer(password)
	case mech == "LOGIN":
		return sasl.NewLoginServer(password)
	case mech == "CRAM-MD5" && sa != nil:
		return sasl.NewCRAMMD5Server(secret, c.srv.host())
	case mech == "SCRAM-SHA-256" && sa != nil:
		return sasl.NewSCRAMSHA256Server(secret)
	case mech == "XOAUTH2" && ta != nil:
		return sasl.NewXOAuth2Server(token)
	case mech == "OAUTHBEARER" && ta != nil:
		return sasl.NewOAuthBearerServer(token)
	}
	return nil
}

func isAuthErr(err error) bool {
	return errors.Is(err, mailbox.ErrAuthFailed) || errors.Is(err, sasl.ErrAuthFailed) || errors.Is(err, mailbox.ErrNotExist)
}

// authFailed answers a failed login: [AUTH] after a delay for bad
// credentials, [SYS/TEMP] for the backend's own failures.
func (c *conn) authFailed(err error) {
	switch {
	case isAuthErr(err), errors.Is(err, sasl.ErrMalformed):
		if errors.Is(err, sasl.ErrMalformed) {
			c.log.LogAttrs(c.ctx, slog.LevelDebug, "pop3: malformed SASL exchange", slog.Any("err", err))
		}
		c.authFails++
		if d := durationOr(c.srv.AuthFailureDelay, DefaultAuthFailureDelay); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
			}
		}
		if max := intOr(c.srv.MaxAuthFailures, DefaultMaxAuthFailures); max > 0 && c.authFails >= max {
			c.reply(false, CodeAuth, "authentication failed; too many failures, closing")
			c.closing = true
			return
		}
		c.reply(false, CodeAuth, "authentication failed")
	default:
		c.internalError("authentication backend failed", err)
	}
}

func (c *conn) cmdStls(arg string) {
	if c.srv.TLSConfig == nil || c.isTLS {
		c.bad("STLS not available")
		return
	}
	c.reply(true, "", "begin TLS negotiation")
	if err := c.bw.Flush(); err != nil {
		c.closing = true
		return
	}
	// RFC 2595 §4 and CVE-2011-0411: whatever the client pipelined after
	// STLS was sent in plaintext; throw it away.
	if n := ctxconn.DiscardBuffered(c.br); n > 0 {
		c.log.LogAttrs(c.ctx, slog.LevelDebug, "pop3: discarded bytes pipelined after STLS", slog.Int("bytes", n))
	}
	c.mu.Lock()
	raw := c.rwc
	c.mu.Unlock()
	raw.SetReadDeadline(time.Time{})
	tc := tls.Server(raw, c.srv.TLSConfig)
	if err := c.handshake(tc); err != nil {
		c.closing = true
		return
	}
	c.setConn(tc)
	c.userArg = ""
}

// login enters the TRANSACTION state for account: the maildrop lock, then
// the snapshot of INBOX.
func (c *conn) login(account string) {
	if !c.srv.checkLoginDelay(account) {
		c.reply(false, CodeLoginDelay, "logged in too recently, try again later")
		c.closing = true
		return
	}
	acct, err := c.srv.Store.Open(c.ctx, account)
	if err != nil {
		if isNotExist(err) {
			// Authenticated, but there is no mail store for the user.
			c.log.LogAttrs(c.ctx, slog.LevelWarn, "pop3: no account for authenticated user", slog.String("user", account), slog.Any("err", err))
			c.reply(false, CodeSysPerm, "no mailbox for this user")
			return
		}
		c.internalError("opening account", err)
		return
	}
	release, err := acct.LockMaildrop(c.ctx)
	if err != nil {
		acct.Close()
		if errors.Is(err, mailbox.ErrInUse) {
			c.reply(false, CodeInUse, "maildrop already locked by another session")
			return
		}
		c.internalError("locking maildrop", err)
		return
	}
	c.acct, c.release, c.user = acct, release, account
	c.log = c.log.With(slog.String("user", account))
	if err := c.snapshot(); err != nil {
		c.closeMaildrop()
		c.internalError("reading maildrop", err)
		return
	}
	c.state = stateTransaction
	n, size := c.live()
	c.reply(true, "", fmt.Sprintf("maildrop has %d messages (%d octets)", n, size))
}

// snapshot lists INBOX; the message numbers of the session follow.
func (c *conn) snapshot() error {
	mbox, err := c.acct.Mailbox(c.ctx, "INBOX")
	if err != nil {
		return err
	}
	c.mbox = mbox
	st, err := mbox.Status(c.ctx)
	if err != nil {
		return err
	}
	c.uidValidity = st.UIDValidity
	c.uidler, _ = mbox.(mailbox.UIDLer)
	c.msgs = make([]message, 0, st.Messages)
	for info, err := range mbox.Messages(c.ctx, 1) {
		if err != nil {
			return err
		}
		c.msgs = append(c.msgs, message{uid: info.UID, size: info.Size, seen: info.HasFlag(mailbox.FlagSeen)})
	}
	return nil
}
