package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// searchTestInbox returns sara's INBOX in a memory store holding msgs
// (message i gets \Seen when i is odd) and the UIDs.
func searchTestInbox(t *testing.T, msgs []string) (mailbox.Mailbox, []mailbox.UID) {
	t.Helper()
	st := memstore.New()
	require.NoError(t, st.AddUser("sara", "secret"))
	ctx := context.Background()
	acct, err := st.Open(ctx, "sara")
	require.NoError(t, err)
	t.Cleanup(func() { acct.Close() })
	mb, err := acct.Mailbox(ctx, "INBOX")
	require.NoError(t, err)
	t.Cleanup(func() { mb.Close() })
	var uids []mailbox.UID
	for i, m := range msgs {
		var flags []mailbox.Flag
		if i%2 == 1 {
			flags = []mailbox.Flag{mailbox.FlagSeen}
		}
		u, err := mb.Append(ctx, strings.NewReader(m), &mailbox.AppendOptions{Flags: flags, InternalDate: time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		uids = append(uids, u)
	}
	return mb, uids
}

// searchTestConn is a connection with mb selected and every message known.
func searchTestConn(ctx context.Context, mb mailbox.Mailbox, uids []mailbox.UID) *conn {
	return &conn{ctx: ctx, mbox: mb, view: testView(uids...)}
}

// searchWith evaluates key serially (workers 0) or in parallel.
func searchWith(c *conn, key *SearchKey, workers int) ([]mailbox.UID, error) {
	s := &searchCtx{c: c, now: time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), seqSets: map[*SearchKey]NumSet{}}
	s.prepare(key)
	if workers == 0 {
		return c.searchSerial(s, key)
	}
	return c.searchParallel(s, key, workers)
}

// setSearchChunk sets the chunk size for the test.
func setSearchChunk(t *testing.T, n int32) {
	old := searchChunk.Load()
	searchChunk.Store(n)
	t.Cleanup(func() { searchChunk.Store(old) })
}

var propWords = []string{"alpha", "Beta", "gamma", "ÉTÉ", "straße", "Kelvin", "zeta", "needle", "ünïcode", "delta epsilon"}

// randomMessage builds a message from pieces that exercise every way the
// body text is decoded: charsets, transfer encodings, nested messages,
// folded and encoded header fields, 8-bit octets, and look-alikes of the
// words the fast path looks for.
func randomMessage(rng *rand.Rand) string {
	word := func() string {
		w := propWords[rng.IntN(len(propWords))]
		if rng.IntN(3) > 0 { // mostly ASCII
			w = []string{"alpha", "Beta", "gamma", "Kelvin", "zeta", "needle", "delta epsilon"}[rng.IntN(7)]
		}
		if rng.IntN(3) == 0 {
			w = strings.ToUpper(w)
		}
		return w
	}
	words := func(n int) string {
		var ws []string
		for range n {
			ws = append(ws, word())
		}
		return strings.Join(ws, " ")
	}
	var b strings.Builder
	switch rng.IntN(4) {
	case 0:
		fmt.Fprintf(&b, "Subject: %s\r\n", words(3))
	case 1:
		fmt.Fprintf(&b, "Subject: %s\r\n %s\r\n", words(2), words(2)) // folded
	case 2:
		b.WriteString("Subject: =?UTF-8?Q?stra=C3=9Fe_ALPHA?= end\r\n")
	case 3:
		b.WriteString("Subject: =?ISO-8859-1?B?6XTp?= gamma\r\n") // "été"
	}
	fmt.Fprintf(&b, "From: %s <a%d@example.org>\r\nTo: b@example.org\r\nX-Tag: %s\r\n", word(), rng.IntN(5), word())
	if rng.IntN(5) == 0 {
		b.WriteString([]string{"X-Original-Content-Type: text/html\r\n", "Content-Type : text/plain; charset=utf-8\r\n",
			"Content-type:\r\n text/plain; charset=utf-16\r\n", "Content-Transfer-Encoding: base64\r\n"}[rng.IntN(4)])
	}
	if rng.IntN(2) == 0 {
		b.WriteString("Date: Tue, 5 Mar 2024 10:00:00 +0000\r\n")
	}
	text := words(5 + rng.IntN(10))
	leaf := func() string {
		switch rng.IntN(10) {
		case 0:
			return "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text + "\r\n"
		case 1:
			return "Content-Type: text/plain; charset=\"UTF-8\"\r\n\r\n" + text + " K\u212a\r\n"
		case 2: // quoted-printable with a soft break inside a word
			return "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nnee=\r\ndle " +
				[]string{"=C3=A9t=C3=A9", "=41lpha", "g=61mma", "be= \r\nta", "x=3Dy", "=\r\nzeta", "k=\rx", "=4", "=zz",
					"nee=\ndle", "del=\r\nta", "a\x01b", strings.Repeat("z", 4100), "end=", "a==\r\nb", "=3D=\r\n"}[rng.IntN(16)] + " " + text + "\r\n"
		case 3:
			return "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n" + "caf\xe9 " + strings.ToValidUTF8(text, "") + "\r\n"
		case 4: // base64 text
			return "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nbmVlZGxlIGluIGJhc2U2NA==\r\n"
		case 5: // UTF-16: ASCII-looking octets that decode to other text
			return "Content-Type: text/plain; charset=utf-16le\r\n\r\nn\x00e\x00e\x00d\x00l\x00e\x00\r\n"
		case 6: // RFC 2231 charset
			return "Content-Type: text/plain; charset*=utf-8''utf-8\r\n\r\n" + text + "\r\n"
		case 7: // an attachment: base64 of "needle", not text
			return "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nbmVlZGxl\r\n"
		case 8: // unknown transfer encoding: raw octets
			return "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-weird\r\n\r\n" + text + "\r\n"
		}
		return "\r\n" + text + "\r\n" // no Content-Type
	}
	switch rng.IntN(4) {
	case 0, 1:
		l := leaf()
		if strings.HasPrefix(l, "\r\n") {
			b.WriteString(l)
		} else {
			b.WriteString("MIME-Version: 1.0\r\n" + l)
		}
	case 2:
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\n" +
			leaf() + "--XX\r\n" + leaf() + "--XX--\r\nepilogue " + word() + "\r\n")
	case 3:
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=YY\r\n\r\n--YY\r\n" + leaf() +
			"--YY\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner " + word() + "\r\nContent-Type: multipart/alternative; boundary=ZZ\r\n\r\n--ZZ\r\n" +
			leaf() + "--ZZ--\r\n--YY--\r\n")
	}
	return b.String()
}

// randomKey builds a random criteria tree.
func randomKey(rng *rand.Rand, depth int) SearchKey {
	needle := func() string {
		w := propWords[rng.IntN(len(propWords))]
		switch rng.IntN(4) {
		case 0:
			w = strings.ToLower(w)
		case 1:
			w = strings.ToUpper(w)
		case 2:
			if len(w) > 3 {
				w = w[1 : len(w)-1]
			}
		}
		if rng.IntN(12) == 0 {
			w = []string{"k", "\u212a", "élan", "e", "needle in", "", "dle"}[rng.IntN(7)]
		}
		return w
	}
	n := rng.IntN(12)
	if depth > 1 && n >= 9 {
		n = rng.IntN(9)
	}
	switch n {
	case 0, 1:
		return SearchKey{Key: "TEXT", Str: needle()}
	case 2, 3:
		return SearchKey{Key: "BODY", Str: needle()}
	case 4:
		return SearchKey{Key: []string{"SUBJECT", "FROM", "TO"}[rng.IntN(3)], Str: needle()}
	case 5:
		return SearchKey{Key: "HEADER", Field: "X-Tag", Str: needle()}
	case 6:
		return SearchKey{Key: []string{"SEEN", "UNSEEN", "SENTSINCE"}[rng.IntN(3)], Date: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	case 7:
		return SearchKey{Key: "LARGER", Num: uint64(rng.IntN(600))}
	case 8:
		lo := uint32(1 + rng.IntN(40))
		return SearchKey{Key: "UID", Set: NumSet{Ranges: []Range{{Start: lo, Stop: lo + uint32(rng.IntN(60))}}}}
	case 9:
		return SearchKey{Key: "NOT", Keys: []SearchKey{randomKey(rng, depth+1)}}
	case 10:
		return SearchKey{Key: "OR", Keys: []SearchKey{randomKey(rng, depth+1), randomKey(rng, depth+1)}}
	}
	return SearchKey{Key: "AND", Keys: []SearchKey{randomKey(rng, depth+1), randomKey(rng, depth+1)}}
}

// TestSearchParallelMatchesSerial: over random messages and criteria, the
// parallel evaluation finds exactly what the serial one does, whatever
// the chunk size and number of workers.
func TestSearchParallelMatchesSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 7))
	msgs := make([]string, 80)
	for i := range msgs {
		msgs[i] = randomMessage(rng)
	}
	mb, uids := searchTestInbox(t, msgs)
	c := searchTestConn(t.Context(), mb, uids)
	found := 0
	for i := range 300 {
		key := randomKey(rng, 0)
		want, werr := searchWith(c, &key, 0)
		setSearchChunk(t, int32(1+rng.IntN(9)))
		got, gerr := searchWith(c, &key, 2+rng.IntN(3))
		// Damaged parts are searched raw: no search fails.
		require.NoError(t, werr, "criteria %d: %+v", i, key)
		require.NoError(t, gerr)
		require.Equal(t, want, got, "criteria %d: %+v", i, key)
		found += len(want)
	}
	assert.Greater(t, found, 300, "the criteria should match messages")
}

// TestSearchPlainTextIsSound: the fast path of BODY and TEXT (the string
// looked for in the message's own octets) never says no where the
// decoded body text holds the string, and is taken for plain messages.
func TestSearchPlainTextIsSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	msgs := make([]string, 300)
	for i := range msgs {
		msgs[i] = randomMessage(rng)
	}
	mb, uids := searchTestInbox(t, msgs)
	c := searchTestConn(t.Context(), mb, uids)
	plain := 0
	for m, err := range mb.Messages(t.Context(), 1) {
		require.NoError(t, err)
		for _, w := range append(slices.Clone(propWords), "needle", "k", "\u212a", "dle é", "e\nd") {
			checkPlainText(t, c, &m, w)
		}
		s := &searchCtx{c: c}
		s.reset(&m, 1)
		require.NoError(t, s.load())
		if s.msg.plainText(s.src.raw, len(s.src.header)) {
			plain++
		}
	}
	assert.Greater(t, plain, 10, "plain messages")
	assert.Less(t, plain, 250, "encoded messages")
}

// checkPlainText compares the fast path's answer for needle with the
// decoded body text of m.
func checkPlainText(t *testing.T, c *conn, m *mailbox.MessageInfo, needle string) {
	t.Helper()
	low := []byte(strings.ToLower(needle))
	fast := &searchCtx{c: c}
	fast.reset(m, 1)
	got, ferr := fast.bodyContains(low)
	full := &searchCtx{c: c}
	full.reset(m, 1)
	require.NoError(t, full.load())
	require.NoError(t, full.loadBodyText()) // a damaged part is searched raw
	require.NoError(t, ferr)
	want := strings.Contains(string(full.body), string(low))
	require.Equal(t, want, got, "UID %d, %q: body text %q", m.UID, needle, full.body)
	// The header: the lower-cased message stands for the unfolded header
	// when the string cannot span a fold.
	require.Equal(t, bytes.Contains(unfoldLower(nil, full.src.header), low), full.headerBytesContain(low), "UID %d, %q", m.UID, needle)
}

// FuzzSearchText: for any message and string, BODY's answer is that of
// the decoded body text, and the lower-cased copy is ASCII lower-casing.
func FuzzSearchText(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 5))
	for range 20 {
		f.Add(randomMessage(rng), propWords[rng.IntN(len(propWords))])
	}
	f.Add("Content-Type: text/plain; charset=\"utf-8\"x\r\n\r\nneedle\r\n", "needle")
	f.Add("Content-Type: text/plain; CHARSET=UTF-16\r\n\r\nn\x00e\x00\r\n", "ne")
	f.Add("Content-Transfer-Encoding: quoted-printable\r\n\r\nne=\r\nedle =41b x= \r\ny\r\n", "needle")
	f.Add("Content-Transfer-Encoding: quoted-printable\r\n\r\nab==\r\n", "ab")
	f.Add("Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nbmVlZGxl\r\n--b--\r\n", "needle")
	f.Add("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nab=\r\n--b--\r\n", "ab")
	f.Fuzz(func(t *testing.T, msg, needle string) {
		if len(msg) > maxPreload {
			return
		}
		mb, uids := searchTestInbox(t, []string{msg})
		c := searchTestConn(t.Context(), mb, uids)
		for m, err := range mb.Messages(t.Context(), 1) {
			require.NoError(t, err)
			checkPlainText(t, c, &m, needle)
		}
		low, ascii := lowerASCII(nil, []byte(msg))
		assert.Equal(t, isASCII(msg), ascii)
		want := []byte(msg)
		for i, c := range want {
			if 'A' <= c && c <= 'Z' {
				want[i] = c + 'a' - 'A'
			}
		}
		assert.Equal(t, string(want), string(low))
	})
}

func TestLowerASCII(t *testing.T) {
	in := []byte("Hello WORLD @[`{ Zz Aa \xc3\x89t\xc3\xa9 0123456789 QRSTUVWXYZ abc")
	got, ascii := lowerASCII([]byte("x"), in)
	assert.False(t, ascii)
	assert.Equal(t, "x"+string(unfoldLower(nil, in)), string(got))
	_, ascii = lowerASCII(nil, []byte("plain ASCII text, long enough for words"))
	assert.True(t, ascii)
}

func TestPassThroughCharsets(t *testing.T) {
	for in, want := range map[string]bool{
		"no param":                        true,
		"charset=utf-8\r\n":               true,
		"charset=\"us-ascii\"; x":         true,
		"charset=ascii":                   true,
		"charset=utf8;charset=utf-8 ":     true,
		"charset=iso-8859-1":              false,
		"charset=utf-16\r\n":              false,
		"charset*=utf-8''x":               false,
		"charset = utf-8":                 false,
		"charset=\"utf-8":                 false,
		"charset=utf-8x":                  false,
		"charset==?utf-8?q?utf-16?=":      false,
		"charset=utf-8 charset=utf-7":     false,
		"x-charset-info: the charset set": false,
	} {
		assert.Equal(t, want, passThroughCharsets([]byte(in)), in)
	}
}

// gateMailbox wraps a mailbox to watch and steer SEARCH's reads.
type gateMailbox struct {
	mailbox.Mailbox
	inFlight, maxInFlight atomic.Int32
	meta                  atomic.Int32
	onRead                func(uid mailbox.UID) error // may block; nil: none
}

func (g *gateMailbox) read(uid mailbox.UID) func() {
	n := g.inFlight.Add(1)
	for {
		m := g.maxInFlight.Load()
		if n <= m || g.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return func() { g.inFlight.Add(-1) }
}

func (g *gateMailbox) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	defer g.read(uid)()
	if g.onRead != nil {
		if err := g.onRead(uid); err != nil {
			return nil, err
		}
	}
	return g.Mailbox.Open(ctx, uid)
}

func (g *gateMailbox) Metadata(ctx context.Context, uid mailbox.UID) ([]byte, error) {
	g.meta.Add(1)
	return g.Mailbox.(mailbox.MetadataCache).Metadata(ctx, uid)
}

func (g *gateMailbox) SetMetadata(ctx context.Context, uid mailbox.UID, data []byte) error {
	return g.Mailbox.(mailbox.MetadataCache).SetMetadata(ctx, uid, data)
}

func plainMessages(n int) []string {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf("Subject: %d\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nbody %d\r\n", i, i)
	}
	return msgs
}

// TestSearchParallelWorkers: the messages are read by several workers at
// once, never more than asked, and none is still reading when the search
// returns.
func TestSearchParallelWorkers(t *testing.T) {
	setSearchChunk(t, 2)
	mb, uids := searchTestInbox(t, plainMessages(40))
	g := &gateMailbox{Mailbox: mb}
	both := make(chan struct{})
	var once sync.Once
	g.onRead = func(mailbox.UID) error {
		if g.inFlight.Load() >= 2 {
			once.Do(func() { close(both) })
		}
		select { // the first reads wait (bounded) for a second one
		case <-both:
		case <-time.After(5 * time.Second):
		}
		return nil
	}
	c := searchTestConn(t.Context(), g, uids)
	got, err := searchWith(c, &SearchKey{Key: "BODY", Str: "body 3"}, 3)
	require.NoError(t, err)
	assert.Equal(t, []mailbox.UID{uids[3], uids[30], uids[31], uids[32], uids[33], uids[34], uids[35], uids[36], uids[37], uids[38], uids[39]}, got)
	assert.GreaterOrEqual(t, g.maxInFlight.Load(), int32(2))
	assert.LessOrEqual(t, g.maxInFlight.Load(), int32(3))
	assert.Zero(t, g.inFlight.Load())
}

// TestSearchParallelFirstError: when several messages fail, the search
// returns the error of the first in UID order, as a serial search does,
// even when a later one fails first.
func TestSearchParallelFirstError(t *testing.T) {
	setSearchChunk(t, 3)
	mb, uids := searchTestInbox(t, plainMessages(30))
	g := &gateMailbox{Mailbox: mb}
	errs := map[mailbox.UID]error{uids[4]: errors.New("EIO on 5"), uids[20]: errors.New("EIO on 21")}
	g.onRead = func(uid mailbox.UID) error {
		if uid == uids[4] {
			time.Sleep(50 * time.Millisecond) // let 21 fail first
		}
		return errs[uid]
	}
	c := searchTestConn(t.Context(), g, uids)
	key := SearchKey{Key: "TEXT", Str: "nothing"}
	_, serr := searchWith(c, &key, 0)
	_, perr := searchWith(c, &key, 4)
	assert.Same(t, errs[uids[4]], serr)
	assert.Same(t, errs[uids[4]], perr)
	assert.Zero(t, g.inFlight.Load())
}

// TestSearchParallelCancel: the connection's context ending stops the
// workers, and the search returns its error.
func TestSearchParallelCancel(t *testing.T) {
	setSearchChunk(t, 2)
	mb, uids := searchTestInbox(t, plainMessages(200))
	g := &gateMailbox{Mailbox: mb}
	ctx, cancel := context.WithCancel(t.Context())
	var reads atomic.Int32
	g.onRead = func(mailbox.UID) error {
		if reads.Add(1) == 10 {
			cancel()
		}
		return nil
	}
	c := searchTestConn(ctx, g, uids)
	_, err := searchWith(c, &SearchKey{Key: "BODY", Str: "x"}, 2)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, reads.Load(), int32(30), "workers went on after the cancellation")
	assert.Zero(t, g.inFlight.Load())
}

// TestSearchParallelPanic: a panic in a worker reaches the connection's
// goroutine (whose recovery logs it), after the other workers ended.
func TestSearchParallelPanic(t *testing.T) {
	setSearchChunk(t, 2)
	mb, uids := searchTestInbox(t, plainMessages(20))
	g := &gateMailbox{Mailbox: mb}
	g.onRead = func(uid mailbox.UID) error {
		if uid == uids[7] {
			panic("store bug")
		}
		return nil
	}
	c := searchTestConn(t.Context(), g, uids)
	assert.PanicsWithValue(t, "store bug", func() { searchWith(c, &SearchKey{Key: "BODY", Str: "x"}, 2) })
	assert.Zero(t, g.inFlight.Load())
}

// TestSearchLargeMessagesOneAtATime: messages too large to read whole
// (whose decoded text may reach maxSearchBody) are evaluated by one
// worker at a time.
func TestSearchLargeMessagesOneAtATime(t *testing.T) {
	setSearchChunk(t, 1)
	big := "Subject: big\r\n\r\n" + strings.Repeat("filler line of text\r\n", maxPreload/20+10)
	mb, uids := searchTestInbox(t, []string{big, big, big, big})
	g := &gateMailbox{Mailbox: mb}
	g.onRead = func(mailbox.UID) error { time.Sleep(20 * time.Millisecond); return nil }
	c := searchTestConn(t.Context(), g, uids)
	got, err := searchWith(c, &SearchKey{Key: "BODY", Str: "filler"}, 4)
	require.NoError(t, err)
	assert.Equal(t, uids, got)
	assert.Equal(t, int32(1), g.maxInFlight.Load())
}

// TestSearchPlainSkipsStructure: BODY and TEXT on plain messages that do
// not hold the string need neither the MIME structure nor a second read.
func TestSearchPlainSkipsStructure(t *testing.T) {
	msgs := plainMessages(10)
	msgs = append(msgs, "Subject: qp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbo=\r\ndy =3D x\r\n",
		"Subject: b64\r\nContent-Transfer-Encoding: base64\r\n\r\nYm9keQ==\r\n")
	mb, uids := searchTestInbox(t, msgs)
	g := &gateMailbox{Mailbox: mb}
	c := searchTestConn(t.Context(), g, uids)
	got, err := searchWith(c, &SearchKey{Key: "OR", Keys: []SearchKey{{Key: "TEXT", Str: "absent"}, {Key: "BODY", Str: "nowhere"}}}, 0)
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, int32(1), g.meta.Load(), "only the base64 message needs its structure")
	got, err = searchWith(c, &SearchKey{Key: "BODY", Str: "BODY 7"}, 0)
	require.NoError(t, err)
	assert.Equal(t, []mailbox.UID{uids[7]}, got)
}

// TestSearchParallelConcurrentChanges: a session searching in parallel
// while other handles expunge, append and change flags gets OK (or NO for
// a message removed under it), never BAD or BYE, and finds only messages
// that hold the string. Run with -race.
func TestSearchParallelConcurrentChanges(t *testing.T) {
	storeKinds(t, func(t *testing.T, newEnv func(*testing.T, ...func(*Server)) *testEnv) {
		old := searchParallelMin.Load()
		searchParallelMin.Store(1)
		t.Cleanup(func() { searchParallelMin.Store(old) })
		setSearchChunk(t, 3)
		e := newEnv(t)
		var mu sync.Mutex
		withNeedle := map[mailbox.UID]bool{}
		msg := func(i int) string {
			body := fmt.Sprintf("message %d", i)
			if i%3 == 0 {
				body += " with the NeedLe"
			}
			if i%4 == 1 {
				return "Subject: qp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + strings.ReplaceAll(body, "e", "=65") + "\r\n"
			}
			return "Subject: plain\r\n\r\n" + body + "\r\n"
		}
		var all []mailbox.UID
		for i := range 60 {
			u := e.appendMsg("INBOX", msg(i))
			all = append(all, u)
			withNeedle[u] = i%3 == 0
		}
		c := e.login()
		until := func(tag string) string { // the tagged line, untagged ones skipped
			for {
				if l := c.readLine(); strings.HasPrefix(l, tag+" ") {
					return l
				}
			}
		}
		c.send("s SELECT INBOX")
		require.Contains(t, until("s"), "s OK")

		done := make(chan error, 1)
		go func() {
			done <- func() error {
				ctx := context.Background()
				acct, err := e.store.Open(ctx, "sara")
				if err != nil {
					return err
				}
				defer acct.Close()
				mb, err := acct.Mailbox(ctx, "INBOX")
				if err != nil {
					return err
				}
				defer mb.Close()
				for i := range 30 {
					if _, err := mb.Expunge(ctx, []mailbox.UID{all[(i*7)%len(all)]}); err != nil {
						return err
					}
					u, err := mb.Append(ctx, strings.NewReader(msg(i)), nil)
					if err != nil {
						return err
					}
					mu.Lock()
					withNeedle[u] = i%3 == 0
					mu.Unlock()
					if _, err := mb.SetFlags(ctx, all[i:i+10], mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged}, 0); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
		oks := 0
		var found []mailbox.UID // checked once the other handle is done
		for i := range 25 {
			tag := fmt.Sprintf("t%d", i)
			c.send(tag + " UID SEARCH TEXT needle")
			for {
				line := c.readLine()
				if f, ok := strings.CutPrefix(line, "* SEARCH"); ok {
					var prev uint64
					for _, w := range strings.Fields(f) {
						var u uint64
						fmt.Sscan(w, &u)
						require.Greater(t, u, prev, "ascending: %s", line)
						prev = u
						found = append(found, mailbox.UID(u))
					}
					continue
				}
				if strings.HasPrefix(line, "* ") {
					continue
				}
				require.True(t, strings.HasPrefix(line, tag+" OK") || strings.HasPrefix(line, tag+" NO"), line)
				if strings.HasPrefix(line, tag+" OK") {
					oks++
				}
				break
			}
			if i%5 == 4 {
				c.send("n NOOP")
				require.Contains(t, until("n"), "n OK")
			}
		}
		require.NoError(t, <-done)
		mu.Lock()
		for _, u := range found {
			require.True(t, withNeedle[u], "UID %d has no needle", u)
		}
		mu.Unlock()
		assert.Positive(t, oks)
		c.send("z NOOP")
		require.Contains(t, until("z"), "z OK")
	})
}

// TestSearchWorkersChoice: only large mailboxes searched on contents get
// workers; flags, sizes and the like stay serial.
func TestSearchWorkersChoice(t *testing.T) {
	old := searchWorkersSet.Load()
	searchWorkersSet.Store(3)
	t.Cleanup(func() { searchWorkersSet.Store(old) })
	lim := int(searchParallelMin.Load())
	text := &SearchKey{Key: "TEXT", Str: "x"}
	nested := &SearchKey{Key: "OR", Keys: []SearchKey{{Key: "SEEN"}, {Key: "NOT", Keys: []SearchKey{{Key: "HEADER", Field: "X", Str: "y"}}}}}
	flags := &SearchKey{Key: "AND", Keys: []SearchKey{{Key: "SEEN"}, {Key: "LARGER", Num: 10}, {Key: "UID", Set: NumSet{Ranges: []Range{{Start: 1, Stop: 5}}}}}}
	assert.Equal(t, 3, searchWorkers(text, lim))
	assert.Equal(t, 3, searchWorkers(nested, lim))
	assert.Equal(t, 0, searchWorkers(text, lim-1))
	assert.Equal(t, 0, searchWorkers(flags, lim))
	assert.Equal(t, 3, searchWorkers(&SearchKey{Key: "SENTSINCE"}, lim))
}

func TestSingleText(t *testing.T) {
	for in, want := range map[string]bool{
		"subject: x\r\n\r\n": true,
		"\r\n":               true,
		"content-type: text/plain; charset=us-ascii\r\n\r\n":            true,
		"content-type :\ttext/html\r\n\r\n":                             true,
		"content-type: multipart/mixed; boundary=x\r\n\r\n":             false,
		"content-type: message/rfc822\r\n\r\n":                          false,
		"content-type:\r\n text/plain\r\n\r\n":                          false,
		"content-type: (c) text/plain\r\n\r\n":                          false,
		"content-type: text/plain\r\ncontent-type: multipart/x\r\n\r\n": false,
		"x-original-content-type: multipart/mixed\r\n\r\n":              false,
		"subject: x\r\n": false, // no end: cut at the limit
	} {
		assert.Equal(t, want, singleText([]byte(in)), in)
	}
}
