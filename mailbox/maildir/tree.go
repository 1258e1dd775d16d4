package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Files in a user's directory, besides the folders.
const (
	uidValidityFile   = "posthorn-uidvalidity" // last UIDVALIDITY handed out in this tree
	uidValidityLock   = "posthorn-uidvalidity.lock"
	accountLockFile   = "posthorn-account.lock"
	maildropLockFile  = "posthorn-maildrop.lock"
	subscriptionsFile = "posthorn-subscriptions"
	specialUseFile    = "posthorn-specialuse" // in a folder directory
	lockFile          = "posthorn-lock"       // in a folder directory
)

// registry holds the state of every user tree open in this process, keyed
// by the absolute path of the user's directory, so that all handles of a
// user share one copy of each folder's index and one lock.
var registry = struct {
	mu    sync.Mutex
	trees map[string]*tree
}{trees: make(map[string]*tree)}

// tree is the shared state of one user's Maildir++ tree.
type tree struct {
	path   string
	user   string
	root   *os.Root
	logger *slog.Logger
	refs   int // account handles; guarded by registry.mu

	acctMu sync.Mutex // serialises create, delete, rename and subscriptions in this process
	acctF  *os.File   // flock file for the same across processes

	fmu     sync.Mutex                // guards folders, closing and each folder's dir, name and refs
	folders map[string]*folder        // by directory ("" = INBOX)
	closing map[*folder]chan struct{} // folders whose last handle is closing: closed when their renames are done

	busMu sync.Mutex
	buses []busRef

	uvMu sync.Mutex // leaf lock: UIDVALIDITY allocation

	dropMu   sync.Mutex
	dropHeld bool
	dropF    *os.File

	poll poller
	use  usage // for quotas
}

type busRef struct {
	bus  mailbox.Bus
	refs int
}

// acquireTree returns the shared state of the tree at path, opening it on
// first use, and registers bus for its events.
func acquireTree(path, user string, bus mailbox.Bus, logger *slog.Logger, pollEvery time.Duration) (*tree, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	t := registry.trees[path]
	if t == nil {
		fi, err := os.Lstat(path)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("maildir: %s is not a directory: %w", path, mailbox.ErrNotExist)
		}
		root, err := os.OpenRoot(path)
		if err != nil {
			return nil, err
		}
		acctF, err := root.OpenFile(accountLockFile, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			root.Close()
			return nil, err
		}
		t = &tree{path: path, user: user, root: root, acctF: acctF, logger: logger, folders: make(map[string]*folder)}
		t.poll.t = t
		t.removeTrash()
		registry.trees[path] = t
	}
	t.refs++
	t.poll.setInterval(pollEvery)
	t.addBus(bus)
	return t, nil
}

// retain takes a reference on a tree for a mailbox handle, so that the tree
// outlives the account handle the mailbox was opened through.
func (t *tree) retain() {
	registry.mu.Lock()
	t.refs++
	registry.mu.Unlock()
}

// releaseTree drops a reference taken by acquireTree (with its bus) or
// retain (bus nil); the last one closes the tree.
func releaseTree(t *tree, bus mailbox.Bus) {
	if bus != nil {
		t.removeBus(bus)
	}
	registry.mu.Lock()
	t.refs--
	last := t.refs == 0
	if last {
		delete(registry.trees, t.path)
	}
	registry.mu.Unlock()
	if last {
		t.poll.stop()
		t.acctF.Close()
		t.dropMu.Lock()
		if t.dropF != nil {
			t.dropF.Close()
		}
		t.dropMu.Unlock()
		t.root.Close()
	}
}

func (t *tree) addBus(b mailbox.Bus) {
	t.busMu.Lock()
	defer t.busMu.Unlock()
	// Copy on write: publish reads a snapshot of the slice without the
	// lock, so no element of a published slice may change.
	for i := range t.buses {
		if t.buses[i].bus == b {
			next := slices.Clone(t.buses)
			next[i].refs++
			t.buses = next
			return
		}
	}
	t.buses = append(t.buses[:len(t.buses):len(t.buses)], busRef{b, 1})
}

func (t *tree) removeBus(b mailbox.Bus) {
	t.busMu.Lock()
	defer t.busMu.Unlock()
	for i := range t.buses {
		if t.buses[i].bus == b {
			if t.buses[i].refs == 1 {
				t.buses = slices.Delete(slices.Clone(t.buses), i, i+1)
			} else {
				next := slices.Clone(t.buses)
				next[i].refs--
				t.buses = next
			}
			return
		}
	}
}

// publish hands ev to every bus of a store that has this tree open.
func (t *tree) publish(ev mailbox.Event) {
	ev.User = t.user
	t.busMu.Lock()
	buses := t.buses
	t.busMu.Unlock()
	for _, b := range buses {
		b.bus.Publish(ev)
	}
}

// trashPrefix names a deleted folder's directory between its rename out of
// the hierarchy and its removal.
const trashPrefix = "posthorn-trash-"

// removeTrash finishes the deletions a crash interrupted.
func (t *tree) removeTrash() {
	unlock, err := t.lockAccount()
	if err != nil {
		return
	}
	defer unlock()
	d, err := t.root.Open(".")
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		if strings.HasPrefix(n, trashPrefix) {
			t.root.RemoveAll(n)
		}
	}
}

// lockAccount serialises account-level changes, in this process and across
// processes.
func (t *tree) lockAccount() (unlock func(), err error) {
	t.acctMu.Lock()
	if err := flock(t.acctF); err != nil {
		t.acctMu.Unlock()
		return nil, err
	}
	return func() { funlock(t.acctF); t.acctMu.Unlock() }, nil
}

// newUIDValidity hands out a UIDVALIDITY never used before in this tree:
// greater than the last one recorded in posthorn-uidvalidity and, so that a
// lost counter file does not bring old values back, at least the current
// Unix time.
func (t *tree) newUIDValidity() (uint32, error) {
	t.uvMu.Lock()
	defer t.uvMu.Unlock()
	lf, err := t.root.OpenFile(uidValidityLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer lf.Close()
	if err := flock(lf); err != nil {
		return 0, err
	}
	var last uint64
	if b, err := t.root.ReadFile(uidValidityFile); err == nil {
		last, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	next := max(last+1, uint64(time.Now().Unix()))
	if next > 1<<32-1 {
		next = last + 1
		if next > 1<<32-1 {
			return 0, errors.New("maildir: UIDVALIDITY space exhausted")
		}
	}
	if err := writeFileAtomic(t.root, uidValidityFile, []byte(strconv.FormatUint(next, 10)+"\n"), true); err != nil {
		return 0, err
	}
	return uint32(next), nil
}

// writeFileAtomic replaces name in root with data: write a temporary file,
// optionally fsync it, rename it over name, fsync the directory.
func writeFileAtomic(root *os.Root, name string, data []byte, durable bool) error {
	dir, base := ".", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir, base = name[:i], name[i+1:]
	}
	tmp := dir + "/.tmp-" + base + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.Itoa(os.Getpid())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
		return err
	}
	if durable {
		return syncDir(root, dir)
	}
	return nil
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
