package imap

import (
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/testcert"
)

// ctMessage builds a small RFC 5322 message.
func ctMessage(subject, body string) string {
	return "From: Sara <sara@example.org>\r\n" +
		"To: Jim <jim@example.net>, Bob <bob@example.com>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Tue, 5 Mar 2024 10:00:00 +0000\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" + body
}

// ctAppend appends messages to a mailbox and returns their UIDs.
func ctAppend(t *testing.T, c *Client, mbox string, msgs ...string) []uint32 {
	t.Helper()
	var uids []uint32
	for _, m := range msgs {
		res, err := c.Append(ctxT(t), mbox, AppendMessage{Body: strings.NewReader(m), Size: int64(len(m))})
		require.NoError(t, err)
		uids = append(uids, res.UIDs...)
	}
	return uids
}

func ctLoginAndCapabilities(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c, err := Dial(ctx, p.addr)
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, StatusOK, c.Greeting().Type)
	caps, err := c.Capability(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, caps)
	assert.True(t, c.Has(ctx, "STARTTLS"))

	u, pass := p.newUser(t)
	err = c.Login(ctx, u, "wrong")
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, StatusNO, ie.Type)
	require.NoError(t, c.Login(ctx, u, pass))
	// Capabilities are refreshed after login (from the OK code or by
	// asking again): they now include post-login extensions.
	assert.True(t, c.Has(ctx, "IDLE") || c.Has(ctx, "IMAP4REV2"))
	assert.False(t, c.Has(ctx, "LOGINDISABLED"))
	require.NoError(t, c.Noop(ctx))
	require.NoError(t, c.Logout(ctx))
	assert.Error(t, c.Noop(ctx), "client is closed after logout")
}

func ctAuthenticate(t *testing.T, p *ctPeer) {
	for name, mech := range map[string]func(u, p string) SASLClient{
		"PLAIN": func(u, p string) SASLClient { return PlainAuth("", u, p) },
		"LOGIN": LoginAuth,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			c, err := Dial(ctx, p.addr)
			require.NoError(t, err)
			defer c.Close()
			u, pass := p.newUser(t)
			if !c.Has(ctx, "AUTH="+name) {
				if p.name == "dovecot" {
					t.Fatalf("dovecot should offer AUTH=%s", name)
				}
				t.Skipf("%s does not offer AUTH=%s", p.name, name)
			}
			err = c.Authenticate(ctx, mech(u, "bad"))
			var ie *Error
			require.ErrorAs(t, err, &ie)
			require.NoError(t, c.Authenticate(ctx, mech(u, pass)))
			_, err = c.Select(ctx, "INBOX", nil)
			require.NoError(t, err)
		})
	}
}

func ctTLS(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	t.Run("starttls", func(t *testing.T) {
		c, err := DialStartTLS(ctx, p.addr, testcert.ClientTLS())
		require.NoError(t, err)
		defer c.Close()
		assert.True(t, c.IsTLS())
		assert.False(t, c.Has(ctx, "STARTTLS"), "capabilities asked again over TLS")
		u, pass := p.newUser(t)
		require.NoError(t, c.Login(ctx, u, pass))
	})
	t.Run("implicit", func(t *testing.T) {
		c, err := DialTLS(ctx, p.tlsAddr, testcert.ClientTLS())
		require.NoError(t, err)
		defer c.Close()
		assert.True(t, c.IsTLS())
		u, pass := p.newUser(t)
		require.NoError(t, c.Login(ctx, u, pass))
	})
	t.Run("untrusted", func(t *testing.T) {
		_, err := DialTLS(ctx, p.tlsAddr, &tls.Config{})
		require.Error(t, err)
	})
}

func ctMailboxes(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	// Non-ASCII names travel in modified UTF-7 (or UTF-8 once enabled).
	name := "Reports/Ünïcödé & Co"
	require.NoError(t, c.Create(ctx, name))
	require.NoError(t, c.Create(ctx, "Work"))
	list, err := c.List(ctx, "", "*", nil)
	require.NoError(t, err)
	names := map[string]*ListData{}
	for _, l := range list {
		names[l.Name] = l
	}
	require.Contains(t, names, name)
	require.Contains(t, names, "INBOX")
	assert.Equal(t, '/', names[name].Delim)

	require.NoError(t, c.Rename(ctx, "Work", "Work2"))
	list, err = c.List(ctx, "", "Work%", nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "Work2", list[0].Name)

	require.NoError(t, c.Subscribe(ctx, "Work2"))
	sub, err := c.List(ctx, "", "*", &ListOptions{SelectSubscribed: true})
	require.NoError(t, err)
	require.NotEmpty(t, sub)
	found := false
	for _, l := range sub {
		found = found || l.Name == "Work2"
		assert.True(t, l.HasAttr(AttrSubscribed), "%s has \\Subscribed", l.Name)
	}
	assert.True(t, found)
	require.NoError(t, c.Unsubscribe(ctx, "Work2"))

	ctAppend(t, c, name, ctMessage("one", "hello\r\n"), ctMessage("two", "world\r\n"))
	st, err := c.Status(ctx, name, []StatusItem{StatusMessages, StatusUIDNext, StatusUIDValidity, StatusUnseen})
	require.NoError(t, err)
	assert.Equal(t, name, st.Mailbox)
	assert.EqualValues(t, 2, st.Messages)
	assert.EqualValues(t, 2, st.Unseen)
	assert.NotZero(t, st.UIDValidity)
	assert.True(t, st.Has(StatusUIDNext))

	if c.Has(ctx, "LIST-STATUS") {
		ls, err := c.List(ctx, "", name, &ListOptions{ReturnStatus: []StatusItem{StatusMessages}})
		require.NoError(t, err)
		require.Len(t, ls, 1)
		require.NotNil(t, ls[0].Status)
		assert.EqualValues(t, 2, ls[0].Status.Messages)
	}

	require.NoError(t, c.Delete(ctx, "Work2"))
	err = c.Delete(ctx, "Work2")
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, StatusNO, ie.Type)

	ns, err := c.Namespace(ctx)
	if c.Has(ctx, "NAMESPACE") {
		require.NoError(t, err)
		require.NotEmpty(t, ns.Personal)
	}
}

func ctSelectAndFetch(t *testing.T, p *ctPeer) {
	ctx := ctxT(t)
	c := p.login(t, nil)
	uids := ctAppend(t, c, "INBOX", ctMessage("first message", "one\r\n"), ctMessage("second message", "two\r\nlines\r\n"))
	sel, err := c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, sel.Exists)
	assert.NotZero(t, sel.UIDValidity)
	assert.False(t, sel.ReadOnly)
	assert.NotEmpty(t, sel.Flags)

	var got []*FetchMessage
	opts := &FetchOptions{UID: true, Flags: true, Envelope: true, BodyStructure: true, InternalDate: true, RFC822Size: true,
		Sections: []FetchSection{{Section: Section{Specifier: PartHeaderFields, Fields: []string{"Subject"}}}, {}}}
	var bodies []string
	for m, err := range c.Fetch(ctx, span(1, Star), opts) {
		require.NoError(t, err)
		got = append(got, m)
		for {
			sb, err := m.NextBody()
			require.NoError(t, err)
			if sb == nil {
				break
			}
			b, err := io.ReadAll(sb.Reader)
			require.NoError(t, err)
			assert.EqualValues(t, len(b), sb.Size)
			bodies = append(bodies, string(b))
		}
	}
	require.Len(t, got, 2)
	m := got[0]
	if len(uids) == 2 {
		assert.Equal(t, uids[0], m.UID)
	}
	assert.EqualValues(t, 1, m.Seq)
	assert.NotNil(t, m.Flags)
	if opts.Envelope {
		require.NotNil(t, m.Envelope)
		assert.Equal(t, "first message", m.Envelope.Subject)
		require.Len(t, m.Envelope.To, 2)
		assert.Equal(t, "jim@example.net", m.Envelope.To[0].Addr())
		assert.Equal(t, "Sara", m.Envelope.From[0].Name)
		assert.Equal(t, "<first.message@example.org>", m.Envelope.MessageID)
	}
	if opts.BodyStructure {
		require.NotNil(t, m.BodyStructure)
		// Case is the server's choice (Dovecot sends "text", others "TEXT").
		assert.True(t, strings.EqualFold("text", m.BodyStructure.Type), m.BodyStructure.Type)
		assert.True(t, strings.EqualFold("plain", m.BodyStructure.Subtype), m.BodyStructure.Subtype)
		assert.EqualValues(t, 5, m.BodyStructure.Size)
		assert.EqualValues(t, 1, m.BodyStructure.Lines)
		require.Len(t, m.BodyStructure.Params, 1)
		assert.True(t, strings.EqualFold("charset", m.BodyStructure.Params[0].Name))
		assert.Equal(t, "utf-8", m.BodyStructure.Params[0].Value)
	}
	assert.EqualValues(t, len(ctMessage("first message", "one\r\n")), m.RFC822Size)
	assert.WithinDuration(t, time.Now(), m.InternalDate, 48*time.Hour)
	require.Len(t, bodies, 4)
	assert.Equal(t, "Subject: first message\r\n\r\n", bodies[0])
	assert.Equal(t, ctMessage("first message", "one\r\n"), bodies[1])
	assert.Equal(t, ctMessage("second message", "two\r\nlines\r\n"), bodies[3])

	// The view knows seq → UID from the FETCH responses.
	uid, ok := c.SeqUID(2)
	assert.True(t, ok)
	assert.Equal(t, got[1].UID, uid)

	// Partial fetch and UID FETCH.
	for m, err := range c.UIDFetch(ctx, span(got[1].UID, got[1].UID), &FetchOptions{Sections: []FetchSection{{Offset: 6, Count: 4}}}) {
		require.NoError(t, err)
		assert.Equal(t, got[1].UID, m.UID)
		b, err := m.ReadBody(100)
		require.NoError(t, err)
		assert.Equal(t, "Sara", string(b))
	}
	// Breaking out of the loop leaves the client usable.
	n := 0
	for _, err := range c.Fetch(ctx, span(1, Star), &FetchOptions{Sections: []FetchSection{{}}}) {
		require.NoError(t, err)
		n++
		break
	}
	assert.Equal(t, 1, n)
	require.NoError(t, c.Noop(ctx))

	ex, err := c.Examine(ctx, "INBOX")
	require.NoError(t, err)
	assert.True(t, ex.ReadOnly)
	require.NoError(t, c.Unselect(ctx))
	assert.Nil(t, c.Mailbox())
}
