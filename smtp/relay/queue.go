package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/posthorn/posthorn/smtp"
)

// DefaultSchedule is the retry schedule when Queue.Schedule is nil: the
// delay after the first failed attempt, the second, ...; the last delay
// repeats until MaxAge. It retries within minutes first and backs off to
// every four hours (RFC 5321 §4.5.4.1).
var DefaultSchedule = []time.Duration{
	5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute,
	80 * time.Minute, 160 * time.Minute, 4 * time.Hour,
}

// Defaults of the Queue's limits.
const (
	DefaultMaxAge         = 5 * 24 * time.Hour // RFC 5321 §4.5.4.1: give up after 4-5 days
	DefaultDelayNotice    = 4 * time.Hour
	DefaultWorkers        = 16
	DefaultPerDomain      = 4
	DefaultMaxHops        = 50 // Received: headers; RFC 5321 §6.3 suggests at least 100 is too many
	DefaultAttemptTimeout = 30 * time.Minute
)

// ErrQueueClosed is returned by Enqueue after Shutdown.
var ErrQueueClosed = errors.New("relay: queue closed")

// EventKind says what a queue Event reports.
type EventKind uint8

// Queue events, for metrics and logs.
const (
	EventQueued    EventKind = iota + 1 // a message was accepted into the spool
	EventDelivered                      // a recipient was delivered
	EventDeferred                       // a recipient failed temporarily and will be retried
	EventFailed                         // a recipient failed permanently or expired
	EventBounced                        // a DSN was queued for the sender
)

// Event is passed to Queue.OnEvent.
type Event struct {
	Kind      EventKind
	ID        string // message ID
	Recipient string // for recipient events
	Err       error  // the failure, for EventDeferred and EventFailed
}

// Queue delivers the messages of a Spool: per destination domain, with
// bounded concurrency overall and per domain, retries on temporary
// failures by Schedule, and delivery status notifications (RFC 3464) to the
// sender on permanent failure, expiry and long delay.
//
// Set the fields, then call Start. Do not change fields after Start. The
// methods are safe for concurrent use.
type Queue struct {
	// Spool stores queued messages durably. Required.
	Spool Spool
	// Transport delivers to remote domains. Required (an *SMTPTransport
	// for real delivery).
	Transport Transport
	// Local, when IsLocal reports a domain as ours, delivers to it instead
	// of Transport (for example into a mailbox store).
	Local   Transport
	IsLocal func(domain string) bool

	// Hostname names this MTA in DSNs; "" → os.Hostname().
	Hostname string
	// Schedule is the retry schedule; nil → DefaultSchedule.
	Schedule []time.Duration
	// MaxAge is how long a message is retried before it bounces; 0 →
	// DefaultMaxAge.
	MaxAge time.Duration
	// DelayNotice is the age after which a sender whose message is still
	// not delivered gets a "delayed" DSN; 0 → DefaultDelayNotice, < 0 → never.
	DelayNotice time.Duration
	// Workers bounds concurrent deliveries; 0 → DefaultWorkers.
	Workers int
	// PerDomain bounds concurrent deliveries to one domain; 0 → DefaultPerDomain.
	PerDomain int
	// AttemptTimeout bounds one delivery attempt; 0 → DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// MaxHops is the most Received: header fields a message may carry
	// before Enqueue refuses it as a loop; 0 → DefaultMaxHops.
	MaxHops int
	// Logger receives the queue's logs; nil → slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, is called for every queue event (metrics hooks). It
	// must not block.
	OnEvent func(Event)

	now func() time.Time // tests

	mu         sync.Mutex
	msgs       map[string]*entry
	busy       int
	domainBusy map[string]int
	wake       chan struct{}
	ctx        context.Context // cancelled by Shutdown's end
	cancel     context.CancelFunc
	loopDone   chan struct{}
	stopping   bool
	workers    sync.WaitGroup
}

// entry is a queued message. Its env is guarded by mu; inflight (the
// domains being delivered now) by Queue.mu.
type entry struct {
	mu       sync.Mutex
	env      *Envelope
	inflight map[string]bool
	removed  bool
}

func (q *Queue) clock() time.Time {
	if q.now != nil {
		return q.now()
	}
	return time.Now()
}

func (q *Queue) logger() *slog.Logger {
	if q.Logger != nil {
		return q.Logger
	}
	return slog.Default()
}

func (q *Queue) hostname() string {
	if q.Hostname != "" {
		return q.Hostname
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

func (q *Queue) maxAge() time.Duration { return orDur(q.MaxAge, DefaultMaxAge) }
func (q *Queue) attemptTimeout() time.Duration {
	return orDur(q.AttemptTimeout, DefaultAttemptTimeout)
}
func (q *Queue) workersMax() int   { return orInt(q.Workers, DefaultWorkers) }
func (q *Queue) perDomainMax() int { return orInt(q.PerDomain, DefaultPerDomain) }
func (q *Queue) maxHops() int      { return orInt(q.MaxHops, DefaultMaxHops) }

func orDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func orInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// retryDelay is the wait after the n-th failed attempt (n ≥ 1).
func (q *Queue) retryDelay(n int) time.Duration {
	s := q.Schedule
	if s == nil {
		s = DefaultSchedule
	}
	if len(s) == 0 {
		return DefaultSchedule[0]
	}
	if n > len(s) {
		n = len(s)
	}
	return s[max(n, 1)-1]
}

func (q *Queue) emit(ev Event) {
	if q.OnEvent != nil {
		q.OnEvent(ev)
	}
}

// Start loads the spool (after its Recover step, when it has one) and
// starts delivering. Messages accepted before a crash or shutdown are
// resumed; recipients already delivered are never delivered again.
func (q *Queue) Start(ctx context.Context) error {
	if q.Spool == nil || q.Transport == nil {
		return errors.New("relay: Queue needs a Spool and a Transport")
	}
	q.mu.Lock()
	if q.msgs != nil {
		q.mu.Unlock()
		return errors.New("relay: Queue already started")
	}
	q.msgs = make(map[string]*entry)
	q.domainBusy = make(map[string]int)
	q.wake = make(chan struct{}, 1)
	q.loopDone = make(chan struct{})
	q.ctx, q.cancel = context.WithCancel(context.WithoutCancel(ctx))
	q.mu.Unlock()

	if r, ok := q.Spool.(interface{ Recover(context.Context) error }); ok {
		if err := r.Recover(ctx); err != nil {
			return err
		}
	}
	envs, err := q.Spool.List(ctx)
	if err != nil {
		q.logger().LogAttrs(ctx, slog.LevelError, "relay: spool has damaged entries", slog.Any("err", err))
	}
	q.mu.Lock()
	for _, env := range envs {
		q.msgs[env.ID] = &entry{env: env, inflight: map[string]bool{}}
	}
	q.mu.Unlock()
	for _, env := range envs {
		if env.Done() { // crashed between the last result and the removal
			q.finish(q.msgs[env.ID])
		}
	}
	go q.loop()
	q.kick()
	return nil
}

// Enqueue stores a message durably and schedules its delivery; when it
// returns nil the message is accepted (the submitting client may get its
// 250). It fills env.ID, Received, Size and resets the recipients' state.
// A message with more than MaxHops Received: fields is refused with an
// *smtp.Error 554 5.4.6 (a mail loop).
func (q *Queue) Enqueue(ctx context.Context, env *Envelope, body io.Reader) (string, error) {
	if len(env.Recipients) == 0 {
		return "", errors.New("relay: message without recipients")
	}
	q.mu.Lock()
	stopped := q.msgs == nil || q.stopping
	q.mu.Unlock()
	if stopped {
		return "", ErrQueueClosed
	}
	env.Received = q.clock()
	for i := range env.Recipients {
		r := &env.Recipients[i]
		*r = Recipient{Address: r.Address, Options: r.Options}
	}
	hc := &hopCounter{r: body}
	id, err := q.Spool.Put(ctx, env, hc)
	if err != nil {
		return "", err
	}
	if hc.hops > q.maxHops() {
		q.Spool.Remove(context.WithoutCancel(ctx), id)
		return "", &smtp.Error{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 4, 6},
			Message: fmt.Sprintf("Too many hops (%d Received: fields): mail loop?", hc.hops)}
	}
	q.mu.Lock()
	q.msgs[id] = &entry{env: env.clone(), inflight: map[string]bool{}}
	q.mu.Unlock()
	q.emit(Event{Kind: EventQueued, ID: id})
	q.kick()
	return id, nil
}

// List returns a snapshot of the queued messages and their recipients'
// state (attempts, last error, next try), oldest first.
func (q *Queue) List() []*Envelope {
	q.mu.Lock()
	entries := make([]*entry, 0, len(q.msgs))
	for _, e := range q.msgs {
		entries = append(entries, e)
	}
	q.mu.Unlock()
	out := make([]*Envelope, 0, len(entries))
	for _, e := range entries {
		e.mu.Lock()
		out = append(out, e.env.clone())
		e.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b *Envelope) int { return a.Received.Compare(b.Received) })
	return out
}

// RetryNow makes every pending recipient of message id due at once.
func (q *Queue) RetryNow(ctx context.Context, id string) error {
	q.mu.Lock()
	e := q.msgs[id]
	q.mu.Unlock()
	if e == nil {
		return fmt.Errorf("relay: %w: %s", ErrNotFound, id)
	}
	e.mu.Lock()
	for i := range e.env.Recipients {
		if e.env.Recipients[i].State == StatePending {
			e.env.Recipients[i].NextAttempt = time.Time{}
		}
	}
	err := q.Spool.Update(ctx, e.env)
	e.mu.Unlock()
	q.kick()
	return err
}

// Remove deletes message id from the queue without a DSN. A delivery in
// progress finishes, but its result is dropped.
func (q *Queue) Remove(ctx context.Context, id string) error {
	q.mu.Lock()
	e := q.msgs[id]
	delete(q.msgs, id)
	q.mu.Unlock()
	if e == nil {
		return fmt.Errorf("relay: %w: %s", ErrNotFound, id)
	}
	e.mu.Lock()
	e.removed = true
	e.mu.Unlock()
	return q.Spool.Remove(ctx, id)
}

// Shutdown stops starting deliveries and waits for those in progress to
// finish, until ctx is done; then it cancels them, and they stay queued as
// they were. Messages stay in the spool for the next Start.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	if q.msgs == nil || q.stopping {
		q.mu.Unlock()
		return nil
	}
	q.stopping = true
	q.mu.Unlock()
	q.kick()
	<-q.loopDone
	done := make(chan struct{})
	go func() { q.workers.Wait(); close(done) }()
	select {
	case <-done:
		q.cancel()
		return nil
	case <-ctx.Done():
		q.cancel()
		<-done
		return ctx.Err()
	}
}

func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// loop dispatches due deliveries and sleeps until the next one is due.
func (q *Queue) loop() {
	defer close(q.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, stop := q.dispatch()
		if stop {
			return
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(q.clock()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// dispatch starts every due delivery that the limits allow and returns when
// the next one is due (zero: nothing scheduled).
func (q *Queue) dispatch() (next time.Time, stop bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopping {
		return time.Time{}, true
	}
	now := q.clock()
	entries := make([]*entry, 0, len(q.msgs))
	for _, e := range q.msgs {
		entries = append(entries, e)
	}
	// Oldest first, so a busy queue does not starve old mail.
	slices.SortFunc(entries, func(a, b *entry) int { return a.env.Received.Compare(b.env.Received) })
	for _, e := range entries {
		e.mu.Lock()
		groups := pendingByDomain(e.env)
		e.mu.Unlock()
		for _, g := range groups {
			if e.inflight[g.domain] {
				continue
			}
			if g.due.After(now) {
				if next.IsZero() || g.due.Before(next) {
					next = g.due
				}
				continue
			}
			if q.busy >= q.workersMax() || q.domainBusy[g.domain] >= q.perDomainMax() {
				continue // a finishing worker kicks the loop
			}
			q.busy++
			q.domainBusy[g.domain]++
			e.inflight[g.domain] = true
			q.workers.Add(1)
			go q.deliver(e, g.domain)
		}
	}
	return next, false
}

type domainGroup struct {
	domain string
	due    time.Time // earliest NextAttempt of its pending recipients
}

func pendingByDomain(env *Envelope) []domainGroup {
	var groups []domainGroup
	for i := range env.Recipients {
		r := &env.Recipients[i]
		if r.State != StatePending {
			continue
		}
		d := domainOf(r.Address)
		j := slices.IndexFunc(groups, func(g domainGroup) bool { return g.domain == d })
		if j < 0 {
			groups = append(groups, domainGroup{domain: d, due: r.NextAttempt})
		} else if r.NextAttempt.Before(groups[j].due) {
			groups[j].due = r.NextAttempt
		}
	}
	return groups
}

// deliver makes one attempt for the due recipients of e at domain.
func (q *Queue) deliver(e *entry, domain string) {
	defer func() {
		q.mu.Lock()
		q.busy--
		q.domainBusy[domain]--
		if q.domainBusy[domain] == 0 {
			delete(q.domainBusy, domain)
		}
		delete(e.inflight, domain)
		q.mu.Unlock()
		q.workers.Done()
		q.kick()
	}()
	now := q.clock()
	e.mu.Lock()
	env := e.env
	d := &Delivery{ID: env.ID, Domain: domain, From: env.From, Mail: env.Mail, Size: env.Size}
	var idx []int
	for i := range env.Recipients {
		r := &env.Recipients[i]
		if r.State == StatePending && domainOf(r.Address) == domain && !r.NextAttempt.After(now) {
			idx = append(idx, i)
			d.Recipients = append(d.Recipients, r.Address)
			d.RcptOptions = append(d.RcptOptions, r.Options)
		}
	}
	e.mu.Unlock()
	if len(idx) == 0 {
		return
	}
	id := env.ID
	d.Open = func(ctx context.Context) (io.ReadCloser, error) { return q.Spool.Open(ctx, id) }

	t := q.Transport
	if q.Local != nil && q.IsLocal != nil && q.IsLocal(domain) {
		t = q.Local
	}
	ctx, cancel := context.WithTimeout(q.ctx, q.attemptTimeout())
	results := t.Deliver(ctx, d)
	cancel()
	if q.ctx.Err() != nil {
		return // shut down mid-attempt: the recipients stay as they were
	}
	if len(results) != len(idx) {
		err := fmt.Errorf("relay: transport returned %d results for %d recipients", len(results), len(idx))
		results = make([]Result, len(idx))
		for i := range results {
			results[i].Err = err
		}
	}
	q.record(e, idx, results)
}

// record stores the results of an attempt, sends the notices they call
// for, and finishes the message when no recipient is pending.
func (q *Queue) record(e *entry, idx []int, results []Result) {
	now := q.clock()
	e.mu.Lock()
	if e.removed {
		e.mu.Unlock()
		return
	}
	env := e.env
	var delayed []Recipient
	for k, i := range idx {
		r := &env.Recipients[i]
		res := results[k]
		r.Attempts++
		r.LastAttempt = now
		r.RemoteMTA = res.RemoteMTA
		if res.Err == nil {
			r.State, r.LastError, r.Status = StateDelivered, "", "2.0.0"
			q.emit(Event{Kind: EventDelivered, ID: env.ID, Recipient: r.Address})
			continue
		}
		perm, status := Permanent(res.Err)
		r.LastError, r.Status = errorText(res.Err), status
		switch {
		case perm:
			r.State = StateFailed
			q.emit(Event{Kind: EventFailed, ID: env.ID, Recipient: r.Address, Err: res.Err})
		case now.Sub(env.Received) >= q.maxAge():
			r.State, r.Status = StateFailed, "4.4.7" // RFC 3463: delivery time expired
			r.LastError = "message expired after " + q.maxAge().String() + "; last error: " + r.LastError
			q.emit(Event{Kind: EventFailed, ID: env.ID, Recipient: r.Address, Err: res.Err})
		default:
			r.NextAttempt = now.Add(q.retryDelay(r.Attempts))
			q.emit(Event{Kind: EventDeferred, ID: env.ID, Recipient: r.Address, Err: res.Err})
			if q.DelayNotice >= 0 && !r.DelayNotified && now.Sub(env.Received) >= orDur(q.DelayNotice, DefaultDelayNotice) && wantsNotice(r, ActionDelayed) {
				r.DelayNotified = true
				delayed = append(delayed, *r)
			}
		}
	}
	if err := q.Spool.Update(q.ctx, env); err != nil {
		q.logger().LogAttrs(q.ctx, slog.LevelError, "relay: cannot record delivery state", slog.String("id", env.ID), slog.Any("err", err))
	}
	snapshot := env.clone()
	done := env.Done()
	e.mu.Unlock()
	if len(delayed) > 0 {
		q.notify(snapshot, ActionDelayed, delayed)
	}
	if done {
		q.finish(e)
	}
}

// finish sends the final DSNs of a message whose recipients are all done,
// then removes it.
func (q *Queue) finish(e *entry) {
	e.mu.Lock()
	env := e.env.clone()
	e.mu.Unlock()
	var failed, delivered []Recipient
	for _, r := range env.Recipients {
		switch {
		case r.State == StateFailed && wantsNotice(&r, ActionFailed):
			failed = append(failed, r)
		case r.State == StateDelivered && wantsNotice(&r, ActionDelivered):
			delivered = append(delivered, r)
		}
	}
	q.notify(env, ActionFailed, failed)
	q.notify(env, ActionDelivered, delivered)
	q.mu.Lock()
	delete(q.msgs, env.ID)
	q.mu.Unlock()
	if err := q.Spool.Remove(q.ctx, env.ID); err != nil && !errors.Is(err, ErrNotFound) {
		q.logger().LogAttrs(q.ctx, slog.LevelError, "relay: cannot remove delivered message", slog.String("id", env.ID), slog.Any("err", err))
	}
}

// notify queues a DSN about rcpts to the sender of env. There is never a
// DSN for a message with the null reverse path: no bounce for a bounce.
func (q *Queue) notify(env *Envelope, action Action, rcpts []Recipient) {
	if len(rcpts) == 0 || env.From == "" {
		return
	}
	pr, pw := io.Pipe()
	go func() {
		orig, err := q.Spool.Open(q.ctx, env.ID)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		defer orig.Close()
		dsn := &DSN{ReportingMTA: q.hostname(), Envelope: env, Action: action, Recipients: rcpts,
			Date: q.clock(), RetryUntil: env.Received.Add(q.maxAge())}
		pw.CloseWithError(WriteDSN(pw, dsn, orig))
	}()
	bounce := &Envelope{
		Mail:       smtp.MailOptions{UTF8: env.Mail.UTF8},
		Recipients: []Recipient{{Address: env.From, Options: smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyNever}}}},
	}
	id, err := q.Enqueue(q.ctx, bounce, pr)
	pr.Close()
	if err != nil {
		q.logger().LogAttrs(q.ctx, slog.LevelError, "relay: cannot queue DSN", slog.String("id", env.ID), slog.Any("err", err))
		return
	}
	q.emit(Event{Kind: EventBounced, ID: env.ID, Recipient: env.From})
	q.logger().LogAttrs(q.ctx, slog.LevelInfo, "relay: DSN queued", slog.String("id", env.ID), slog.String("dsn", id), slog.String("action", string(action)))
}

func errorText(err error) string {
	var se *smtp.Error
	if errors.As(err, &se) {
		s := fmt.Sprintf("%d", se.Code)
		if ec := se.EnhancedCode.String(); ec != "" {
			s += " " + ec
		}
		return s + " " + se.Message
	}
	return err.Error()
}

// clone returns a deep copy of env (the parts the queue changes).
func (env *Envelope) clone() *Envelope {
	c := *env
	c.Recipients = slices.Clone(env.Recipients)
	return &c
}

// hopCounter counts the Received: fields of a message's header section as
// the message streams through it.
type hopCounter struct {
	r      io.Reader
	hops   int
	line   []byte // partial header line carried between reads
	inBody bool
}

func (h *hopCounter) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if !h.inBody {
		h.scan(p[:n])
	}
	return n, err
}

func (h *hopCounter) scan(b []byte) {
	for len(b) > 0 && !h.inBody {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(h.line) < 64 { // only the start of a line matters
				h.line = append(h.line, b[:min(len(b), 64-len(h.line))]...)
			}
			return
		}
		if len(h.line) < 64 {
			h.line = append(h.line, b[:min(i+1, 64-len(h.line))]...)
		}
		line := bytes.TrimRight(h.line, "\r\n")
		switch {
		case len(line) == 0 && (len(h.line) > 0):
			h.inBody = true
		case len(line) >= 9 && bytes.EqualFold(line[:9], []byte("received:")):
			h.hops++
		}
		h.line = h.line[:0]
		b = b[i+1:]
	}
}
