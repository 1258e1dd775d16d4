package mailboxtest

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// cancelReader yields bytes and cancels its context once it has yielded
// after bytes; it stops at limit so that a store ignoring the context still
// finishes.
type cancelReader struct {
	cancel       context.CancelFunc
	n, after, at int64
	limit        int64
}

func (r *cancelReader) Read(p []byte) (int, error) {
	if r.n >= r.limit {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.limit-r.n, 4096)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n += k
	if r.n >= r.after && r.at == 0 {
		r.at = r.n
		r.cancel()
	}
	return int(k), nil
}

var contextCases = []kase{
	{
		name:    "Context/CancelledAccount",
		explain: "with a cancelled context, Store and Account calls return an error wrapping ctx.Err() and change nothing",
		run: func(c *caseT) {
			ctx := cancelled()
			a := c.account()
			_, err := c.F.Store.Open(ctx, c.F.User)
			c.wantErr(err, context.Canceled, "Store.Open")
			_, err = a.List(ctx)
			c.wantErr(err, context.Canceled, "List")
			_, err = a.Subscriptions(ctx)
			c.wantErr(err, context.Canceled, "Subscriptions")
			_, err = a.Mailbox(ctx, mailbox.Inbox)
			c.wantErr(err, context.Canceled, "Mailbox")
			_, err = a.LockMaildrop(ctx)
			c.wantErr(err, context.Canceled, "LockMaildrop")
			if c.opts.ReadOnly {
				return
			}
			c.wantErr(a.Create(ctx, "Never", nil), context.Canceled, "Create")
			c.create(a, "Stays")
			c.wantErr(a.Delete(ctx, "Stays"), context.Canceled, "Delete")
			c.wantErr(a.Rename(ctx, "Stays", "Moved"), context.Canceled, "Rename")
			c.wantErr(a.SetSubscribed(ctx, "Stays", true), context.Canceled, "SetSubscribed")
			l := c.list(a)
			if _, ok := l["Never"]; ok {
				c.errorf("Create with a cancelled context created the mailbox")
			}
			if _, ok := l["Stays"]; !ok {
				c.errorf("Delete or Rename with a cancelled context removed the mailbox")
			}
			if l["Stays"].Subscribed {
				c.errorf("SetSubscribed with a cancelled context subscribed")
			}
			// The lock was not taken by the cancelled call.
			if release, err := a.LockMaildrop(c.Ctx); err != nil {
				c.errorf("LockMaildrop after a cancelled one: %v", err)
			} else {
				release()
			}
		},
	},
	{
		name:    "Context/CancelledMailbox",
		explain: "with a cancelled context, Mailbox calls return an error wrapping ctx.Err() and change nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			ctx := cancelled()
			a, m := c.inbox()
			uid := c.appendMsg(m, "x")
			c.create(a, "Other")
			before := c.status(m)
			_, err := m.Status(ctx)
			c.wantErr(err, context.Canceled, "Status")
			_, err = m.Open(ctx, uid)
			c.wantErr(err, context.Canceled, "Open")
			_, err = m.Append(ctx, strings.NewReader("never"), nil)
			c.wantErr(err, context.Canceled, "Append")
			_, err = m.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
			c.wantErr(err, context.Canceled, "SetFlags")
			_, err = m.Expunge(ctx, []mailbox.UID{uid})
			c.wantErr(err, context.Canceled, "Expunge")
			_, err = m.Vanished(ctx, 0)
			c.wantErr(err, context.Canceled, "Vanished")
			n := 0
			for _, err := range m.Messages(ctx, 1) {
				n++
				c.wantErr(err, context.Canceled, "Messages")
				break
			}
			if n == 0 {
				c.errorf("Messages with a cancelled context yielded nothing, want the error")
			}
			_, err = mailbox.Copy(ctx, a, m, []mailbox.UID{uid}, "Other")
			c.wantErr(err, context.Canceled, "Copy")
			_, err = mailbox.Move(ctx, a, m, []mailbox.UID{uid}, "Other")
			c.wantErr(err, context.Canceled, "Move")
			after := c.status(m)
			if after != before {
				c.errorf("calls with a cancelled context changed the mailbox: %+v → %+v", before, after)
			}
			if info := c.info(m, uid); info.HasFlag(mailbox.FlagSeen) {
				c.errorf("SetFlags with a cancelled context changed the flags")
			}
			if st := c.status(c.box(a, "Other")); st.Messages != 0 {
				c.errorf("Copy or Move with a cancelled context copied %d messages", st.Messages)
			}
		},
	},
	{
		name:    "Context/AppendMidStream",
		explain: "Append honours its context while reading: cancelled mid-stream it returns ctx.Err() promptly, without reading the rest, and stores nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			ctx, cancel := context.WithCancel(c.Ctx)
			defer cancel()
			r := &cancelReader{cancel: cancel, after: 64 << 10, limit: 16 << 20}
			var err error
			c.prompt("Append cancelled mid-stream", func() {
				_, err = m.Append(ctx, r, nil)
			})
			c.wantErr(err, context.Canceled, "Append cancelled mid-stream")
			if r.n >= r.limit {
				c.errorf("Append read all %d bytes after the context was cancelled at %d", r.n, r.at)
			}
			if st := c.status(m); st.Messages != 0 {
				c.errorf("a cancelled Append stored %d messages", st.Messages)
			}
		},
	},
	{
		name:    "Context/Deadline",
		explain: "an expired deadline makes calls return an error wrapping context.DeadlineExceeded",
		run: func(c *caseT) {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel()
			a, m := c.inbox()
			_, err := a.List(ctx)
			c.wantErr(err, context.DeadlineExceeded, "List")
			_, err = m.Status(ctx)
			c.wantErr(err, context.DeadlineExceeded, "Status")
			if !c.opts.ReadOnly {
				_, err = m.Append(ctx, strings.NewReader("x"), nil)
				c.wantErr(err, context.DeadlineExceeded, "Append")
			}
		},
	},
}

var authCases = []kase{
	{
		name:    "Auth/Password",
		explain: "Authenticate with the right password returns the user name to open, and Store.Open accepts it",
		needs:   needPassword,
		run: func(c *caseT) {
			user, err := c.F.Auth.Authenticate(c.Ctx, c.F.User, c.F.Password)
			c.must(err, "Authenticate with the right password")
			if user == "" {
				c.errorf("Authenticate returned an empty user")
			}
			a, err := c.F.Store.Open(c.Ctx, user)
			if err != nil {
				c.errorf("Store.Open(%q) of the authenticated user: %v", user, err)
				return
			}
			a.Close()
		},
	},
	{
		name:    "Auth/Refused",
		explain: "a wrong or empty password, or an unknown user, gives an error wrapping ErrAuthFailed (never ErrNotExist: no user enumeration)",
		needs:   needPassword,
		run: func(c *caseT) {
			for _, cred := range [][2]string{
				{c.F.User, c.F.Password + "x"},
				{c.F.User, c.F.Password[:len(c.F.Password)-1]},
				{c.F.User, ""},
				{c.F.User, strings.ToUpper(c.F.Password) + strings.ToLower(c.F.Password)},
				{c.F.User + "-nobody", c.F.Password},
				{"", ""},
			} {
				if cred[1] == c.F.Password && cred[0] == c.F.User {
					continue
				}
				_, err := c.F.Auth.Authenticate(c.Ctx, cred[0], cred[1])
				c.wantErr(err, mailbox.ErrAuthFailed, "Authenticate(%q, %q)", cred[0], cred[1])
			}
		},
	},
	{
		name:    "Auth/Token",
		explain: "AuthenticateToken accepts the user's token and refuses others, and the password, with ErrAuthFailed",
		needs:   needToken,
		run: func(c *caseT) {
			ta := c.F.Auth.(mailbox.TokenAuthenticator)
			user, err := ta.AuthenticateToken(c.Ctx, c.F.User, c.F.Token)
			if err != nil || user == "" {
				c.errorf("AuthenticateToken with the right token = %q, %v", user, err)
			}
			for _, tok := range []string{c.F.Token + "x", "", c.F.Password} {
				if tok == c.F.Token {
					continue
				}
				_, err := ta.AuthenticateToken(c.Ctx, c.F.User, tok)
				c.wantErr(err, mailbox.ErrAuthFailed, "AuthenticateToken with token %q", tok)
			}
		},
	},
	{
		name:    "Auth/Secret",
		explain: "a SecretAuthenticator returns the user to open and a non-empty secret for a known user, and an error for an unknown one",
		needs:   needPassword,
		run: func(c *caseT) {
			sa, ok := c.F.Auth.(mailbox.SecretAuthenticator)
			if !ok {
				c.Skipf("the authenticator (%T) is not a mailbox.SecretAuthenticator", c.F.Auth)
			}
			user, secret, err := sa.Secret(c.Ctx, c.F.User)
			if err != nil || user == "" || secret == "" {
				c.errorf("Secret(%q) = %q, %q, %v", c.F.User, user, secret, err)
			}
			_, _, err = sa.Secret(c.Ctx, c.F.User+"-nobody")
			c.wantErrs(err, []error{mailbox.ErrAuthFailed, mailbox.ErrNotExist}, "Secret of an unknown user")
		},
	},
	{
		name:    "Recipient/Lookup",
		explain: "LookupRecipient maps the user's address (domain in any case) to the user, and unknown addresses to an error wrapping ErrNotExist",
		needs:   needAddress,
		run: func(c *caseT) {
			rr := c.F.Store.(mailbox.RecipientResolver)
			local, domain, _ := strings.Cut(c.F.Address, "@")
			for _, addr := range []string{c.F.Address, local + "@" + strings.ToUpper(domain)} {
				user, err := rr.LookupRecipient(c.Ctx, addr)
				if err != nil {
					c.errorf("LookupRecipient(%q): %v", addr, err)
					continue
				}
				a, err := c.F.Store.Open(c.Ctx, user)
				if err != nil {
					c.errorf("LookupRecipient(%q) = %q, which Store.Open refuses: %v", addr, user, err)
					continue
				}
				if a.User() != c.F.User {
					c.errorf("LookupRecipient(%q) leads to user %q, want %q", addr, a.User(), c.F.User)
				}
				a.Close()
			}
			for _, addr := range []string{"nobody-" + c.F.Address, local + "@no-such-domain.invalid", "", "no-at-sign"} {
				_, err := rr.LookupRecipient(c.Ctx, addr)
				c.wantErr(err, mailbox.ErrNotExist, "LookupRecipient(%q)", addr)
			}
		},
	},
}

var _ = errors.Is
