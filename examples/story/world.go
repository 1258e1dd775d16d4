package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/mailbox/maildir"
	"github.com/posthorn/posthorn/mx/mxtest"
	"github.com/posthorn/posthorn/pop3"
	"github.com/posthorn/posthorn/smtp"
	"github.com/posthorn/posthorn/smtp/relay"
)

// The cast.
const (
	bob, bobPass   = "bob@bob.example", "bob's secret"
	jim, jimPass   = "jim@jim.example", "jim's secret"
	sara, saraPass = "sara@sara.example", "sara's secret"

	relayHost    = "mx.bob.example" // Bob's relay
	providerHost = "mx.example.net" // receives for jim.example and sara.example
)

// zone is what the DNS publishes.
const zone = `
bob.example.     300 IN MX 10 mx.bob.example.
jim.example.     300 IN MX 10 mx.example.net.
sara.example.    300 IN MX 10 mx.example.net.
mx.bob.example.  300 IN A  127.0.0.1
mx.example.net.  300 IN A  127.0.0.1
`

// world holds everything the story starts.
type world struct {
	n         *narrator
	log       *slog.Logger // servers' warnings and errors
	dir       string
	serverTLS *tls.Config
	clientTLS *tls.Config // trusts the servers' certificate

	dns       *mxtest.Server
	queue     *relay.Queue
	events    chan relay.Event
	stops     []func(context.Context) error
	subAddr   string // Bob's submission port
	mxAddr    string // the provider's SMTP receiver
	pop3Addr  string
	pop3Srv   *pop3.Server
	imapAddr  string
	messageID string
}

func newWorld(out, errOut io.Writer) (*world, error) {
	dir, err := os.MkdirTemp("", "posthorn-story-")
	if err != nil {
		return nil, err
	}
	serverTLS, clientTLS, err := newCert("localhost", relayHost, providerHost)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &world{
		n:         &narrator{out: out},
		log:       slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
		dir:       dir,
		serverTLS: serverTLS,
		clientTLS: clientTLS,
		events:    make(chan relay.Event, 64),
	}, nil
}

// close stops every server and removes the temporary directory.
func (w *world) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := len(w.stops) - 1; i >= 0; i-- {
		w.stops[i](ctx)
	}
	if w.dns != nil {
		w.dns.Close()
	}
	os.RemoveAll(w.dir)
}

// listen starts serve on a fresh loopback port and registers stop.
func (w *world) listen(serve func(net.Listener) error, stop func(context.Context) error) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go serve(ln)
	w.stops = append(w.stops, stop)
	return ln.Addr().String(), nil
}

// publishDNS is step 1.
func (w *world) publishDNS(ctx context.Context) error {
	w.n.heading("The DNS (an in-process server) publishes where mail for each domain goes.")
	dns, err := mxtest.Start(zone)
	if err != nil {
		return err
	}
	w.dns = dns
	res := dns.Resolver()
	for _, domain := range []string{"bob.example", "jim.example", "sara.example"} {
		r, err := res.Lookup(ctx, domain)
		if err != nil {
			return err
		}
		if len(r.Hosts) != 1 || len(r.Hosts[0].Addrs) != 1 || !r.Hosts[0].Addrs[0].IsLoopback() {
			return fmt.Errorf("%s: unexpected MX answer %+v", domain, r.Hosts)
		}
		h := r.Hosts[0]
		w.n.ok("%-13s MX %d %s (%s)", domain, h.Pref, h.Name, h.Addrs[0])
	}
	return nil
}

// startServers is step 2.
func (w *world) startServers(ctx context.Context) error {
	w.n.heading("Bob's relay and the mail provider of jim.example and sara.example start.")
	// The provider: one Maildir store, an SMTP receiver, POP3 and IMAP.
	provUsers := new(maildir.Users)
	if err := provUsers.Add(jim, jimPass, jim); err != nil {
		return err
	}
	if err := provUsers.Add(sara, saraPass, sara); err != nil {
		return err
	}
	prov := &maildir.Store{Root: filepath.Join(w.dir, "provider"), Users: provUsers, Logger: w.log}
	mxSrv := &smtp.Server{Hostname: providerHost, TLSConfig: w.serverTLS, Logger: w.log,
		Backend: &smtp.Receiver{Store: prov, Hostname: providerHost, TempDir: w.dir, Logger: w.log}}
	var err error
	if w.mxAddr, err = w.listen(mxSrv.Serve, mxSrv.Shutdown); err != nil {
		return err
	}
	w.pop3Srv = &pop3.Server{Hostname: providerHost, Store: prov, TLSConfig: w.serverTLS, Logger: w.log}
	if w.pop3Addr, err = w.listen(w.pop3Srv.Serve, w.pop3Srv.Shutdown); err != nil {
		return err
	}
	imapSrv := &imap.Server{Store: prov, TLSConfig: w.serverTLS, Logger: w.log}
	if w.imapAddr, err = w.listen(imapSrv.Serve, imapSrv.Shutdown); err != nil {
		return err
	}
	w.n.ok("%s: SMTP receiver on %s, POP3 on %s, IMAP on %s (Maildir in %s)",
		providerHost, w.mxAddr, w.pop3Addr, w.imapAddr, prov.Root)

	// Bob's relay: submission, a queue on a spool directory, and delivery
	// to MX hosts found through the DNS above. Every MX listens on the
	// loopback port of the provider's receiver.
	bobUsers := new(maildir.Users)
	if err := bobUsers.Add(bob, bobPass, bob); err != nil {
		return err
	}
	bobStore := &maildir.Store{Root: filepath.Join(w.dir, "bob"), Users: bobUsers, Logger: w.log}
	_, port, _ := net.SplitHostPort(w.mxAddr)
	var mxPort int
	fmt.Sscan(port, &mxPort)
	w.n.hold("relay") // its lines belong to step 4
	isLocal := func(d string) bool { return strings.EqualFold(d, "bob.example") }
	w.queue = &relay.Queue{
		Spool: &relay.DirSpool{Dir: filepath.Join(w.dir, "spool")},
		Transport: &relay.SMTPTransport{
			Resolver: w.dns.Resolver(),
			Port:     mxPort,
			Dialer: smtp.Dialer{LocalName: relayHost,
				Logger: w.n.wire("relay", prefixes("C: MAIL", "C: RCPT", "C: DATA", "C: BDAT", "S: 220 ", "S: 250 2.", "S: 354", "S: 4", "S: 5"), nil)},
		},
		Local:    &relay.MailboxTransport{Store: bobStore, Recipients: bobUsers},
		IsLocal:  isLocal,
		Hostname: relayHost,
		Schedule: []time.Duration{time.Second},
		Workers:  1, // one delivery at a time, for a readable narration
		Logger:   w.log,
		OnEvent: func(e relay.Event) {
			select {
			case w.events <- e:
			default:
			}
		},
	}
	if err := w.queue.Start(ctx); err != nil {
		return err
	}
	w.stops = append(w.stops, w.queue.Shutdown)
	subSrv := &smtp.Server{Hostname: relayHost, Mode: smtp.ModeSubmission, TLSConfig: w.serverTLS, Logger: w.log,
		Backend: &relay.Submission{Queue: w.queue, Auth: bobUsers, Recipients: bobUsers, IsLocal: isLocal, Logger: w.log}}
	if w.subAddr, err = w.listen(subSrv.Serve, subSrv.Shutdown); err != nil {
		return err
	}
	w.n.ok("%s: submission on %s (STARTTLS, AUTH), queue in %s", relayHost, w.subAddr, w.queue.Spool.(*relay.DirSpool).Dir)
	return nil
}
