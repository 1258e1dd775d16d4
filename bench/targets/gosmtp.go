package targets

import (
	"io"
	"net"

	gosmtp "github.com/emersion/go-smtp"
)

// GoSMTP starts a github.com/emersion/go-smtp server whose sessions discard
// every message: the library users would otherwise pick.
func GoSMTP() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := gosmtp.NewServer(gosmtpBackend{})
	s.Domain = "gosmtp.bench"
	s.MaxMessageBytes = 64 << 20
	s.MaxRecipients = 1000
	s.AllowInsecureAuth = true
	go s.Serve(ln)
	return ln.Addr().String(), func() { s.Close() }, nil
}

type gosmtpBackend struct{}

func (gosmtpBackend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return gosmtpSession{}, nil }

type gosmtpSession struct{}

func (gosmtpSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (gosmtpSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (gosmtpSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (gosmtpSession) Reset()        {}
func (gosmtpSession) Logout() error { return nil }
