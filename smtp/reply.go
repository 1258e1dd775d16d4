package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/textwire"
)

// Limits of the client's reply reader. RFC 5321 §4.5.3.1.5 caps a reply line
// at 512 octets; real servers exceed it (long EHLO keyword lists, verbose
// rejections), so the reader allows more but stays bounded.
const (
	maxReplyLine  = 4096 // bytes per reply line, without CRLF
	maxReplyLines = 256  // lines per reply
)

// ErrProtocol is wrapped by the errors the client returns when the server
// breaks the protocol: a malformed or oversized reply, an unexpected reply
// code. Such an error leaves the Client broken, like a network error.
var ErrProtocol = errors.New("smtp: protocol error")

// Reply is a server reply as the client read it: the reply code, the RFC
// 3463 enhanced status code when the first line carried one, and the text
// of each line with the code (and enhanced code) removed.
type Reply struct {
	Code int
	// EnhancedCode is NoEnhancedCode when the reply carried none.
	EnhancedCode EnhancedCode
	Lines        []string

	first [1]string // backs Lines for the common one-line reply
}

// Positive reports whether the reply is a 2xx or 3xx.
func (r *Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// Message returns the reply text, lines joined by "\n".
func (r *Reply) Message() string { return strings.Join(r.Lines, "\n") }

// Err returns nil for a positive reply and an *Error otherwise.
func (r *Reply) Err() error {
	if r.Positive() {
		return nil
	}
	return r.asError()
}

func (r *Reply) asError() *Error {
	return &Error{Code: r.Code, EnhancedCode: r.EnhancedCode, Message: r.Message()}
}

// String formats the reply as it came over the wire, without the final
// CRLF and with CRLF between lines.
func (r *Reply) String() string {
	return strings.TrimSuffix(string(r.appendWire(nil)), "\r\n")
}

// appendWire appends the wire form of r: every line carries the code, and
// the enhanced code when r has one.
func (r *Reply) appendWire(b []byte) []byte {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	for i, line := range lines {
		b = strconv.AppendInt(b, int64(r.Code), 10)
		if i < len(lines)-1 {
			b = append(b, '-')
		} else {
			b = append(b, ' ')
		}
		if r.EnhancedCode != NoEnhancedCode && r.EnhancedCode != (EnhancedCode{}) {
			b = append(b, r.EnhancedCode.String()...)
			if line != "" {
				b = append(b, ' ')
			}
		}
		b = append(b, line...)
		b = append(b, '\r', '\n')
	}
	return b
}

func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// parseReply reads one (possibly multi-line) reply from br (RFC 5321 §4.2.1).
//
// It is lenient where servers are known to be odd and strict where leniency
// would let the server confuse the client:
//   - a line may end in a bare LF; "250" (no text) and "250 " (empty text,
//     as Postfix's smtp-sink ends EHLO) are accepted;
//   - every line must carry the same three-digit code, 200 to 599;
//   - the separator after the code must be "-", " " or the end of the line;
//   - CR and NUL inside a line, over-long lines and too many lines are
//     protocol errors.
//
// The enhanced status code (RFC 2034 §4) is taken from the first line when
// its text starts with one whose class matches the reply code; it is then
// removed from every line that repeats it.
func parseReply(br *bufio.Reader) (*Reply, error) {
	r := &Reply{EnhancedCode: NoEnhancedCode}
	r.Lines = r.first[:0]
	for {
		raw, _, err := textwire.ReadLine(br, maxReplyLine)
		if err != nil {
			if errors.Is(err, textwire.ErrLineTooLong) {
				return nil, protocolErrorf("reply line longer than %d bytes", maxReplyLine)
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("smtp: reading reply: %w", err)
		}
		code, more, text, err := parseReplyLine(raw)
		if err != nil {
			return nil, err
		}
		if len(r.Lines) == 0 {
			r.Code = code
			if enh, rest, ok := cutEnhancedCode(text, code); ok {
				r.EnhancedCode, text = enh, rest
			}
		} else {
			if code != r.Code {
				return nil, protocolErrorf("reply code changed from %d to %d within a reply", r.Code, code)
			}
			if r.EnhancedCode != NoEnhancedCode {
				if enh, rest, ok := cutEnhancedCode(text, code); ok && enh == r.EnhancedCode {
					text = rest
				}
			}
		}
		if len(r.Lines) >= maxReplyLines {
			return nil, protocolErrorf("reply longer than %d lines", maxReplyLines)
		}
		r.Lines = append(r.Lines, text)
		if !more {
			return r, nil
		}
	}
}

// parseReplyLine splits one reply line into its code, whether more lines
// follow, and its text.
func parseReplyLine(line []byte) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", protocolErrorf("malformed reply line %q", line)
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false, "", protocolErrorf("malformed reply code in %q", line)
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 {
		return 0, false, "", protocolErrorf("reply code %d out of range in %q", code, line)
	}
	if len(line) > 3 {
		switch line[3] {
		case '-':
			more = true
		case ' ':
		default:
			return 0, false, "", protocolErrorf("malformed reply line %q", line)
		}
		line = line[4:]
	} else {
		line = line[3:]
	}
	for _, c := range line {
		if c == '\r' || c == 0 {
			return 0, false, "", protocolErrorf("control character in reply line %q", line)
		}
	}
	return code, more, string(line), nil
}

// cutEnhancedCode removes a leading enhanced status code ("5.1.1 text", or
// "5.1.1" alone) from text if its class matches the reply code's.
func cutEnhancedCode(text string, code int) (EnhancedCode, string, bool) {
	word, rest, _ := strings.Cut(text, " ")
	class := code / 100
	if len(word) < 5 || word[0] != byte('0'+class) || (class != 2 && class != 4 && class != 5) {
		return EnhancedCode{}, text, false
	}
	// The grammar of ParseEnhancedCode, without its allocations: this runs
	// for every reply.
	var enh EnhancedCode
	part, digits := 0, 0
	for i := 0; i < len(word); i++ {
		switch c := word[i]; {
		case c == '.' && digits > 0 && part < 2:
			part, digits = part+1, 0
		case c >= '0' && c <= '9' && digits < 3 && !(digits == 1 && (part == 0 || enh[part] == 0)):
			enh[part] = enh[part]*10 + int(c-'0')
			digits++
		default:
			return EnhancedCode{}, text, false
		}
	}
	if part != 2 || digits == 0 {
		return EnhancedCode{}, text, false
	}
	return enh, rest, true
}
