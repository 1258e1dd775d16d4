package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/posthorn/posthorn/mailbox"
)

// account is one handle on a user's mail (mailbox.Account).
type account struct {
	u   *user
	bus mailbox.Bus

	mu       sync.Mutex
	closed   bool
	cancels  []func() // Watch subscriptions, cancelled by Close
	releases []func() // maildrop locks taken through this handle, released by Close
}

var (
	_ mailbox.Account = (*account)(nil)
	_ mailbox.Quotaer = (*account)(nil)
)

func (a *account) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return mailbox.ErrClosed
	}
	return nil
}

func (a *account) User() string { return a.u.name }

// hasChildren reports whether any mailbox of u lies below name. u.mu is held.
func (u *user) hasChildren(name string) bool {
	for n := range u.boxes {
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
	u := a.u
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]mailbox.MailboxInfo, 0, len(u.boxes))
	for name, b := range u.boxes {
		info := mailbox.MailboxInfo{Name: name, Subscribed: u.subs[name]}
		if b.noselect {
			info.Attrs = append(info.Attrs, mailbox.AttrNoSelect)
		}
		if u.hasChildren(name) {
			info.Attrs = append(info.Attrs, mailbox.AttrHasChildren)
		} else {
			info.Attrs = append(info.Attrs, mailbox.AttrHasNoChildren)
		}
		if b.specialUse != "" {
			info.Attrs = append(info.Attrs, b.specialUse)
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(x, y mailbox.MailboxInfo) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	return out, nil
}

// newBox makes a selectable mailbox with a fresh UIDVALIDITY.
func (u *user) newBox(name string) *mbox {
	uv, id := u.store.nextUIDValidity()
	return newMbox(name, uv, id)
}

// createParents creates the missing parents of name as selectable
// mailboxes (RFC 9051 §6.3.4). u.mu is held.
func (a *account) createParents(name string) {
	var missing []string
	for p := mailbox.Parent(name); p != ""; p = mailbox.Parent(p) {
		if _, ok := a.u.boxes[p]; !ok {
			missing = append(missing, p)
		}
	}
	for _, p := range slices.Backward(missing) {
		a.u.boxes[p] = a.u.newBox(p)
		a.publish(mailbox.Event{Kind: mailbox.EventMailboxCreated, Mailbox: p})
	}
}

func (a *account) publish(ev mailbox.Event) {
	ev.User = a.u.name
	a.bus.Publish(ev)
}

func (a *account) Create(ctx context.Context, name string, opts *mailbox.CreateOptions) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	name, err := mailbox.ValidName(name)
	if err != nil {
		return err
	}
	var use mailbox.Attr
	if opts != nil && opts.SpecialUse != "" {
		if !opts.SpecialUse.IsSpecialUse() {
			return fmt.Errorf("memstore: %q is not a special-use attribute: %w", opts.SpecialUse, mailbox.ErrNotPermitted)
		}
		use = opts.SpecialUse
	}
	u := a.u
	u.mu.Lock()
	defer u.mu.Unlock()
	if b, ok := u.boxes[name]; ok && !b.noselect {
		return fmt.Errorf("memstore: create %q: %w", name, mailbox.ErrExist)
	}
	a.createParents(name)
	b := u.newBox(name)
	b.specialUse = use
	u.boxes[name] = b
	a.publish(mailbox.Event{Kind: mailbox.EventMailboxCreated, Mailbox: name})
	return nil
}

func (a *account) Delete(ctx context.Context, name string) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	name, err := mailbox.ValidName(name)
	if err != nil {
		return err
	}
	if name == mailbox.Inbox {
		return fmt.Errorf("memstore: delete INBOX: %w", mailbox.ErrNotPermitted)
	}
	u := a.u
	u.mu.Lock()
	defer u.mu.Unlock()
	b, ok := u.boxes[name]
	if !ok {
		return fmt.Errorf("memstore: delete %q: %w", name, mailbox.ErrNotExist)
	}
	if u.hasChildren(name) {
		if b.noselect {
			return fmt.Errorf("memstore: delete %q: %w", name, mailbox.ErrHasChildren)
		}
		// RFC 9051 §6.3.5: the messages go, the name stays as \Noselect.
		u.boxes[name] = &mbox{name: name, noselect: true}
	} else {
		delete(u.boxes, name)
	}
	b.kill(u)
	a.publish(mailbox.Event{Kind: mailbox.EventMailboxDeleted, Mailbox: name})
	return nil
}

// kill marks b deleted, so that open handles get ErrNotExist, and gives
// its messages back to the quota. u.mu is held.
func (b *mbox) kill(u *user) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted = true
	var size int64
	for _, m := range b.msgs {
		size += int64(len(m.data))
	}
	u.quotaLock.Lock()
	u.storage -= size
	u.messages -= int64(len(b.msgs))
	u.quotaLock.Unlock()
	b.msgs, b.tombs = nil, nil
	b.resetCounts()
}

func (a *account) Rename(ctx context.Context, oldName, newName string) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	oldName, err := mailbox.ValidName(oldName)
	if err != nil {
		return err
	}
	newName, err = mailbox.ValidName(newName)
	if err != nil {
		return err
	}
	u := a.u
	u.mu.Lock()
	defer u.mu.Unlock()
	src, ok := u.boxes[oldName]
	if !ok {
		return fmt.Errorf("memstore: rename %q: %w", oldName, mailbox.ErrNotExist)
	}
	if _, ok := u.boxes[newName]; ok {
		return fmt.Errorf("memstore: rename to %q: %w", newName, mailbox.ErrExist)
	}
	if oldName == mailbox.Inbox {
		a.renameInbox(src, newName)
		return nil
	}
	if mailbox.IsChild(newName, oldName) {
		return fmt.Errorf("memstore: rename %q under itself: %w", oldName, mailbox.ErrNotPermitted)
	}
	// The mailbox and its children, checked before anything moves.
	moves := [][2]string{{oldName, newName}}
	for n := range u.boxes {
		if mailbox.IsChild(n, oldName) {
			to, err := mailbox.ValidName(newName + n[len(oldName):])
			if err != nil {
				return err
			}
			if _, ok := u.boxes[to]; ok {
				return fmt.Errorf("memstore: rename to %q: %w", to, mailbox.ErrExist)
			}
			moves = append(moves, [2]string{n, to})
		}
	}
	slices.SortFunc(moves[1:], func(x, y [2]string) int {
		switch {
		case x[0] < y[0]:
			return -1
		case x[0] > y[0]:
			return 1
		}
		return 0
	})
	boxes := make([]*mbox, len(moves))
	for i, mv := range moves {
		boxes[i] = u.boxes[mv[0]]
		delete(u.boxes, mv[0])
	}
	a.createParents(newName)
	for i, mv := range moves {
		b := boxes[i]
		b.mu.Lock()
		b.name = mv[1]
		b.mu.Unlock()
		u.boxes[mv[1]] = b
		a.publish(mailbox.Event{Kind: mailbox.EventMailboxRenamed, Mailbox: mv[1], OldName: mv[0]})
	}
	return nil
}

// renameInbox moves every message of INBOX into a new mailbox newName and
// leaves INBOX empty, with its UIDVALIDITY and UIDNEXT (RFC 9051 §6.3.6).
// INBOX's children stay. u.mu is held.
func (a *account) renameInbox(inbox *mbox, newName string) {
	u := a.u
	a.createParents(newName)
	b := u.newBox(newName)
	inbox.mu.Lock()
	defer inbox.mu.Unlock()
	b.msgs, inbox.msgs = inbox.msgs, nil
	b.unseen, b.flagged, b.size = inbox.unseen, inbox.flagged, inbox.size
	inbox.resetCounts()
	b.uidNext = inbox.uidNext
	b.modseq = inbox.modseq
	u.boxes[newName] = b
	a.publish(mailbox.Event{Kind: mailbox.EventMailboxCreated, Mailbox: newName})
	if len(b.msgs) == 0 {
		return
	}
	inbox.modseq++
	uids := make([]mailbox.UID, len(b.msgs))
	for i, m := range b.msgs {
		uids[i] = m.uid
		inbox.tombs = append(inbox.tombs, tomb{m.uid, inbox.modseq})
	}
	a.publish(mailbox.Event{Kind: mailbox.EventMessagesExpunged, Mailbox: mailbox.Inbox,
		UIDValidity: inbox.uidValidity, ModSeq: inbox.modseq, UIDs: uids})
}

func (a *account) SetSubscribed(ctx context.Context, name string, subscribed bool) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	name, err := mailbox.ValidName(name)
	if err != nil {
		return err
	}
	u := a.u
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.subs[name] == subscribed {
		return nil
	}
	if subscribed {
		u.subs[name] = true
	} else {
		delete(u.subs, name)
	}
	a.publish(mailbox.Event{Kind: mailbox.EventSubscriptionChanged, Mailbox: name, Subscribed: subscribed})
	return nil
}

func (a *account) Subscriptions(ctx context.Context) ([]string, error) {
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	a.u.mu.Lock()
	defer a.u.mu.Unlock()
	out := make([]string, 0, len(a.u.subs))
	for n := range a.u.subs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

func (a *account) Mailbox(ctx context.Context, name string) (mailbox.Mailbox, error) {
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	name, err := mailbox.ValidName(name)
	if err != nil {
		return nil, err
	}
	a.u.mu.Lock()
	b, ok := a.u.boxes[name]
	a.u.mu.Unlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("memstore: mailbox %q: %w", name, mailbox.ErrNotExist)
	case b.noselect:
		return nil, fmt.Errorf("memstore: mailbox %q: %w", name, mailbox.ErrNoSelect)
	}
	return &handle{u: a.u, box: b, bus: a.bus}, nil
}

// Watch subscribes fn to the user's events until cancel is called or the
// account is closed.
func (a *account) Watch(fn func(mailbox.Event)) (cancel func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return func() {}
	}
	cancel = a.bus.Subscribe(a.u.name, fn)
	a.cancels = append(a.cancels, cancel)
	return cancel
}

// LockMaildrop takes the user's maildrop lock; closing the account releases
// it too.
func (a *account) LockMaildrop(ctx context.Context) (func(), error) {
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	u := a.u
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.locked {
		return nil, fmt.Errorf("memstore: maildrop of %q: %w", u.name, mailbox.ErrInUse)
	}
	u.locked = true
	var once sync.Once
	release := func() {
		once.Do(func() {
			u.mu.Lock()
			u.locked = false
			u.mu.Unlock()
		})
	}
	a.mu.Lock()
	a.releases = append(a.releases, release)
	a.mu.Unlock()
	return release, nil
}

func (a *account) Quota(ctx context.Context) (mailbox.Quota, error) {
	if err := a.begin(ctx); err != nil {
		return mailbox.Quota{}, err
	}
	u := a.u
	u.quotaLock.Lock()
	defer u.quotaLock.Unlock()
	return mailbox.Quota{
		StorageUsed: u.storage, StorageLimit: u.maxStore,
		MessagesUsed: u.messages, MessagesLimit: u.maxMsgs,
	}, nil
}

// Close cancels the handle's watches and releases its maildrop lock.
// Mailbox handles opened through it stay usable.
func (a *account) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	cancels, releases := a.cancels, a.releases
	a.cancels, a.releases = nil, nil
	a.mu.Unlock()
	for _, c := range cancels {
		c()
	}
	for _, r := range releases {
		r()
	}
	return nil
}
