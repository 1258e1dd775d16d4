package textwire_test

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/posthorn/posthorn/internal/textwire"
)

func ExampleNewDotReader() {
	wire := "Subject: hi\r\n\r\n..dot-stuffed line\r\n.\r\nQUIT\r\n"
	br := bufio.NewReader(strings.NewReader(wire))
	body, err := io.ReadAll(textwire.NewDotReader(br, textwire.DotOptions{MaxSize: 1 << 20}))
	fmt.Printf("%q %v\n", body, err)
	next, _, _ := textwire.ReadLine(br, 512)
	fmt.Printf("next command: %s\n", next)
	// Output:
	// "Subject: hi\r\n\r\n.dot-stuffed line\r\n" <nil>
	// next command: QUIT
}

func ExampleNewDotWriter() {
	var out strings.Builder
	w := textwire.NewDotWriter(&out)
	io.WriteString(w, ".hidden\nno final newline")
	w.Close()
	fmt.Printf("%q\n", out.String())
	// Output:
	// "..hidden\r\nno final newline\r\n.\r\n"
}
