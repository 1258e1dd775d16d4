package maildir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// account is one handle on a user's tree (mailbox.Account).
type account struct {
	t       *tree
	bus     mailbox.Bus
	maxSize int64 // of an appended message; -1 unlimited
	quota   quotaLimits
	parse   bool // Store.ParseOnDelivery
	closed  atomic.Bool

	mu       sync.Mutex
	cancels  []func()
	releases []func()
}

var _ mailbox.Account = (*account)(nil)

func (a *account) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.closed.Load() {
		return mailbox.ErrClosed
	}
	return nil
}

func (a *account) User() string { return a.t.user }

func (a *account) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	a.mu.Lock()
	cancels, releases := a.cancels, a.releases
	a.cancels, a.releases = nil, nil
	a.mu.Unlock()
	for _, c := range cancels {
		c()
	}
	for _, r := range releases {
		r()
	}
	releaseTree(a.t, a.bus)
	return nil
}

// folderInfo is what the tree holds for one name.
type folderInfo struct {
	dir        string // "" for a name that exists only as a parent
	selectable bool
}

// names returns every mailbox of the tree, INBOX included, with the
// implicit parents of deeper names.
func (t *tree) names() (map[string]folderInfo, error) {
	out := map[string]folderInfo{mailbox.Inbox: {dir: ".", selectable: true}}
	d, err := t.root.Open(".")
	if err != nil {
		return nil, err
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		if name, ok := nameOf(e.Name()); ok {
			out[name] = folderInfo{dir: e.Name(), selectable: t.isDir(e.Name() + "/cur")}
		}
	}
	if ld, err := t.root.Open(longDir); err == nil {
		ents, _ := ld.ReadDir(-1)
		ld.Close()
		for _, e := range ents {
			dir := longDir + "/" + e.Name()
			if !e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
				continue
			}
			b, err := t.root.ReadFile(dir + "/" + longNameFile)
			if err != nil {
				continue
			}
			name, err := mailbox.ValidName(string(b))
			if err != nil || dirOf(name) != dir {
				continue
			}
			out[name] = folderInfo{dir: dir, selectable: t.isDir(dir + "/cur")}
		}
	}
	for name := range out {
		for p := mailbox.Parent(name); p != ""; p = mailbox.Parent(p) {
			if _, ok := out[p]; !ok {
				out[p] = folderInfo{}
			}
		}
	}
	return out, nil
}

func (t *tree) isDir(p string) bool {
	fi, err := t.root.Lstat(p)
	return err == nil && fi.IsDir()
}

func hasChildren(names map[string]folderInfo, name string) bool {
	for n := range names {
		if mailbox.IsChild(n, name) {
			return true
		}
	}
	return false
}

func (a *account) List(ctx context.Context) ([]mailbox.MailboxInfo, error) {
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	names, err := a.t.names()
	if err != nil {
		return nil, err
	}
	subs, err := a.t.subscriptions()
	if err != nil {
		return nil, err
	}
	// Sorting once makes the children test linear: a name's children
	// follow it directly.
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	out := make([]mailbox.MailboxInfo, 0, len(sorted))
	for i, n := range sorted {
		fi := names[n]
		info := mailbox.MailboxInfo{Name: n, Subscribed: slices.Contains(subs, n)}
		if !fi.selectable {
			info.Attrs = append(info.Attrs, mailbox.AttrNoSelect)
		}
		children := false
		for _, m := range sorted[i+1:] {
			if mailbox.IsChild(m, n) {
				children = true
				break
			}
			if !strings.HasPrefix(m, n) {
				break
			}
		}
		if children {
			info.Attrs = append(info.Attrs, mailbox.AttrHasChildren)
		} else {
			info.Attrs = append(info.Attrs, mailbox.AttrHasNoChildren)
		}
		if fi.selectable && fi.dir != "." {
			if b, err := a.t.root.ReadFile(fi.dir + "/" + specialUseFile); err == nil {
				if use := mailbox.Attr(strings.TrimSpace(string(b))); use.IsSpecialUse() {
					info.Attrs = append(info.Attrs, use)
				}
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// makeFolder creates the directory of a new, empty folder. Its index, and
// so its UIDVALIDITY, is made when it is first opened.
func (t *tree) makeFolder(name, dir string, use mailbox.Attr) error {
	if strings.HasPrefix(dir, longDir+"/") {
		if err := t.root.Mkdir(longDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if err := t.root.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := t.root.Mkdir(dir+"/"+sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if err := t.root.WriteFile(dir+"/maildirfolder", nil, 0o600); err != nil {
		return err
	}
	if strings.HasPrefix(dir, longDir+"/") {
		if err := t.root.WriteFile(dir+"/"+longNameFile, []byte(name), 0o600); err != nil {
			return err
		}
	}
	if use != "" {
		if err := t.root.WriteFile(dir+"/"+specialUseFile, []byte(string(use)+"\n"), 0o600); err != nil {
			return err
		}
	}
	// Drop an index left by an earlier folder of this name: the new one
	// must get a new UIDVALIDITY.
	t.root.Remove(dir + "/" + indexFile)
	t.root.Remove(dir + "/" + metaFile)
	if err := syncDir(t.root, dir); err != nil {
		return err
	}
	if strings.HasPrefix(dir, longDir+"/") {
		if err := syncDir(t.root, longDir); err != nil {
			return err
		}
	}
	return syncDir(t.root, ".")
}

func (a *account) Create(ctx context.Context, name string, opts *mailbox.CreateOptions) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	name, dir, err := canonicalName(name)
	if err != nil {
		return err
	}
	var use mailbox.Attr
	if opts != nil && opts.SpecialUse != "" {
		if !opts.SpecialUse.IsSpecialUse() {
			return fmt.Errorf("maildir: %q is not a special-use attribute: %w", opts.SpecialUse, mailbox.ErrNotPermitted)
		}
		use = opts.SpecialUse
	}
	if name == mailbox.Inbox {
		return fmt.Errorf("maildir: create INBOX: %w", mailbox.ErrExist)
	}
	t := a.t
	unlock, err := t.lockAccount()
	if err != nil {
		return err
	}
	defer unlock()
	names, err := t.names()
	if err != nil {
		return err
	}
	if fi, ok := names[name]; ok && fi.selectable {
		return fmt.Errorf("maildir: create %q: %w", name, mailbox.ErrExist)
	}
	if err := a.createParents(names, name); err != nil {
		return err
	}
	if err := t.makeFolder(name, dir, use); err != nil {
		return fmt.Errorf("maildir: create %q: %w", name, err)
	}
	t.publish(mailbox.Event{Kind: mailbox.EventMailboxCreated, Mailbox: name})
	return nil
}

// createParents makes the missing parents of name as selectable folders
// (RFC 9051 §6.3.4). The account lock is held.
func (a *account) createParents(names map[string]folderInfo, name string) error {
	var missing []string
	for p := mailbox.Parent(name); p != ""; p = mailbox.Parent(p) {
		if _, ok := names[p]; !ok {
			missing = append(missing, p)
		}
	}
	for _, p := range slices.Backward(missing) {
		if err := a.t.makeFolder(p, dirOf(p), ""); err != nil {
			return fmt.Errorf("maildir: create %q: %w", p, err)
		}
		names[p] = folderInfo{dir: dirOf(p), selectable: true}
		a.t.publish(mailbox.Event{Kind: mailbox.EventMailboxCreated, Mailbox: p})
	}
	return nil
}

// removeFolder takes a folder's directory out of the tree: renamed away
// first (atomic for every reader), then removed. Handles open on it get
// ErrNotExist from then on.
func (t *tree) removeFolder(dir string) error {
	trash := trashPrefix + strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.Itoa(os.Getpid())
	if err := t.root.Rename(dir, trash); err != nil {
		return err
	}
	t.fmu.Lock()
	if f := t.folders[dir]; f != nil {
		f.deleted.Store(true)
		delete(t.folders, dir)
	}
	t.fmu.Unlock()
	return t.root.RemoveAll(trash)
}

func (a *account) Delete(ctx context.Context, name string) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	name, _, err := canonicalName(name)
	if err != nil {
		return err
	}
	if name == mailbox.Inbox {
		return fmt.Errorf("maildir: delete INBOX: %w", mailbox.ErrNotPermitted)
	}
	t := a.t
	unlock, err := t.lockAccount()
	if err != nil {
		return err
	}
	defer unlock()
	names, err := t.names()
	if err != nil {
		return err
	}
	fi, ok := names[name]
	if !ok {
		return fmt.Errorf("maildir: delete %q: %w", name, mailbox.ErrNotExist)
	}
	if !fi.selectable && hasChildren(names, name) {
		return fmt.Errorf("maildir: delete %q: %w", name, mailbox.ErrHasChildren)
	}
	if fi.dir != "" {
		if err := t.removeFolder(fi.dir); err != nil {
			return fmt.Errorf("maildir: delete %q: %w", name, err)
		}
		t.use.invalidate()
	}
	t.publish(mailbox.Event{Kind: mailbox.EventMailboxDeleted, Mailbox: name})
	return nil
}

func (a *account) Rename(ctx context.Context, oldName, newName string) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	oldName, _, err := canonicalName(oldName)
	if err != nil {
		return err
	}
	newName, newDir, err := canonicalName(newName)
	if err != nil {
		return err
	}
	t := a.t
	unlock, err := t.lockAccount()
	if err != nil {
		return err
	}
	defer unlock()
	names, err := t.names()
	if err != nil {
		return err
	}
	if _, ok := names[oldName]; !ok {
		return fmt.Errorf("maildir: rename %q: %w", oldName, mailbox.ErrNotExist)
	}
	if _, ok := names[newName]; ok || newName == mailbox.Inbox {
		return fmt.Errorf("maildir: rename to %q: %w", newName, mailbox.ErrExist)
	}
	if oldName == mailbox.Inbox {
		return a.renameInbox(ctx, names, newName, newDir)
	}
	if mailbox.IsChild(newName, oldName) {
		return fmt.Errorf("maildir: rename %q under itself: %w", oldName, mailbox.ErrNotPermitted)
	}
	type move struct{ from, to, fromDir, toDir string }
	var moves []move
	for n, fi := range names {
		if n != oldName && !mailbox.IsChild(n, oldName) {
			continue
		}
		to := newName + n[len(oldName):]
		if len(to) > mailbox.MaxNameLength || strings.Count(to, "/") >= mailbox.MaxNameDepth {
			return fmt.Errorf("maildir: rename %q to %q: %w", n, to, mailbox.ErrInvalidName)
		}
		if _, ok := names[to]; ok {
			return fmt.Errorf("maildir: rename to %q: %w", to, mailbox.ErrExist)
		}
		moves = append(moves, move{n, to, fi.dir, dirOf(to)})
	}
	slices.SortFunc(moves, func(x, y move) int { return strings.Compare(x.from, y.from) })
	if err := a.createParents(names, newName); err != nil {
		return err
	}
	for _, mv := range moves {
		if mv.fromDir == "" {
			continue // a \Noselect parent: nothing on disk
		}
		if strings.HasPrefix(mv.toDir, longDir+"/") {
			if err := t.root.Mkdir(longDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if err := t.root.WriteFile(mv.fromDir+"/"+longNameFile, []byte(mv.to), 0o600); err != nil {
				return err
			}
		}
		if err := t.root.Rename(mv.fromDir, mv.toDir); err != nil {
			return fmt.Errorf("maildir: rename %q to %q: %w", mv.from, mv.to, err)
		}
		t.fmu.Lock()
		if f := t.folders[mv.fromDir]; f != nil {
			delete(t.folders, mv.fromDir)
			f.dir = mv.toDir
			to := mv.to
			f.name.Store(&to)
			t.folders[mv.toDir] = f
		}
		t.fmu.Unlock()
	}
	syncDir(t.root, ".")
	for _, mv := range moves {
		t.publish(mailbox.Event{Kind: mailbox.EventMailboxRenamed, Mailbox: mv.to, OldName: mv.from})
	}
	return nil
}

// renameInbox moves every message of INBOX into a new mailbox newName
// (RFC 9051 §6.3.6); INBOX stays, empty, and keeps its children.
func (a *account) renameInbox(ctx context.Context, names map[string]folderInfo, newName, newDir string) error {
	t := a.t
	if err := a.createParents(names, newName); err != nil {
		return err
	}
	if err := t.makeFolder(newName, newDir, ""); err != nil {
		return err
	}
	t.publish(mailbox.Event{Kind: mailbox.EventMailboxCreated, Mailbox: newName})
	inbox, err := t.openFolder(".", mailbox.Inbox)
	if err != nil {
		return err
	}
	h := &mbox{f: inbox, maxSize: -1}
	defer h.Close()
	var uids []mailbox.UID
	for info, err := range h.Messages(ctx, 1) {
		if err != nil {
			return err
		}
		uids = append(uids, info.UID)
	}
	if len(uids) == 0 {
		return nil
	}
	_, err = h.MoveTo(ctx, uids, newName)
	return err
}

func (a *account) SetSubscribed(ctx context.Context, name string, subscribed bool) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	name, _, err := canonicalName(name)
	if err != nil {
		return err
	}
	t := a.t
	unlock, err := t.lockAccount()
	if err != nil {
		return err
	}
	defer unlock()
	subs, err := t.subscriptions()
	if err != nil {
		return err
	}
	i := slices.Index(subs, name)
	switch {
	case subscribed && i < 0:
		subs = append(subs, name)
	case !subscribed && i >= 0:
		subs = slices.Delete(subs, i, i+1)
	default:
		return nil
	}
	slices.Sort(subs)
	var b strings.Builder
	for _, s := range subs {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(t.root, subscriptionsFile, []byte(b.String()), false); err != nil {
		return err
	}
	t.publish(mailbox.Event{Kind: mailbox.EventSubscriptionChanged, Mailbox: name, Subscribed: subscribed})
	return nil
}

// subscriptions reads the subscriptions file: one UTF-8 name per line.
func (t *tree) subscriptions() ([]string, error) {
	b, err := t.root.ReadFile(subscriptionsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if n, err := mailbox.ValidName(line); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (a *account) Subscriptions(ctx context.Context) ([]string, error) {
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	return a.t.subscriptions()
}

func (a *account) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	name, dir, err := canonicalName(name)
	if err != nil {
		return nil, err
	}
	f, err := a.t.openFolder(dir, name)
	if errors.Is(err, mailbox.ErrNotExist) && name != mailbox.Inbox {
		if names, nerr := a.t.names(); nerr == nil {
			if _, ok := names[name]; ok {
				return nil, fmt.Errorf("maildir: %q: %w", name, mailbox.ErrNoSelect)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	a.t.retain()
	return &mbox{f: f, tree: a.t, maxSize: a.maxSize, parse: a.parse, quota: a.quota}, nil
}

func (a *account) Watch(fn func(mailbox.Event)) (cancel func()) {
	stop := a.bus.Subscribe(a.t.user, fn)
	a.t.poll.add()
	var once sync.Once
	cancel = func() {
		once.Do(func() {
			stop()
			a.t.poll.remove()
		})
	}
	a.mu.Lock()
	a.cancels = append(a.cancels, cancel)
	a.mu.Unlock()
	return cancel
}

// LockMaildrop takes the POP3 maildrop lock: a flag in this process and a
// non-blocking flock on posthorn-maildrop.lock for other processes.
func (a *account) LockMaildrop(ctx context.Context) (release func(), err error) {
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	t := a.t
	t.dropMu.Lock()
	defer t.dropMu.Unlock()
	if t.dropHeld {
		return nil, fmt.Errorf("maildir: maildrop of %q: %w", t.user, mailbox.ErrInUse)
	}
	if t.dropF == nil {
		f, err := t.root.OpenFile(maildropLockFile, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		t.dropF = f
	}
	if err := tryFlock(t.dropF); err != nil {
		return nil, fmt.Errorf("maildir: maildrop of %q held by another process: %w", t.user, mailbox.ErrInUse)
	}
	t.dropHeld = true
	var once sync.Once
	release = func() {
		once.Do(func() {
			t.dropMu.Lock()
			defer t.dropMu.Unlock()
			if t.dropF != nil {
				funlock(t.dropF)
			}
			t.dropHeld = false
		})
	}
	a.mu.Lock()
	a.releases = append(a.releases, release)
	a.mu.Unlock()
	return release, nil
}
