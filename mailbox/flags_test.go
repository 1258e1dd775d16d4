package mailbox

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidFlag(t *testing.T) {
	for _, f := range []Flag{`\Seen`, `\seen`, `\DRAFT`, `$Forwarded`, `Junk`, `a.b-c_d`, Flag(make([]byte, 0)) + "x"} {
		assert.NoError(t, ValidFlag(f), "flag %q", f)
	}
	long := make([]byte, MaxFlagLength+1)
	for i := range long {
		long[i] = 'a'
	}
	for _, f := range []Flag{"", `\Recent`, `\Foo`, "a b", "a(b", "a)", "a{", "a%", "a*", `a"`, `a\b`, "a]", "é", "a\x00", "a\r\nb", Flag(long)} {
		err := ValidFlag(f)
		assert.ErrorIs(t, err, ErrInvalidFlag, "flag %q", f)
	}
}

func TestCanonicalFlags(t *testing.T) {
	in := []Flag{"zeta", `\seen`, "$Label", `\SEEN`, `\Answered`, "Zeta", "zeta"}
	got, err := CanonicalFlags(in)
	require.NoError(t, err)
	assert.Equal(t, []Flag{`\Answered`, `\Seen`, "$Label", "zeta"}, got)
	assert.Equal(t, Flag("zeta"), in[0], "input must not be modified")

	_, err = CanonicalFlags([]Flag{`\Seen`, "bad flag"})
	assert.True(t, errors.Is(err, ErrInvalidFlag))

	got, err = CanonicalFlags(nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestApplyFlags(t *testing.T) {
	cur := []Flag{`\Seen`, "work"}
	for _, tc := range []struct {
		op      FlagOp
		change  []Flag
		want    []Flag
		changed bool
	}{
		{FlagsAdd, []Flag{`\Flagged`}, []Flag{`\Flagged`, `\Seen`, "work"}, true},
		{FlagsAdd, []Flag{`\Seen`}, []Flag{`\Seen`, "work"}, false},
		{FlagsAdd, []Flag{"WORK"}, []Flag{`\Seen`, "work"}, false},
		{FlagsRemove, []Flag{`\Seen`}, []Flag{"work"}, true},
		{FlagsRemove, []Flag{`\Draft`}, []Flag{`\Seen`, "work"}, false},
		{FlagsReplace, []Flag{"work", `\Seen`}, []Flag{`\Seen`, "work"}, false},
		{FlagsReplace, nil, []Flag{}, true},
		{FlagOp(99), []Flag{"x"}, []Flag{`\Seen`, "work"}, false},
	} {
		got, changed := ApplyFlags(cur, tc.op, tc.change)
		if len(tc.want) == 0 {
			assert.Empty(t, got, "%v %v", tc.op, tc.change)
		} else {
			assert.Equal(t, tc.want, got, "%v %v", tc.op, tc.change)
		}
		assert.Equal(t, tc.changed, changed, "%v %v", tc.op, tc.change)
	}
	assert.Equal(t, []Flag{`\Seen`, "work"}, cur, "cur must not be modified")
}

func TestFlagOpString(t *testing.T) {
	assert.Equal(t, "FLAGS", FlagsReplace.String())
	assert.Equal(t, "+FLAGS", FlagsAdd.String())
	assert.Equal(t, "-FLAGS", FlagsRemove.String())
	assert.Equal(t, "FlagOp(?)", FlagOp(7).String())
}

func TestHasFlag(t *testing.T) {
	m := MessageInfo{Flags: []Flag{`\Seen`, "Work"}}
	assert.True(t, m.HasFlag(`\SEEN`))
	assert.True(t, m.HasFlag("work"))
	assert.False(t, m.HasFlag(`\Deleted`))
	assert.True(t, HasFlag(m.Flags, "WORK"))
}
