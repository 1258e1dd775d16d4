package smtp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseReplyString(s string) (*Reply, error) {
	return parseReply(bufio.NewReader(strings.NewReader(s)))
}

func TestReadReply(t *testing.T) {
	no := NoEnhancedCode
	tests := []struct {
		name, in string
		want     Reply
	}{
		{"single", "250 OK\r\n", Reply{Code: 250, EnhancedCode: no, Lines: []string{"OK"}}},
		{"enhanced", "550 5.1.1 No such user\r\n", Reply{Code: 550, EnhancedCode: EnhancedCode{5, 1, 1}, Lines: []string{"No such user"}}},
		{"enhanced on every line", "250-2.0.0 a\r\n250-2.0.0\r\n250 2.0.0 c\r\n", Reply{Code: 250, EnhancedCode: EnhancedCode{2, 0, 0}, Lines: []string{"a", "", "c"}}},
		{"enhanced class must match", "250 5.1.1 odd\r\n", Reply{Code: 250, EnhancedCode: no, Lines: []string{"5.1.1 odd"}}},
		{"enhanced only on first", "452-4.5.3 too many\r\n452 try later\r\n", Reply{Code: 452, EnhancedCode: EnhancedCode{4, 5, 3}, Lines: []string{"too many", "try later"}}},
		{"other enhanced later kept", "250-2.0.0 a\r\n250 2.1.5 b\r\n", Reply{Code: 250, EnhancedCode: EnhancedCode{2, 0, 0}, Lines: []string{"a", "2.1.5 b"}}},
		{"code only", "250\r\n", Reply{Code: 250, EnhancedCode: no, Lines: []string{""}}},
		{"smtp-sink empty last line", "250-host\r\n250-PIPELINING\r\n250 \r\n", Reply{Code: 250, EnhancedCode: no, Lines: []string{"host", "PIPELINING", ""}}},
		{"bare LF", "220 hi\n", Reply{Code: 220, EnhancedCode: no, Lines: []string{"hi"}}},
		{"not an enhanced code", "250 2.0 ok\r\n", Reply{Code: 250, EnhancedCode: no, Lines: []string{"2.0 ok"}}},
		{"leading zero not enhanced", "250 2.01.0 ok\r\n", Reply{Code: 250, EnhancedCode: no, Lines: []string{"2.01.0 ok"}}},
		{"8-bit text kept", "554 nein \xfc\r\n", Reply{Code: 554, EnhancedCode: no, Lines: []string{"nein \xfc"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseReplyString(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want.Code, r.Code)
			assert.Equal(t, tt.want.EnhancedCode, r.EnhancedCode)
			assert.Equal(t, tt.want.Lines, r.Lines)
		})
	}
}

func TestReadReplyErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"short", "25\r\n"},
		{"letters", "2x0 ok\r\n"},
		{"code too low", "199 ok\r\n"},
		{"code too high", "600 ok\r\n"},
		{"bad separator", "250:ok\r\n"},
		{"code changes", "250-a\r\n251 b\r\n"},
		{"CR inside", "250 a\rb\r\n"},
		{"NUL inside", "250 a\x00b\r\n"},
		{"line too long", "250 " + strings.Repeat("x", maxReplyLine) + "\r\n"},
		{"too many lines", strings.Repeat("250-x\r\n", maxReplyLines) + "250 x\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseReplyString(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrProtocol)
		})
	}
	// A reply cut short is a network-level failure, not a protocol one.
	for _, in := range []string{"", "250-a\r\n", "250 a"} {
		_, err := parseReplyString(in)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "%q", in)
		assert.False(t, errors.Is(err, ErrProtocol), "%q", in)
	}
}

func TestReplyErr(t *testing.T) {
	r, err := parseReplyString("451-4.3.0 busy\r\n451 4.3.0 again\r\n")
	require.NoError(t, err)
	var se *Error
	require.ErrorAs(t, r.Err(), &se)
	assert.Equal(t, 451, se.Code)
	assert.Equal(t, EnhancedCode{4, 3, 0}, se.EnhancedCode)
	assert.Equal(t, "busy\nagain", se.Message)
	assert.True(t, se.Temporary())
	assert.Equal(t, "smtp: 451 4.3.0 busy again", se.Error())

	r, err = parseReplyString("554 no enhanced code\r\n")
	require.NoError(t, err)
	assert.Equal(t, "smtp: 554 no enhanced code", r.Err().Error(), "no made-up enhanced code")

	r, err = parseReplyString("354 go ahead\r\n")
	require.NoError(t, err)
	assert.NoError(t, r.Err())
	assert.Equal(t, "354 go ahead", r.String())
}

// FuzzReadReply checks that whatever the reader accepts re-formats to a
// wire form that parses to the same reply, and that the reader consumes
// exactly the reply's lines.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 OK\r\n",
		"220 mx.example.com ESMTP ready\r\n",
		"250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 \r\n",
		"550 5.1.1 <x@example.com>: Recipient address rejected\r\n",
		"250-2.0.0 a\r\n250-2.0.0\r\n250 2.0.0 c\r\n",
		"452-4.5.3 too many\r\n452 try later\r\n",
		"334 \r\n",
		"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
		"250\n",
		"421 4.3.2 shutting down\r\n250 trailing\r\n",
		"250 2.0.0  two spaces\r\n",
		"250-first\n250 second\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := parseReply(bufio.NewReader(strings.NewReader(string(in))))
		if err != nil {
			return
		}
		if len(r.Lines) == 0 || r.Code < 200 || r.Code > 599 {
			t.Fatalf("accepted reply %+v from %q", r, in)
		}
		wire := r.appendWire(nil)
		br := bufio.NewReader(strings.NewReader(string(wire)))
		r2, err := parseReply(br)
		if err != nil {
			t.Fatalf("re-formatted reply %q does not parse: %v (from %q)", wire, err, in)
		}
		if br.Buffered() != 0 {
			t.Fatalf("re-formatted reply %q left bytes unread", wire)
		}
		if r2.Code != r.Code || r2.EnhancedCode != r.EnhancedCode || strings.Join(r2.Lines, "\n") != strings.Join(r.Lines, "\n") || len(r2.Lines) != len(r.Lines) {
			t.Fatalf("round trip changed the reply: %q → %+v → %q → %+v", in, r, wire, r2)
		}
		if e := r.Err(); (e == nil) != r.Positive() {
			t.Fatalf("Err() = %v for code %d", e, r.Code)
		}
	})
}

// FuzzCutEnhancedCode checks the reply reader's fast enhanced-code parser
// against ParseEnhancedCode.
func FuzzCutEnhancedCode(f *testing.F) {
	for _, s := range []string{"2.0.0 ok", "5.1.10", "4.7.999 x", "2.01.0", "20.1.1", "3.0.0", "5.1.1000", "5..1", "5.1.", "2.0.0.0"} {
		f.Add(s, 250)
		f.Add(s, 550)
	}
	f.Fuzz(func(t *testing.T, text string, code int) {
		if code < 200 || code > 599 {
			return
		}
		enh, rest, ok := cutEnhancedCode(text, code)
		word, wantRest, _ := strings.Cut(text, " ")
		want, err := ParseEnhancedCode(word)
		wantOK := err == nil && want[0] == code/100
		if ok != wantOK || (ok && (enh != want || rest != wantRest)) {
			t.Fatalf("cutEnhancedCode(%q, %d) = %v %q %v; ParseEnhancedCode = %v %v", text, code, enh, rest, ok, want, err)
		}
	})
}
