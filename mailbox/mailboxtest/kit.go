package mailboxtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Fixture is one fresh store and the user the cases work with.
type Fixture struct {
	// Store is an independent store holding the user below with an empty
	// INBOX and nothing else. Required.
	Store mailbox.Store
	// User is the account the cases open. Required.
	User string
	// Password is User's password; "" skips the password cases.
	Password string
	// Token is a bearer token for User accepted by AuthenticateToken; ""
	// skips the token cases.
	Token string
	// Address is an envelope recipient that resolves to User; "" skips the
	// recipient cases.
	Address string
	// OtherUser is a second user of Store, with an empty INBOX, for the
	// cases that check users are kept apart; "" skips them.
	OtherUser string
	// Auth verifies the credentials above; nil means Store, when it
	// implements mailbox.Authenticator.
	Auth mailbox.Authenticator
	// Reopen returns a new Store over the same data, as a process restart
	// would (a durable store re-reads its files). The kit closes its handles
	// on the old store before calling it. nil skips the durability cases.
	Reopen func(t *testing.T) mailbox.Store
}

// Options tune which cases Run runs. A nil *Options is the zero value.
type Options struct {
	// ReadOnly says the store refuses every change: the cases that change
	// mail are skipped and one case checks that changes fail with
	// mailbox.ErrReadOnly.
	ReadOnly bool
	// SkipLarge skips the cases that move tens of MiB.
	SkipLarge bool
}

// need is what a case requires of the fixture and the options.
type need uint16

const (
	needWrite     need = 1 << iota // the store accepts changes (not Options.ReadOnly)
	needReopen                     // Fixture.Reopen
	needPassword                   // Fixture.Password and an Authenticator
	needToken                      // Fixture.Token and a TokenAuthenticator
	needAddress                    // Fixture.Address and a RecipientResolver
	needLarge                      // not Options.SkipLarge
	needReadOnly                   // Options.ReadOnly
	needOtherUser                  // Fixture.OtherUser
)

// kase is one conformance case.
type kase struct {
	name    string
	explain string // the rule of the contract the case checks, quoted in every failure
	needs   need
	run     func(c *caseT)
}

// Run checks that the store newStore returns behaves as package mailbox
// documents. newStore is called once per case, with the case's *testing.T,
// and must return an independent store (t.TempDir and t.Cleanup are the
// place for files and teardown). Cases run in parallel (t.Parallel), so they
// finish after the test function that called Run returns: tear shared
// things down with t.Cleanup, not defer. Each case reports every departure
// from the contract it finds, quoting the rule. Cases that need something
// the store or the fixture lacks are skipped, saying why.
func Run(t *testing.T, newStore func(t *testing.T) Fixture, opts *Options) {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	for _, k := range cases() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			if reason := skipReason(k.needs, o); reason != "" {
				t.Skip(reason)
			}
			f := newStore(t)
			if f.Store == nil || f.User == "" {
				t.Fatal("mailboxtest: the fixture needs a Store and a User")
			}
			if f.Auth == nil {
				f.Auth, _ = f.Store.(mailbox.Authenticator)
			}
			c := &caseT{T: t, F: f, explain: k.explain, opts: o}
			if reason := c.fixtureSkip(k.needs); reason != "" {
				t.Skip(reason)
			}
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			c.Ctx = ctx
			k.run(c)
		})
	}
}

func skipReason(n need, o Options) string {
	switch {
	case n&needWrite != 0 && o.ReadOnly:
		return "the store is read-only (Options.ReadOnly)"
	case n&needReadOnly != 0 && !o.ReadOnly:
		return "only for read-only stores (Options.ReadOnly)"
	case n&needLarge != 0 && o.SkipLarge:
		return "large messages skipped (Options.SkipLarge)"
	}
	return ""
}

func (c *caseT) fixtureSkip(n need) string {
	f := c.F
	switch {
	case n&needReopen != 0 && f.Reopen == nil:
		return "Fixture.Reopen is nil: durability across reopen not checked"
	case n&needOtherUser != 0 && f.OtherUser == "":
		return "no Fixture.OtherUser: users kept apart not checked"
	case n&needPassword != 0 && (f.Password == "" || f.Auth == nil):
		return "no Fixture.Password or no mailbox.Authenticator"
	case n&needToken != 0:
		if _, ok := f.Auth.(mailbox.TokenAuthenticator); !ok || f.Token == "" {
			return "no Fixture.Token or the authenticator is not a mailbox.TokenAuthenticator"
		}
	case n&needAddress != 0:
		if _, ok := f.Store.(mailbox.RecipientResolver); !ok || f.Address == "" {
			return "no Fixture.Address or the store is not a mailbox.RecipientResolver"
		}
	}
	return ""
}

// caseT is the state of one running case: its *testing.T, a context and the
// fixture, with helpers that fail the case on setup errors and report
// contract violations with the case's explanation.
type caseT struct {
	*testing.T
	Ctx     context.Context
	F       Fixture
	explain string
	opts    Options
}

// errorf reports a violation of the contract and carries on.
func (c *caseT) errorf(format string, args ...any) {
	c.Helper()
	c.Errorf("%s\n\tcontract: %s", fmt.Sprintf(format, args...), c.explain)
}

// fatalf reports a failure that makes the rest of the case meaningless.
func (c *caseT) fatalf(format string, args ...any) {
	c.Helper()
	c.Fatalf("%s\n\tcontract: %s", fmt.Sprintf(format, args...), c.explain)
}

// must stops the case when a step it depends on failed.
func (c *caseT) must(err error, what string, args ...any) {
	c.Helper()
	if err != nil {
		c.fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantErr reports unless errors.Is(err, target).
func (c *caseT) wantErr(err, target error, what string, args ...any) {
	c.Helper()
	if !errors.Is(err, target) {
		c.errorf("%s: got error %v, want one wrapping %v", fmt.Sprintf(what, args...), err, target)
	}
}

// wantErrs reports unless err wraps one of targets.
func (c *caseT) wantErrs(err error, targets []error, what string, args ...any) {
	c.Helper()
	for _, t := range targets {
		if errors.Is(err, t) {
			return
		}
	}
	c.errorf("%s: got error %v, want one wrapping any of %v", fmt.Sprintf(what, args...), err, targets)
}

// account opens a new handle on the fixture's user, closed at cleanup.
func (c *caseT) account() mailbox.Account {
	c.Helper()
	return c.accountOn(c.F.Store)
}

func (c *caseT) accountOn(s mailbox.Store) mailbox.Account {
	c.Helper()
	a, err := s.Open(c.Ctx, c.F.User)
	c.must(err, "Store.Open(%q)", c.F.User)
	c.Cleanup(func() { a.Close() })
	return a
}

// box opens mailbox name through a, closed at cleanup.
func (c *caseT) box(a mailbox.Account, name string) mailbox.Mailbox {
	c.Helper()
	m, err := a.Mailbox(c.Ctx, name)
	c.must(err, "Account.Mailbox(%q)", name)
	c.Cleanup(func() { m.Close() })
	return m
}

// inbox opens a new account handle and its INBOX.
func (c *caseT) inbox() (mailbox.Account, mailbox.Mailbox) {
	c.Helper()
	a := c.account()
	return a, c.box(a, mailbox.Inbox)
}

func (c *caseT) create(a mailbox.Account, name string) {
	c.Helper()
	c.must(a.Create(c.Ctx, name, nil), "Create(%q)", name)
}

// appendMsg appends body with flags and returns the UID.
func (c *caseT) appendMsg(m mailbox.Mailbox, body string, flags ...mailbox.Flag) mailbox.UID {
	c.Helper()
	uid, err := m.Append(c.Ctx, strings.NewReader(body), &mailbox.AppendOptions{Flags: flags})
	c.must(err, "Append to %q", m.Name())
	if uid == 0 {
		c.fatalf("Append returned UID 0")
	}
	return uid
}

// appendN appends n small distinct messages and returns their UIDs.
func (c *caseT) appendN(m mailbox.Mailbox, n int) []mailbox.UID {
	c.Helper()
	uids := make([]mailbox.UID, n)
	for i := range uids {
		uids[i] = c.appendMsg(m, sampleMessage(i))
	}
	return uids
}

func sampleMessage(i int) string {
	return fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\n\r\nBody %d.\r\n", i, i)
}

// infos returns every message of m, failing the case on an error.
func (c *caseT) infos(m mailbox.Mailbox) []mailbox.MessageInfo {
	c.Helper()
	return c.infosFrom(m, 1)
}

func (c *caseT) infosFrom(m mailbox.Mailbox, from mailbox.UID) []mailbox.MessageInfo {
	c.Helper()
	var out []mailbox.MessageInfo
	for info, err := range m.Messages(c.Ctx, from) {
		c.must(err, "Messages(%d) of %q", from, m.Name())
		out = append(out, info)
	}
	return out
}

// info returns the MessageInfo of uid, failing the case when it is missing.
func (c *caseT) info(m mailbox.Mailbox, uid mailbox.UID) mailbox.MessageInfo {
	c.Helper()
	for info, err := range m.Messages(c.Ctx, uid) {
		c.must(err, "Messages(%d) of %q", uid, m.Name())
		if info.UID == uid {
			return info
		}
		break
	}
	c.fatalf("message UID %d not listed by Messages", uid)
	return mailbox.MessageInfo{}
}

func uidsOf(infos []mailbox.MessageInfo) []mailbox.UID {
	out := make([]mailbox.UID, len(infos))
	for i, info := range infos {
		out[i] = info.UID
	}
	return out
}

func (c *caseT) status(m mailbox.Mailbox) mailbox.Status {
	c.Helper()
	st, err := m.Status(c.Ctx)
	c.must(err, "Status of %q", m.Name())
	return st
}

// read returns the bytes of uid.
func (c *caseT) read(m mailbox.Mailbox, uid mailbox.UID) []byte {
	c.Helper()
	r, err := m.Open(c.Ctx, uid)
	c.must(err, "Open(%d)", uid)
	defer r.Close()
	b, err := io.ReadAll(r)
	c.must(err, "reading message %d", uid)
	return b
}

// list returns the mailboxes of a by name.
func (c *caseT) list(a mailbox.Account) map[string]mailbox.MailboxInfo {
	c.Helper()
	infos, err := a.List(c.Ctx)
	c.must(err, "List")
	out := make(map[string]mailbox.MailboxInfo, len(infos))
	for _, info := range infos {
		if _, dup := out[info.Name]; dup {
			c.errorf("List returned %q twice", info.Name)
		}
		out[info.Name] = info
	}
	return out
}

// setFlags calls SetFlags and fails the case on an error.
func (c *caseT) setFlags(m mailbox.Mailbox, uids []mailbox.UID, op mailbox.FlagOp, flags ...mailbox.Flag) mailbox.FlagResult {
	c.Helper()
	res, err := m.SetFlags(c.Ctx, uids, op, flags, 0)
	c.must(err, "SetFlags(%v, %v, %v)", uids, op, flags)
	return res
}

func (c *caseT) expunge(m mailbox.Mailbox, uids ...mailbox.UID) []mailbox.UID {
	c.Helper()
	got, err := m.Expunge(c.Ctx, uids)
	c.must(err, "Expunge(%v)", uids)
	return got
}

// recorder collects the events a Watch receives.
type recorder struct {
	mu     sync.Mutex
	events []mailbox.Event
}

// watch opens a second account handle and records every event it sees.
func (c *caseT) watch() *recorder {
	c.Helper()
	r := &recorder{}
	a := c.account()
	cancel := a.Watch(func(ev mailbox.Event) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
	})
	c.Cleanup(cancel)
	return r
}

// take returns the events recorded so far and forgets them.
func (r *recorder) take() []mailbox.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// find returns the recorded events of kind (0: any) for mailbox name ("" any).
func (r *recorder) find(kind mailbox.EventKind, name string) []mailbox.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []mailbox.Event
	for _, ev := range r.events {
		if (kind == 0 || ev.Kind == kind) && (name == "" || ev.Mailbox == name) {
			out = append(out, ev)
		}
	}
	return out
}

// cancelled returns a context that is already cancelled.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// prompt runs fn in a goroutine and reports when it does not return within
// a few seconds (a store blocked on something it should not wait for).
func (c *caseT) prompt(what string, fn func()) bool {
	c.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		c.errorf("%s did not return within 5s", what)
		return false
	}
}

// workers runs fn in n goroutines, each with its own handle on the INBOX of
// a, and reports the errors fn returns.
func (c *caseT) workers(a mailbox.Account, n int, fn func(w int, h mailbox.Mailbox) error) {
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			h, err := a.Mailbox(c.Ctx, mailbox.Inbox)
			if err != nil {
				c.errorf("worker %d: Mailbox(INBOX): %v", w, err)
				return
			}
			defer h.Close()
			if err := fn(w, h); err != nil {
				c.errorf("worker %d: %v", w, err)
			}
		})
	}
	wg.Wait()
}

func sortedCopy[T interface{ ~uint32 | ~string }](s []T) []T {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
