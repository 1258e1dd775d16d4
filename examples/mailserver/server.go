package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/mailbox/maildir"
	"github.com/posthorn/posthorn/mx"
	"github.com/posthorn/posthorn/pop3"
	"github.com/posthorn/posthorn/smtp"
	"github.com/posthorn/posthorn/smtp/relay"
)

// shutdownTimeout bounds the graceful stop of the listeners; messages still
// being received after it are cut off (their clients never got a 250).
const shutdownTimeout = 30 * time.Second

// service is one listener and the server behind it.
type service struct {
	name     string
	ln       net.Listener
	serve    func(net.Listener) error
	shutdown func(context.Context) error
}

// run starts the mail server and serves until ctx is done, then stops it
// gracefully.
func run(ctx context.Context, cfg *config, out, errOut io.Writer) error {
	logger := newLogger(cfg, errOut)
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	users, err := loadUsers(cfg, out)
	if err != nil {
		return err
	}
	tc, certFile, err := tlsConfig(cfg)
	if err != nil {
		return err
	}
	store := &maildir.Store{Root: filepath.Join(cfg.Data, "mail"), Users: users, Logger: logger}
	isLocal := func(domain string) bool { return slices.Contains(cfg.Domains, strings.ToLower(domain)) }

	resolver := &mx.Resolver{Logger: logger}
	if cfg.DNS != "" {
		resolver.Servers = []string{cfg.DNS}
	}
	queue := &relay.Queue{
		Spool:     &relay.DirSpool{Dir: filepath.Join(cfg.Data, "spool")},
		Transport: remoteTransport(cfg, resolver, logger),
		Local:     &relay.MailboxTransport{Store: store, Recipients: users},
		IsLocal:   isLocal,
		Hostname:  cfg.Hostname,
		Schedule:  cfg.Retry,
		Logger:    logger,
	}
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}

	services, err := listen(cfg, func(name string) (func(net.Listener) error, func(context.Context) error) {
		return newServer(name, cfg, tc, users, store, queue, isLocal, logger)
	})
	if err != nil {
		queue.Shutdown(context.Background())
		return err
	}

	fmt.Fprintf(out, "local domains %s, users in %s, mail in %s\n", strings.Join(cfg.Domains, ","), cfg.UsersFile, store.Root)
	fmt.Fprintf(out, "TLS certificate %s\n", certFile)
	errc := make(chan error, len(services))
	for _, s := range services {
		fmt.Fprintf(out, "%s listening on %s\n", s.name, s.ln.Addr())
		go func() { errc <- s.serve(s.ln) }()
	}
	fmt.Fprintln(out, "ready")

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case serveErr = <-errc:
		logger.Error("listener failed, shutting down", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Go(func() {
			if err := s.shutdown(sctx); err != nil {
				logger.Warn("shutdown", "listener", s.name, "err", err)
			}
		})
	}
	wg.Wait()
	// Every accepted message is in a mailbox or in the spool now; deliveries
	// in progress get a few seconds, then stay queued for the next start.
	qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer qcancel()
	if err := queue.Shutdown(qctx); err != nil {
		logger.Warn("relay queue shutdown", "err", err)
	}
	fmt.Fprintln(out, "stopped")
	return serveErr
}

// listen opens every enabled listener, closing them all on failure.
func listen(cfg *config, mk func(name string) (func(net.Listener) error, func(context.Context) error)) ([]service, error) {
	var services []service
	for _, l := range listenerNames {
		addr := cfg.Listen[l.name]
		if addr == "" {
			continue
		}
		network := "tcp"
		if strings.Contains(addr, "/") { // an LMTP socket path
			network = "unix"
			os.Remove(addr)
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			for _, s := range services {
				s.ln.Close()
			}
			return nil, fmt.Errorf("-%s: %w", l.name, err)
		}
		serve, shutdown := mk(l.name)
		services = append(services, service{name: l.name, ln: ln, serve: serve, shutdown: shutdown})
	}
	if len(services) == 0 {
		return nil, errors.New("every listener is disabled")
	}
	return services, nil
}

// newServer returns the serve and shutdown functions of listener name.
func newServer(name string, cfg *config, tc *tls.Config, users *maildir.Users, store *maildir.Store,
	queue *relay.Queue, isLocal func(string) bool, logger *slog.Logger) (func(net.Listener) error, func(context.Context) error) {
	log := logger.With("listener", name)
	switch name {
	case "smtp", "lmtp":
		srv := &smtp.Server{
			Hostname:  cfg.Hostname,
			Backend:   &smtp.Receiver{Store: store, Recipients: users, Hostname: cfg.Hostname, Logger: log},
			TLSConfig: tc,
			Logger:    log,
		}
		if name == "lmtp" {
			srv.Mode = smtp.ModeLMTP
			srv.TLSConfig = nil
		}
		return srv.Serve, srv.Shutdown
	case "submission", "submissions":
		srv := &smtp.Server{
			Hostname: cfg.Hostname,
			Mode:     smtp.ModeSubmission,
			Backend: &relay.Submission{Queue: queue, Auth: users, Recipients: users, IsLocal: isLocal,
				Hostname: cfg.Hostname, Logger: log},
			TLSConfig:         tc,
			AllowInsecureAuth: cfg.InsecureAuth,
			Logger:            log,
		}
		if name == "submissions" {
			return srv.ServeTLS, srv.Shutdown
		}
		return srv.Serve, srv.Shutdown
	case "pop3", "pop3s":
		srv := &pop3.Server{Hostname: cfg.Hostname, Store: store, Auth: users, TLSConfig: tc,
			AllowInsecureAuth: cfg.InsecureAuth, Logger: log}
		if name == "pop3s" {
			return func(l net.Listener) error { return srv.ServeTLS(l, "", "") }, srv.Shutdown
		}
		return srv.Serve, srv.Shutdown
	case "imap", "imaps":
		srv := &imap.Server{Store: store, Auth: users, TLSConfig: tc, AllowInsecureAuth: cfg.InsecureAuth,
			Greeting: cfg.Hostname + " Posthorn IMAP ready", Logger: log}
		if name == "imaps" {
			return func(l net.Listener) error { return srv.Serve(tls.NewListener(l, tc)) }, srv.Shutdown
		}
		return srv.Serve, srv.Shutdown
	}
	panic("unknown listener " + name)
}

// remoteTransport delivers mail for domains that are not local: to their
// MX hosts, with STARTTLS when offered (RFC 7435 opportunistic TLS).
func remoteTransport(cfg *config, resolver *mx.Resolver, logger *slog.Logger) relay.Transport {
	return &relay.SMTPTransport{
		Resolver: resolver,
		Dialer:   smtp.Dialer{LocalName: cfg.Hostname, Logger: logger.With("relay", "smtp")},
		Port:     cfg.RelayPort,
	}
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
