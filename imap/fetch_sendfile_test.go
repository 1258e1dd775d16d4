package imap

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A large message on the Maildir store goes out with sendfile for BODY[]
// and RFC822, byte for byte and in order with the rest of the response;
// a partial range or a memory store goes through the write buffer.
func TestFetchLargeBodySendfile(t *testing.T) {
	body := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", (sendfileMin+sendfileChunk)/64)
	m := msg("big", body)
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		before := sendfileCount.Load()
		e := newEnv(t)
		e.appendMsg("INBOX", msg("small", "hi\r\n"))
		e.appendMsg("INBOX", m)
		c := e.selectInbox()
		c.send("a FETCH 1:2 (UID BODY.PEEK[])")
		c.expect(
			fmt.Sprintf("* 1 FETCH (UID 1 BODY[] {%d}%s)", len(msg("small", "hi\r\n")), msg("small", "hi\r\n")),
		)
		sameLine(t, fmt.Sprintf("* 2 FETCH (UID 2 BODY[] {%d}%s)", len(m), m), c.readLine())
		c.expect("a OK *")
		c.send("b UID FETCH 2 RFC822")
		sameLine(t, fmt.Sprintf("* 2 FETCH (UID 2 RFC822 {%d}%s FLAGS (\\Seen))", len(m), m), c.readLine())
		c.expect("b OK *")
		c.send("c FETCH 2 BODY.PEEK[]<1.300000>")
		sameLine(t, fmt.Sprintf("* 2 FETCH (BODY[]<1> {300000}%s)", m[1:300001]), c.readLine())
		c.expect("c OK *")
		want := int64(2)
		if strings.HasSuffix(t.Name(), "memstore") {
			want = 0
		}
		require.Equal(t, want, sendfileCount.Load()-before)
	})
}

// sameLine compares long response lines, showing where they part.
func sameLine(t *testing.T, want, got string) {
	t.Helper()
	if got == want {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("lines differ at %d (got %d octets, want %d): got %q, want %q",
		i, len(got), len(want), got[max(0, i-20):min(len(got), i+40)], want[max(0, i-20):min(len(want), i+40)])
}
