package imaptest_test

import (
	"testing"

	"github.com/posthorn/posthorn/imap/imaptest"
)

// A transcript test against an in-process server: "C:" lines are sent,
// "S:" lines are patterns where "*" matches any run of characters.
func ExampleServer_Dial() {
	t := new(testing.T) // in a real test, the *testing.T of the test
	srv := imaptest.NewServer(t, nil)
	srv.Append(t, "test", "INBOX", "Subject: hi\r\n\r\nhello\r\n")
	c := srv.Dial(t)
	c.Run(
		"C: a LOGIN test test",
		"S: a OK [CAPABILITY *] Logged in",
		"C: b STATUS INBOX (MESSAGES)",
		"S: * STATUS INBOX (MESSAGES 1)",
		"S: b OK *",
	)
}
