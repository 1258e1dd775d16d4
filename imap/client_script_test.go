package imap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ctScript connects a Client over net.Pipe to a scripted server. Script
// lines are "S: line" (sent) and "C: line" (expected from the client; a
// trailing "*" matches any rest), and "CLOSE" ends the connection. The returned channel yields the
// script's first mismatch, or nil once the script ran to its end.
func ctScript(t *testing.T, opts *ClientOptions, script ...string) (*Client, <-chan error) {
	t.Helper()
	cs, ss := net.Pipe()
	t.Cleanup(func() { cs.Close(); ss.Close() })
	done := make(chan error, 1)
	go func() {
		br := bufio.NewReader(ss)
		for _, step := range script {
			switch {
			case strings.HasPrefix(step, "S: "):
				if _, err := io.WriteString(ss, step[3:]+"\r\n"); err != nil {
					done <- err
					return
				}
			case step == "CLOSE":
				ss.Close()
			case strings.HasPrefix(step, "HOOK "):
				if f, ok := scriptHooks.Load(step[5:]); ok {
					f.(func())()
				}
			case strings.HasPrefix(step, "C: "):
				line, err := br.ReadString('\n')
				if err != nil {
					done <- err
					return
				}
				line = strings.TrimRight(line, "\r\n")
				want := step[3:]
				if !(line == want || strings.HasSuffix(want, "*") && strings.HasPrefix(line, want[:len(want)-1])) {
					t.Errorf("script: client sent %q, want %q", line, want)
					ss.Close()
					done <- errors.New("got " + line + ", want " + want)
					return
				}
			}
		}
		done <- nil
	}()
	if opts == nil {
		opts = &ClientOptions{}
	}
	opts.AllowInsecureAuth = true
	c, err := NewClient(ctxT(t), cs, opts)
	require.NoError(t, err)
	return c, done
}

// scriptHooks holds functions a script runs at "HOOK name" steps.
var scriptHooks sync.Map

func scriptOK(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("script did not finish")
	}
}

func TestClientInsecureAuthRefused(t *testing.T) {
	cs, ss := net.Pipe()
	defer cs.Close()
	defer ss.Close()
	go io.WriteString(ss, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
	c, err := NewClient(ctxT(t), cs, nil)
	require.NoError(t, err)
	// net.Pipe is neither TLS nor loopback TCP: nothing may be sent.
	require.ErrorIs(t, c.Login(ctxT(t), "u", "p"), ErrInsecureAuth)
	require.ErrorIs(t, c.Authenticate(ctxT(t), PlainAuth("", "u", "p")), ErrInsecureAuth)
}

func TestClientCancelBreaks(t *testing.T) {
	c, _ := ctScript(t, nil, "S: * OK hi", "C: T1 NOOP")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := c.Noop(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, c.Err(), context.Canceled)
	assert.ErrorIs(t, c.Noop(context.Background()), context.Canceled, "broken: only Close is left")
	assert.NoError(t, c.Close())
}

func TestClientLenientResponses(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 LITERAL+] ready",
		"C: T1 SELECT INBOX",
		"S: * 3 EXISTS",
		"S: * FLAGS (\\Seen \\Deleted $Junk)",
		"S: * OK [PERMANENTFLAGS (\\Seen \\*)] ok",
		"S: * OK [UIDVALIDITY 42] ok",
		"S: * OK [UIDNEXT 7]",
		"S: * XUNKNOWN stuff {3}",
		"S: abc and more",
		"S: T1 OK [READ-WRITE] done",
		"C: T2 FETCH 1:* (UID FLAGS ENVELOPE BODY.PEEK[])",
		// Two spaces, "" where NIL belongs, lower-case names, literal8.
		`S: * 1 FETCH (uid 4  FLAGS () ENVELOPE ("" "Hi" NIL NIL NIL (("" NIL "a" "b.example")) NIL NIL NIL "") BODY[] ~{5}`,
		"S: hello)",
		`S: * 2 FETCH (FLAGS (\Seen) UID 5 BODY[] NIL)`,
		`S: * 3 FETCH (UID 6 BODY[] "quoted body" FLAGS (\Deleted))`,
		"S: T2 OK done",
	)
	sel, err := c.Select(ctxT(t), "INBOX", nil)
	require.NoError(t, err)
	assert.EqualValues(t, 3, sel.Exists)
	assert.EqualValues(t, 42, sel.UIDValidity)
	assert.EqualValues(t, 7, sel.UIDNext)
	assert.Equal(t, []Flag{FlagSeen, FlagWildcard}, sel.PermanentFlags)
	assert.Len(t, sel.Flags, 3)

	var uids []uint32
	var bodies []string
	var sizes []int64
	for m, err := range c.Fetch(ctxT(t), all(), &FetchOptions{UID: true, Flags: true, Envelope: true, Sections: []FetchSection{{}}}) {
		require.NoError(t, err)
		uids = append(uids, m.UID)
		sb, err := m.NextBody()
		require.NoError(t, err)
		require.NotNil(t, sb)
		b, _ := io.ReadAll(sb.Reader)
		bodies = append(bodies, string(b))
		sizes = append(sizes, sb.Size)
		if m.Seq == 1 {
			require.NotNil(t, m.Envelope)
			assert.Equal(t, "Hi", m.Envelope.Subject)
			assert.Equal(t, "a@b.example", m.Envelope.To[0].Addr())
			assert.NotNil(t, m.Flags, "empty FLAGS list is not nil")
		}
		if m.Seq == 3 {
			// FLAGS sent after the section is read once NextBody moves on.
			sb, err := m.NextBody()
			require.NoError(t, err)
			assert.Nil(t, sb)
			assert.True(t, m.HasFlag(FlagDeleted))
		}
	}
	assert.Equal(t, []uint32{4, 5, 6}, uids)
	assert.Equal(t, []string{"hello", "", "quoted body"}, bodies)
	assert.Equal(t, []int64{5, -1, 11}, sizes)
	for seq := uint32(1); seq <= 3; seq++ {
		uid, ok := c.SeqUID(seq)
		assert.True(t, ok)
		assert.Equal(t, seq+3, uid)
	}
	scriptOK(t, done)
}

func TestClientSyncLiteralRefused(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1] ready",
		"C: T1 APPEND INBOX {5}",
		"S: T1 NO [TOOBIG] too big",
		"C: T2 NOOP",
		"S: T2 OK done",
	)
	_, err := c.Append(ctxT(t), "INBOX", AppendMessage{Body: strings.NewReader("hello"), Size: 5})
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, CodeTooBig, ie.Code)
	require.NoError(t, c.Noop(ctxT(t)), "the refused literal was never sent")
	scriptOK(t, done)
}

func TestClientLiteralPlus(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] ready",
		"C: T1 APPEND INBOX (\\Seen) {5+}",
		"C: hello",
		"S: T1 OK [APPENDUID 9 12] done",
	)
	res, err := c.Append(ctxT(t), "INBOX", AppendMessage{Body: strings.NewReader("hello"), Size: 5, Flags: []Flag{FlagSeen}})
	require.NoError(t, err)
	assert.Equal(t, &AppendResult{UIDValidity: 9, UIDs: []uint32{12}}, res)
	scriptOK(t, done)
}

func TestClientMoveFallback(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 UIDPLUS] ready",
		"C: T1 SELECT INBOX",
		"S: * 3 EXISTS",
		"S: T1 OK done",
		"C: T2 COPY 2:3 Archive",
		"S: T2 OK [COPYUID 7 20:21 100:101] done",
		// STORE and EXPUNGE are pipelined: both arrive before any reply.
		"C: T3 STORE 2:3 +FLAGS.SILENT (\\Deleted)",
		"C: T4 UID EXPUNGE 20:21",
		"S: T3 OK done",
		"S: * 3 EXPUNGE",
		"S: * 2 EXPUNGE",
		"S: T4 OK done",
	)
	_, err := c.Select(ctxT(t), "INBOX", nil)
	require.NoError(t, err)
	res, err := c.Move(ctxT(t), span(2, 3), "Archive")
	require.NoError(t, err)
	assert.Equal(t, map[uint32]uint32{20: 100, 21: 101}, res.Map())
	assert.EqualValues(t, 1, c.Mailbox().Exists)
	scriptOK(t, done)
}

func TestClientStrictSending(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 LITERAL+] ready",
		`C: T1 CREATE "a \"quoted\" name"`,
		"S: T1 OK done",
		"C: T2 CREATE &AMQ-pfel/&ZeVnLIqe-",
		"S: T2 OK done",
		"C: T3 SEARCH CHARSET UTF-8 SUBJECT {6+}",
		"C: äpfel FROM sara",
		"S: * SEARCH",
		"S: T3 OK done",
		"C: T5 NOOP", // T4 was the refused CREATE, never sent
		"S: T5 OK done",
	)
	ctx := ctxT(t)
	require.NoError(t, c.Create(ctx, `a "quoted" name`))
	require.NoError(t, c.Create(ctx, "Äpfel/日本語"))
	_, err := c.Search(ctx, nil, KeyText("subject", "äpfel"), KeyText("from", "sara"))
	require.NoError(t, err)
	// CR/LF in a name is refused before anything is sent.
	require.Error(t, c.Create(ctx, "bad\r\nname"))
	require.NoError(t, c.Noop(ctx))
	scriptOK(t, done)
}

func TestClientAuthenticateChallenges(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 AUTH=LOGIN] ready",
		"C: T1 AUTHENTICATE LOGIN",
		"S: + VXNlcm5hbWU6",
		"C: dXNlcg==",
		"S: + UGFzc3dvcmQ6",
		"C: cGFzcw==",
		"S: T1 OK [CAPABILITY IMAP4rev1 IDLE] welcome",
		"C: T2 AUTHENTICATE PLAIN AHUAcA==",
		"S: T2 BAD already authenticated",
	)
	ctx := ctxT(t)
	require.NoError(t, c.Authenticate(ctx, LoginAuth("user", "pass")))
	assert.True(t, c.Has(ctx, "IDLE"), "capabilities from the OK code")
	// SASL-IR now advertised? No: PLAIN's initial response waits for
	// "+" without it, so announce SASL-IR to check the one-line form.
	c.caps["SASL-IR"] = true
	err := c.Authenticate(ctx, PlainAuth("", "u", "p"))
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, StatusBAD, ie.Type)
	scriptOK(t, done)
}

func TestClientUnsolicitedAndBye(t *testing.T) {
	var ups []Update
	c, done := ctScript(t, &ClientOptions{Handler: func(u Update) { ups = append(ups, u) }},
		"S: * OK [CAPABILITY IMAP4rev1 QRESYNC] ready",
		"C: T1 NOOP",
		"S: * OK [ALERT] maintenance soon",
		"S: * STATUS Other (MESSAGES 3)",
		"S: * VANISHED 1:2",
		"S: T1 OK done",
		"C: T2 NOOP",
		"S: * BYE shutting down",
		"CLOSE",
	)
	ctx := ctxT(t)
	require.NoError(t, c.Noop(ctx))
	require.Len(t, ups, 3, "%v", ups)
	assert.Equal(t, UpdateAlert, ups[0].Kind)
	assert.Equal(t, "maintenance soon", ups[0].Text)
	assert.Equal(t, UpdateStatus, ups[1].Kind)
	assert.EqualValues(t, 3, ups[1].Status.Messages)
	assert.Equal(t, UpdateVanished, ups[2].Kind)
	assert.Equal(t, "1:2", ups[2].Vanished.String())
	err := c.Noop(ctx)
	var ie *Error
	if assert.ErrorAs(t, err, &ie) {
		assert.Equal(t, StatusBYE, ie.Type)
	}
	assert.Equal(t, UpdateBye, ups[len(ups)-1].Kind)
	scriptOK(t, done)
}

func TestClientMalformedResponseBreaks(t *testing.T) {
	c, _ := ctScript(t, nil,
		"S: * OK ready",
		"C: T1 NOOP",
		"S: T1 MAYBE done",
	)
	err := c.Noop(ctxT(t))
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Error(t, c.Noop(ctxT(t)))
}

func TestClientESearchAndSort(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 ESEARCH SORT] ready",
		"C: T1 UID SEARCH RETURN (MIN MAX COUNT ALL) SEEN",
		`S: * ESEARCH (TAG "T1") UID MIN 3 MAX 9 COUNT 4 ALL 3:5,9`,
		"S: T1 OK done",
		"C: T2 SORT (REVERSE DATE SUBJECT) UTF-8 ALL",
		"S: * SORT 5 3 4",
		"S: T2 OK done",
	)
	ctx := ctxT(t)
	res, err := c.UIDSearch(ctx, &SearchOptions{Min: true, Max: true, Count: true, All: true}, KeyFlag(FlagSeen))
	require.NoError(t, err)
	assert.EqualValues(t, 3, res.Min)
	assert.EqualValues(t, 9, res.Max)
	assert.EqualValues(t, 4, res.Count)
	assert.Equal(t, []uint32{3, 4, 5, 9}, res.Nums())
	nums, err := c.Sort(ctx, false, []SortKey{{Key: "DATE", Reverse: true}, {Key: "SUBJECT"}})
	require.NoError(t, err)
	assert.Equal(t, []uint32{5, 3, 4}, nums)
	scriptOK(t, done)
}

func TestClientQResyncSelect(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 QRESYNC] ready",
		"C: T1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41:211))",
		"S: * 10 EXISTS",
		"S: * OK [UIDVALIDITY 67890007] ok",
		"S: * OK [HIGHESTMODSEQ 20050715194045000] ok",
		"S: * VANISHED (EARLIER) 41,43:116,118,120:211",
		"S: * 49 FETCH (UID 117 FLAGS (\\Seen \\Answered) MODSEQ (90060115194045001))",
		"S: T1 OK [READ-WRITE] done",
	)
	q := &QResync{UIDValidity: 67890007, ModSeq: 20050715194045000, KnownUIDs: span(41, 211)}
	sel, err := c.Select(ctxT(t), "INBOX", &SelectOptions{QResync: q})
	require.NoError(t, err)
	assert.EqualValues(t, 20050715194045000, sel.HighestModSeq)
	assert.Equal(t, "41,43:116,118,120:211", sel.Vanished.String())
	require.Len(t, sel.Changed, 1)
	assert.EqualValues(t, 117, sel.Changed[0].UID)
	assert.EqualValues(t, uint64(90060115194045001), sel.Changed[0].ModSeq)
	scriptOK(t, done)
}

func TestClientIdleRestart(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 IDLE] ready",
		"C: T1 IDLE",
		"S: + idling",
		"S: * 4 EXISTS",
		"C: DONE",
		"S: T1 OK done",
		"C: T2 IDLE",
		"S: + idling",
		"HOOK idle-restart",
		"C: DONE",
		"S: T2 OK done",
		"C: T3 NOOP",
		"S: T3 OK done",
	)
	var ups []Update
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	scriptHooks.Store("idle-restart", func() { cancel() })
	defer scriptHooks.Delete("idle-restart")
	// Restart after 300 ms: IDLE, DONE, IDLE again, and DONE when the
	// script cancels ctx during the second IDLE.
	require.NoError(t, c.Idle(ctx, 300*time.Millisecond, func(u Update) { ups = append(ups, u) }))
	require.NoError(t, c.Noop(ctxT(t)))
	require.Len(t, ups, 1)
	assert.Equal(t, Update{Kind: UpdateExists, Count: 4}, ups[0])
	scriptOK(t, done)
}

func TestClientUTF8Accept(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 UTF8=ACCEPT ENABLE] ready",
		"C: T1 CREATE &AMQ-pfel",
		"S: T1 OK done",
		"C: T2 ENABLE UTF8=ACCEPT",
		"S: * ENABLED UTF8=ACCEPT",
		"S: T2 OK done",
		`C: T3 CREATE "Äpfel"`,
		"S: T3 OK done",
		`C: T4 LIST "" *`,
		`S: * LIST () "/" "Äpfel"`,
		"S: T4 OK done",
	)
	ctx := ctxT(t)
	require.NoError(t, c.Create(ctx, "Äpfel"))
	en, err := c.Enable(ctx, "UTF8=ACCEPT")
	require.NoError(t, err)
	assert.Equal(t, []string{"UTF8=ACCEPT"}, en)
	require.NoError(t, c.Create(ctx, "Äpfel"))
	list, err := c.List(ctx, "", "*", nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "Äpfel", list[0].Name)
	scriptOK(t, done)
}

func TestClientThread(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 THREAD=REFERENCES] ready",
		"C: T1 UID THREAD REFERENCES UTF-8 ALL",
		"S: * THREAD (2)(3 6 (4 23)(44 7 96))",
		"S: T1 OK done",
	)
	got, err := c.Thread(ctxT(t), true, "references")
	require.NoError(t, err)
	want := []Thread{
		{Num: 2},
		{Num: 3, Children: []Thread{{Num: 6, Children: []Thread{
			{Num: 4, Children: []Thread{{Num: 23}}},
			{Num: 44, Children: []Thread{{Num: 7, Children: []Thread{{Num: 96}}}}},
		}}}},
	}
	assert.Equal(t, want, got)
	scriptOK(t, done)
}

func TestClientAppendEachPipelined(t *testing.T) {
	c, done := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] ready",
		// Both commands arrive before the server answers either.
		"C: T1 APPEND INBOX {3+}",
		"C: one",
		"C: T2 APPEND INBOX {3+}",
		"C: two",
		"S: T1 OK [APPENDUID 5 1] done",
		"S: T2 NO [OVERQUOTA] full",
	)
	res, err := c.AppendEach(ctxT(t), "INBOX", []AppendMessage{
		{Body: strings.NewReader("one"), Size: 3},
		{Body: strings.NewReader("two"), Size: 3},
	})
	var ie *Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, CodeOverQuota, ie.Code)
	require.Len(t, res, 2)
	assert.Equal(t, []uint32{1}, res[0].UIDs)
	assert.Nil(t, res[1])
	scriptOK(t, done)
}

func TestClientStartTLSRefusesPreauth(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		io.WriteString(nc, "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n")
		io.Copy(io.Discard, nc)
	}()
	_, err = DialStartTLS(ctxT(t), l.Addr().String(), nil)
	require.ErrorContains(t, err, "PREAUTH")
}

func TestClientCloseAbortsIdle(t *testing.T) {
	c, _ := ctScript(t, nil,
		"S: * OK [CAPABILITY IMAP4rev1 IDLE] ready",
		"C: T1 IDLE",
		"S: + idling",
	)
	done := make(chan error, 1)
	go func() { done <- c.Idle(context.Background(), 0, nil) }()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, c.Close())
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not abort Idle")
	}
	require.Error(t, c.Noop(context.Background()))
}

func TestClientLogoutByeNotAnUpdate(t *testing.T) {
	var ups []Update
	c, done := ctScript(t, &ClientOptions{Handler: func(u Update) { ups = append(ups, u) }},
		"S: * OK ready",
		"C: T1 LOGOUT",
		"S: * BYE see you",
		"S: T1 OK done",
	)
	require.NoError(t, c.Logout(ctxT(t)))
	assert.Empty(t, ups)
	scriptOK(t, done)
}

func TestClientIdlePollsWithoutIdle(t *testing.T) {
	var ups []Update
	c, done := ctScript(t, &ClientOptions{IdlePoll: 20 * time.Millisecond},
		"S: * OK [CAPABILITY IMAP4rev1] ready",
		"C: T1 NOOP",
		"S: * 2 EXISTS",
		"S: T1 OK done",
		"C: T2 NOOP",
		"HOOK poll",
		"S: T2 OK done",
	)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	scriptHooks.Store("poll", func() { cancel() })
	defer scriptHooks.Delete("poll")
	require.NoError(t, c.Idle(ctx, 0, func(u Update) { ups = append(ups, u) }))
	assert.Equal(t, []Update{{Kind: UpdateExists, Count: 2}}, ups)
	scriptOK(t, done)
}
