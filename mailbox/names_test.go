package mailbox

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidName(t *testing.T) {
	for in, want := range map[string]string{
		"INBOX":         "INBOX",
		"inbox":         "INBOX",
		"Inbox/Sub":     "INBOX/Sub",
		"Archive/2026":  "Archive/2026",
		"a.b/c d":       "a.b/c d",
		"Entwürfe":      "Entwürfe",
		"日本語/メール":       "日本語/メール",
		"INBOXES":       "INBOXES",
		"x/inbox":       "x/inbox",
		"..hidden name": "..hidden name",
	} {
		got, err := ValidName(in)
		if assert.NoError(t, err, "name %q", in) {
			assert.Equal(t, want, got, "name %q", in)
		}
	}
	deep := strings.Repeat("a/", MaxNameDepth) + "a"
	for _, in := range []string{
		"", "/", "/a", "a/", "a//b", ".", "..", "a/../b", "../etc", "a/.", "a\x00b", "a\rb", "a\nb",
		"a\tb", "a*", "a%b", "\xff\xfe", strings.Repeat("x", MaxNameLength+1), deep,
	} {
		_, err := ValidName(in)
		assert.ErrorIs(t, err, ErrInvalidName, "name %q", in)
	}
}

func TestHierarchy(t *testing.T) {
	assert.True(t, IsInbox("iNbOx"))
	assert.False(t, IsInbox("INBOX/a"))
	assert.Equal(t, "a/b", Parent("a/b/c"))
	assert.Equal(t, "", Parent("a"))
	assert.True(t, IsChild("a/b", "a"))
	assert.True(t, IsChild("a/b/c", "a"))
	assert.False(t, IsChild("ab", "a"))
	assert.False(t, IsChild("a", "a"))
	assert.False(t, IsChild("b/a", "a"))
}

func TestAttr(t *testing.T) {
	for _, a := range []Attr{AttrAll, AttrArchive, AttrDrafts, AttrFlagged, AttrJunk, AttrSent, AttrTrash} {
		assert.True(t, a.IsSpecialUse(), a)
	}
	for _, a := range []Attr{AttrNoSelect, AttrHasChildren, AttrMarked, `\Foo`} {
		assert.False(t, a.IsSpecialUse(), a)
	}
	info := MailboxInfo{Attrs: []Attr{AttrSent}}
	assert.True(t, info.HasAttr(AttrSent))
	assert.False(t, info.HasAttr(AttrTrash))
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"INBOX", "a/b", "../x", "a//b", "é/ü", "a\x00", "inbox/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := ValidName(name)
		if err != nil {
			return
		}
		// A valid name is canonical, stays valid, and can never climb out of
		// a directory when its levels are used as path elements.
		again, err := ValidName(got)
		if err != nil || again != got {
			t.Fatalf("ValidName(%q) = %q, not stable: %q, %v", name, got, again, err)
		}
		for _, level := range strings.Split(got, "/") {
			if level == "" || level == "." || level == ".." || strings.ContainsAny(level, "\x00\r\n") {
				t.Fatalf("ValidName(%q) accepted level %q", name, level)
			}
		}
	})
}
