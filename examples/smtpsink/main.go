// Command smtpsink is an SMTP server that accepts every message and
// discards it, or writes each one into a directory: a harness for testing
// SMTP clients, and the target of the SMTP benchmarks.
//
//	go run ./examples/smtpsink -addr 127.0.0.1:2525 [-dir DIR] [-lmtp]
//
// It prints its address when ready and, on SIGINT or SIGTERM, the number
// of messages and bytes it received.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/posthorn/posthorn/smtp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "address to listen on")
	dir := flag.String("dir", "", "write each message into this directory (default: discard)")
	lmtp := flag.Bool("lmtp", false, "speak LMTP instead of SMTP")
	flag.Parse()
	if err := run(*addr, *dir, *lmtp, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(addr, dir string, lmtp bool, out io.Writer) error {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	sink := &Sink{Dir: dir}
	srv := newServer(sink, lmtp)
	fmt.Fprintf(out, "smtpsink listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	fmt.Fprintf(out, "received %d messages, %d bytes\n", sink.Messages.Load(), sink.Bytes.Load())
	return nil
}

// newServer returns a lenient server for sink: a harness accepts what a
// real receiver might refuse (long lines, many recipients, big messages).
func newServer(sink *Sink, lmtp bool) *smtp.Server {
	srv := &smtp.Server{
		Hostname: "smtpsink", Backend: sink,
		MaxRecipients: 1000, MaxMessageBytes: 1 << 30, MaxDataLineLength: -1,
		MaxConnections: 10000, MaxConnectionsPerIP: 10000,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if lmtp {
		srv.Mode = smtp.ModeLMTP
	}
	return srv
}

// Sink is an smtp.Backend that accepts every message, counts it, and writes
// it into Dir when Dir is set.
type Sink struct {
	Dir      string
	Messages atomic.Int64
	Bytes    atomic.Int64
	seq      atomic.Int64
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
	return sinkSession{s}, nil
}

type sinkSession struct{ s *Sink }

func (sinkSession) Mail(context.Context, string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(context.Context, string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Reset(context.Context)                                 {}
func (sinkSession) Close() error                                          { return nil }

func (ss sinkSession) Data(ctx context.Context, body io.Reader) error {
	s := ss.s
	var n int64
	var err error
	if s.Dir == "" {
		n, err = io.Copy(io.Discard, body)
	} else {
		n, err = s.write(body)
	}
	if err != nil {
		return err
	}
	s.Messages.Add(1)
	s.Bytes.Add(n)
	return nil
}

func (s *Sink) write(body io.Reader) (int64, error) {
	name := strconv.FormatInt(time.Now().UnixNano(), 10) + "." + strconv.FormatInt(s.seq.Add(1), 10) + ".eml"
	f, err := os.Create(filepath.Join(s.Dir, name))
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, errors.Join(err)
	}
	return n, nil
}
