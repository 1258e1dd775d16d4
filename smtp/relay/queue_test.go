package relay

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeNet is a Transport that records what it delivers and answers each
// recipient by a rule.
type fakeNet struct {
	mu        sync.Mutex
	delivered map[string][]string // recipient → bodies
	attempts  map[string]int      // recipient → attempts
	reply     func(rcpt string, attempt int) error
	gate      chan struct{} // if set, each delivery waits for a token
	active    map[string]int
	maxActive map[string]int
	calls     map[string]int // domain → Deliver calls
}

func newFakeNet(reply func(rcpt string, attempt int) error) *fakeNet {
	return &fakeNet{delivered: map[string][]string{}, attempts: map[string]int{}, reply: reply,
		active: map[string]int{}, maxActive: map[string]int{}, calls: map[string]int{}}
}

func (f *fakeNet) Deliver(ctx context.Context, d *Delivery) []Result {
	f.mu.Lock()
	f.active[d.Domain]++
	f.calls[d.Domain]++
	f.maxActive[d.Domain] = max(f.maxActive[d.Domain], f.active[d.Domain])
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.active[d.Domain]--; f.mu.Unlock() }()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return failAll(d, ctx.Err())
		}
	}
	rc, err := d.Open(ctx)
	if err != nil {
		return failAll(d, err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return failAll(d, err)
	}
	res := make([]Result, len(d.Recipients))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range d.Recipients {
		f.attempts[r]++
		if f.reply != nil {
			res[i].Err = f.reply(r, f.attempts[r])
		}
		res[i].RemoteMTA = "mx." + d.Domain
		if res[i].Err == nil {
			f.delivered[r] = append(f.delivered[r], string(body))
		}
	}
	return res
}

func failAll(d *Delivery, err error) []Result {
	res := make([]Result, len(d.Recipients))
	for i := range res {
		res[i].Err = err
	}
	return res
}

func (f *fakeNet) got(rcpt string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.delivered[rcpt]...)
}

func newQueue(t *testing.T, tr Transport, dir string) *Queue {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	q := &Queue{
		Spool: &DirSpool{Dir: dir}, Transport: tr, Hostname: "relay.test",
		Schedule: []time.Duration{20 * time.Millisecond}, DelayNotice: -1,
	}
	require.NoError(t, q.Start(context.Background()))
	t.Cleanup(func() { q.Shutdown(context.Background()) })
	return q
}

func send(t *testing.T, q *Queue, from string, body string, to ...string) string {
	t.Helper()
	env := &Envelope{From: from}
	for _, r := range to {
		env.Recipients = append(env.Recipients, Recipient{Address: r})
	}
	id, err := q.Enqueue(context.Background(), env, strings.NewReader(body))
	require.NoError(t, err)
	return id
}

// waitEmpty waits until the queue holds no message.
func waitEmpty(t *testing.T, q *Queue) {
	t.Helper()
	require.Eventually(t, func() bool { return len(q.List()) == 0 }, 10*time.Second, 5*time.Millisecond, "queue never emptied: %+v", q.List())
}

const msg = "From: bob@bob.example\r\nSubject: hi\r\n\r\nhello\r\n"

func TestQueueDelivers(t *testing.T) {
	net := newFakeNet(nil)
	var delivered atomic.Int32
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: net, Hostname: "relay.test",
		OnEvent: func(ev Event) {
			if ev.Kind == EventDelivered {
				delivered.Add(1)
			}
		}}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	send(t, q, "bob@bob.example", msg, "jim@jim.example", "sara@sara.example", "sara2@SARA.example")
	waitEmpty(t, q)
	assert.Equal(t, []string{msg}, net.got("jim@jim.example"))
	assert.Equal(t, []string{msg}, net.got("sara@sara.example"))
	assert.Equal(t, []string{msg}, net.got("sara2@SARA.example"))
	assert.Equal(t, int32(3), delivered.Load())
	net.mu.Lock()
	assert.Equal(t, 1, net.calls["sara.example"], "recipients at one domain share one transaction")
	net.mu.Unlock()
	envs, err := q.Spool.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, envs, "delivered messages leave the spool")
}

func TestQueueRetriesTemporaryFailure(t *testing.T) {
	net := newFakeNet(func(rcpt string, attempt int) error {
		if attempt < 3 {
			return &smtp.Error{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	})
	q := newQueue(t, net, "")
	send(t, q, "bob@bob.example", msg, "jim@jim.example")
	waitEmpty(t, q)
	assert.Equal(t, []string{msg}, net.got("jim@jim.example"), "delivered once, on the third attempt")
	assert.Equal(t, 3, net.attempts["jim@jim.example"])
	assert.Empty(t, net.got("bob@bob.example"), "no DSN for a delivered message")
}

func TestQueueBouncesPermanentFailure(t *testing.T) {
	net := newFakeNet(func(rcpt string, attempt int) error {
		if rcpt == "nobody@jim.example" {
			return &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	q := newQueue(t, net, "")
	send(t, q, "bob@bob.example", msg, "jim@jim.example", "nobody@jim.example")
	waitEmpty(t, q)
	assert.Equal(t, []string{msg}, net.got("jim@jim.example"), "the good recipient is delivered")
	assert.Equal(t, 1, net.attempts["nobody@jim.example"], "a 5xx is not retried")
	bounces := net.got("bob@bob.example")
	require.Len(t, bounces, 1, "exactly one DSN to the sender")
	for _, want := range []string{"Final-Recipient: rfc822; nobody@jim.example", "Action: failed", "Status: 5.1.1",
		"Diagnostic-Code: smtp; 550 5.1.1 no such user", "Remote-MTA: dns; mx.jim.example", "Reporting-MTA: dns; relay.test"} {
		assert.Contains(t, bounces[0], want)
	}
	assert.NotContains(t, bounces[0], "Final-Recipient: rfc822; jim@jim.example")
}

func TestQueueNoBounceForBounce(t *testing.T) {
	net := newFakeNet(func(string, int) error {
		return &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "gone"}
	})
	q := newQueue(t, net, "")
	send(t, q, "", msg, "jim@jim.example") // null reverse path
	waitEmpty(t, q)
	net.mu.Lock()
	defer net.mu.Unlock()
	assert.Equal(t, map[string]int{"jim@jim.example": 1}, net.attempts, "nothing is sent for a failed bounce")
}

func TestQueueNotifyNever(t *testing.T) {
	net := newFakeNet(func(rcpt string, _ int) error {
		if rcpt == "bob@bob.example" {
			return nil
		}
		return &PermanentError{Status: "5.1.10", Err: fmt.Errorf("null MX")}
	})
	q := newQueue(t, net, "")
	env := &Envelope{From: "bob@bob.example", Recipients: []Recipient{
		{Address: "a@null.example", Options: smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyNever}}},
		{Address: "b@null.example"},
	}}
	_, err := q.Enqueue(context.Background(), env, strings.NewReader(msg))
	require.NoError(t, err)
	waitEmpty(t, q)
	bounces := net.got("bob@bob.example")
	require.Len(t, bounces, 1)
	assert.Contains(t, bounces[0], "Final-Recipient: rfc822; b@null.example")
	assert.Contains(t, bounces[0], "Status: 5.1.10")
	assert.NotContains(t, bounces[0], "a@null.example", "NOTIFY=NEVER recipients are not reported")
}

func TestQueueExpires(t *testing.T) {
	net := newFakeNet(func(rcpt string, _ int) error {
		if rcpt == "bob@bob.example" {
			return nil
		}
		return fmt.Errorf("connection refused")
	})
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: net, Hostname: "relay.test",
		// Wide margins between the delay notice and expiry: under load an
		// attempt can come late, and the notice must still come first.
		Schedule: []time.Duration{20 * time.Millisecond}, MaxAge: time.Second, DelayNotice: 30 * time.Millisecond}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	send(t, q, "bob@bob.example", msg, "jim@down.example")
	waitEmpty(t, q)
	bounces := net.got("bob@bob.example")
	require.Len(t, bounces, 2, "one delayed notice, then one failure")
	assert.Contains(t, bounces[0], "Action: delayed")
	assert.Contains(t, bounces[0], "Will-Retry-Until: ")
	assert.Contains(t, bounces[1], "Action: failed")
	assert.Contains(t, bounces[1], "Status: 4.4.7")
	assert.Contains(t, bounces[1], "connection refused")
}

func TestQueueResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	block := newFakeNet(func(rcpt string, _ int) error {
		if rcpt == "jim@jim.example" {
			return nil
		}
		return fmt.Errorf("timeout")
	})
	q := &Queue{Spool: &DirSpool{Dir: dir}, Transport: block, Hostname: "relay.test",
		Schedule: []time.Duration{time.Hour}, DelayNotice: -1}
	require.NoError(t, q.Start(context.Background()))
	send(t, q, "bob@bob.example", msg, "jim@jim.example", "sara@sara.example")
	require.Eventually(t, func() bool {
		l := q.List()
		return len(l) == 1 && l[0].Recipients[0].State == StateDelivered && l[0].Recipients[1].Attempts == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, q.Shutdown(context.Background()))

	// Restart with a network that works: only sara is delivered, jim is not
	// delivered twice.
	ok := newFakeNet(nil)
	q2 := newQueue(t, ok, dir)
	require.NoError(t, q2.RetryNow(context.Background(), q2.List()[0].ID))
	waitEmpty(t, q2)
	assert.Equal(t, []string{msg}, ok.got("sara@sara.example"))
	assert.Empty(t, ok.got("jim@jim.example"), "a recipient that answered 250 is never delivered again")
	assert.Equal(t, []string{msg}, block.got("jim@jim.example"))
}

func TestQueueHopLimit(t *testing.T) {
	q := newQueue(t, newFakeNet(nil), "")
	q.MaxHops = 3
	loop := strings.Repeat("Received: from a by b; Tue, 24 Nov 2026 10:00:00 +0000\r\n", 4) + msg
	_, err := q.Enqueue(context.Background(), &Envelope{From: "a@b", Recipients: []Recipient{{Address: "c@d"}}}, strings.NewReader(loop))
	var se *smtp.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 554, se.Code)
	assert.Equal(t, smtp.EnhancedCode{5, 4, 6}, se.EnhancedCode)
	assert.Empty(t, q.List())
	envs, _ := q.Spool.List(context.Background())
	assert.Empty(t, envs, "a refused message does not stay in the spool")

	// Received: in the body does not count; 3 in the header is fine.
	ok := strings.Repeat("Received: x\r\n", 3) + "Subject: s\r\n\r\n" + strings.Repeat("Received: y\r\n", 10)
	_, err = q.Enqueue(context.Background(), &Envelope{From: "a@b", Recipients: []Recipient{{Address: "c@d"}}}, strings.NewReader(ok))
	assert.NoError(t, err)
}

func TestQueuePerDomainLimit(t *testing.T) {
	net := newFakeNet(nil)
	net.gate = make(chan struct{})
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: net, Hostname: "relay.test", PerDomain: 2, Workers: 3, DelayNotice: -1}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	for i := 0; i < 6; i++ {
		send(t, q, "bob@bob.example", msg, fmt.Sprintf("u%d@jim.example", i))
	}
	send(t, q, "bob@bob.example", msg, "sara@sara.example")
	// Let deliveries through one by one; the limits must hold throughout.
	for i := 0; i < 7; i++ {
		net.gate <- struct{}{}
	}
	waitEmpty(t, q)
	net.mu.Lock()
	defer net.mu.Unlock()
	assert.LessOrEqual(t, net.maxActive["jim.example"], 2)
	assert.Len(t, net.delivered, 7)
}

func TestQueueLocalRoute(t *testing.T) {
	remote, local := newFakeNet(nil), newFakeNet(nil)
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: remote, Local: local,
		IsLocal: func(d string) bool { return d == "bob.example" }, Hostname: "relay.test"}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	send(t, q, "bob@bob.example", msg, "alice@bob.example", "jim@jim.example")
	waitEmpty(t, q)
	assert.Len(t, local.got("alice@bob.example"), 1)
	assert.Len(t, remote.got("jim@jim.example"), 1)
	assert.Empty(t, remote.got("alice@bob.example"))
}

func TestQueueEventsAndRemove(t *testing.T) {
	net := newFakeNet(func(string, int) error { return fmt.Errorf("down") })
	var kinds sync.Map
	var n atomic.Int32
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: net, Hostname: "relay.test",
		Schedule: []time.Duration{time.Hour}, DelayNotice: -1,
		OnEvent: func(ev Event) { kinds.Store(ev.Kind, true); n.Add(1) }}
	require.NoError(t, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	id := send(t, q, "bob@bob.example", msg, "jim@jim.example")
	require.Eventually(t, func() bool { _, ok := kinds.Load(EventDeferred); return ok }, 5*time.Second, 5*time.Millisecond)
	_, queued := kinds.Load(EventQueued)
	assert.True(t, queued)
	l := q.List()
	require.Len(t, l, 1)
	assert.Equal(t, "down", l[0].Recipients[0].LastError)
	assert.True(t, l[0].Recipients[0].NextAttempt.After(time.Now().Add(30*time.Minute)))
	require.NoError(t, q.Remove(context.Background(), id))
	assert.Empty(t, q.List())
	assert.ErrorIs(t, q.Remove(context.Background(), id), ErrNotFound)
	assert.ErrorIs(t, q.RetryNow(context.Background(), id), ErrNotFound)
}

func TestQueueClosed(t *testing.T) {
	q := &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: newFakeNet(nil)}
	_, err := q.Enqueue(context.Background(), &Envelope{Recipients: []Recipient{{Address: "a@b"}}}, strings.NewReader(msg))
	assert.ErrorIs(t, err, ErrQueueClosed, "before Start")
	require.NoError(t, q.Start(context.Background()))
	assert.Error(t, q.Start(context.Background()), "second Start")
	require.NoError(t, q.Shutdown(context.Background()))
	_, err = q.Enqueue(context.Background(), &Envelope{Recipients: []Recipient{{Address: "a@b"}}}, strings.NewReader(msg))
	assert.ErrorIs(t, err, ErrQueueClosed, "after Shutdown")
	assert.Error(t, (&Queue{}).Start(context.Background()), "no spool or transport")
}

func TestRetryDelay(t *testing.T) {
	q := &Queue{}
	assert.Equal(t, 5*time.Minute, q.retryDelay(1))
	assert.Equal(t, 4*time.Hour, q.retryDelay(100))
	q.Schedule = []time.Duration{time.Second, time.Minute}
	assert.Equal(t, time.Second, q.retryDelay(1))
	assert.Equal(t, time.Minute, q.retryDelay(2))
	assert.Equal(t, time.Minute, q.retryDelay(3))
}

func TestPermanent(t *testing.T) {
	perm, st := Permanent(&smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}})
	assert.True(t, perm)
	assert.Equal(t, "5.7.1", st)
	perm, st = Permanent(fmt.Errorf("wrapped: %w", &smtp.Error{Code: 452}))
	assert.False(t, perm)
	assert.Equal(t, "4.0.0", st)
	perm, _ = Permanent(io.ErrUnexpectedEOF)
	assert.False(t, perm)
}

func BenchmarkQueueThroughput(b *testing.B) {
	q := &Queue{Spool: &DirSpool{Dir: b.TempDir()}, Transport: TransportFunc(func(ctx context.Context, d *Delivery) []Result {
		return make([]Result, len(d.Recipients))
	}), Hostname: "relay.test", DelayNotice: -1}
	require.NoError(b, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	body := strings.Repeat("x", 4<<10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := q.Enqueue(context.Background(), &Envelope{From: "a@b", Recipients: []Recipient{{Address: "c@d"}}}, strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
	for len(q.List()) > 0 {
		time.Sleep(time.Millisecond)
	}
}

func TestQueueSuccessNotice(t *testing.T) {
	net := newFakeNet(nil)
	q := newQueue(t, net, "")
	env := &Envelope{From: "bob@bob.example", Mail: smtp.MailOptions{EnvelopeID: "track-1"}, Recipients: []Recipient{
		{Address: "jim@jim.example", Options: smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess}}},
		{Address: "sara@sara.example"},
	}}
	_, err := q.Enqueue(context.Background(), env, strings.NewReader(msg))
	require.NoError(t, err)
	waitEmpty(t, q)
	notices := net.got("bob@bob.example")
	require.Len(t, notices, 1, "NOTIFY=SUCCESS asks for one delivery report")
	assert.Contains(t, notices[0], "Action: delivered")
	assert.Contains(t, notices[0], "Final-Recipient: rfc822; jim@jim.example")
	assert.Contains(t, notices[0], "Original-Envelope-Id: track-1")
	assert.NotContains(t, notices[0], "sara@sara.example", "only recipients that asked are reported")
}
