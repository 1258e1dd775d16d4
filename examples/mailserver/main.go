// Command mailserver is a whole mail server built from Posthorn's packages:
// an SMTP receiver for the local domains, submission with STARTTLS and
// implicit TLS, a relay queue delivering to remote domains by MX, POP3 and
// IMAP (plain with STARTTLS, and implicit TLS), and optionally LMTP, all on
// the Maildir store.
//
//	go run ./examples/mailserver [flags]
//
// Without flags it keeps everything under ./data: one Maildir++ tree per
// user, the relay spool, a self-signed certificate and the users file, which
// it creates with one demo user whose password it prints. Add users with
//
//	echo 'password' | go run ./examples/mailserver -adduser jim@example.com
//
// Every listener flag takes "host:port"; an empty string turns the listener
// off. The server prints "<name> listening on <addr>" for each listener and
// "ready" when all are up, and stops gracefully on SIGINT or SIGTERM: the
// listeners close, messages being received are finished (and stored, or
// queued, before their 250), and the relay queue stops with its messages
// kept in the spool for the next start.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config holds the command line.
type config struct {
	Data         string
	Hostname     string
	Domains      []string
	UsersFile    string
	AddUser      string
	Listen       map[string]string // listener name → address ("" is off)
	TLSCert      string
	TLSKey       string
	InsecureAuth bool
	DNS          string
	RelayPort    int
	Retry        []time.Duration
	LogJSON      bool
	LogLevel     string
	Level        slog.Level
}

// listenerNames lists the listeners in start-up order with their defaults.
var listenerNames = []struct{ name, def, usage string }{
	{"smtp", "127.0.0.1:2525", "SMTP receiver for the local domains (port 25 role)"},
	{"submission", "127.0.0.1:5870", "submission with STARTTLS and AUTH (port 587 role)"},
	{"submissions", "127.0.0.1:4650", "submission with implicit TLS (port 465 role)"},
	{"pop3", "127.0.0.1:1110", "POP3 with STLS"},
	{"pop3s", "127.0.0.1:9950", "POP3 with implicit TLS"},
	{"imap", "127.0.0.1:1430", "IMAP with STARTTLS"},
	{"imaps", "127.0.0.1:9930", "IMAP with implicit TLS"},
	{"lmtp", "", "LMTP for the local domains (host:port, or a path for a Unix socket)"},
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.AddUser != "" {
		err = addUser(cfg, os.Stdin, os.Stdout)
	} else {
		err = run(ctx, cfg, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, errOut io.Writer) (*config, error) {
	fs := flag.NewFlagSet("mailserver", flag.ContinueOnError)
	fs.SetOutput(errOut)
	cfg := &config{Listen: map[string]string{}}
	fs.StringVar(&cfg.Data, "data", "./data", "directory for the Maildir trees, relay spool, certificate and users file")
	fs.StringVar(&cfg.Hostname, "hostname", "localhost", "this server's host name (greetings, Received, certificate)")
	domains := fs.String("domains", "example.com", "local domains, comma-separated")
	fs.StringVar(&cfg.UsersFile, "users", "", "passwd-file of users (user@domain:{SCHEME}secret); default DATA/users, created with a demo user")
	fs.StringVar(&cfg.AddUser, "adduser", "", "append user@domain with a password read from stdin (hashed with BLF-CRYPT) to the users file and exit")
	listen := map[string]*string{}
	for _, l := range listenerNames {
		listen[l.name] = fs.String(l.name, l.def, l.usage+"; empty disables")
	}
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "certificate chain PEM file (default: self-signed, generated once into DATA)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "private key PEM file for -tls-cert")
	fs.BoolVar(&cfg.InsecureAuth, "insecure-auth", false, "allow password logins without TLS (loopback tests only)")
	fs.StringVar(&cfg.DNS, "dns", "", "DNS server (host:port) for MX lookups; default from /etc/resolv.conf")
	fs.IntVar(&cfg.RelayPort, "relay-port", 25, "TCP port of remote MX hosts (for tests)")
	retry := fs.String("retry-schedule", "", "relay retry delays, comma-separated (e.g. 5s,10s,30s); default the relay's schedule")
	fs.BoolVar(&cfg.LogJSON, "log-json", false, "log in JSON instead of text")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(errOut, err)
		return nil, err
	}
	for name, p := range listen {
		cfg.Listen[name] = *p
	}
	for _, d := range strings.Split(*domains, ",") {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			cfg.Domains = append(cfg.Domains, d)
		}
	}
	if len(cfg.Domains) == 0 {
		err := fmt.Errorf("-domains: at least one local domain is needed")
		fmt.Fprintln(errOut, err)
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		err = fmt.Errorf("-log-level: %w", err)
		fmt.Fprintln(errOut, err)
		return nil, err
	}
	cfg.Level = level
	if *retry != "" {
		for _, s := range strings.Split(*retry, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || d <= 0 {
				err = fmt.Errorf("-retry-schedule: bad delay %q", s)
				fmt.Fprintln(errOut, err)
				return nil, err
			}
			cfg.Retry = append(cfg.Retry, d)
		}
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		err := fmt.Errorf("-tls-cert and -tls-key go together")
		fmt.Fprintln(errOut, err)
		return nil, err
	}
	if cfg.UsersFile == "" {
		cfg.UsersFile = filepath.Join(cfg.Data, "users")
	}
	return cfg, nil
}
