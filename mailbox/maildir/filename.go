package maildir

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// System flags as kept in memory and in the index: one bit each. Bit 7 of
// the byte says the file lives in cur/ rather than new/.
const (
	flagAnswered  uint8 = 1 << iota // R
	flagDeleted                     // T
	flagDraft                       // D
	flagFlagged                     // F
	flagSeen                        // S
	flagForwarded                   // P, the keyword $Forwarded
	flagMask      uint8 = 1<<6 - 1

	inCur uint8 = 1 << 7
)

// The Maildir info letters (https://cr.yp.to/proto/maildir.html), in ASCII
// order, and the flag each stands for.
var letters = [...]struct {
	c    byte
	bit  uint8
	flag mailbox.Flag
}{
	{'D', flagDraft, mailbox.FlagDraft},
	{'F', flagFlagged, mailbox.FlagFlagged},
	{'P', flagForwarded, mailbox.KeywordForwarded},
	{'R', flagAnswered, mailbox.FlagAnswered},
	{'S', flagSeen, mailbox.FlagSeen},
	{'T', flagDeleted, mailbox.FlagDeleted},
}

func letterBit(c byte) uint8 {
	for _, l := range letters {
		if l.c == c {
			return l.bit
		}
	}
	return 0
}

// fileName is a parsed Maildir file name: base[:2,info].
type fileName struct {
	Base  string // the unique part, before ":"
	Info  string // what follows ":2," ("" if none)
	Flags uint8  // the system flags the info letters stand for
	Size  int64  // from ",S=<n>" in the base, -1 if absent
}

// parseName parses a Maildir file name. ok is false for names that are not
// messages: empty, starting with "." (hidden files, "." and ".."), holding
// "/" or NUL, or longer than a path component may be.
func parseName(name string) (fn fileName, ok bool) {
	if name == "" || name[0] == '.' || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return fn, false
	}
	fn.Size = -1
	base, info, hasInfo := strings.Cut(name, ":")
	if base == "" {
		return fn, false
	}
	fn.Base = base
	if hasInfo {
		if !strings.HasPrefix(info, "2,") {
			return fn, false // experimental "1," semantics or garbage: keep the file, but not as ours to rename
		}
		fn.Info = info[2:]
		for i := 0; i < len(fn.Info); i++ {
			fn.Flags |= letterBit(fn.Info[i])
		}
	}
	if i := strings.Index(base, ",S="); i >= 0 {
		s := base[i+3:]
		if j := strings.IndexByte(s, ','); j >= 0 {
			s = s[:j]
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			fn.Size = n
		}
	}
	return fn, true
}

// nameOK reports what parseName's ok would, without allocating.
func nameOK(name []byte) bool {
	if len(name) == 0 || name[0] == '.' || len(name) > 255 || name[0] == ':' {
		return false
	}
	colon := -1
	for i, c := range name {
		if c == '/' || c == 0 {
			return false
		}
		if c == ':' && colon < 0 {
			colon = i
		}
	}
	if colon >= 0 {
		info := name[colon+1:]
		return len(info) >= 2 && info[0] == '2' && info[1] == ','
	}
	return true
}

// withFlags returns the file name with info letters for flags, keeping any
// letter we do not interpret (Dovecot's keyword letters a–z, for example),
// all in ASCII order as the Maildir specification asks.
func withFlags(name string, flags uint8) string {
	return string(appendWithFlags(make([]byte, 0, len(name)+10), []byte(name), flags))
}

// appendWithFlags appends withFlags(name, flags) to dst without allocating
// beyond dst's growth. name may alias dst's backing array below len(dst).
func appendWithFlags(dst, name []byte, flags uint8) []byte {
	base, info := name, []byte(nil)
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		base, info = name[:i], name[i+1:]
	}
	info = bytes.TrimPrefix(info, []byte("2,"))
	var set [128]bool
	for _, c := range info {
		if c < 128 && letterBit(c) == 0 && c > ' ' && c != '/' && c != ':' {
			set[c] = true
		}
	}
	for _, l := range letters {
		if flags&l.bit != 0 {
			set[l.c] = true
		}
	}
	dst = append(dst, base...)
	dst = append(dst, ":2,"...)
	for c := range set {
		if set[c] {
			dst = append(dst, byte(c))
		}
	}
	return dst
}

// baseOf returns the unique part of a file name.
func baseOf(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

// splitFlags separates the flags the file name carries (system flags and
// $Forwarded) from the keywords only the index keeps. flags must be canonical.
func splitFlags(flags []mailbox.Flag) (bits uint8, keywords []string) {
	for _, f := range flags {
		switch f {
		case mailbox.FlagAnswered:
			bits |= flagAnswered
		case mailbox.FlagDeleted:
			bits |= flagDeleted
		case mailbox.FlagDraft:
			bits |= flagDraft
		case mailbox.FlagFlagged:
			bits |= flagFlagged
		case mailbox.FlagSeen:
			bits |= flagSeen
		default:
			if strings.EqualFold(string(f), string(mailbox.KeywordForwarded)) {
				bits |= flagForwarded
			} else {
				keywords = append(keywords, string(f))
			}
		}
	}
	return bits, keywords
}

// systemOrder lists the system flags in canonical (byte) order.
var systemOrder = [...]struct {
	bit  uint8
	flag mailbox.Flag
}{
	{flagAnswered, mailbox.FlagAnswered},
	{flagDeleted, mailbox.FlagDeleted},
	{flagDraft, mailbox.FlagDraft},
	{flagFlagged, mailbox.FlagFlagged},
	{flagSeen, mailbox.FlagSeen},
}

// appendFlags appends the canonical flag list of bits and keywords (sorted,
// without $Forwarded) to dst.
func appendFlags(dst []mailbox.Flag, bits uint8, keywords []string) []mailbox.Flag {
	for _, s := range systemOrder {
		if bits&s.bit != 0 {
			dst = append(dst, s.flag)
		}
	}
	fwd := bits&flagForwarded != 0
	for _, k := range keywords {
		if fwd && k > string(mailbox.KeywordForwarded) {
			dst = append(dst, mailbox.KeywordForwarded)
			fwd = false
		}
		dst = append(dst, mailbox.Flag(k))
	}
	if fwd {
		dst = append(dst, mailbox.KeywordForwarded)
	}
	return dst
}
