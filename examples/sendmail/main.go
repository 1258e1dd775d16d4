// Command sendmail sends one message through an SMTP submission server.
//
//	go run ./examples/sendmail -server HOST:PORT -user U -pass P \
//		-from ADDR -to ADDR[,ADDR...] [FILE]
//
// The message is read from FILE, or from stdin, and streamed to the server
// (never held in memory). -security chooses starttls (the default), tls
// (implicit TLS, port 465) or plain; -insecure accepts any certificate,
// such as the self-signed one of examples/mailserver. It authenticates when
// -user is given. It prints the server's final reply and one line per
// refused recipient; it exits with status 1 and one "error:" line when the
// message was not sent to every recipient.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/posthorn/posthorn/smtp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("sendmail", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", "127.0.0.1:5870", "submission server host:port")
	security := fs.String("security", "starttls", "starttls, tls or plain")
	user := fs.String("user", "", "log in as this user")
	pass := fs.String("pass", "", "password for -user")
	insecure := fs.Bool("insecure", false, "accept any server certificate")
	from := fs.String("from", "", "envelope sender")
	to := fs.String("to", "", "recipients, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rcpts []smtp.Recipient
	for _, a := range strings.Split(*to, ",") {
		if a = strings.TrimSpace(a); a != "" {
			rcpts = append(rcpts, smtp.Recipient{Address: a})
		}
	}
	if *from == "" || len(rcpts) == 0 {
		return errors.New("-from and -to are required")
	}
	body := stdin
	if fs.NArg() > 1 {
		return errors.New("at most one FILE")
	}
	if fs.NArg() == 1 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		body = f
	}
	d := &smtp.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: *insecure}}
	switch *security {
	case "starttls":
		d.Security = smtp.StartTLSRequired
	case "tls":
		d.Security = smtp.ImplicitTLS
	case "plain":
		d.Security = smtp.Plain
	default:
		return fmt.Errorf("-security %q: want starttls, tls or plain", *security)
	}

	c, err := d.Dial(ctx, *server)
	if err != nil {
		return err
	}
	defer c.Close()
	if *user != "" {
		if err := c.Login(ctx, *user, *pass); err != nil {
			return err
		}
	}
	br := bufio.NewReaderSize(body, 64<<10)
	w, results, err := c.Transaction(ctx, *from, mailOptions(br), rcpts)
	printRefused(out, results)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, br); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	fmt.Fprintln(out, w.Reply())
	c.Quit(ctx)
	if refused := countRefused(results); refused > 0 {
		return fmt.Errorf("%d of %d recipients refused", refused, len(results))
	}
	return nil
}

// mailOptions looks at the first 64 KiB of the message: 8-bit bytes ask for
// BODY=8BITMIME, and 8-bit bytes in the header for SMTPUTF8 (RFC 6532).
func mailOptions(br *bufio.Reader) *smtp.MailOptions {
	head, _ := br.Peek(br.Size())
	opts := &smtp.MailOptions{}
	end := len(head)
	if i := strings.Index(string(head), "\n\n"); i >= 0 {
		end = i
	} else if i := strings.Index(string(head), "\r\n\r\n"); i >= 0 {
		end = i
	}
	for i, b := range head {
		if b >= 0x80 {
			opts.Body = smtp.Body8BitMIME
			if i < end {
				opts.UTF8 = true
			}
			break
		}
	}
	return opts
}

func printRefused(out io.Writer, results []smtp.RcptResult) {
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(out, "refused %s: %v\n", r.Address, r.Err)
		}
	}
}

func countRefused(results []smtp.RcptResult) int {
	n := 0
	for _, r := range results {
		if r.Err != nil {
			n++
		}
	}
	return n
}
