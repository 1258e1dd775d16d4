package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/smtp"
)

// Submission is an smtp.Backend for the submission port (RFC 6409): it
// authenticates users against a mailbox.Authenticator, lets each user send
// only from the addresses it owns, and queues accepted messages on Queue
// for delivery, local or remote. It never relays for a client that has not
// authenticated, whatever the server's Mode: it is not an open relay.
//
// Run it on an smtp.Server with Mode smtp.ModeSubmission (port 587 with
// STARTTLS, or 465 with implicit TLS).
type Submission struct {
	// Queue receives the accepted messages. Required; started by the caller.
	Queue *Queue
	// Auth verifies passwords (AUTH PLAIN and LOGIN). Required. If it also
	// implements mailbox.SecretAuthenticator, CRAM-MD5 and SCRAM-SHA-256
	// are offered too.
	Auth mailbox.Authenticator
	// Recipients maps addresses to users: it decides which senders a user
	// owns (an address owned by the user resolves to that user), and
	// refuses unknown recipients in LocalDomains at RCPT time. nil: any
	// sender is allowed and local recipients are not checked at RCPT.
	Recipients mailbox.RecipientResolver
	// IsLocal reports whether a domain is delivered locally (its unknown
	// recipients are refused at RCPT with 550 5.1.1). nil: none is.
	IsLocal func(domain string) bool
	// SenderAllowed, when set, replaces the ownership check: it reports
	// whether user may use from as the envelope sender ("" is <>).
	SenderAllowed func(ctx context.Context, user, from string) bool
	// Hostname names this host in the Received: field; "" → the queue's.
	Hostname string
	// Logger receives the sessions' logs; nil → slog.Default().
	Logger *slog.Logger
}

var _ smtp.Backend = (*Submission)(nil)

// NewSession implements smtp.Backend.
func (s *Submission) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	if s.Queue == nil || s.Auth == nil {
		return nil, errors.New("relay: Submission needs a Queue and an Auth")
	}
	if _, ok := s.Auth.(mailbox.SecretAuthenticator); ok {
		return &secretSubmissionSession{submissionSession{sub: s, conn: c}}, nil
	}
	return &submissionSession{sub: s, conn: c}, nil
}

var (
	errAuthRequired  = &smtp.Error{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errNotYourSender = &smtp.Error{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address not owned by the authenticated user"}
	errNoSuchUser    = &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errTempLookup    = &smtp.Error{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
)

type submissionSession struct {
	sub  *Submission
	conn *smtp.ConnInfo
	user string // set by a successful AUTH PLAIN or LOGIN
	// secretUser is the account whose secret AuthSecret gave out; it is
	// the session's user only once the server confirmed the exchange by
	// setting conn.Identity.
	secretUser string
	from       string
	mail       smtp.MailOptions
	rcpts      []Recipient
}

// AuthPassword implements smtp.PasswordAuthSession.
func (ss *submissionSession) AuthPassword(ctx context.Context, identity, username, password string) error {
	user, err := ss.sub.Auth.Authenticate(ctx, username, password)
	if err != nil {
		if errors.Is(err, mailbox.ErrAuthFailed) || errors.Is(err, mailbox.ErrNotExist) {
			return smtp.ErrAuthFailed
		}
		return err
	}
	if identity != "" && identity != username && identity != user {
		return smtp.ErrAuthFailed // no proxy authorization
	}
	ss.user = user
	return nil
}

// authenticated returns the session's user, "" before a successful AUTH.
func (ss *submissionSession) authenticated() string {
	if ss.user == "" && ss.secretUser != "" && ss.conn.Identity != "" {
		ss.user = ss.secretUser
	}
	return ss.user
}

func (ss *submissionSession) Mail(ctx context.Context, from string, opts *smtp.MailOptions) error {
	if ss.authenticated() == "" {
		return errAuthRequired
	}
	if !ss.senderAllowed(ctx, from) {
		return errNotYourSender
	}
	ss.from = from
	if opts != nil {
		ss.mail = *opts
	}
	ss.rcpts = ss.rcpts[:0]
	return nil
}

func (ss *submissionSession) senderAllowed(ctx context.Context, from string) bool {
	if f := ss.sub.SenderAllowed; f != nil {
		return f(ctx, ss.user, from)
	}
	if ss.sub.Recipients == nil {
		return true
	}
	if from == "" {
		return false // users do not send bounces
	}
	owner, err := ss.sub.Recipients.LookupRecipient(ctx, from)
	return err == nil && owner == ss.user
}

func (ss *submissionSession) Rcpt(ctx context.Context, to string, opts *smtp.RcptOptions) error {
	if ss.authenticated() == "" {
		return errAuthRequired
	}
	if ss.sub.IsLocal != nil && ss.sub.Recipients != nil && ss.sub.IsLocal(domainOf(to)) {
		if _, err := ss.sub.Recipients.LookupRecipient(ctx, to); err != nil {
			if errors.Is(err, mailbox.ErrNotExist) {
				return errNoSuchUser
			}
			return errTempLookup
		}
	}
	r := Recipient{Address: to}
	if opts != nil {
		r.Options = *opts
	}
	ss.rcpts = append(ss.rcpts, r)
	return nil
}

func (ss *submissionSession) Data(ctx context.Context, body io.Reader) error {
	if ss.authenticated() == "" {
		return errAuthRequired
	}
	env := &Envelope{From: ss.from, Mail: ss.mail, Recipients: ss.rcpts, Submitter: ss.user}
	host := ss.sub.Hostname
	if host == "" {
		host = ss.sub.Queue.hostname()
	}
	received := receivedField(ss.conn, host, ss.user, ss.mail.UTF8, time.Now())
	_, err := ss.sub.Queue.Enqueue(ctx, env, io.MultiReader(strings.NewReader(received), body))
	ss.rcpts = nil
	if err != nil {
		var se *smtp.Error
		if errors.As(err, &se) {
			return err
		}
		ss.logger().LogAttrs(ctx, slog.LevelError, "relay: cannot queue message", slog.Any("err", err))
		return err // answered 451 4.3.0 by the server
	}
	return nil
}

func (ss *submissionSession) logger() *slog.Logger {
	if ss.sub.Logger != nil {
		return ss.sub.Logger
	}
	return slog.Default()
}

func (ss *submissionSession) Reset(ctx context.Context) {
	ss.from, ss.mail, ss.rcpts = "", smtp.MailOptions{}, nil
}

func (ss *submissionSession) Close() error { return nil }

// secretSubmissionSession adds CRAM-MD5 and SCRAM-SHA-256.
type secretSubmissionSession struct{ submissionSession }

// AuthSecret implements smtp.SecretAuthSession.
func (ss *secretSubmissionSession) AuthSecret(ctx context.Context, username string) (string, error) {
	user, secret, err := ss.sub.Auth.(mailbox.SecretAuthenticator).Secret(ctx, username)
	if err != nil {
		return "", err
	}
	ss.secretUser = user
	return secret, nil
}

// receivedField returns the Received: header field (RFC 5321 §4.4) that the
// submission server prepends.
func receivedField(c *smtp.ConnInfo, host, user string, utf8 bool, now time.Time) string {
	with := "ESMTP"
	if utf8 {
		with = "UTF8SMTP"
	}
	if c != nil && c.TLS != nil {
		with += "S"
	}
	with += "A" // RFC 3848: authenticated
	helo, addr := "unknown", "unknown"
	if c != nil {
		if c.Hello != "" {
			helo = c.Hello
		}
		if c.RemoteAddr != nil {
			addr = addressLiteral(c.RemoteAddr)
		}
	}
	return fmt.Sprintf("Received: from %s (%s)\r\n\tby %s with %s\r\n\t(authenticated as %s); %s\r\n",
		sanitize(helo), sanitize(addr), host, with, sanitize(user), now.Format(time.RFC1123Z))
}

// addressLiteral formats a connection's remote address as an RFC 5321
// §4.1.3 address literal: [192.0.2.1] or [IPv6:2001:db8::1].
func addressLiteral(a net.Addr) string {
	host := a.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.WithZone("").String() + "]"
	}
	return "[" + ip.String() + "]"
}

// sanitize keeps a value from breaking the header it is written into.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '(' || r == ')' {
			return '_'
		}
		return r
	}, s)
}
