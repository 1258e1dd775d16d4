package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/imap"
	"github.com/posthorn/posthorn/mx/mxtest"
	"github.com/posthorn/posthorn/smtp"
)

// crashUsers are the two local users of TestCrashConsistency.
var crashUsers = map[string]string{"jim@example.com": "jimpass", "sara@example.com": "sarapass"}

// crashFlags are the flags the IMAP load sets and clears: three kept in
// the Maildir file names and a keyword, which only the index keeps.
var crashFlags = []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered, "$Work"}

// TestCrashConsistency runs the whole server under load, SMTP deliveries
// to two users and IMAP sessions appending and changing flags, and
// SIGKILLs it at random moments, restarting it on the same data each time.
// After the last restart, every acknowledged message is present exactly
// once for each of its recipients, no UIDVALIDITY changed, no UID was
// reused or went backwards, every acknowledged flag change is there, and
// the server logged nothing. A SIGKILL keeps the page cache, so what the
// server wrote before it answered survives even without an fsync; a power
// failure is the maildir package's crash tests.
func TestCrashConsistency(t *testing.T) {
	kills := 5
	if testing.Short() {
		kills = 2
	}
	data := t.TempDir()
	users := filepath.Join(data, "users.passwd")
	require.NoError(t, os.WriteFile(users,
		[]byte("jim@example.com:{PLAIN}jimpass\nsara@example.com:{PLAIN}sarapass\n"), 0o600))
	dns := mxtest.NewServer(t, "")
	args := []string{"-users", users, "-dns", dns.Addr(), "-insecure-auth", "-smtp", "127.0.0.1:0", "-imap", "127.0.0.1:0",
		"-submission", "", "-submissions", "", "-pop3", "", "-pop3s", "", "-imaps", ""}
	rec := newCrashRecord()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // of the kill moments and the load; the timing is the machine's
	rnd := rand.New(rand.NewPCG(seed, 13))
	var logs strings.Builder
	for cycle := range kills {
		p := start(t, data, args...)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 2 {
			seed := rnd.Uint64()
			wg.Go(func() { crashSMTP(t, rec, p.addrs["smtp"], fmt.Sprintf("%d.%d", cycle, w), seed, stop) })
		}
		for _, b := range crashBoxes {
			for w := range crashWorkers(b) {
				seed := rnd.Uint64()
				wg.Go(func() { crashIMAP(t, rec, p.addrs["imap"], b, w, fmt.Sprintf("%d.%d", cycle, w), seed, stop) })
			}
		}
		time.Sleep(time.Duration(50+rnd.IntN(1450)) * time.Millisecond)
		require.NoError(t, p.cmd.Process.Kill())
		<-p.done
		close(stop)
		wg.Wait()
		rec.kill()
		logs.WriteString(p.logged())
	}

	p := start(t, data, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, b := range crashBoxes {
		c, err := imap.Dial(ctx, p.addrs["imap"])
		require.NoError(t, err)
		require.NoError(t, c.Login(ctx, b.user, crashUsers[b.user]))
		sel, err := c.Select(ctx, b.name, nil)
		require.NoError(t, err, "%s", b)
		msgs, err := crashFetch(ctx, c)
		require.NoError(t, err)
		rec.checkFinal(t, b, sel.UIDValidity, msgs)
		c.Logout(ctx)
		c.Close()
	}
	require.Equal(t, 0, p.stop(t), "exit status after SIGTERM")
	logs.WriteString(p.logged())
	require.Empty(t, logs.String(), "the server logged warnings or errors")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	t.Logf("%d kills: %d deliveries and appends acknowledged, %d flag changes, %d stored but unacknowledged",
		kills, rec.nacked, rec.nstores, rec.extras)
	require.Positive(t, rec.nacked)
	require.Positive(t, rec.nstores)
}

// crashBox is one mailbox of one user.
type crashBox struct{ user, name string }

func (b crashBox) String() string { return b.user + "/" + b.name }

// crashBoxes are the mailboxes of the load: SMTP delivers to the INBOXes,
// IMAP sessions work in all of them (two at once in an INBOX, one in
// Archive, which the first of them creates).
var crashBoxes = []crashBox{
	{"jim@example.com", "INBOX"}, {"jim@example.com", "Archive"},
	{"sara@example.com", "INBOX"}, {"sara@example.com", "Archive"},
}

// crashWorkers is the number of IMAP sessions at once in a mailbox.
func crashWorkers(b crashBox) int {
	if b.name == "INBOX" {
		return 2
	}
	return 1
}

// crashRecord is what the clients were told, over all the runs.
type crashRecord struct {
	mu          sync.Mutex
	attempted   map[crashBox]map[string]*crashAttempt      // Message-ID → what became of it
	uidValidity map[crashBox]uint32                        // the first UIDVALIDITY seen
	uids        map[crashBox]map[uint32]string             // UID → Message-ID, as ever seen
	ceiling     map[crashBox]uint32                        // UIDs up to here were handed out before the last kill
	high        map[crashBox]uint32                        // highest UID (or UIDNEXT-1) seen so far
	flags       map[crashBox]map[uint32]map[imap.Flag]bool // UID → flag → set, in the acknowledged state
	kills       int                                        // so far
	nacked      int
	nstores     int
	extras      int
}

func newCrashRecord() *crashRecord {
	r := &crashRecord{attempted: map[crashBox]map[string]*crashAttempt{}, uidValidity: map[crashBox]uint32{},
		uids: map[crashBox]map[uint32]string{}, ceiling: map[crashBox]uint32{}, high: map[crashBox]uint32{},
		flags: map[crashBox]map[uint32]map[imap.Flag]bool{}}
	for _, b := range crashBoxes {
		r.attempted[b] = map[string]*crashAttempt{}
		r.uids[b] = map[uint32]string{}
		r.flags[b] = map[uint32]map[imap.Flag]bool{}
	}
	return r
}

// crashAttempt is a message sent, by SMTP or APPEND.
type crashAttempt struct {
	acked bool // 250 to the final dot, or OK to APPEND
	kills int  // the number of kills before it was sent
}

// kill notes that every UID seen so far was handed out before a crash.
func (r *crashRecord) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kills++
	for b, h := range r.high {
		r.ceiling[b] = h
	}
}

func (r *crashRecord) attempt(b crashBox, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempted[b][id] = &crashAttempt{kills: r.kills}
}

func (r *crashRecord) ack(b crashBox, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempted[b][id].acked = true
	r.nacked++
}

// selected checks the UIDVALIDITY of a SELECT and notes its UIDNEXT.
func (r *crashRecord) selected(t *testing.T, b crashBox, st *imap.SelectData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.validity(t, b, st.UIDValidity)
	if st.UIDNext > 0 {
		r.high[b] = max(r.high[b], st.UIDNext-1)
	}
}

func (r *crashRecord) validity(t *testing.T, b crashBox, uv uint32) {
	if first, ok := r.uidValidity[b]; !ok {
		r.uidValidity[b] = uv
	} else if uv != first {
		t.Errorf("%s: UIDVALIDITY %d, was %d", b, uv, first)
	}
}

// seen checks that uid is id's UID for good: a UID once seen names the
// same message forever, and a new one is above every UID handed out
// before the last crash.
func (r *crashRecord) seen(t *testing.T, b crashBox, uid uint32, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seenLocked(t, b, uid, id)
}

func (r *crashRecord) seenLocked(t *testing.T, b crashBox, uid uint32, id string) {
	if old, ok := r.uids[b][uid]; ok {
		if old != id {
			t.Errorf("%s: UID %d was %s, now %s", b, uid, old, id)
			r.uids[b][uid] = id // reported once
		}
		return
	}
	a := r.attempted[b][id]
	switch {
	case a == nil:
		t.Errorf("%s: UID %d holds %q, never sent there", b, uid, id)
	case a.kills == r.kills && uid <= r.ceiling[b]:
		// A message sent before the last kill may have had its UID
		// then (below UIDNEXT) without a client seeing it.
		t.Errorf("%s: new UID %d (%s) not above %d, handed out before a crash", b, uid, id, r.ceiling[b])
	}
	r.uids[b][uid] = id
	r.high[b] = max(r.high[b], uid)
}

// crashSMTP delivers messages to one or both users until stop, over one
// connection at a time, redialling after errors.
func crashSMTP(t *testing.T, rec *crashRecord, addr, name string, seed uint64, stop chan struct{}) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d := &smtp.Dialer{Security: smtp.Plain}
	all := slices.Sorted(maps.Keys(crashUsers))
	for n := 0; n < 10000 && ctx.Err() == nil; {
		select {
		case <-stop:
			return
		default:
		}
		c, err := d.Dial(ctx, addr)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		for ; n < 10000; n++ {
			to := all
			if k := rnd.IntN(3); k < 2 {
				to = all[k : k+1]
			}
			id := fmt.Sprintf("<s%s.%d@crash.test>", name, n)
			var rcpts []smtp.Recipient
			for _, u := range to {
				rec.attempt(crashBox{u, "INBOX"}, id)
				rcpts = append(rcpts, smtp.Recipient{Address: u})
			}
			w, _, err := c.Transaction(ctx, "load@remote.example", nil, rcpts)
			if err != nil {
				break
			}
			fmt.Fprintf(w, "Message-ID: %s\r\nSubject: crash load\r\n\r\n%s", id, strings.Repeat("body text of a message\r\n", rnd.IntN(3000)))
			if err := w.Close(); err != nil {
				break
			}
			if w.Reply().Code == 250 {
				for _, u := range to {
					rec.ack(crashBox{u, "INBOX"}, id)
				}
			}
		}
		c.Close()
	}
}

// crashIMAP is one IMAP session in mailbox b at a time, redialled after
// errors, appending messages and changing the flags of the messages it
// owns (UIDs equal to w modulo crashWorkers(b), so that each message has
// one writer and its last acknowledged state is known).
func crashIMAP(t *testing.T, rec *crashRecord, addr string, b crashBox, w int, name string, seed uint64, stop chan struct{}) {
	rnd := rand.New(rand.NewPCG(seed, 2))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n := 0
	for ctx.Err() == nil {
		select {
		case <-stop:
			return
		default:
		}
		c, err := imap.Dial(ctx, addr)
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		err = crashSession(ctx, t, rec, c, b, w, name, &n, rnd, stop)
		c.Close()
		if err == nil {
			return
		}
	}
}

// crashSession runs one session; it returns nil after stop, else the error
// that ended it.
func crashSession(ctx context.Context, t *testing.T, rec *crashRecord, c *imap.Client, b crashBox, w int,
	name string, n *int, rnd *rand.Rand, stop chan struct{}) error {
	if err := c.Login(ctx, b.user, crashUsers[b.user]); err != nil {
		return err
	}
	if b.name != "INBOX" {
		var ie *imap.Error
		if err := c.Create(ctx, b.name); err != nil && !(errors.As(err, &ie) && ie.Code == imap.CodeAlreadyExists) {
			return err
		}
	}
	sel, err := c.Select(ctx, b.name, nil)
	if err != nil {
		return err
	}
	rec.selected(t, b, sel)
	for ; *n < 10000; *n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		switch k := rnd.IntN(10); {
		case k < 2:
			id := fmt.Sprintf("<a%s.%s.%s.%d@crash.test>", name, b.user, b.name, *n)
			body := fmt.Sprintf("Message-ID: %s\r\nSubject: appended\r\n\r\n%s", id, strings.Repeat("appended text\r\n", rnd.IntN(2000)))
			rec.attempt(b, id)
			res, err := c.Append(ctx, b.name, imap.AppendMessage{Body: strings.NewReader(body), Size: int64(len(body))})
			if err != nil {
				return err
			}
			rec.ack(b, id)
			if len(res.UIDs) != 1 {
				t.Errorf("%s: APPEND gave UIDs %v", b, res.UIDs)
				continue
			}
			rec.mu.Lock()
			rec.validity(t, b, res.UIDValidity)
			rec.mu.Unlock()
			rec.seen(t, b, res.UIDs[0], id)
		case k < 4:
			msgs, err := crashFetch(ctx, c)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if m.id != "" { // not an unsolicited FETCH (FLAGS) of another session's change
					rec.seen(t, b, m.uid, m.id)
				}
			}
		default:
			rec.mu.Lock()
			var mine []uint32
			for uid := range rec.uids[b] {
				if int(uid)%crashWorkers(b) == w {
					mine = append(mine, uid)
				}
			}
			rec.mu.Unlock()
			if len(mine) == 0 {
				continue
			}
			slices.Sort(mine)
			uid := mine[rnd.IntN(len(mine))]
			flag := crashFlags[rnd.IntN(len(crashFlags))]
			op := imap.StoreOp(rnd.IntN(2)) // StoreAdd or StoreRemove
			rec.mu.Lock()
			fl := rec.flags[b][uid]
			if fl == nil {
				fl = map[imap.Flag]bool{}
				rec.flags[b][uid] = fl
			}
			delete(fl, flag) // unknown until acknowledged
			rec.mu.Unlock()
			set, _ := imap.ParseNumSet(fmt.Sprint(uid))
			if _, err := c.UIDStore(ctx, set, op, []imap.Flag{flag}, nil); err != nil {
				return err
			}
			rec.mu.Lock()
			fl[flag] = op == imap.StoreAdd
			rec.nstores++
			rec.mu.Unlock()
		}
	}
	return nil
}

type crashMsg struct {
	uid   uint32
	id    string
	flags []imap.Flag
}

// crashFetch returns UID, flags and Message-ID of every message in the
// selected mailbox.
func crashFetch(ctx context.Context, c *imap.Client) ([]crashMsg, error) {
	all, _ := imap.ParseNumSet("1:*")
	var out []crashMsg
	opts := &imap.FetchOptions{UID: true, Flags: true,
		Sections: []imap.FetchSection{{Section: imap.Section{Specifier: imap.PartHeaderFields, Fields: []string{"Message-ID"}}}}}
	for m, err := range c.UIDFetch(ctx, all, opts) {
		if err != nil {
			return nil, err
		}
		b, err := m.ReadBody(1 << 10)
		if err != nil {
			return nil, err
		}
		_, id, _ := strings.Cut(strings.TrimSpace(string(b)), ": ")
		out = append(out, crashMsg{uid: m.UID, id: id, flags: m.Flags})
	}
	return out, nil
}

// checkFinal checks mailbox b after the last restart.
func (r *crashRecord) checkFinal(t *testing.T, b crashBox, uidValidity uint32, msgs []crashMsg) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.validity(t, b, uidValidity)
	count := map[string]int{}
	byUID := map[uint32]crashMsg{}
	for _, m := range msgs {
		r.seenLocked(t, b, m.uid, m.id)
		count[m.id]++
		byUID[m.uid] = m
	}
	for id, n := range count {
		switch {
		case n > 1:
			t.Errorf("%s: %s present %d times", b, id, n)
		case r.attempted[b][id] != nil && !r.attempted[b][id].acked:
			r.extras++
		}
	}
	for id, a := range r.attempted[b] {
		if a.acked && count[id] != 1 {
			t.Errorf("%s: acknowledged %s present %d times", b, id, count[id])
		}
	}
	for uid, id := range r.uids[b] {
		if _, ok := byUID[uid]; !ok {
			t.Errorf("%s: UID %d (%s), seen before, is gone", b, uid, id)
		}
	}
	for uid, fl := range r.flags[b] {
		m := byUID[uid]
		for f, set := range fl {
			if slices.ContainsFunc(m.flags, f.Equal) != set {
				t.Errorf("%s: UID %d: %s set=%v acknowledged, flags now %v", b, uid, f, set, m.flags)
			}
		}
	}
	t.Logf("%s: %d messages, UIDVALIDITY %d", b, len(msgs), uidValidity)
}
