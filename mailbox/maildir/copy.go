package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"github.com/posthorn/posthorn/mailbox"
)

// treePath returns a path inside the folder as a path relative to the
// user's tree (the folder's directory may change with a rename).
func (f *folder) treePath(p string) string {
	f.t.fmu.Lock()
	defer f.t.fmu.Unlock()
	return f.dir + "/" + p
}

// source is one message to copy or move, as read from the source folder.
type source struct {
	uid  uint32
	path string // relative to the tree
	name string
	rec  msgRec
	kws  []string
	meta []byte // cached metadata, carried to the copy
}

func (f *folder) sources(uids []uint32) ([]source, error) {
	if err := f.lockSynced(); err != nil {
		return nil, err
	}
	defer f.unlock()
	// The copies link, and moves rename, the files by their names: those
	// waiting for the flusher are renamed now, so that it does not rename
	// them from under us.
	if err := f.flushUIDs(uids); err != nil {
		return nil, err
	}
	s := f.s
	var ms *metaStore
	if _, err := f.root.Stat(metaFile); err == nil {
		ms, _ = f.metaLoad()
	}
	var out []source
	for _, uid := range uids {
		i := s.find(uid)
		if i < 0 {
			continue
		}
		m := &s.msgs[i]
		src := source{uid: uid, path: f.treePath(s.path(m)), name: s.name(m), rec: *m, kws: s.keywords(m)}
		if ms != nil {
			src.meta, _ = ms.get(uid, s)
		}
		out = append(out, src)
	}
	return out, nil
}

func (m *mbox) destination(ctx context.Context, dest string) (*folder, error) {
	name, dir, err := canonicalName(dest)
	if err != nil {
		return nil, err
	}
	return m.f.t.openFolder(dir, name)
}

// CopyTo implements mailbox.Copier: the copies are hard links of the
// source files (a byte copy where the file system refuses links), with the
// same flags, keywords and internal date.
func (m *mbox) CopyTo(ctx context.Context, uids []mailbox.UID, dest string) (mailbox.CopyResult, error) {
	var res mailbox.CopyResult
	if err := m.begin(ctx); err != nil {
		return res, err
	}
	df, err := m.destination(ctx, dest)
	if err != nil {
		return res, err
	}
	defer df.release()
	srcs, err := m.f.sources(sortedUIDs(uids))
	if err != nil {
		return res, err
	}
	t := m.f.t
	var total int64
	for _, src := range srcs {
		total += src.rec.size
	}
	if m.quota.limited() && len(srcs) > 0 {
		room, err := m.quota.room(ctx, t, int64(len(srcs)))
		if err != nil {
			return res, err
		}
		if room >= 0 && total > room {
			return res, fmt.Errorf("maildir: copies of %d octets, %d left in the quota: %w", total, room, mailbox.ErrOverQuota)
		}
	}
	var ps []pending
	var from []uint32
	defer func() {
		for _, p := range ps {
			df.root.Remove(p.tmp) // those not installed
		}
	}()
	for _, src := range srcs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		base := uniqueBase() + ",S=" + strconv.FormatInt(src.rec.size, 10)
		tmp := "tmp/" + base
		if err := t.root.Link(src.path, df.treePath(tmp)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // expunged or renamed meanwhile
			}
			if err := copyFile(ctx, t.root, src.path, df.root, tmp); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return res, err
			}
		}
		rec := src.rec
		rec.sdate = nowNano()
		name := base
		rec.flags = rec.want // the copy carries the flags in its name
		if rec.flags&inCur != 0 {
			name = withFlags(base, rec.flags&flagMask)
		}
		ps = append(ps, pending{tmp: tmp, name: name, rec: rec, kws: src.kws, meta: src.meta})
		from = append(from, src.uid)
	}
	out, err := df.install(ps)
	var added, n int64
	for i, u := range out {
		if u != 0 {
			added += ps[i].rec.size
			n++
		}
	}
	t.use.add(added, n)
	ps = nil
	st, serr := df.statusNow()
	res.UIDValidity = st.UIDValidity
	for i, u := range out {
		if u != 0 {
			res.Source = append(res.Source, mailbox.UID(from[i]))
			res.Dest = append(res.Dest, mailbox.UID(u))
		}
	}
	if err == nil {
		err = serr
	}
	return res, err
}

// MoveTo implements mailbox.Mover: each file is renamed into the
// destination and recorded there before the source records the expunge,
// so a crash in between leaves the message in the destination only.
func (m *mbox) MoveTo(ctx context.Context, uids []mailbox.UID, dest string) (mailbox.CopyResult, error) {
	var res mailbox.CopyResult
	if err := m.begin(ctx); err != nil {
		return res, err
	}
	df, err := m.destination(ctx, dest)
	if err != nil {
		return res, err
	}
	defer df.release()
	if df == m.f {
		// Into itself: copies, then expunge the originals.
		res, err := m.CopyTo(ctx, uids, dest)
		if err == nil && len(res.Source) > 0 {
			_, err = m.Expunge(ctx, res.Source)
		}
		return res, err
	}
	srcs, err := m.f.sources(sortedUIDs(uids))
	if err != nil {
		return res, err
	}
	ps := make([]pending, len(srcs))
	now := nowNano()
	for i, src := range srcs {
		rec := src.rec
		rec.sdate = now
		name := src.name
		if rec.pending() { // its rename failed: it gets its flags now
			name = string(appendWithFlags(nil, []byte(name), rec.want&flagMask))
			rec.flags = rec.want
		}
		ps[i] = pending{src: src.path, name: name, rec: rec, kws: src.kws, meta: src.meta}
	}
	out, err := df.install(ps)
	var moved []uint32
	for i, u := range out {
		if u != 0 {
			moved = append(moved, srcs[i].uid)
			res.Source = append(res.Source, mailbox.UID(srcs[i].uid))
			res.Dest = append(res.Dest, mailbox.UID(u))
		}
	}
	st, serr := df.statusNow()
	res.UIDValidity = st.UIDValidity
	if len(moved) > 0 {
		if lerr := m.f.lockSynced(); lerr != nil {
			return res, lerr
		}
		_, xerr := m.f.expungeLocked(moved, false)
		m.f.unlock()
		if err == nil {
			err = xerr
		}
	}
	if err == nil {
		err = serr
	}
	return res, err
}

func (f *folder) statusNow() (mailbox.Status, error) {
	if err := f.readLock(); err != nil {
		return mailbox.Status{}, err
	}
	defer f.mu.Unlock()
	return f.s.status(), nil
}

// copyFile copies a message file byte for byte into dst (fsynced).
func copyFile(ctx context.Context, from *os.Root, src string, to *os.Root, dst string) error {
	in, err := from.OpenFile(src, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := to.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, ctxReader{ctx, in})
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		to.Remove(dst)
		return fmt.Errorf("maildir: copying %s: %w", src, err)
	}
	return nil
}
