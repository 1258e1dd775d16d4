package clients

import (
	"context"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/posthorn/posthorn/imap"
)

// IMAPFetcher runs "UID FETCH 1:* (UID FLAGS ENVELOPE)" on the selected
// INBOX and returns how many messages came back, each decoded into the
// library's typed result.
type IMAPFetcher struct {
	FetchAll func() (int, error)
	Close    func()
}

// IMAP lists the IMAP clients compared, by name.
var IMAP = []struct {
	Name string
	Open func(addr, user, pass string) (*IMAPFetcher, error)
}{
	{"posthorn", openPosthornIMAP},
	{"go-imap", openGoIMAP},
}

func openPosthornIMAP(addr, user, pass string) (*IMAPFetcher, error) {
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
	return &IMAPFetcher{
		FetchAll: func() (int, error) {
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
		Close: func() { c.Logout(ctx); c.Close() },
	}, nil
}

func openGoIMAP(addr, user, pass string) (*IMAPFetcher, error) {
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
	return &IMAPFetcher{
		FetchAll: func() (int, error) {
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
		Close: func() { c.Logout().Wait(); c.Close() },
	}, nil
}
