package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// checkDirs scans new/ and cur/ when their mtimes say something changed
// since we last looked, or when force is set. The lock is held.
func (f *folder) checkDirs(force bool) error {
	if !force && !f.dirsChanged() {
		return nil
	}
	if _, err := f.root.Stat("cur"); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			f.deleted.Store(true)
			return fmt.Errorf("maildir: %q: %w", f.Name(), mailbox.ErrNotExist)
		}
		return err
	}
	return f.scan()
}

type dirEntry struct {
	name string
	cur  bool
}

// listDirs reads new/ then cur/ (in that order, so that a message moved
// from new/ to cur/ meanwhile is seen in one of them) and returns the
// entries by base name. Only names are read: what is not a regular file
// is weeded out by the Lstat before a file is adopted, and by O_NOFOLLOW
// when a message is opened.
func (f *folder) listDirs() (map[string]dirEntry, error) {
	out := make(map[string]dirEntry, len(f.s.msgs)+16)
	for _, sub := range []string{"new", "cur"} {
		d, err := f.root.Open(sub)
		if err != nil {
			return nil, err
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if !nameOK([]byte(name)) {
				continue
			}
			out[baseOf(name)] = dirEntry{name: name, cur: sub == "cur"}
		}
	}
	return out, nil
}

// baseBytes is baseOf without a string conversion.
func baseBytes(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

// scan reconciles the index with the files: new files get UIDs, renamed
// files update flags, missing files are expunged. The lock is held.
func (f *folder) scan() error {
	start := time.Now()
	nfi, err1 := f.root.Stat("new")
	cfi, err2 := f.root.Stat("cur")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	s := f.s
	var (
		files   map[string]dirEntry
		missing []uint32
	)
	for attempt := 0; attempt < 2; attempt++ {
		var err error
		if files, err = f.listDirs(); err != nil {
			return err
		}
		missing = missing[:0]
		for i := range s.msgs {
			m := &s.msgs[i]
			if _, ok := files[string(baseBytes(s.nameBytes(m)))]; !ok {
				missing = append(missing, m.uid)
			}
		}
		if len(missing) == 0 {
			break
		}
		// A rename racing the directory read may hide a file: look again
		// before declaring it gone.
	}
	st := &statter{root: f.root}
	defer st.close()
	var e enc
	var ours []diskEntry
	modseq := s.highest
	for i := range s.msgs {
		m := &s.msgs[i]
		cur := s.nameBytes(m)
		de, ok := files[string(baseBytes(cur))]
		if !ok {
			continue
		}
		if de.name == string(cur) && de.cur == (m.flags&inCur != 0) {
			delete(files, string(baseBytes(cur)))
			continue // where we left it (renamed later if it waits)
		}
		if m.pending() && de.cur && de.name == string(appendWithFlags(nil, cur, m.want&flagMask)) {
			// Our own rename, whose K record a crash lost.
			delete(files, string(baseBytes(cur)))
			ours = append(ours, diskEntry{uid: m.uid, disk: m.want})
			continue
		}
		// Renamed: a program that rewrote the message under the same base
		// name (Python's mailbox does on a flag change) may have changed
		// its bytes. IMAP messages never change, so a new size makes it a
		// new message: the old UID is expunged, the file adopted below.
		sub := "new/"
		if de.cur {
			sub = "cur/"
		}
		if fi, err := st.lstat(sub, de.name); err == nil && fi.Size() != m.size {
			missing = append(missing, m.uid)
			continue
		}
		delete(files, string(baseBytes(cur)))
		fn, _ := parseName(de.name)
		flags := fn.Flags
		if de.cur {
			flags |= inCur
		}
		var ms uint64
		if flags&flagMask != m.want&flagMask {
			modseq++
			ms = modseq
		}
		e.rename(ms, m.uid, flags, de.name)
	}
	if len(ours) > 0 {
		e.onDisk(ours)
	}
	if len(missing) > 0 {
		modseq++
		e.expunge(modseq, missing)
	}
	if len(files) > 0 {
		names := make([]string, 0, len(files))
		for base := range files {
			names = append(names, base)
		}
		slices.Sort(names) // Maildir names start with the delivery time
		uid := s.uidNext
		now := time.Now().UnixNano()
		var (
			dirty   [2]bool
			indexed map[string]bool
			buf     []byte // for reading the files
		)
		taken := func(base string) bool {
			if _, ok := files[base]; ok {
				return true
			}
			if indexed == nil {
				indexed = make(map[string]bool, len(s.msgs))
				for i := range s.msgs {
					indexed[string(baseBytes(s.nameBytes(&s.msgs[i])))] = true
				}
			}
			return indexed[base]
		}
		for _, base := range names {
			de := files[base]
			sub := "new/"
			if de.cur {
				sub = "cur/"
			}
			fi, err := st.lstat(sub, de.name)
			if err != nil || !fi.Mode().IsRegular() {
				continue // gone meanwhile, or not a plain file
			}
			if buf == nil {
				buf = make([]byte, 64<<10)
			}
			name, size, converted, err := f.crlfize(sub, de.name, taken, buf)
			switch {
			case err != nil:
				// Unreadable, or moved meanwhile: the next scan looks again.
				f.logger().Warn("maildir: cannot adopt message file", slog.String("mailbox", f.Name()),
					slog.String("file", sub+de.name), slog.Any("error", err))
				continue
			case name == "":
				continue // a duplicate of a converted copy, removed
			case converted:
				dirty[boolInt(de.cur)] = true
			}
			fn, _ := parseName(name)
			m := msgRec{uid: uid, flags: fn.Flags, size: size, idate: fi.ModTime().UnixNano(), sdate: now}
			if de.cur {
				m.flags |= inCur
			}
			if uid == 1<<32-1 {
				return errors.New("maildir: UID space exhausted")
			}
			modseq++
			m.modseq = modseq
			e.add(&m, name, nil)
			uid++
		}
		// The converted files must be in their directories for good
		// before the index names them.
		for i, sub := range []string{"new", "cur"} {
			if dirty[i] {
				if err := syncDir(f.root, sub); err != nil {
					return err
				}
			}
		}
	}
	stamp := dirStamp{nfi.ModTime().UnixNano(), cfi.ModTime().UnixNano(), start.UnixNano()}
	// Record the mtimes the index now covers, once they have settled (a
	// cold open then skips the scan). An unchanged, already trusted stamp
	// is not written again.
	settled := func(d dirStamp) bool { return d.scanned >= max(d.newMtime, d.curMtime)+int64(mtimeSlack) }
	if settled(stamp) && (len(e.b) > 0 || stamp.newMtime != s.dirs.newMtime || stamp.curMtime != s.dirs.curMtime || !settled(s.dirs)) {
		e.dirStamp(stamp)
	}
	if len(e.b) > 0 {
		f.t.use.invalidate() // outside changes: count the quota use again
		if err := f.commit(&e, true); err != nil {
			return err
		}
		if len(missing) > 0 && f.meta != nil {
			f.meta.drop(missing)
		}
	}
	f.seenNew, f.seenCur, f.scanAt = stamp.newMtime, stamp.curMtime, start
	f.scanCost = time.Since(start)
	if d := time.Since(start); d > 100*time.Millisecond {
		f.logger().Debug("maildir: folder scan", slog.String("mailbox", f.Name()),
			slog.Int("messages", len(s.msgs)), slog.Duration("took", d))
	}
	return nil
}

// statter stats files in new/ and cur/ through an os.Root opened on each,
// so that each stat is one fstatat(2) on a single name.
type statter struct {
	root     *os.Root
	new, cur *os.Root
}

func (st *statter) lstat(sub, name string) (os.FileInfo, error) {
	r := &st.new
	if sub == "cur/" {
		r = &st.cur
	}
	if *r == nil {
		sr, err := st.root.OpenRoot(sub[:3])
		if err != nil {
			return nil, err
		}
		*r = sr
	}
	return (*r).Lstat(name)
}

func (st *statter) close() {
	if st.new != nil {
		st.new.Close()
	}
	if st.cur != nil {
		st.cur.Close()
	}
}

// openFile opens the file of message uid (mu held). It trusts the index
// first, without looking for changes: when the UID is unknown or its file
// has moved (another process's append, an outside rename), it catches up
// with the index and the directories once and tries again.
//
// The second try holds the lock file, so that another process's flusher
// cannot rename the file again between the catch-up and the open.
func (f *folder) openFile(uid uint32) (*os.File, int64, error) {
	locked := false
	defer func() {
		if locked {
			funlock(f.lockf)
		}
	}()
	for attempt := 0; ; attempt++ {
		i := f.s.find(uid)
		var err error
		if i >= 0 {
			m := &f.s.msgs[i]
			var file *os.File
			file, err = f.openMsg(m)
			if err == nil {
				return file, m.size, nil
			}
		}
		if attempt > 0 || (err != nil && !errors.Is(err, fs.ErrNotExist)) {
			if i < 0 {
				err = fmt.Errorf("maildir: UID %d: %w", uid, mailbox.ErrNotExist)
			}
			return nil, 0, err
		}
		f.closeSubs() // in case new/ or cur/ was replaced
		if err := flock(f.lockf); err != nil {
			return nil, 0, err
		}
		locked = true
		err = f.refresh()
		if err == nil {
			// A missing file forces a rescan; an unknown UID only a look
			// at the mtimes (so that asking for UIDs that do not exist
			// costs no directory reads).
			err = f.checkDirs(i >= 0)
		}
		if err != nil {
			return nil, 0, err
		}
	}
}

// openMsg opens the file of m (mu held) through new/ or cur/ kept open, so
// that it costs one openat(2) on a single name.
func (f *folder) openMsg(m *msgRec) (*os.File, error) {
	cur := m.flags&inCur != 0
	r, err := f.sub(cur)
	if err != nil {
		return nil, err
	}
	return openIn(f.subDirs[boolInt(cur)], r, f.s.name(m))
}

// sub returns new/ or cur/ (mu held), opened once for the folder, as an
// os.Root and (in subDirs) as an open directory.
func (f *folder) sub(cur bool) (*os.Root, error) {
	name, i := "new", 0
	if cur {
		name, i = "cur", 1
	}
	if f.subs[i] == nil {
		r, err := f.root.OpenRoot(name)
		if err != nil {
			return nil, err
		}
		d, err := r.Open(".")
		if err != nil {
			r.Close()
			return nil, err
		}
		f.subs[i], f.subDirs[i] = r, d
	}
	return f.subs[i], nil
}

// renameMsg gives the file of m the name newName in cur/ (mu held): one
// rename between the directories new/ or cur/ and cur/, kept open.
func (f *folder) renameMsg(m *msgRec, newName []byte) error {
	if _, err := f.sub(true); err != nil {
		return err
	}
	from, sub := f.subDirs[1], "cur"
	if m.flags&inCur == 0 {
		if _, err := f.sub(false); err != nil {
			return err
		}
		from, sub = f.subDirs[0], "new"
	}
	return renameIn(f.root, from, sub, f.s.nameBytes(m), f.subDirs[1], "cur", newName, &f.renameBuf)
}

// closeSubs closes the handles openMsg keeps (mu held).
func (f *folder) closeSubs() {
	for i, r := range f.subs {
		if r != nil {
			r.Close()
			f.subDirs[i].Close()
			f.subs[i], f.subDirs[i] = nil, nil
		}
	}
}
