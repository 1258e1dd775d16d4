package maildir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/utf7"
	"github.com/posthorn/posthorn/mailbox"
)

// Folder names are stored on disk in modified UTF-7 (RFC 3501 §5.1.3), the
// encoding Dovecot, Courier and mutt expect in a Maildir++ tree. Maildir++
// uses "." as its hierarchy separator, so a "." inside one level of a name is
// written as if it were a non-ASCII character: "&AC4-" (U+002E in modified
// BASE64). Any modified UTF-7 decoder turns that back into ".", so other
// tools show the right name. Decoding is strict (canonical forms only), so
// that no two directory names decode to the same mailbox name.

// encodeLevel encodes one level of a mailbox name (UTF-8, no "/") for disk.
func encodeLevel(s string) string { return utf7.EncodeSep(s, '.') }

// decodeLevel decodes one on-disk level; it fails for anything encodeLevel
// could not have written.
func decodeLevel(s string) (string, error) { return utf7.DecodeSep(s, '.') }

// maxDirName is the longest folder directory name written: most file
// systems allow 255 bytes in one path component.
const maxDirName = 255

// dirOf maps a canonical mailbox name to its folder directory inside the
// user's tree: "." for INBOX, ".A.B" for "A/B" (Maildir++), each level in
// modified UTF-7. The name must have passed mailbox.ValidName.
func dirOf(name string) string {
	if name == mailbox.Inbox {
		return "."
	}
	var b strings.Builder
	for level := range strings.SplitSeq(name, string(mailbox.Delimiter)) {
		b.WriteByte('.')
		b.WriteString(encodeLevel(level))
	}
	if b.Len() > maxDirName {
		// Too long for one path component: the folder lives under
		// posthorn-long/, named by a hash, with its name in a file.
		sum := sha256.Sum256([]byte(name))
		return longDir + "/" + hex.EncodeToString(sum[:16])
	}
	return b.String()
}

// longDir holds the folders whose Maildir++ directory name would be longer
// than a path component may be (mailbox names up to MaxNameLength bytes
// must work). Other Maildir tools do not see these folders.
const (
	longDir      = "posthorn-long"
	longNameFile = "posthorn-name"
)

// nameOf maps a folder directory name back to its mailbox name; ok is false
// for a directory that is not a folder of ours (no leading dot, an empty
// level, invalid modified UTF-7, or a name mailbox.ValidName refuses).
func nameOf(dir string) (string, bool) {
	if len(dir) < 2 || dir[0] != '.' || dir == ".." {
		return "", false
	}
	var b strings.Builder
	for i, level := range strings.Split(dir[1:], ".") {
		if level == "" {
			return "", false
		}
		s, err := decodeLevel(level)
		if err != nil {
			return "", false
		}
		if i > 0 {
			b.WriteByte(byte(mailbox.Delimiter))
		}
		b.WriteString(s)
	}
	name, err := mailbox.ValidName(b.String())
	if err != nil {
		return "", false
	}
	if dirOf(name) != dir {
		return "", false // not the canonical spelling: another name would alias it
	}
	return name, true
}

// canonicalName validates a client-given name (mailbox.ValidName) and
// returns it with its folder directory.
func canonicalName(name string) (string, string, error) {
	n, err := mailbox.ValidName(name)
	if err != nil {
		return "", "", err
	}
	return n, dirOf(n), nil
}

// MaxUserLength is the longest user name the store accepts.
const MaxUserLength = 255

// validUser checks that user can name a directory directly below the
// store's root: non-empty, at most MaxUserLength bytes of UTF-8, no "/",
// "\", control characters or NUL, not starting with "." (so not "." or "..").
func validUser(user string) error {
	if user == "" || len(user) > MaxUserLength || !utf8.ValidString(user) || user[0] == '.' {
		return fmt.Errorf("%w: user %q", mailbox.ErrNotExist, user)
	}
	for _, r := range user {
		if r == '/' || r == '\\' || unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("%w: user %q", mailbox.ErrNotExist, user)
		}
	}
	return nil
}
