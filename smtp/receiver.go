package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Receiver is a ready-made Backend for the final-delivery role (port 25 or
// LMTP): it accepts mail for the users a mailbox.Store knows and appends
// each message, durably, to every recipient's INBOX before answering 250.
//
//   - RCPT looks the address up through Recipients; an unknown address is
//     refused there with 550 5.1.1, never after the data. A bare
//     <postmaster> is looked up as postmaster@Hostname (RFC 5321 §4.5.1).
//   - The message gets a Return-Path and a Received header (RFC 5321 §4.4),
//     then streams into the store: with one recipient straight from the
//     connection, with several through a temporary file, never in memory.
//   - In LMTP mode each recipient gets its own reply. In SMTP mode a failed
//     delivery to any recipient fails the whole message with the mapped
//     reply (the client retries it; a recipient already served may see it
//     twice, which is better than a silent loss).
//
// Store errors become replies as in STYLE.md §2.6: ErrNotExist 550 5.1.1,
// ErrOverQuota 452 4.2.2, ErrTooLarge 552 5.3.4, ErrInUse 451 4.2.0, and
// anything else 451 4.3.0 (logged).
type Receiver struct {
	// Store receives the messages. Required.
	Store mailbox.Store
	// Recipients maps addresses to users; nil uses Store, which must then
	// implement mailbox.RecipientResolver.
	Recipients mailbox.RecipientResolver
	// Hostname names this host in the Received header; "" →
	// os.Hostname().
	Hostname string
	// TempDir holds the spool file of a message with several recipients;
	// "" → os.TempDir().
	TempDir string
	// Logger receives delivery errors; nil → slog.Default().
	Logger *slog.Logger
}

var receiverIDs atomic.Uint64

// NewSession implements Backend.
func (r *Receiver) NewSession(ctx context.Context, c *ConnInfo) (Session, error) {
	if r.Store == nil {
		return nil, errors.New("smtp: Receiver.Store is nil")
	}
	res := r.Recipients
	if res == nil {
		var ok bool
		if res, ok = r.Store.(mailbox.RecipientResolver); !ok {
			return nil, errors.New("smtp: Receiver needs Recipients or a Store that implements mailbox.RecipientResolver")
		}
	}
	return &receiverSession{r: r, res: res, info: c}, nil
}

type receiverSession struct {
	r     *Receiver
	res   mailbox.RecipientResolver
	info  *ConnInfo
	from  string
	utf8  bool
	rcpts []receiverRcpt
}

type receiverRcpt struct {
	addr string
	user string
}

var _ LMTPSession = (*receiverSession)(nil)

func (s *receiverSession) Mail(ctx context.Context, from string, opts *MailOptions) error {
	s.from = from
	s.utf8 = opts.UTF8
	s.rcpts = s.rcpts[:0]
	return nil
}

func (s *receiverSession) Rcpt(ctx context.Context, to string, opts *RcptOptions) error {
	addr := to
	if strings.EqualFold(to, "postmaster") {
		// RFC 5321 §4.5.1: <postmaster> without a domain must be accepted;
		// it reaches postmaster@Hostname.
		addr = "postmaster@" + s.r.hostname()
	}
	user, err := s.res.LookupRecipient(ctx, addr)
	if err != nil {
		return s.r.mapError(ctx, err, "recipient lookup")
	}
	s.rcpts = append(s.rcpts, receiverRcpt{addr: to, user: user})
	return nil
}

func (s *receiverSession) Data(ctx context.Context, body io.Reader) error {
	errs, err := s.LMTPData(ctx, body)
	if err != nil {
		return err
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// LMTPData delivers to each distinct user once and reports per recipient.
func (s *receiverSession) LMTPData(ctx context.Context, body io.Reader) ([]error, error) {
	users := make([]string, 0, len(s.rcpts))
	for _, rc := range s.rcpts {
		if !containsString(users, rc.user) {
			users = append(users, rc.user)
		}
	}
	if len(users) == 0 {
		return nil, errNeedRcpt
	}
	forAddr := ""
	if len(s.rcpts) == 1 {
		forAddr = s.rcpts[0].addr
	}
	header := s.traceHeader(forAddr)
	results := make(map[string]error, len(users))
	if len(users) == 1 {
		_, err := mailbox.Deliver(ctx, s.r.Store, users[0], io.MultiReader(strings.NewReader(header), body), nil)
		if err != nil {
			if lim := bodyError(err); lim != nil {
				return nil, lim
			}
			results[users[0]] = s.r.mapError(ctx, err, "delivery")
		}
	} else {
		f, err := os.CreateTemp(s.r.TempDir, "posthorn-smtp-*")
		if err != nil {
			return nil, s.r.mapError(ctx, err, "spool")
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := io.WriteString(f, header); err != nil {
			return nil, s.r.mapError(ctx, err, "spool")
		}
		if _, err := io.Copy(f, body); err != nil {
			if lim := bodyError(err); lim != nil {
				return nil, lim
			}
			return nil, s.r.mapError(ctx, err, "spool")
		}
		for _, u := range users {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return nil, s.r.mapError(ctx, err, "spool")
			}
			if _, err := mailbox.Deliver(ctx, s.r.Store, u, f, nil); err != nil {
				results[u] = s.r.mapError(ctx, err, "delivery")
			}
		}
	}
	errs := make([]error, len(s.rcpts))
	for i, rc := range s.rcpts {
		errs[i] = results[rc.user]
	}
	return errs, nil
}

// bodyError returns the *Error a body reader failed with (size, bare line
// endings), which is the reply whatever the store made of it.
func bodyError(err error) *Error {
	for _, e := range []*Error{ErrDataTooLarge, ErrBareLineEnding, ErrDataLineTooLong} {
		if errors.Is(err, e) {
			return e
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *receiverSession) Reset(ctx context.Context) {
	s.from = ""
	s.rcpts = s.rcpts[:0]
}

func (s *receiverSession) Close() error { return nil }

// traceHeader returns the Return-Path and Received lines (RFC 5321 §4.4,
// protocol names from RFC 3848).
func (s *receiverSession) traceHeader(forAddr string) string {
	host := s.r.hostname()
	proto := "SMTP"
	if s.info.ESMTP {
		proto = "ESMTP"
	}
	if s.info.Mode == ModeLMTP {
		proto = "LMTP"
	}
	if s.utf8 {
		proto = "UTF8" + proto // RFC 6531 §3.7.3
	}
	if s.info.TLS != nil {
		proto += "S"
	}
	if s.info.Identity != "" {
		proto += "A"
	}
	ip := "unknown"
	if ta, ok := s.info.RemoteAddr.(*net.TCPAddr); ok {
		ip = ta.IP.String()
		if ta.IP.To4() == nil {
			ip = "IPv6:" + ip // RFC 5321 §4.1.3 address literal
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", s.from)
	fmt.Fprintf(&b, "Received: from %s ([%s])\r\n\tby %s with %s id %x", sanitizeHeader(s.info.Hello), ip, host, proto, receiverIDs.Add(1))
	if s.info.TLS != nil {
		fmt.Fprintf(&b, "\r\n\t(%s with cipher %s)", tls.VersionName(s.info.TLS.Version), tls.CipherSuiteName(s.info.TLS.CipherSuite))
	}
	if forAddr != "" {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", forAddr)
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", time.Now().Format(time.RFC1123Z))
	return b.String()
}

// sanitizeHeader keeps a client-supplied token safe for a header line.
func sanitizeHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r == 0x7f || r == '(' || r == ')' {
			return '_'
		}
		return r
	}, s)
}

func (r *Receiver) hostname() string {
	if r.Hostname != "" {
		return r.Hostname
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// mapError turns a store error into the reply (STYLE.md §2.6).
func (r *Receiver) mapError(ctx context.Context, err error, what string) error {
	switch {
	case asError(err) != nil:
		return err
	case errors.Is(err, mailbox.ErrNotExist):
		return ErrNoSuchUser
	case errors.Is(err, mailbox.ErrOverQuota):
		return &Error{Code: 452, EnhancedCode: EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
	case errors.Is(err, mailbox.ErrTooLarge):
		return ErrDataTooLarge
	case errors.Is(err, mailbox.ErrInUse):
		return &Error{Code: 451, EnhancedCode: EnhancedCode{4, 2, 0}, Message: "Mailbox busy, try again later"}
	}
	l := r.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(ctx, slog.LevelError, "smtp: receiver "+what+" failed", slog.String("err", err.Error()))
	return errInternal
}
