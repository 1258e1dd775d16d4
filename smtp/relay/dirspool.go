package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DirSpool is a Spool in a directory on disk, the default. Each message is
// two files: msg/ID holds the bytes, env/ID.json the envelope and delivery
// state. A message is queued exactly when its envelope file exists. Put
// writes msg/ID and the envelope beside its final name in env/, fsyncs both
// files and msg/ (at once), then renames the envelope into place and
// fsyncs env/, all before it returns; Update replaces the envelope the same
// way, so a crash at any instant leaves either the old or the new
// envelope, never a torn one, and never an envelope without its message.
// (Renames stay within one directory; tmp/ is only cleaned, for spools
// written by older versions.)
//
// Directory fsyncs are group commits: each Put fsyncs its own files (in
// parallel with the others, which the file system batches), and shares
// each directory fsync with the concurrent Puts, Updates and Removes of
// its round: one of them does the round's renames and fsyncs the directory
// once for all. Accepted messages per second thus grow with the number of
// concurrent submitters, while each Put still returns only once its own
// files and names are on stable storage. When a round's directory fsync
// fails, every Put of that round fails (the submitting client gets a
// temporary 451 and may try again) and removes its files.
//
// One process at a time may use a spool directory. DirSpool is safe for
// concurrent use within that process. A DirSpool must not be copied after
// first use.
type DirSpool struct {
	// Dir is the spool directory, created (mode 0700) when missing.
	Dir string

	msgSync, envSync groupSync          // the fsync rounds of msg/ and env/
	syncDir          func(string) error // the directory fsync; nil → syncDir (tests)
}

var _ Spool = (*DirSpool)(nil)

func (s *DirSpool) path(parts ...string) string {
	return filepath.Join(append([]string{s.Dir}, parts...)...)
}

func (s *DirSpool) init() error {
	for _, d := range []string{"tmp", "msg", "env"} {
		if err := os.MkdirAll(s.path(d), 0o700); err != nil {
			return fmt.Errorf("relay: spool: %w", err)
		}
	}
	return nil
}

// newID returns a unique, sortable, file-name-safe message ID.
func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + hex.EncodeToString(b[:])
}

// validID reports whether id could have come from newID: it is used in file
// names, so nothing else may pass.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// Put implements Spool.
func (s *DirSpool) Put(ctx context.Context, env *Envelope, body io.Reader) (string, error) {
	if err := s.init(); err != nil {
		return "", err
	}
	id := newID()
	// The message file goes straight to its name: without an envelope it
	// is not queued, and Recover deletes it after a crash.
	msgPath := s.path("msg", id)
	mf, n, err := writeFile(ctx, msgPath, body)
	if err != nil {
		os.Remove(msgPath)
		return "", err
	}
	env.ID, env.Size = id, n
	ef, tmp, err := s.envelopeFile(ctx, env)
	if err != nil {
		mf.Close()
		os.Remove(msgPath)
		return "", err
	}
	// Both files and the message's name are made durable at once (the
	// directory in a round shared with concurrent Puts), before the
	// envelope gets its name: an envelope on disk always has its message.
	var wg sync.WaitGroup
	var merr, eerr error
	wg.Go(func() { merr = mf.Sync() })
	wg.Go(func() { eerr = ef.Sync() })
	err = s.commit("msg", nil)
	wg.Wait()
	err = errors.Join(err, closeErr(merr, mf), closeErr(eerr, ef))
	if err == nil {
		err = s.rename(tmp, env.ID)
	}
	if err != nil {
		os.Remove(tmp)
		os.Remove(msgPath)
		return "", fmt.Errorf("relay: spool: %w", err)
	}
	return id, nil
}

// closeErr closes f and returns err, or else the error of Close.
func closeErr(err error, f *os.File) error {
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// commit waits for a round that makes the spool's subdirectory sub durable
// (its directory fsync), shared with concurrent callers; then, when not
// nil, runs in the round before that fsync.
func (s *DirSpool) commit(sub string, then func() error) error {
	g := &s.envSync
	if sub == "msg" {
		g = &s.msgSync
	}
	path := s.path(sub)
	sync := s.syncDir
	if sync == nil {
		sync = syncDir
	}
	if err := g.sync(&syncReq{then: then}, func() error { return sync(path) }); err != nil {
		return fmt.Errorf("making %s/ durable failed (temporary, try again): %w", sub, err)
	}
	return nil
}

// rename gives the envelope written in tmp (and fsynced) its name,
// env/ID.json, in a round that fsyncs env/. When the round fails, the
// envelope is removed.
func (s *DirSpool) rename(tmp, id string) error {
	final := s.path("env", id+".json")
	err := s.commit("env", func() error { return os.Rename(tmp, final) })
	if err != nil {
		os.Remove(final)
	}
	return err
}

// tmpSuffix ends the name of an envelope being written in env/; List skips
// such files and Recover deletes them.
const tmpSuffix = ".tmp"

// envelopeFile writes env into a new file beside its final name in env/
// and returns it open, not yet synced, with its name.
func (s *DirSpool) envelopeFile(ctx context.Context, env *Envelope) (*os.File, string, error) {
	if !validID(env.ID) {
		return nil, "", fmt.Errorf("relay: spool: %w: %q", ErrNotFound, env.ID)
	}
	data, err := json.Marshal(env)
	if err != nil {
		return nil, "", fmt.Errorf("relay: spool: %w", err)
	}
	var r [4]byte
	rand.Read(r[:])
	tmp := s.path("env", env.ID+"."+hex.EncodeToString(r[:])+tmpSuffix)
	f, _, err := writeFile(ctx, tmp, bytes.NewReader(data))
	if err != nil {
		os.Remove(tmp)
		return nil, "", err
	}
	return f, tmp, nil
}

// Open implements Spool.
func (s *DirSpool) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	if !validID(id) {
		return nil, fmt.Errorf("relay: spool: %w: %q", ErrNotFound, id)
	}
	f, err := os.Open(s.path("msg", id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("relay: spool: %w: %s", ErrNotFound, id)
	}
	return f, err
}

// Update implements Spool: the new envelope is written beside the old
// one, fsynced and renamed over it, in a round that fsyncs env/.
func (s *DirSpool) Update(ctx context.Context, env *Envelope) error {
	if !validID(env.ID) {
		return fmt.Errorf("relay: spool: %w: %q", ErrNotFound, env.ID)
	}
	if _, err := os.Stat(s.path("env", env.ID+".json")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("relay: spool: %w: %s", ErrNotFound, env.ID)
	}
	f, tmp, err := s.envelopeFile(ctx, env)
	if err != nil {
		return err
	}
	err = closeErr(f.Sync(), f)
	if err == nil {
		final := s.path("env", env.ID+".json")
		err = s.commit("env", func() error { return os.Rename(tmp, final) })
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("relay: spool: %w", err)
	}
	return nil
}

// Remove implements Spool. The envelope goes first: a crash in between
// leaves an orphan message file, which Recover deletes, never an envelope
// without its message.
func (s *DirSpool) Remove(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("relay: spool: %w: %q", ErrNotFound, id)
	}
	err := os.Remove(s.path("env", id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("relay: spool: %w: %s", ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("relay: spool: %w", err)
	}
	if err := s.commit("env", nil); err != nil {
		return fmt.Errorf("relay: spool: %w", err)
	}
	if err := os.Remove(s.path("msg", id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("relay: spool: %w", err)
	}
	return nil
}

// List implements Spool. Envelopes are returned oldest first.
func (s *DirSpool) List(ctx context.Context) ([]*Envelope, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.path("env"))
	if err != nil {
		return nil, fmt.Errorf("relay: spool: %w", err)
	}
	var out []*Envelope
	var errs []error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) {
			continue
		}
		data, err := os.ReadFile(s.path("env", e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		env := new(Envelope)
		if err := json.Unmarshal(data, env); err != nil || env.ID != id {
			errs = append(errs, fmt.Errorf("relay: spool: envelope %s is damaged: %v", id, err))
			continue
		}
		out = append(out, env)
	}
	return out, errors.Join(errs...)
}

// Recover deletes what a crash can leave behind: envelopes being written
// (and files in tmp/, where older versions wrote them) and message files
// without an envelope. Call it before the spool is used, never while
// a Put may be running. The Queue calls it on start.
func (s *DirSpool) Recover(ctx context.Context) error {
	if err := s.init(); err != nil {
		return err
	}
	tmp, err := os.ReadDir(s.path("tmp"))
	if err != nil {
		return fmt.Errorf("relay: spool: %w", err)
	}
	for _, e := range tmp {
		os.Remove(s.path("tmp", e.Name()))
	}
	envs, err := os.ReadDir(s.path("env"))
	if err != nil {
		return fmt.Errorf("relay: spool: %w", err)
	}
	for _, e := range envs {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			os.Remove(s.path("env", e.Name()))
		}
	}
	msgs, err := os.ReadDir(s.path("msg"))
	if err != nil {
		return fmt.Errorf("relay: spool: %w", err)
	}
	for _, e := range msgs {
		if _, err := os.Stat(s.path("env", e.Name()+".json")); errors.Is(err, fs.ErrNotExist) {
			os.Remove(s.path("msg", e.Name()))
		}
	}
	return nil
}

// writeFile writes r into a new file at path and returns it open, not yet
// synced, with the number of bytes written.
func writeFile(ctx context.Context, path string, r io.Reader) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("relay: spool: %w", err)
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("relay: spool: %w", err)
	}
	return f, n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
