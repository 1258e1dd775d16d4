package imap

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// RFC 9394 §4: the PARTIAL fetch modifier picks a window of the messages
// the set selects, from the first or the last, after CHANGEDSINCE.
func TestFetchPartial(t *testing.T) {
	e := newTestEnv(t)
	for i := 1; i <= 10; i++ {
		e.appendMsg("INBOX", sizedMsg(i))
	}
	c := e.selectInbox()
	c.run(
		"C: a UID FETCH 1:* (UID) (PARTIAL -1:-2)",
		"S: * 9 FETCH (UID 9)",
		"S: * 10 FETCH (UID 10)",
		"S: a OK *",
		"C: b FETCH 1:* (UID) (PARTIAL 3:2)",
		"S: * 2 FETCH (UID 2)",
		"S: * 3 FETCH (UID 3)",
		"S: b OK *",
		"C: c FETCH 5:7 (UID) (PARTIAL 1:1)",
		"S: * 5 FETCH (UID 5)",
		"S: c OK *",
		"C: d UID FETCH 1:* (UID) (PARTIAL 20:30)",
		"S: d OK *",
		"C: e FETCH 1:* (UID) (PARTIAL 0:1)",
		"S: e BAD *",
		"C: f FETCH 1:* (UID) (PARTIAL 1:2 PARTIAL 1:2)",
		"S: f BAD *",
		"C: g FETCH 1:* (UID) (PARTIAL -1:2)",
		"S: g BAD *",
		"C: h FETCH 10 (MODSEQ)",
		"S: * OK [HIGHESTMODSEQ *] *",
	)
	line := c.readLine()
	m := regexp.MustCompile(`MODSEQ \((\d+)\)`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	c.run(
		"S: h OK *",
		"C: i STORE 3,5,8 +FLAGS.SILENT (\\Flagged)",
	)
	c.skipUntil("i OK *")
	c.run(
		fmt.Sprintf("C: j UID FETCH 1:* (UID) (CHANGEDSINCE %s PARTIAL -1:-2)", m[1]),
		"S: * 5 FETCH (UID 5 MODSEQ (*))",
		"S: * 8 FETCH (UID 8 MODSEQ (*))",
		"S: j OK *",
	)
}
