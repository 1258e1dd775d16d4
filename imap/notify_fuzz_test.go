package imap

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/imap/internal/wire"
)

// parseNotifyLine parses the arguments of a NOTIFY command (from the SP
// after its name) followed by CRLF.
func parseNotifyLine(args string, utf8 bool) (*notifyCmd, error) {
	d := wire.NewDecoder(bufio.NewReader(strings.NewReader(args + "\r\n")))
	d.UTF8 = utf8
	n := parseNotify(d)
	if n == nil || !d.ExpectCRLF() {
		return nil, d.Err()
	}
	return n, nil
}

var notifySeeds = []string{
	" NONE",
	" SET STATUS (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge) (subtree Lists MessageNew)",
	" set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))",
	" set (mailboxes INBOX (Messagenew messageExpunge)) (personal (SubscriptionChange))",
	" set (selected (Messagenew (uid flags) messageExpunge)) (personal (MessageNew FlagChange MessageExpunge))",
	" SET (selected-delayed (MessageNew MessageExpunge FlagChange)) (inboxes NONE) (subscribed (MailboxName))",
	` SET (subtree ("a b" {3}` + "\r\n" + `x]y &AOk-) (AnnotationChange Foo MailboxMetadataChange ServerMetadataChange))`,
	" SET (selected (MessageNew (BODY[1.2.MIME] BINARY.PEEK[1]<0.5> BINARY.SIZE[2] PREVIEW (LAZY) RFC822.SIZE BODY ENVELOPE) MessageExpunge))",
	" SET (mailboxes (\"\") NONE)",
}

// The RFC's examples parse, and render in canonical form.
func TestNotifyParseRender(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{notifySeeds[0], " NONE"},
		{notifySeeds[1], " SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (from to subject)]) MessageExpunge)) (SUBTREE (Lists) (MessageNew))"},
		{notifySeeds[3], " SET (MAILBOXES (INBOX) (MessageNew MessageExpunge)) (PERSONAL (SubscriptionChange))"},
		{notifySeeds[5], " SET (SELECTED-DELAYED (MessageNew MessageExpunge FlagChange)) (INBOXES NONE) (SUBSCRIBED (MailboxName))"},
		{notifySeeds[6], ` SET (SUBTREE ("a b" "x]y" &AOk-) (AnnotationChange MailboxMetadataChange ServerMetadataChange FOO))`},
	} {
		n, err := parseNotifyLine(tc.in, false)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.out, n.render(false), tc.in)
	}
	n, err := parseNotifyLine(notifySeeds[6], true)
	require.NoError(t, err)
	require.Equal(t, []string{"a b", "x]y", "&AOk-"}, n.groups[0].names)
	n, err = parseNotifyLine(notifySeeds[6], false)
	require.NoError(t, err)
	require.Equal(t, []string{"a b", "x]y", "é"}, n.groups[0].names)
}

// FuzzNotifyCommand: whatever parses renders to a command that parses to
// the same request, renders the same again (a fixed point), and gets the
// same verdict from the RFC's rules.
func FuzzNotifyCommand(f *testing.F) {
	for _, s := range notifySeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, args string, utf8 bool) {
		n, err := parseNotifyLine(args, utf8)
		if err != nil {
			return
		}
		out := n.render(utf8)
		m, err := parseNotifyLine(out, utf8)
		require.NoError(t, err, "rendered %q", out)
		require.Equal(t, n, m, "rendered %q", out)
		require.Equal(t, out, m.render(utf8))
		require.Equal(t, n.check(), m.check())
	})
}
