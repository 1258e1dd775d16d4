package mime_test

import (
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/mime"
)

func ExampleParse() {
	msg := "From: Bob <bob@example.com>\r\n" +
		"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n" +
		"\r\n" +
		"--b\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"Hello Sara\r\n" +
		"--b--\r\n"
	m, err := mime.Parse(strings.NewReader(msg), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Envelope.From[0].Mailbox, mime.DecodeHeader(m.Envelope.Subject))
	off, n, _ := m.Section([]int{1}, "") // BODY[1]
	fmt.Printf("%q %d line(s)\n", msg[off:off+n], m.Parts[0].BodyLines)
	off, n, _ = m.Section([]int{1}, "MIME") // BODY[1.MIME]
	fmt.Printf("%q\n", msg[off:off+n])
	// Output:
	// bob Grüße
	// "Hello Sara" 0 line(s)
	// "Content-Type: text/plain\r\n\r\n"
}
