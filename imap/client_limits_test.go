package imap

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/imap/internal/wire"
)

// Each limit of the response reader, crossed by a hostile server: a
// clear error, never an allocation the size of the claim.
func TestClientLimits(t *testing.T) {
	long := strings.Repeat("x", 70<<10)
	tests := []struct {
		name, input, want string
	}{
		{"in-memory literal", "* LIST () \"/\" {2000000}\r\n", "literal under"},
		{"token", "* CAPABILITY " + long + "\r\n", "token shorter than 64 KiB"},
		{"quoted", "* LIST () \"/\" \"" + strings.Repeat("y", 1<<20+10) + "\"\r\n", "quoted string under 1 MiB"},
		{"nesting", "* 1 FETCH (X-UNKNOWN " + strings.Repeat("(", 200) + strings.Repeat(")", 200) + ")\r\n", "nested less deeply"},
		{"number", "* 99999999999999999999 EXISTS\r\n", "number in range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newBytesClient([]byte(tc.input), nil)
			err := c.readResponse()
			var re *ResponseError
			require.ErrorAs(t, err, &re)
			assert.Contains(t, re.Msg, tc.want)
			assert.Error(t, c.Err(), "the client is broken")
		})
	}
	t.Run("body structure depth", func(t *testing.T) {
		c := newBytesClient([]byte("* 1 FETCH (BODYSTRUCTURE "+strings.Repeat("(", 100)+")\r\n"), nil)
		err := c.readResponse()
		require.ErrorIs(t, err, wire.ErrTooDeep)
	})
	t.Run("EXISTS does not size the view", func(t *testing.T) {
		c := newBytesClient([]byte("* 4294967295 EXISTS\r\n"), nil)
		require.NoError(t, c.readResponse())
		assert.EqualValues(t, 4294967295, c.Mailbox().Exists)
		assert.LessOrEqual(t, len(c.mbox.uids), 10)
	})
	t.Run("COPYUID range", func(t *testing.T) {
		assert.Nil(t, parseCopyUID("1 1:4294967295 1:4294967295"), "not expanded into memory")
		assert.NotNil(t, parseCopyUID("1 1:3 7:9"))
	})
	t.Run("section reader after loop", func(t *testing.T) {
		c := newBytesClient([]byte("* 1 FETCH (BODY[] {3}\r\nabc)\r\n* 2 FETCH (BODY[] {3}\r\ndef)\r\n"), nil)
		fs := &fetchState{c: c}
		c.fetching = fs
		require.NoError(t, c.readResponse())
		m := fs.ready
		sb, err := m.NextBody()
		require.NoError(t, err)
		fs.finish()
		_, err = sb.Reader.Read(make([]byte, 3))
		assert.True(t, err != nil && !errors.Is(err, errRespSyntax), "stale reader refused: %v", err)
	})
}

func TestClientViewVanished(t *testing.T) {
	v := &mailboxView{}
	v.setExists(5)
	for i, u := range []uint32{10, 11, 12, 13, 14} {
		v.setUID(uint32(i+1), u)
	}
	v.vanish(span(11, 12))
	assert.EqualValues(t, 3, v.Exists)
	assert.Equal(t, []uint32{10, 13, 14}, v.uids)

	// An unknown position: the count stays right, the table is dropped.
	v.uids[1] = 0
	v.vanish(span(13, 13))
	assert.EqualValues(t, 2, v.Exists)
	assert.Equal(t, []uint32{0, 0}, v.uids)

	v.expunge(1)
	assert.EqualValues(t, 1, v.Exists)
	assert.Len(t, v.uids, 1)
}

func TestClientEnumStrings(t *testing.T) {
	assert.Equal(t, "STARTTLS", SecurityStartTLS.String())
	assert.Equal(t, "Security(9)", Security(9).String())
	assert.Equal(t, "-FLAGS", StoreRemove.String())
	assert.Equal(t, "VANISHED", UpdateVanished.String())
	assert.Equal(t, "UpdateKind(42)", UpdateKind(42).String())
}
