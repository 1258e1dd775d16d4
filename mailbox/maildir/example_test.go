package maildir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/maildir"
)

// A store delivers into the recipient's INBOX, durably, and the message is
// an ordinary Maildir file any other mail program can read.
func Example() {
	root, err := os.MkdirTemp("", "maildir-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	users := new(maildir.Users)
	users.Add("jim", "secret", "jim@example.org")
	store := &maildir.Store{Root: root, Users: users}
	ctx := context.Background()

	user, err := store.LookupRecipient(ctx, "jim@example.org")
	if err != nil {
		panic(err)
	}
	uid, err := mailbox.Deliver(ctx, store, user, strings.NewReader("Subject: hi\r\n\r\nhello\r\n"), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("delivered as UID", uid)

	files, _ := os.ReadDir(filepath.Join(root, "jim", "new"))
	fmt.Println(len(files), "file in", filepath.Join("jim", "new"))
	// Output:
	// delivered as UID 1
	// 1 file in jim/new
}

// Users come from a Dovecot-style passwd-file.
func ExampleParsePasswd() {
	users, err := maildir.ParsePasswd(strings.NewReader(
		"jim@example.org:{SHA512-CRYPT}$6$saltsaltsalt$tkbLZz7Hck/vcrBc30bv/5J/1xR2fqjVgMpauCGvIigQGVNK.Hlcie4EHK4STimwRJaotjZJQZagaP9iPBIa//\n"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	user, err := users.Authenticate(ctx, "jim@example.org", "Hello world!")
	fmt.Println(user, err)
	_, err = users.Authenticate(ctx, "jim@example.org", "wrong")
	fmt.Println(err)
	// Output:
	// jim@example.org <nil>
	// maildir: login "jim@example.org": mailbox: authentication failed
}

// Flag changes reach the file names a moment after SetFlags returns;
// Store.Flush waits for them, before another program reads the Maildir.
func ExampleStore_Flush() {
	root, err := os.MkdirTemp("", "maildir-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	users := new(maildir.Users)
	users.Add("jim", "secret", "jim@example.org")
	store := &maildir.Store{Root: root, Users: users}
	ctx := context.Background()
	acct, err := store.Open(ctx, "jim")
	if err != nil {
		panic(err)
	}
	defer acct.Close()
	inbox, err := acct.Mailbox(ctx, mailbox.Inbox)
	if err != nil {
		panic(err)
	}
	defer inbox.Close()
	uid, err := inbox.Append(ctx, strings.NewReader("Subject: hi\r\n\r\nhello\r\n"), nil)
	if err != nil {
		panic(err)
	}
	if _, err := inbox.SetFlags(ctx, []mailbox.UID{uid}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0); err != nil {
		panic(err)
	}
	if err := store.Flush(ctx); err != nil {
		panic(err)
	}
	files, _ := os.ReadDir(filepath.Join(root, "jim", "cur"))
	fmt.Println(strings.HasSuffix(files[0].Name(), ":2,S"))
	// Output:
	// true
}
