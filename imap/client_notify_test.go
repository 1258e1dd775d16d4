package imap

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Client.Notify against the server: STATUS before the OK, then, while
// Idle waits, STATUS and LIST for other mailboxes and EXISTS plus the
// requested FETCH for the selected one; refusals are *Error.
func TestClientNotify(t *testing.T) {
	e := newTestEnv(t)
	e.createMailboxes("news")
	updates := make(chan Update, 64)
	ctx := ctxT(t)
	c, err := Dial(ctx, e.addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Login(ctx, "sara", "secret"))

	err = c.Notify(ctx, &NotifyOptions{Groups: []NotifyGroup{{Filter: NotifyPersonal, Events: []NotifyEvent{NotifyMailboxMetadataChange}}}})
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, StatusNO, ie.Type)
	assert.Equal(t, CodeBadEvent, ie.Code)
	require.Error(t, c.Notify(ctx, &NotifyOptions{}))
	require.Error(t, c.Notify(ctx, &NotifyOptions{Groups: []NotifyGroup{{Filter: "PERSONAL (x)\r\nX LOGOUT"}}}))

	_, err = c.Select(ctx, "INBOX", nil)
	require.NoError(t, err)
	c.opts.Handler = func(u Update) { updates <- u }
	require.NoError(t, c.Notify(ctx, &NotifyOptions{Status: true, Groups: []NotifyGroup{
		{Filter: NotifySelected, Events: []NotifyEvent{NotifyMessageNew, NotifyMessageExpunge}, Fetch: &FetchOptions{UID: true, Envelope: true}},
		{Filter: NotifyMailboxes, Mailboxes: []string{"news"}, Events: []NotifyEvent{NotifyMessageNew, NotifyMessageExpunge}},
		{Filter: NotifyPersonal, Events: []NotifyEvent{NotifyMailboxName}},
	}}))
	u := <-updates
	require.Equal(t, UpdateStatus, u.Kind)
	assert.Equal(t, "news", u.Status.Mailbox)

	e.appendMsg("news", msg("n", "x\r\n"))
	e.appendMsg("INBOX", msg("hello", "x\r\n"))
	e.createMailboxes("fresh")
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var got []Update
	done := make(chan error, 1)
	go func() { done <- c.Idle(ictx, 0, nil) }()
	want := map[UpdateKind]bool{UpdateStatus: true, UpdateExists: true, UpdateFetch: true, UpdateList: true}
	for len(want) > 0 {
		select {
		case u := <-updates:
			got = append(got, u)
			delete(want, u.Kind)
		case <-ictx.Done():
			t.Fatalf("missing %v; got %+v", want, got)
		}
	}
	cancel()
	require.NoError(t, <-done)
	for _, u := range got {
		switch u.Kind {
		case UpdateStatus:
			assert.Equal(t, "news", u.Status.Mailbox)
			assert.EqualValues(t, 1, u.Status.Messages)
		case UpdateFetch:
			assert.EqualValues(t, 1, u.Message.UID)
			if assert.NotNil(t, u.Message.Envelope) {
				assert.Equal(t, "hello", u.Message.Envelope.Subject)
			}
		case UpdateList:
			assert.Equal(t, "fresh", u.List.Name)
		}
	}
	require.NoError(t, c.Notify(ctx, nil))
}
