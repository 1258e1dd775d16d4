// Command fetchnew downloads new mail from a POP3 server into a local
// Maildir, like fetchmail's "keep" mode.
//
//	go run ./examples/fetchnew -server HOST:PORT -user U -pass P -dir MAILDIR [-delete]
//
// It logs in (STLS by default; -security tls for implicit TLS, plain for
// none; -insecure accepts any certificate), asks for the UIDLs and
// downloads, pipelined, only the messages whose UIDL it has not seen
// before. Each message is written into MAILDIR/tmp, synced and renamed into
// MAILDIR/new, as received (CRLF line ends); the UIDLs are remembered in
// MAILDIR/.fetchnew-uidl. Messages stay on the server unless -delete is
// given; then the messages this run downloads are removed at QUIT, after
// every one of them is safe on disk. It prints how many messages it downloaded.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posthorn/posthorn/pop3"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fetchnew", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", "127.0.0.1:1110", "POP3 server host:port")
	security := fs.String("security", "starttls", "starttls (STLS), tls or plain")
	user := fs.String("user", "", "user name")
	pass := fs.String("pass", "", "password")
	insecure := fs.Bool("insecure", false, "accept any server certificate")
	dir := fs.String("dir", "", "local Maildir to download into (created if missing)")
	del := fs.Bool("delete", false, "delete the messages this run downloads from the server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *dir == "" || *user == "" {
		return errors.New("-dir and -user are required")
	}
	d := &pop3.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: *insecure}}
	switch *security {
	case "starttls":
		d.Security = pop3.STLSRequired
	case "tls":
		d.Security = pop3.ImplicitTLS
	case "plain":
		d.Security = pop3.Plaintext
	default:
		return fmt.Errorf("-security %q: want starttls, tls or plain", *security)
	}
	md := maildir(*dir)
	if err := md.create(); err != nil {
		return err
	}
	seen, err := md.seen()
	if err != nil {
		return err
	}

	c, err := d.Dial(ctx, *server)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, *user, *pass); err != nil {
		return err
	}
	got, fetchErr := c.FetchNew(ctx, func(uid string) bool { return seen[uid] }, &pop3.FetchOptions{Delete: *del},
		func(m pop3.Fetched, body io.Reader) error { return md.deliver(body) })
	// Remember what was saved even when the fetch stopped half-way, so the
	// next run does not download it again.
	if err := md.remember(got); err != nil {
		return err
	}
	if fetchErr != nil {
		return fmt.Errorf("%w (%d messages saved before)", fetchErr, len(got))
	}
	// QUIT commits the deletions: only now that every message is on disk.
	if err := c.Quit(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d new messages\n", len(got))
	return nil
}

// maildir is a local Maildir directory.
type maildir string

const uidlFile = ".fetchnew-uidl"

func (md maildir) create() error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(string(md), sub), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// seen returns the UIDLs downloaded before.
func (md maildir) seen() (map[string]bool, error) {
	seen := map[string]bool{}
	f, err := os.Open(filepath.Join(string(md), uidlFile))
	if errors.Is(err, fs.ErrNotExist) {
		return seen, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if uid := strings.TrimSpace(sc.Text()); uid != "" {
			seen[uid] = true
		}
	}
	return seen, sc.Err()
}

// remember appends uids to the UIDL file and syncs it.
func (md maildir) remember(uids []string) error {
	if len(uids) == 0 {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(string(md), uidlFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, strings.Join(uids, "\n")+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// deliver writes one message the Maildir way: into tmp/ under a unique
// name, synced, then renamed into new/.
func (md maildir) deliver(body io.Reader) error {
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", "\\057", ":", "\\072").Replace(host)
	now := time.Now()
	name := strconv.FormatInt(now.Unix(), 10) + ".M" + strconv.Itoa(now.Nanosecond()/1000) +
		"P" + strconv.Itoa(os.Getpid()) + "R" + rand.Text()[:10] + "." + host
	tmp := filepath.Join(string(md), "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(string(md), "new", name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Join(string(md), "new"))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
