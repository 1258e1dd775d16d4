package mailbox

import (
	"fmt"
	"slices"
	"strings"
)

// Flag is a message flag: a system flag (starting with a backslash) or a
// keyword (RFC 9051 §2.3.2). Flags compare case-insensitively; stores keep
// them in canonical form (see CanonicalFlags).
type Flag string

// The system flags a store keeps. \Recent is session state in IMAP4rev1 and
// is never stored.
const (
	FlagSeen     Flag = `\Seen`
	FlagAnswered Flag = `\Answered`
	FlagFlagged  Flag = `\Flagged`
	FlagDeleted  Flag = `\Deleted`
	FlagDraft    Flag = `\Draft`
)

// Common keywords (RFC 5788 registry). Stores treat them like any keyword.
const (
	KeywordForwarded Flag = "$Forwarded"
	KeywordMDNSent   Flag = "$MDNSent"
	KeywordJunk      Flag = "$Junk"
	KeywordNotJunk   Flag = "$NotJunk"
	KeywordPhishing  Flag = "$Phishing"
)

var systemFlags = [...]Flag{FlagAnswered, FlagDeleted, FlagDraft, FlagFlagged, FlagSeen}

// MaxFlagLength is the longest flag a store must accept.
const MaxFlagLength = 255

// ValidFlag reports whether f may be stored: one of the five system flags
// (any case), or a keyword that is an IMAP atom (RFC 9051 §9: no CTL, SP,
// non-ASCII or any of `(){%*"\]`) of at most MaxFlagLength bytes.
func ValidFlag(f Flag) error {
	if f == "" {
		return fmt.Errorf("%w: empty", ErrInvalidFlag)
	}
	if f[0] == '\\' {
		for _, s := range systemFlags {
			if strings.EqualFold(string(f), string(s)) {
				return nil
			}
		}
		return fmt.Errorf("%w: %q is not a system flag a store keeps", ErrInvalidFlag, f)
	}
	if len(f) > MaxFlagLength {
		return fmt.Errorf("%w: keyword longer than %d bytes", ErrInvalidFlag, MaxFlagLength)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return fmt.Errorf("%w: %q contains %q", ErrInvalidFlag, f, c)
		}
	}
	return nil
}

// canonicalFlag returns the canonical spelling of a valid flag: system flags
// in their RFC case, keywords as given.
func canonicalFlag(f Flag) Flag {
	if len(f) > 0 && f[0] == '\\' {
		for _, s := range systemFlags {
			if strings.EqualFold(string(f), string(s)) {
				return s
			}
		}
	}
	return f
}

// CanonicalFlags validates flags and returns a new slice with each flag in
// canonical form, duplicates (compared case-insensitively) removed, sorted
// (system flags first, then keywords, each in byte order). The input is not
// modified.
func CanonicalFlags(flags []Flag) ([]Flag, error) {
	out := make([]Flag, 0, len(flags))
	for _, f := range flags {
		if err := ValidFlag(f); err != nil {
			return nil, err
		}
		f = canonicalFlag(f)
		if !hasFlag(out, f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, compareFlags)
	return out, nil
}

func compareFlags(a, b Flag) int {
	as, bs := strings.HasPrefix(string(a), `\`), strings.HasPrefix(string(b), `\`)
	if as != bs {
		if as {
			return -1
		}
		return 1
	}
	return strings.Compare(string(a), string(b))
}

func hasFlag(flags []Flag, f Flag) bool {
	for _, x := range flags {
		if x == f || strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

// HasFlag reports whether flags contains f, compared case-insensitively.
func HasFlag(flags []Flag, f Flag) bool { return hasFlag(flags, f) }

// ApplyFlags returns the flags a message ends up with when op with the
// (canonical) flags in change is applied to cur, and whether that differs
// from cur. cur and change are not modified; the result is canonical when
// both inputs are.
func ApplyFlags(cur []Flag, op FlagOp, change []Flag) (next []Flag, changed bool) {
	switch op {
	case FlagsReplace:
		next = slices.Clone(change)
	case FlagsAdd:
		next = slices.Clone(cur)
		for _, f := range change {
			if !hasFlag(next, f) {
				next = append(next, f)
			}
		}
	case FlagsRemove:
		next = make([]Flag, 0, len(cur))
		for _, f := range cur {
			if !hasFlag(change, f) {
				next = append(next, f)
			}
		}
	default:
		return slices.Clone(cur), false
	}
	slices.SortFunc(next, compareFlags)
	return next, !sameFlags(cur, next)
}

// sameFlags reports whether a and b hold the same set of flags.
func sameFlags(a, b []Flag) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !hasFlag(b, f) {
			return false
		}
	}
	return true
}
