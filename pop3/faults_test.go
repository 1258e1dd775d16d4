package pop3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// faultStore wraps a store and injects failures.
type faultStore struct {
	mailbox.Store
	mailbox.Authenticator
	openErr    error // Store.Open
	msgErr     error // Mailbox.Open
	expungeErr error
	panicOpen  bool
	badReader  bool // message reader fails half way
}

func (f *faultStore) Open(ctx context.Context, user string) (mailbox.Account, error) {
	if f.panicOpen {
		panic("store exploded")
	}
	if f.openErr != nil {
		return nil, f.openErr
	}
	a, err := f.Store.Open(ctx, user)
	return &faultAccount{a, f}, err
}

type faultAccount struct {
	mailbox.Account
	f *faultStore
}

func (a *faultAccount) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	m, err := a.Account.Mailbox(ctx, name)
	return &faultMailbox{m, a.f}, err
}

type faultMailbox struct {
	mailbox.Mailbox
	f *faultStore
}

func (m *faultMailbox) Open(ctx context.Context, uid mailbox.UID) (io.ReadCloser, error) {
	if m.f.msgErr != nil {
		return nil, m.f.msgErr
	}
	rc, err := m.Mailbox.Open(ctx, uid)
	if err == nil && m.f.badReader {
		return io.NopCloser(io.MultiReader(io.LimitReader(rc, 10), errReader{})), nil
	}
	return rc, err
}

func (m *faultMailbox) Expunge(ctx context.Context, uids []mailbox.UID) ([]mailbox.UID, error) {
	if m.f.expungeErr != nil {
		return nil, m.f.expungeErr
	}
	return m.Mailbox.Expunge(ctx, uids)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk read error") }

func faultServer(t *testing.T, f *faultStore) (*wire, *syncBuffer) {
	st := newStore(t, msg1)
	f.Store, f.Authenticator = st, st
	logs := &syncBuffer{}
	srv := &Server{Store: f, AllowInsecureAuth: true, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: LevelTrace}))}
	w := dialWire(t, startServer(t, srv))
	return w, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBackendFailures(t *testing.T) {
	secretErr := fmt.Errorf("db password is hunter2: %w", errors.New("connection refused"))
	t.Run("account open fails", func(t *testing.T) {
		w, logs := faultServer(t, &faultStore{openErr: secretErr})
		w.login2fail("S: -ERR [SYS/TEMP] temporary failure, try again later")
		if !strings.Contains(logs.String(), "connection refused") {
			t.Error("backend error not logged")
		}
	})
	t.Run("account missing", func(t *testing.T) {
		w, _ := faultServer(t, &faultStore{openErr: fmt.Errorf("no such user: %w", mailbox.ErrNotExist)})
		w.login2fail("S: -ERR [SYS/PERM] no mailbox for this user")
	})
	t.Run("message open fails", func(t *testing.T) {
		w, _ := faultServer(t, &faultStore{msgErr: secretErr})
		w.login()
		w.run("C: RETR 1", "S: -ERR [SYS/TEMP] temporary failure, try again later", "C: NOOP", "S: +OK")
	})
	t.Run("message read fails midway", func(t *testing.T) {
		w, _ := faultServer(t, &faultStore{badReader: true})
		w.login()
		w.run("C: RETR 1", "S: +OK*", "S: <eof>") // a truncated body, never a terminator
	})
	t.Run("expunge fails", func(t *testing.T) {
		w, _ := faultServer(t, &faultStore{expungeErr: secretErr})
		w.login()
		w.run("C: DELE 1", "S: +OK*", "C: QUIT", "S: -ERR [SYS/TEMP] some deleted messages not removed", "S: <eof>")
	})
	t.Run("panic", func(t *testing.T) {
		w, logs := faultServer(t, &faultStore{panicOpen: true})
		w.run("S: +OK*", "C: USER sara", "S: +OK*", "C: PASS secret", "S: <eof>")
		if !strings.Contains(logs.String(), "store exploded") {
			t.Error("panic not logged")
		}
	})
}

// login2fail reads the greeting, sends USER/PASS and expects want.
func (w *wire) login2fail(want string) {
	w.t.Helper()
	w.run("S: +OK*", "C: USER sara", "S: +OK*", "C: PASS secret", want)
	// Nothing of the internal error reaches the client.
}

func TestTraceRedactsCredentials(t *testing.T) {
	w, logs := faultServer(t, &faultStore{})
	w.run("S: +OK*", "C: USER sara", "S: +OK*", "C: PASS secret", "S: +OK*", "C: RETR 1", "S: +OK*")
	for range 7 {
		w.br.ReadString('\n')
	}
	w.run("C: QUIT", "S: +OK*")
	w2, logs2 := faultServer(t, &faultStore{})
	w2.run("S: +OK*", "C: AUTH PLAIN AHNhcmEAc2VjcmV0", "S: +OK*", "C: QUIT", "S: +OK*")
	all := logs.String() + logs2.String()
	if strings.Contains(all, "secret") || strings.Contains(all, "AHNhcmEAc2VjcmV0") {
		t.Fatalf("credentials in the log:\n%s", all)
	}
	if strings.Contains(all, "Hello") {
		t.Fatalf("message body in the log:\n%s", all)
	}
	if !strings.Contains(all, "C: USER sara") || !strings.Contains(all, "C: PASS ***") {
		t.Fatalf("transcript missing:\n%s", all)
	}
}
