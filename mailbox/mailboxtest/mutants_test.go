package mailboxtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/mailboxtest"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// A mutant is memstore with one bug planted by a wrapper. The kit must fail
// the named cases for each: this is how the kit's own cases are tested.
var mutants = map[string][]string{
	"open-drops-last-byte":   {"Message/RoundTrip", "Message/Section"},
	"size-off-by-one":        {"Message/Sizes", "Message/RoundTrip"},
	"flags-aliased":          {"Flags/NotAliased"},
	"no-events":              {"Events/Append", "Events/Flags", "Events/Expunge", "Events/MailboxTree"},
	"ignores-context":        {"Context/CancelledAccount", "Context/CancelledMailbox", "Context/AppendMidStream", "Context/Deadline"},
	"no-maildrop-lock":       {"Maildrop/Lock"},
	"uidvalidity-constant":   {"Account/UIDValidityAfterRecreate", "Account/RecreateNoSelect", "Reopen/UIDValidity"},
	"reopen-forgets":         {"Reopen/Messages", "Reopen/Mailboxes", "Reopen/TreeChanges", "Reopen/UIDsNotReused"},
	"modseq-frozen":          {"ModSeq/Increasing", "Expunge/ModSeqAndTombstones"},
	"accepts-invalid-names":  {"Names/InvalidCreate"},
	"no-tombstones":          {"Expunge/Vanished", "Move/Tombstones"},
	"expunge-unsorted":       {"Expunge/Basic", "Model/RandomChanges3"},
	"unchangedsince-ignored": {"ModSeq/UnchangedSince", "ModSeq/UnchangedSinceAndNoOps", "Model/RandomChanges1"},
	"add-is-replace":         {"Flags/Operations", "Model/RandomChanges1", "Model/RandomChanges2"},
	"inbox-deletable":        {"Account/InboxCannotBeDeleted"},
	"close-noop":             {"Close/UseAfterClose"},
	"messages-from-ignored":  {"Messages/From"},
	"append-crlf-to-lf":      {"Message/RoundTrip", "Message/Large"},
	"uids-descending":        {"UID/Increasing"},
	"auth-accepts-anything":  {"Auth/Refused"},
	"read-only-but-writes":   {"ReadOnly/Refuses"}, // run with Options.ReadOnly
	"maildrop-lock-global":   {"Users/Isolation"},
	"uidl-not-unique":        {"UIDL/Format"},
	"search-ignores-flags":   {"Search/Basic"},
	"readmessage-overwrites": {"MessageReader/SameAsOpen"},
}

// TestMutant runs the kit on the mutant named by $MAILBOXTEST_MUTANT; it is
// run by TestKitCatchesMutants in a child process, which expects failures.
// Without the variable it runs the wrapper with no bug, which must pass: the
// failures of the mutants are then the bugs', not the wrapper's.
func TestMutant(t *testing.T) {
	name := os.Getenv("MAILBOXTEST_MUTANT")
	var opts *mailboxtest.Options
	if name == "read-only-but-writes" {
		opts = &mailboxtest.Options{ReadOnly: true}
	}
	mailboxtest.Run(t, func(t *testing.T) mailboxtest.Fixture {
		s := memstore.New()
		if err := s.AddUser("kit", "pw", "kit@example.org"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUser("other", "pw2"); err != nil {
			t.Fatal(err)
		}
		if opts != nil { // ReadOnly/Refuses needs a message to try changing
			if _, err := mailbox.Deliver(context.Background(), s, "kit", strings.NewReader("existing"), nil); err != nil {
				t.Fatal(err)
			}
		}
		var auth mailbox.Authenticator = s
		if name == "auth-accepts-anything" {
			auth = anyAuth{}
		}
		reopen := func(t *testing.T) mailbox.Store { return &mStore{Store: s, mut: name} }
		if name == "reopen-forgets" {
			reopen = func(t *testing.T) mailbox.Store {
				fresh := memstore.New()
				if err := fresh.AddUser("kit", "pw"); err != nil {
					t.Fatal(err)
				}
				return fresh
			}
		}
		return mailboxtest.Fixture{Store: &mStore{Store: s, mut: name}, User: "kit", Password: "pw", Auth: auth, Reopen: reopen, OtherUser: "other"}
	}, opts)
}

// TestReadOnly runs the kit in read-only mode on a store that refuses every
// change: the cases that change mail are skipped, the rest pass.
func TestReadOnly(t *testing.T) {
	mailboxtest.Run(t, func(t *testing.T) mailboxtest.Fixture {
		s := memstore.New()
		if err := s.AddUser("kit", "pw"); err != nil {
			t.Fatal(err)
		}
		if _, err := mailbox.Deliver(context.Background(), s, "kit", strings.NewReader("existing"), nil); err != nil {
			t.Fatal(err)
		}
		return mailboxtest.Fixture{Store: &mStore{Store: s, mut: "read-only"}, User: "kit", Password: "pw", Auth: s}
	}, &mailboxtest.Options{ReadOnly: true})
}

func TestKitCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process per mutant")
	}
	for name, wantFail := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// -test.run matches each level of a name apart: areas, then cases.
			var areas, names []string
			for _, c := range wantFail {
				area, name, _ := strings.Cut(c, "/")
				areas, names = append(areas, area), append(names, name)
			}
			pattern := "^TestMutant$/^(" + strings.Join(areas, "|") + ")$/^(" + strings.Join(names, "|") + ")$"
			cmd := exec.Command(os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "MAILBOXTEST_MUTANT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("the kit passed a store with the bug %q", name)
			}
			for _, c := range wantFail {
				if !bytes.Contains(out, []byte("--- FAIL: TestMutant/"+c+" ")) {
					t.Errorf("bug %q: case %s did not fail", name, c)
				}
			}
			if !bytes.Contains(out, []byte("contract: ")) {
				t.Errorf("bug %q: the failures do not quote the contract", name)
			}
			if t.Failed() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}

type anyAuth struct{}

func (anyAuth) Authenticate(_ context.Context, user, _ string) (string, error) { return user, nil }

// mStore, mAccount and mMailbox wrap memstore and plant the bug mut.
type mStore struct {
	mailbox.Store
	mut string

	mu   sync.Mutex
	held bool // maildrop-lock-global: one lock for all users
}

func (s *mStore) ctx(ctx context.Context) context.Context {
	if s.mut == "ignores-context" {
		return context.Background()
	}
	return ctx
}

func (s *mStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	a, err := s.Store.Open(s.ctx(ctx), user)
	if err != nil {
		return nil, err
	}
	return &mAccount{Account: a, s: s}, nil
}

type mAccount struct {
	mailbox.Account
	s *mStore
}

func (a *mAccount) List(ctx context.Context) ([]mailbox.MailboxInfo, error) {
	return a.Account.List(a.s.ctx(ctx))
}

func (a *mAccount) Create(ctx context.Context, name string, opts *mailbox.CreateOptions) error {
	if a.s.mut == "read-only" {
		return mailbox.ErrReadOnly
	}
	if _, err := mailbox.ValidName(name); err != nil && a.s.mut == "accepts-invalid-names" {
		return nil
	}
	return a.Account.Create(a.s.ctx(ctx), name, opts)
}

func (a *mAccount) Delete(ctx context.Context, name string) error {
	if mailbox.IsInbox(name) && a.s.mut == "inbox-deletable" {
		return nil
	}
	return a.Account.Delete(a.s.ctx(ctx), name)
}

func (a *mAccount) Rename(ctx context.Context, oldName, newName string) error {
	return a.Account.Rename(a.s.ctx(ctx), oldName, newName)
}

func (a *mAccount) SetSubscribed(ctx context.Context, name string, sub bool) error {
	return a.Account.SetSubscribed(a.s.ctx(ctx), name, sub)
}

func (a *mAccount) Subscriptions(ctx context.Context) ([]string, error) {
	return a.Account.Subscriptions(a.s.ctx(ctx))
}

func (a *mAccount) Watch(fn func(mailbox.Event)) func() {
	if a.s.mut == "no-events" {
		return func() {}
	}
	return a.Account.Watch(fn)
}

func (a *mAccount) LockMaildrop(ctx context.Context) (func(), error) {
	switch a.s.mut {
	case "no-maildrop-lock":
		return func() {}, nil
	case "maildrop-lock-global":
		a.s.mu.Lock()
		defer a.s.mu.Unlock()
		if a.s.held {
			return nil, mailbox.ErrInUse
		}
		a.s.held = true
		return func() { a.s.mu.Lock(); a.s.held = false; a.s.mu.Unlock() }, nil
	}
	return a.Account.LockMaildrop(a.s.ctx(ctx))
}

func (a *mAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(a.s.ctx(ctx), name)
	if err != nil {
		return nil, err
	}
	return &mMailbox{Mailbox: m, s: a.s, flags: map[mailbox.UID][]mailbox.Flag{}}, nil
}

type mMailbox struct {
	mailbox.Mailbox
	s *mStore

	mu    sync.Mutex
	flags map[mailbox.UID][]mailbox.Flag // flags-aliased: the slices handed out
}

func (m *mMailbox) Close() error {
	if m.s.mut == "close-noop" {
		return nil
	}
	return m.Mailbox.Close()
}

func (m *mMailbox) Status(ctx context.Context) (mailbox.Status, error) {
	st, err := m.Mailbox.Status(m.s.ctx(ctx))
	switch m.s.mut {
	case "uidvalidity-constant":
		st.UIDValidity = 1
	case "modseq-frozen":
		st.HighestModSeq = 1
	}
	return st, err
}

func (m *mMailbox) Messages(ctx context.Context, from mailbox.UID) iter.Seq2[mailbox.MessageInfo, error] {
	if m.s.mut == "messages-from-ignored" {
		from = 1
	}
	return func(yield func(mailbox.MessageInfo, error) bool) {
		for info, err := range m.Mailbox.Messages(m.s.ctx(ctx), from) {
			switch m.s.mut {
			case "size-off-by-one":
				info.Size++
			case "flags-aliased":
				m.mu.Lock()
				if old, ok := m.flags[info.UID]; ok && len(old) == len(info.Flags) {
					info.Flags = old
				} else {
					m.flags[info.UID] = info.Flags
				}
				m.mu.Unlock()
			}
			if !yield(info, err) {
				return
			}
		}
	}
}

func (m *mMailbox) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	r, err := m.Mailbox.Open(m.s.ctx(ctx), uid)
	if err != nil || m.s.mut != "open-drops-last-byte" {
		return r, err
	}
	b, err := io.ReadAll(r)
	r.Close()
	if len(b) > 0 {
		b = b[:len(b)-1]
	}
	return io.NopCloser(bytes.NewReader(b)), err
}

func (m *mMailbox) Append(ctx context.Context, r io.Reader, opts *mailbox.AppendOptions) (mailbox.UID, error) {
	if m.s.mut == "read-only" {
		return 0, mailbox.ErrReadOnly
	}
	if m.s.mut == "append-crlf-to-lf" {
		b, err := io.ReadAll(r)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
	}
	uid, err := m.Mailbox.Append(m.s.ctx(ctx), r, opts)
	if m.s.mut == "uids-descending" && err == nil {
		uid = 1<<20 - uid
	}
	return uid, err
}

func (m *mMailbox) SetFlags(ctx context.Context, uids []mailbox.UID, op mailbox.FlagOp, flags []mailbox.Flag, since mailbox.ModSeq) (mailbox.FlagResult, error) {
	switch m.s.mut {
	case "read-only":
		return mailbox.FlagResult{}, mailbox.ErrReadOnly
	case "unchangedsince-ignored":
		since = 0
	case "add-is-replace":
		if op == mailbox.FlagsAdd {
			op = mailbox.FlagsReplace
		}
	}
	return m.Mailbox.SetFlags(m.s.ctx(ctx), uids, op, flags, since)
}

func (m *mMailbox) Expunge(ctx context.Context, uids []mailbox.UID) ([]mailbox.UID, error) {
	if m.s.mut == "read-only" {
		return nil, mailbox.ErrReadOnly
	}
	got, err := m.Mailbox.Expunge(m.s.ctx(ctx), uids)
	if m.s.mut == "expunge-unsorted" {
		slices.Reverse(got)
	}
	return got, err
}

func (m *mMailbox) Vanished(ctx context.Context, since mailbox.ModSeq) ([]mailbox.UID, error) {
	if m.s.mut == "no-tombstones" {
		return nil, nil
	}
	return m.Mailbox.Vanished(m.s.ctx(ctx), since)
}

// UIDL, Search and ReadMessage give the wrapper the optional interfaces
// memstore lacks, so that their cases run (and catch the mutants below).
func (m *mMailbox) UIDL(ctx context.Context, uid mailbox.UID) (string, error) {
	if m.s.mut == "uidl-not-unique" {
		return "same", nil
	}
	st, err := m.Status(ctx)
	return fmt.Sprintf("%d.%d", st.UIDValidity, uid), err
}

func (m *mMailbox) Search(ctx context.Context, c *mailbox.SearchCriteria) ([]mailbox.UID, error) {
	if len(c.Header) > 0 || len(c.Body) > 0 || len(c.Text) > 0 || len(c.Not) > 0 || len(c.Or) > 0 {
		return nil, errors.ErrUnsupported
	}
	var out []mailbox.UID
	for info, err := range m.Messages(ctx, 1) {
		if err != nil {
			return nil, err
		}
		in := len(c.UIDs) == 0
		for _, r := range c.UIDs {
			in = in || r.Start <= info.UID && info.UID <= r.Stop
		}
		for _, f := range c.WithFlags {
			in = in && (m.s.mut == "search-ignores-flags" || info.HasFlag(f))
		}
		if in {
			out = append(out, info.UID)
		}
	}
	return out, nil
}

func (m *mMailbox) ReadMessage(ctx context.Context, uid mailbox.UID, dst []byte) ([]byte, error) {
	rc, err := m.Open(ctx, uid)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if m.s.mut == "readmessage-overwrites" {
		dst = dst[:0]
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		return nil, err
	}
	return append(dst, b.Bytes()...), nil
}
