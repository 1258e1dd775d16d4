package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStory builds the command and runs it as a newcomer would.
func TestStory(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "story")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command(bin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.NoError(t, err, "exit status")
	got := stdout.String()
	for _, want := range []string{
		"jim.example   MX 10 mx.example.net (127.0.0.1)",
		"bob      C: AUTH PLAIN ***", // credentials never printed
		"relay    C: RCPT TO:<jim@jim.example>",
		"relay    C: RCPT TO:<sara@sara.example>",
		"✓ delivered to jim@jim.example",
		"✓ delivered to sara@sara.example",
		"jim      C: DELE 1",
		"✓ logged in again: the server holds 0 messages for Jim",
		"phone    hears  * 1 FETCH (FLAGS [\\Seen])",
		"phone    hears  * 1 EXPUNGE",
		"The end: all 6 steps verified.",
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "secret", "no password in the narration")
	assert.NotContains(t, got, "FAILED")
	assert.Less(t, strings.Index(got, "\n4. "), strings.Index(got, "relay    C: MAIL"), "relay lines held for step 4")
}

// TestStoryFailureNamesStep breaks the POP3 server before Jim's step: the
// story must stop there with status 1 and say which step failed.
func TestStoryFailureNamesStep(t *testing.T) {
	var out, errOut strings.Builder
	w, err := newWorld(&out, &errOut)
	require.NoError(t, err)
	defer w.close()
	steps := w.steps()
	jim := steps[4].run
	steps[4].run = func(ctx context.Context) error {
		w.pop3Srv.Close()
		return jim(ctx)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.Equal(t, 1, w.run(ctx, steps))
	assert.Contains(t, out.String(), "\nFAILED at step 5 (Jim downloads with POP3): ")
	assert.NotContains(t, out.String(), "6. ")
}
