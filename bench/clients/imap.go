package clients

import (
	"bytes"
	"context"
	"errors"
	"io"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/posthorn/posthorn/bench/load"
	"github.com/posthorn/posthorn/imap"
)

// IMAPClient drives one IMAP client over one logged-in connection with
// INBOX selected.
type IMAPClient struct {
	// FetchEnvelopes runs "UID FETCH 1:* (UID FLAGS ENVELOPE)" and
	// returns how many messages came back, each decoded into the
	// library's typed result.
	FetchEnvelopes func() (int, error)
	// FetchBodies runs "UID FETCH 1:* (BODY.PEEK[])", streaming every
	// body into io.Discard through the library's streaming API, and
	// returns how many messages came back and their body octets (the raw
	// socket: every octet read).
	FetchBodies func() (msgs int, octets int64, err error)
	// Append stores msgs in INBOX, one APPEND each, pipelined as far as
	// the library can.
	Append func(msgs [][]byte) error
	Close  func()
}

// IMAPFetches are the FETCH scenarios of the clients: the command each
// client sends and the call that runs it, returning the messages fetched.
var IMAPFetches = []struct {
	Name, Cmd string
	Run       func(*IMAPClient) (int, error)
}{
	{"fetch-envelope", "UID FETCH 1:* (UID FLAGS ENVELOPE)", func(c *IMAPClient) (int, error) { return c.FetchEnvelopes() }},
	{"fetch-body", "UID FETCH 1:* (BODY.PEEK[])", func(c *IMAPClient) (int, error) {
		n, _, err := c.FetchBodies()
		return n, err
	}},
}

// RawSocket is the name of the zero-cost client: load's raw-socket IMAP
// connection, which parses nothing (it counts response lines and skips
// literals in bulk). Against the same server it is the ceiling of what
// any client can get.
const RawSocket = "raw-socket"

// IMAP lists the IMAP clients compared, by name; RawSocket last.
var IMAP = []struct {
	Name string
	Open func(addr, user, pass string) (*IMAPClient, error)
}{
	{"posthorn", openPosthornIMAP},
	{"go-imap", openGoIMAP},
	{RawSocket, openRawIMAP},
}

func openPosthornIMAP(addr, user, pass string) (*IMAPClient, error) {
	ctx := context.Background()
	c, err := imap.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, user, pass); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Select(ctx, "INBOX", nil); err != nil {
		c.Close()
		return nil, err
	}
	all, _ := imap.ParseNumSet("1:*")
	return &IMAPClient{
		FetchEnvelopes: func() (int, error) {
			n := 0
			for m, err := range c.UIDFetch(ctx, all, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}) {
				if err != nil {
					return n, err
				}
				if m.Envelope != nil {
					n++
				}
			}
			return n, nil
		},
		FetchBodies: func() (int, int64, error) {
			n, octets := 0, int64(0)
			// Sections stream: each body is read from the connection as
			// the loop reaches it, never held whole.
			for m, err := range c.UIDFetch(ctx, all, &imap.FetchOptions{Sections: []imap.FetchSection{{}}}) {
				if err != nil {
					return n, octets, err
				}
				sb, err := m.NextBody()
				if err != nil {
					return n, octets, err
				}
				if sb == nil {
					continue
				}
				k, err := io.Copy(io.Discard, sb.Reader)
				octets += k
				if err != nil {
					return n, octets, err
				}
				n++
			}
			return n, octets, nil
		},
		// AppendEach sends every APPEND before reading the first answer
		// when the server offers LITERAL+ (both servers here do).
		Append: func(msgs [][]byte) error {
			am := make([]imap.AppendMessage, len(msgs))
			for i, m := range msgs {
				am[i] = imap.AppendMessage{Body: bytes.NewReader(m), Size: int64(len(m))}
			}
			_, err := c.AppendEach(ctx, "INBOX", am)
			return err
		},
		Close: func() { c.Logout(ctx); c.Close() },
	}, nil
}

func openGoIMAP(addr, user, pass string) (*IMAPClient, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	all := goimap.UIDSet{goimap.UIDRange{Start: 1, Stop: 0}}
	return &IMAPClient{
		FetchEnvelopes: func() (int, error) {
			cmd := c.Fetch(all, &goimap.FetchOptions{UID: true, Flags: true, Envelope: true})
			n := 0
			for {
				msg := cmd.Next()
				if msg == nil {
					break
				}
				buf, err := msg.Collect()
				if err != nil {
					cmd.Close()
					return n, err
				}
				if buf.Envelope != nil {
					n++
				}
			}
			return n, cmd.Close()
		},
		FetchBodies: func() (int, int64, error) {
			// Next/Next streams: a body section's Literal reads from the
			// connection (Collect would buffer it whole).
			cmd := c.Fetch(all, &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{Peek: true}}})
			n, octets := 0, int64(0)
			for {
				msg := cmd.Next()
				if msg == nil {
					break
				}
				for {
					item := msg.Next()
					if item == nil {
						break
					}
					body, ok := item.(imapclient.FetchItemDataBodySection)
					if !ok || body.Literal == nil {
						continue
					}
					k, err := io.Copy(io.Discard, body.Literal)
					octets += k
					if err != nil {
						cmd.Close()
						return n, octets, err
					}
					n++
				}
			}
			return n, octets, cmd.Close()
		},
		// Commands go out without waiting for the previous answers, but
		// go-imap v2 writes a non-synchronising literal only for messages
		// up to 4 KiB (the LITERAL- rule, even when the server offers
		// LITERAL+): a larger one waits for the server's "+" first.
		Append: func(msgs [][]byte) error {
			cmds := make([]*imapclient.AppendCommand, 0, len(msgs))
			var errs []error
			for _, m := range msgs {
				cmd := c.Append("INBOX", int64(len(m)), nil)
				if _, err := cmd.Write(m); err != nil {
					errs = append(errs, err)
				}
				if err := cmd.Close(); err != nil {
					errs = append(errs, err)
				}
				cmds = append(cmds, cmd)
			}
			for _, cmd := range cmds {
				if _, err := cmd.Wait(); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
		Close: func() { c.Logout().Wait(); c.Close() },
	}, nil
}

func openRawIMAP(addr, user, pass string) (*IMAPClient, error) {
	c, err := load.DialIMAP(context.Background(), addr, user, pass)
	if err != nil {
		return nil, err
	}
	caps, err := c.Capability()
	if err == nil {
		_, err = c.Cmd("SELECT INBOX")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return &IMAPClient{
		FetchEnvelopes: func() (int, error) {
			res, err := c.Cmd("UID FETCH 1:* (UID FLAGS ENVELOPE)")
			return res.Untagged, err
		},
		FetchBodies: func() (int, int64, error) {
			res, err := c.Cmd("UID FETCH 1:* (BODY.PEEK[])")
			return res.Untagged, res.Bytes, err
		},
		Append: func(msgs [][]byte) error {
			if caps["LITERAL+"] {
				return c.AppendPipelined("INBOX", msgs)
			}
			for _, m := range msgs {
				if err := c.Append("INBOX", m); err != nil {
					return err
				}
			}
			return nil
		},
		Close: func() { c.Close() },
	}, nil
}
