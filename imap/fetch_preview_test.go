package imap

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// RFC 8970 PREVIEW: the first text/plain part, else text/html without
// markup, whitespace collapsed, 200 characters at most; NIL without text.
func TestFetchPreview(t *testing.T) {
	e := newTestEnv(t)
	e.appendMsg("INBOX", msg("plain", "Hello   Jim,\r\n\r\n\tsee you \"soon\".\r\n"))
	e.appendMsg("INBOX", "Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"+
		"--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"+
		"<html><style>p {color: red}</style><p>Caf=C3=A9 <b>au</b> lait</p></html>\r\n--b--\r\n")
	e.appendMsg("INBOX", "Subject: image\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n")
	e.appendMsg("INBOX", msg("long", strings.Repeat("word ", 100)+"\r\n"))
	c := e.selectInbox()
	c.run(
		"C: a CAPABILITY",
		"S: * CAPABILITY * PREVIEW*",
		"S: a OK *",
		"C: b FETCH 1:3 (PREVIEW)",
		`S: * 1 FETCH (PREVIEW "Hello Jim, see you \"soon\".")`,
		"S: * 2 FETCH (PREVIEW {13}Café au lait)",
		"S: * 3 FETCH (PREVIEW NIL)",
		"S: b OK *",
		"C: c UID FETCH 1 (UID PREVIEW (LAZY) FLAGS)",
		`S: * 1 FETCH (UID 1 PREVIEW "Hello Jim, see you \"soon\"." FLAGS ())`,
		"S: c OK *",
		"C: d FETCH 1 PREVIEW",
		`S: * 1 FETCH (PREVIEW "Hello Jim, see you \"soon\".")`,
		"S: d OK *",
		"C: e FETCH 1 PREVIEW (LAZY)",
		`S: * 1 FETCH (PREVIEW "Hello Jim, see you \"soon\".")`,
		"S: e OK *",
		"C: f FETCH 1 (PREVIEW (FAST))",
		"S: f BAD *",
	)
	c.send("g FETCH 4 PREVIEW")
	got := c.readLine()
	text := strings.TrimSuffix(strings.TrimPrefix(got, `* 4 FETCH (PREVIEW "`), `")`)
	assert.Equal(t, 200, utf8.RuneCountInString(text), got)
	c.expect("g OK *")
}

func TestPreviewText(t *testing.T) {
	assert.Equal(t, "a b c", previewText("  a\r\n\tb \x00 c  \n"))
	assert.Equal(t, "é", previewText("\xffé"))
	assert.Equal(t, strings.Repeat("ü", previewChars), previewText(strings.Repeat("ü", 300)))
	assert.Equal(t, " x    y ", stripTags("<p>x</p><script>var a = '<b>';</script> <i>y</i>"))
	assert.Equal(t, "", stripTags("<style>never closed"))
}
