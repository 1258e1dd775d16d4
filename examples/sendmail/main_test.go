package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/smtp"
	"github.com/posthorn/posthorn/smtp/smtptest"
)

const msg = "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\n.dot\r\nbody\r\n"

func TestSendStartTLSWithAuth(t *testing.T) {
	srv := smtptest.NewServer(t, &smtptest.Options{TLS: true, Users: map[string]string{"alice": "pw"}})
	var out strings.Builder
	err := run(context.Background(), []string{"-server", srv.Addr(), "-insecure", "-user", "alice", "-pass", "pw",
		"-from", "a@example.org", "-to", "b@example.org, c@example.org"}, strings.NewReader(msg), &out)
	require.NoError(t, err)
	assert.Regexp(t, `^250 `, out.String())
	m := srv.WaitMessages(1, 0)
	require.Len(t, m, 1)
	assert.True(t, m[0].TLS)
	assert.Equal(t, "alice", m[0].Identity)
	assert.Equal(t, []string{"b@example.org", "c@example.org"}, m[0].To)
	assert.Equal(t, msg, string(m[0].Data))
	assert.Empty(t, m[0].MailOptions.Body)
}

func TestSendFileImplicitTLS8Bit(t *testing.T) {
	srv := smtptest.NewServer(t, &smtptest.Options{ImplicitTLS: true})
	file := filepath.Join(t.TempDir(), "m.eml")
	body := "Subject: caf\u00e9\r\n\r\nna\u00efve\r\n"
	require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
	var out strings.Builder
	require.NoError(t, run(context.Background(), []string{"-server", srv.Addr(), "-security", "tls", "-insecure",
		"-from", "a@example.org", "-to", "b@example.org", file}, nil, &out))
	m := srv.WaitMessages(1, 0)
	require.Len(t, m, 1)
	assert.Equal(t, body, string(m[0].Data))
	assert.Equal(t, smtp.Body8BitMIME, m[0].MailOptions.Body)
	assert.True(t, m[0].MailOptions.UTF8, "8-bit header needs SMTPUTF8")
}

func TestSendRefusedRecipient(t *testing.T) {
	srv := smtptest.NewServer(t, nil)
	srv.Fail(smtptest.Fault{At: smtptest.AtRcpt, Address: "gone@example.org",
		Reply: &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}})
	var out strings.Builder
	err := run(context.Background(), []string{"-server", srv.Addr(), "-security", "plain",
		"-from", "a@example.org", "-to", "gone@example.org,b@example.org"}, strings.NewReader(msg), &out)
	assert.EqualError(t, err, "1 of 2 recipients refused")
	assert.Contains(t, out.String(), "refused gone@example.org: smtp: 550 5.1.1 No such user\n")
	assert.Contains(t, out.String(), "\n250 ")
	m := srv.WaitMessages(1, 0)
	require.Len(t, m, 1)
	assert.Equal(t, []string{"b@example.org"}, m[0].To)

	// No recipient accepted: nothing is sent.
	out.Reset()
	err = run(context.Background(), []string{"-server", srv.Addr(), "-security", "plain",
		"-from", "a@example.org", "-to", "gone@example.org"}, strings.NewReader(msg), &out)
	assert.ErrorIs(t, err, smtp.ErrNoRecipients)
	assert.Contains(t, out.String(), "refused gone@example.org")
	assert.Len(t, srv.Messages(), 1)
}

func TestSendErrors(t *testing.T) {
	srv := smtptest.NewServer(t, nil)
	ctx := context.Background()
	for _, args := range [][]string{
		{"-to", "b@example.org"},
		{"-from", "a@example.org"},
		{"-from", "a@example.org", "-to", "b@example.org", "-security", "ssl"},
		{"-from", "a@example.org", "-to", "b@example.org", "one", "two"},
		{"-from", "a@example.org", "-to", "b@example.org", "/no/such/file"},
		{"-bogus"},
		// STARTTLS required, but the server offers none.
		{"-server", srv.Addr(), "-from", "a@example.org", "-to", "b@example.org"},
	} {
		assert.Error(t, run(ctx, args, strings.NewReader(msg), &strings.Builder{}), "%q", args)
	}
	assert.Empty(t, srv.Messages())
}

func TestMainErrorLine(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sendmail")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command(bin, "-server", "127.0.0.1:1", "-from", "a@example.org", "-to", "b@example.org")
	cmd.Stdin = strings.NewReader(msg)
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode())
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 1, "%s", out)
	assert.True(t, strings.HasPrefix(lines[0], "error: "), "%s", out)
}
