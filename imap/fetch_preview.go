package imap

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// PREVIEW (RFC 8970): a short plain-text abstract of a message, from its
// first text/plain part (or, lacking one, its first text/html part with
// the markup removed), decoded to UTF-8 with whitespace collapsed.

const (
	previewChars = 200 // RFC 8970 §3: at most 200 characters
	previewScan  = 4096
)

// preview computes the preview text of the message; "" when it has no
// text part (sent as NIL).
func (s *msgSource) preview() (string, error) {
	root, err := s.structure()
	if err != nil {
		return "", err
	}
	var plain, html *mime.Part
	root.Walk(func(_ []int, p *mime.Part) bool {
		if p.IsMultipart() || p.IsMessage() || p.Type != "text" || p.Disposition == "attachment" {
			return true
		}
		switch {
		case p.Subtype == "plain" && plain == nil:
			plain = p
		case p.Subtype == "html" && html == nil:
			html = p
		}
		return plain == nil
	})
	p := plain
	if p == nil {
		p = html
	}
	if p == nil {
		return "", nil
	}
	rc, err := s.open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	body, err := mailbox.Section(rc, p.BodyOffset, p.BodySize)
	if err != nil {
		return "", err
	}
	r, err := mime.TextReader(p, body)
	if err != nil {
		return "", nil // an encoding we cannot decode: no preview
	}
	buf, err := io.ReadAll(io.LimitReader(r, previewScan))
	if err != nil {
		return "", err
	}
	text := string(buf)
	if p == html {
		text = stripTags(text)
	}
	return previewText(text), nil
}

// previewText collapses whitespace and control characters, drops invalid
// UTF-8 and cuts the text at previewChars characters.
func previewText(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if n >= previewChars {
			break
		}
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
			if n >= previewChars {
				break
			}
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// stripTags removes HTML markup crudely: tags, and the contents of style
// and script elements.
func stripTags(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		lower := strings.ToLower(s[:min(len(s), 8)])
		for _, el := range []string{"<style", "<script"} {
			if strings.HasPrefix(lower, el) {
				end := strings.Index(strings.ToLower(s), "</"+el[1:])
				if end < 0 {
					return b.String()
				}
				s = s[end:]
			}
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		b.WriteByte(' ')
		s = s[j+1:]
	}
	return b.String()
}
