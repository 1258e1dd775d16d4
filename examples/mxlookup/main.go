// Command mxlookup prints where mail for a domain goes: one mail exchanger a
// line, in the order a sender tries them, as
//
//	PREF HOST ADDR[,ADDR...]
//
// with "implicit" appended when the domain has no MX records and its own
// addresses are used, and "-" for a host without addresses. On failure it
// prints one line "error: KIND: DETAIL" and exits 1 for a permanent failure
// (null MX, no such domain, ...) or 2 for a temporary one; a usage error
// exits 64.
//
//	go run ./examples/mxlookup [-server HOST:PORT] [-timeout 2s] [-4|-6] DOMAIN
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/posthorn/posthorn/mx"
)

// Exit codes.
const (
	exitOK        = 0
	exitPermanent = 1
	exitTemporary = 2
	exitUsage     = 64
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, apart from the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mxlookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "DNS server as HOST:PORT (default: the nameservers of /etc/resolv.conf)")
	timeout := fs.Duration("timeout", mx.DefaultTimeout, "timeout of one query to one server")
	v4 := fs.Bool("4", false, "IPv4 addresses only")
	v6 := fs.Bool("6", false, "IPv6 addresses only")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mxlookup [-server HOST:PORT] [-timeout D] [-4|-6] DOMAIN")
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil || fs.NArg() != 1 || *v4 && *v6 {
		if err == nil {
			fs.Usage()
		}
		return exitUsage
	}
	r := &mx.Resolver{Timeout: *timeout, Logger: slog.New(slog.DiscardHandler)}
	if *server != "" {
		r.Servers = []string{*server}
	}
	switch {
	case *v4:
		r.Order = mx.IPv4Only
	case *v6:
		r.Order = mx.IPv6Only
	}
	res, err := r.Lookup(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "error: %s: %v\n", kind(err), err)
		if errors.Is(err, mx.ErrTemporary) {
			return exitTemporary
		}
		return exitPermanent
	}
	for _, h := range res.Hosts {
		fmt.Fprintln(stdout, hostLine(h, res.Implicit))
	}
	return exitOK
}

// hostLine formats one target.
func hostLine(h mx.Host, implicit bool) string {
	addrs := make([]string, len(h.Addrs))
	for i, a := range h.Addrs {
		addrs[i] = a.String()
	}
	list := strings.Join(addrs, ",")
	if list == "" {
		list = "-"
	}
	line := fmt.Sprintf("%d %s %s", h.Pref, h.Name, list)
	if implicit {
		line += " implicit"
	}
	return line
}

// kind names the class of a lookup error for the error line.
func kind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{mx.ErrNullMX, "null MX"},
		{mx.ErrNotFound, "no such domain"},
		{mx.ErrNoAddress, "no address"},
		{mx.ErrLoop, "mail loop"},
		{mx.ErrCNAMELoop, "CNAME loop"},
		{mx.ErrInvalidDomain, "invalid domain"},
		{mx.ErrTemporary, "temporary"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "failure"
}
