package pop3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/posthorn/posthorn/internal/textwire"
)

// FetchOptions tune Client.FetchNew.
type FetchOptions struct {
	// Delete marks each message deleted (DELE) once its handler returned
	// nil; the server removes them at Quit. False keeps them on the server
	// ("leave a copy on the server"), and the UIDLs tell what is new next
	// time.
	Delete bool
	// Window is how many commands may be in flight when the server offers
	// PIPELINING (RFC 2449 §6.6); 0 → 16. Without PIPELINING it is 1.
	Window int
}

// Fetched describes one message FetchNew passes to its handler.
type Fetched struct {
	Number int
	UID    string // the UIDL
	Size   int64  // from LIST
}

// FetchNew downloads the messages whose UIDL seen does not know, in order,
// and passes each to fn with its body, which is valid only during the call.
// When fn returns an error, FetchNew stops (after reading the replies
// already in flight) and returns it. It returns the UIDLs of the messages
// fn accepted. It does not Quit: deletions take effect at Quit, and closing
// without it keeps everything.
func (c *Client) FetchNew(ctx context.Context, seen func(uid string) bool, opts *FetchOptions, fn func(m Fetched, body io.Reader) error) ([]string, error) {
	if opts == nil {
		opts = &FetchOptions{}
	}
	uids, err := c.UIDL(ctx)
	if err != nil {
		return nil, err
	}
	sizes, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	size := make(map[int]int64, len(sizes))
	for _, s := range sizes {
		size[s.Number] = s.Size
	}
	var todo []Fetched
	for _, u := range uids {
		if seen == nil || !seen(u.UID) {
			todo = append(todo, Fetched{Number: u.Number, UID: u.UID, Size: size[u.Number]})
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	window := 1
	if c.caps.Has("PIPELINING") {
		window = opts.Window
		if window <= 0 {
			window = 16
		}
	}
	done, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	got, err := c.fetchLoop(todo, window, opts.Delete, fn)
	return got, c.end(done, err)
}

type pendingCmd struct {
	dele bool
	m    Fetched
}

func (c *Client) fetchLoop(todo []Fetched, window int, del bool, fn func(Fetched, io.Reader) error) ([]string, error) {
	var (
		got      []string
		inFlight []pendingCmd
		deletes  []int
		next     int
		stopErr  error
		errs     []error
	)
	fill := func() error {
		for len(inFlight) < window {
			switch {
			case len(deletes) > 0:
				c.send("DELE "+strconv.Itoa(deletes[0]), false)
				inFlight = append(inFlight, pendingCmd{dele: true})
				deletes = deletes[1:]
			case next < len(todo) && stopErr == nil:
				c.send("RETR "+strconv.Itoa(todo[next].Number), false)
				inFlight = append(inFlight, pendingCmd{m: todo[next]})
				next++
			default:
				return c.bw.Flush()
			}
		}
		return c.bw.Flush()
	}
	for {
		if err := fill(); err != nil {
			return got, err
		}
		if len(inFlight) == 0 {
			break
		}
		p := inFlight[0]
		inFlight = inFlight[1:]
		_, err := c.readReply()
		if err != nil {
			if !isPOPErr(err) {
				return got, err
			}
			if p.dele {
				errs = append(errs, fmt.Errorf("DELE: %w", err))
			} else {
				errs = append(errs, fmt.Errorf("RETR %d: %w", p.m.Number, err))
			}
			continue
		}
		if p.dele {
			continue
		}
		r := textwire.NewDotReader(c.br, textwire.DotOptions{NormalizeBareLineEndings: true})
		if stopErr == nil {
			if ferr := fn(p.m, r); ferr != nil {
				stopErr = ferr
			} else {
				got = append(got, p.m.UID)
				if del {
					deletes = append(deletes, p.m.Number)
				}
			}
		}
		if err := r.Drain(); err != nil {
			return got, err
		}
	}
	if stopErr != nil {
		return got, stopErr
	}
	return got, errors.Join(errs...)
}
