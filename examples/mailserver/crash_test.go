package main

import (
	"context"
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
		for user := range crashUsers {
			for w := range 2 {
				seed := rnd.Uint64()
				wg.Go(func() { crashIMAP(t, rec, p.addrs["imap"], user, w, fmt.Sprintf("%d.%d", cycle, w), seed, stop) })
			}
		}
		time.Sleep(time.Duration(300+rnd.IntN(1200)) * time.Millisecond)
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
	for user, pass := range crashUsers {
		c, err := imap.Dial(ctx, p.addrs["imap"])
		require.NoError(t, err)
		require.NoError(t, c.Login(ctx, user, pass))
		sel, err := c.Select(ctx, "INBOX", nil)
		require.NoError(t, err)
		msgs, err := crashFetch(ctx, c)
		require.NoError(t, err)
		rec.checkFinal(t, user, sel.UIDValidity, msgs)
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

// crashRecord is what the clients were told, over all the runs.
type crashRecord struct {
	mu          sync.Mutex
	attempted   map[string]map[string]*crashAttempt      // user → Message-ID → what became of it
	uidValidity map[string]uint32                        // user → the first UIDVALIDITY seen
	uids        map[string]map[uint32]string             // user → UID → Message-ID, as ever seen
	ceiling     map[string]uint32                        // user → UIDs up to here were handed out before the last kill
	high        map[string]uint32                        // user → highest UID (or UIDNEXT-1) seen so far
	flags       map[string]map[uint32]map[imap.Flag]bool // user → UID → flag → set, for the acknowledged state
	kills       int                                      // so far
	nacked      int
	nstores     int
	extras      int
}

func newCrashRecord() *crashRecord {
	r := &crashRecord{attempted: map[string]map[string]*crashAttempt{}, uidValidity: map[string]uint32{},
		uids: map[string]map[uint32]string{}, ceiling: map[string]uint32{}, high: map[string]uint32{},
		flags: map[string]map[uint32]map[imap.Flag]bool{}}
	for u := range crashUsers {
		r.attempted[u] = map[string]*crashAttempt{}
		r.uids[u] = map[uint32]string{}
		r.flags[u] = map[uint32]map[imap.Flag]bool{}
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
	for u, h := range r.high {
		r.ceiling[u] = h
	}
}

func (r *crashRecord) attempt(user, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempted[user][id] = &crashAttempt{kills: r.kills}
}

func (r *crashRecord) ack(user, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempted[user][id].acked = true
	r.nacked++
}

// selected checks the UIDVALIDITY of a SELECT and notes its UIDNEXT.
func (r *crashRecord) selected(t *testing.T, user string, st *imap.SelectData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.validity(t, user, st.UIDValidity)
	if st.UIDNext > 0 {
		r.high[user] = max(r.high[user], st.UIDNext-1)
	}
}

func (r *crashRecord) validity(t *testing.T, user string, uv uint32) {
	if first, ok := r.uidValidity[user]; !ok {
		r.uidValidity[user] = uv
	} else if uv != first {
		t.Errorf("%s: UIDVALIDITY %d, was %d", user, uv, first)
	}
}

// seen checks that uid is id's UID for good: a UID once seen names the
// same message forever, and a new one is above every UID handed out
// before the last crash.
func (r *crashRecord) seen(t *testing.T, user string, uid uint32, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seenLocked(t, user, uid, id)
}

func (r *crashRecord) seenLocked(t *testing.T, user string, uid uint32, id string) {
	if old, ok := r.uids[user][uid]; ok {
		if old != id {
			t.Errorf("%s: UID %d was %s, now %s", user, uid, old, id)
			r.uids[user][uid] = id // reported once
		}
		return
	}
	a := r.attempted[user][id]
	switch {
	case a == nil:
		t.Errorf("%s: UID %d holds %q, never sent", user, uid, id)
	case a.kills == r.kills && uid <= r.ceiling[user]:
		// A message sent before the last kill may have had its UID
		// then (below UIDNEXT) without a client seeing it.
		t.Errorf("%s: new UID %d (%s) not above %d, handed out before a crash", user, uid, id, r.ceiling[user])
	}
	r.uids[user][uid] = id
	r.high[user] = max(r.high[user], uid)
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
				rec.attempt(u, id)
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
					rec.ack(u, id)
				}
			}
		}
		c.Close()
	}
}

// crashIMAP is one IMAP session of user at a time, redialled after errors,
// appending messages and changing the flags of the messages it owns (UIDs
// of its parity w, so that each message has one writer and its last
// acknowledged state is known).
func crashIMAP(t *testing.T, rec *crashRecord, addr, user string, w int, name string, seed uint64, stop chan struct{}) {
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
		err = crashSession(ctx, t, rec, c, user, w, name, &n, rnd, stop)
		c.Close()
		if err == nil {
			return
		}
	}
}

// crashSession runs one session; it returns nil after stop, else the error
// that ended it.
func crashSession(ctx context.Context, t *testing.T, rec *crashRecord, c *imap.Client, user string, w int,
	name string, n *int, rnd *rand.Rand, stop chan struct{}) error {
	if err := c.Login(ctx, user, crashUsers[user]); err != nil {
		return err
	}
	sel, err := c.Select(ctx, "INBOX", nil)
	if err != nil {
		return err
	}
	rec.selected(t, user, sel)
	for ; *n < 10000; *n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		switch k := rnd.IntN(10); {
		case k < 2:
			id := fmt.Sprintf("<a%s.%s.%d@crash.test>", name, user, *n)
			body := fmt.Sprintf("Message-ID: %s\r\nSubject: appended\r\n\r\n%s", id, strings.Repeat("appended text\r\n", rnd.IntN(2000)))
			rec.attempt(user, id)
			res, err := c.Append(ctx, "INBOX", imap.AppendMessage{Body: strings.NewReader(body), Size: int64(len(body))})
			if err != nil {
				return err
			}
			rec.ack(user, id)
			if len(res.UIDs) != 1 {
				t.Errorf("%s: APPEND gave UIDs %v", user, res.UIDs)
				continue
			}
			rec.mu.Lock()
			rec.validity(t, user, res.UIDValidity)
			rec.mu.Unlock()
			rec.seen(t, user, res.UIDs[0], id)
		case k < 4:
			msgs, err := crashFetch(ctx, c)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if m.id != "" { // not an unsolicited FETCH (FLAGS) of another session's change
					rec.seen(t, user, m.uid, m.id)
				}
			}
		default:
			rec.mu.Lock()
			var mine []uint32
			for uid := range rec.uids[user] {
				if int(uid%2) == w {
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
			fl := rec.flags[user][uid]
			if fl == nil {
				fl = map[imap.Flag]bool{}
				rec.flags[user][uid] = fl
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

// checkFinal checks the mailbox of user after the last restart.
func (r *crashRecord) checkFinal(t *testing.T, user string, uidValidity uint32, msgs []crashMsg) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.validity(t, user, uidValidity)
	count := map[string]int{}
	byUID := map[uint32]crashMsg{}
	for _, m := range msgs {
		r.seenLocked(t, user, m.uid, m.id)
		count[m.id]++
		byUID[m.uid] = m
	}
	for id, n := range count {
		switch {
		case n > 1:
			t.Errorf("%s: %s present %d times", user, id, n)
		case r.attempted[user][id] != nil && !r.attempted[user][id].acked:
			r.extras++
		}
	}
	for id, a := range r.attempted[user] {
		if a.acked && count[id] != 1 {
			t.Errorf("%s: acknowledged %s present %d times", user, id, count[id])
		}
	}
	for uid, id := range r.uids[user] {
		if _, ok := byUID[uid]; !ok {
			t.Errorf("%s: UID %d (%s), seen before, is gone", user, uid, id)
		}
	}
	for uid, fl := range r.flags[user] {
		m := byUID[uid]
		for f, set := range fl {
			if slices.ContainsFunc(m.flags, f.Equal) != set {
				t.Errorf("%s: UID %d: %s set=%v acknowledged, flags now %v", user, uid, f, set, m.flags)
			}
		}
	}
	t.Logf("%s: %d messages, UIDVALIDITY %d", user, len(msgs), uidValidity)
}
