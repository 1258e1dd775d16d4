package mailbox

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Delimiter is the hierarchy delimiter of mailbox names in this API. Stores
// that use another separator on disk translate it.
const Delimiter = '/'

// Inbox is the canonical name of the mailbox that receives new mail. Its name
// is case-insensitive (RFC 9051 §5.1): "inbox" and "Inbox" refer to it.
const Inbox = "INBOX"

// Limits on names that every store must accept, and ValidName enforces.
const (
	MaxNameLength = 1024 // octets of the whole UTF-8 name
	MaxNameDepth  = 32   // levels
)

// ValidName checks a mailbox name given by a client and returns it in
// canonical form: the first level "INBOX" in upper case whatever case it was
// given in. A valid name is non-empty, valid UTF-8 of at most MaxNameLength
// bytes and MaxNameDepth levels; it has no control characters (NUL, CR, LF,
// ...), no empty level (leading, trailing or doubled "/"), no "." or ".."
// level, and neither of the LIST wildcards "*" and "%". Errors wrap
// ErrInvalidName.
//
// The rules make a name safe to map onto a file system: no name can escape a
// store's root.
func ValidName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLength {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidName, MaxNameLength)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: not UTF-8", ErrInvalidName)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '*' || r == '%' || r == utf8.RuneError {
			return "", fmt.Errorf("%w: %q not allowed", ErrInvalidName, r)
		}
	}
	depth := 0
	for level := range strings.SplitSeq(name, string(Delimiter)) {
		depth++
		if level == "" || level == "." || level == ".." {
			return "", fmt.Errorf("%w: level %q in %q", ErrInvalidName, level, name)
		}
	}
	if depth > MaxNameDepth {
		return "", fmt.Errorf("%w: deeper than %d levels", ErrInvalidName, MaxNameDepth)
	}
	first, rest, hasRest := strings.Cut(name, string(Delimiter))
	if strings.EqualFold(first, Inbox) {
		if hasRest {
			return Inbox + string(Delimiter) + rest, nil
		}
		return Inbox, nil
	}
	return name, nil
}

// IsInbox reports whether name refers to the inbox.
func IsInbox(name string) bool { return strings.EqualFold(name, Inbox) }

// Parent returns the name of the mailbox directly above name, or "" for a
// top-level name.
func Parent(name string) string {
	i := strings.LastIndexByte(name, Delimiter)
	if i < 0 {
		return ""
	}
	return name[:i]
}

// IsChild reports whether name lies below parent in the hierarchy (at any depth).
func IsChild(name, parent string) bool {
	return len(name) > len(parent)+1 && name[len(parent)] == Delimiter && strings.HasPrefix(name, parent)
}
