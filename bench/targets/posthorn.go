package targets

import (
	"context"
	"io"
	"log/slog"
	"net"

	"github.com/posthorn/posthorn/smtp"
)

// PosthornSMTP starts a Posthorn smtp.Server whose sessions discard every
// message, configured like the go-smtp target (no TLS, generous limits).
func PosthornSMTP() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := &smtp.Server{
		Hostname: "posthorn.bench", Backend: smtp.BackendFunc(newDiscard),
		MaxMessageBytes: 64 << 20, MaxRecipients: 1000,
		MaxConnections: 100000, MaxConnectionsPerIP: 100000,
		Logger: slog.New(slog.DiscardHandler),
	}
	go s.Serve(ln)
	return ln.Addr().String(), func() { s.Close() }, nil
}

func newDiscard(context.Context, *smtp.ConnInfo) (smtp.Session, error) { return discard{}, nil }

type discard struct{}

func (discard) Mail(context.Context, string, *smtp.MailOptions) error { return nil }
func (discard) Rcpt(context.Context, string, *smtp.RcptOptions) error { return nil }
func (discard) Data(_ context.Context, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (discard) Reset(context.Context) {}
func (discard) Close() error          { return nil }
