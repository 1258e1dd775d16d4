package relay

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const original = "From: bob@bob.example\r\nTo: jim@jim.example\r\nSubject: hello\r\n\r\nthe body\r\n"

// parseDSN parses a DSN and returns its three parts' types and bodies.
func parseDSN(t *testing.T, raw []byte) (*mail.Message, []string, []string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/report", mt)
	require.Equal(t, "delivery-status", params["report-type"])
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types, bodies []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, string(b))
	}
	return msg, types, bodies
}

func TestWriteDSNFailed(t *testing.T) {
	env := testEnvelope()
	env.Mail.Return = smtp.DSNReturnFull
	env.Size = int64(len(original))
	rcpt := Recipient{
		Address: "jim@jim.example", Status: "5.1.1", RemoteMTA: "mx.jim.example",
		LastError:   "550 5.1.1 no such user",
		LastAttempt: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC),
		Options:     smtp.RcptOptions{OriginalRecipient: &smtp.OriginalRecipient{Type: "rfc822", Address: "Jim@jim.example"}},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteDSN(&buf, &DSN{ReportingMTA: "relay.bob.example", Envelope: env, Action: ActionFailed, Recipients: []Recipient{rcpt}}, strings.NewReader(original)))

	msg, types, bodies := parseDSN(t, buf.Bytes())
	assert.Equal(t, "<bob@bob.example>", msg.Header.Get("To"))
	assert.Equal(t, "auto-replied", msg.Header.Get("Auto-Submitted"))
	require.Len(t, types, 3)
	assert.Equal(t, "text/plain; charset=utf-8", types[0])
	assert.Contains(t, bodies[0], "<jim@jim.example>: 550 5.1.1 no such user")
	assert.Equal(t, "message/delivery-status", types[1])
	for _, want := range []string{
		"Reporting-MTA: dns; relay.bob.example", "Original-Envelope-Id: env-1",
		"Original-Recipient: rfc822; Jim@jim.example", "Final-Recipient: rfc822; jim@jim.example",
		"Action: failed", "Status: 5.1.1", "Remote-MTA: dns; mx.jim.example",
		"Diagnostic-Code: smtp; 550 5.1.1 no such user", "Arrival-Date: ", "Last-Attempt-Date: ",
	} {
		assert.Contains(t, bodies[1], want)
	}
	assert.Equal(t, "message/rfc822", types[2])
	assert.Equal(t, original, bodies[2], "RET=FULL returns the whole message")
}

func TestWriteDSNHeadersAndUTF8(t *testing.T) {
	env := testEnvelope() // RET=HDRS
	var buf bytes.Buffer
	require.NoError(t, WriteDSN(&buf, &DSN{ReportingMTA: "r", Envelope: env, Action: ActionFailed, Recipients: env.Recipients[:1]}, strings.NewReader(original)))
	_, types, bodies := parseDSN(t, buf.Bytes())
	assert.Equal(t, "text/rfc822-headers", types[2])
	assert.NotContains(t, bodies[2], "the body")
	assert.Contains(t, bodies[2], "Subject: hello")
	assert.Contains(t, bodies[1], "Status: 5.0.0", "a failure without a status gets 5.0.0")

	env.Mail.UTF8 = true
	env.Mail.Return = ""
	env.Size = 10 << 20 // too large to return whole
	env.Recipients[0].Address = "jürgen@jim.example"
	buf.Reset()
	require.NoError(t, WriteDSN(&buf, &DSN{ReportingMTA: "r", Envelope: env, Action: ActionFailed, Recipients: env.Recipients[:1]}, strings.NewReader(original)))
	_, types, bodies = parseDSN(t, buf.Bytes())
	assert.Equal(t, "message/global-delivery-status", types[1])
	assert.Contains(t, bodies[1], "Final-Recipient: utf-8; jürgen@jim.example")
	assert.Equal(t, "message/global-headers", types[2], "a message over MaxReturn is returned as headers")
}

func TestWriteDSNDelayed(t *testing.T) {
	env := testEnvelope()
	until := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	require.NoError(t, WriteDSN(&buf, &DSN{ReportingMTA: "r", Envelope: env, Action: ActionDelayed, Recipients: env.Recipients[1:], RetryUntil: until}, strings.NewReader(original)))
	msg, _, bodies := parseDSN(t, buf.Bytes())
	assert.Contains(t, msg.Header.Get("Subject"), "Delayed")
	assert.Contains(t, bodies[1], "Action: delayed")
	assert.Contains(t, bodies[1], "Status: 4.0.0")
	assert.Contains(t, bodies[1], "Will-Retry-Until: "+until.Format(time.RFC1123Z))
}

func TestWantsNotice(t *testing.T) {
	r := func(n ...smtp.DSNNotify) *Recipient { return &Recipient{Options: smtp.RcptOptions{Notify: n}} }
	assert.True(t, wantsNotice(r(), ActionFailed))
	assert.True(t, wantsNotice(r(), ActionDelayed))
	assert.False(t, wantsNotice(r(), ActionDelivered))
	assert.False(t, wantsNotice(r(smtp.DSNNotifyNever), ActionFailed))
	assert.True(t, wantsNotice(r(smtp.DSNNotifySuccess), ActionDelivered))
	assert.False(t, wantsNotice(r(smtp.DSNNotifySuccess), ActionFailed))
	assert.True(t, wantsNotice(r(smtp.DSNNotifyFailure, smtp.DSNNotifyDelay), ActionDelayed))
}
