package maildir

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"

	"github.com/posthorn/posthorn/mailbox"
)

// The metadata cache of a folder (mailbox.MetadataCache) is the file
// "posthorn-meta": records framed like the index (length, CRC-32C, type),
// a header holding the UIDVALIDITY it belongs to, then one record per
// SetMetadata (UID and the opaque data). The newest record for a UID wins.
// It is not fsynced: losing it costs a re-parse. Only the offsets live in
// memory, and only once the cache is first used.
const (
	metaFile  = "posthorn-meta"
	metaMagic = "posthorn maildir metadata"
	recMeta   = 'M'
	recMetaH  = 'h'

	maxMetadata = 16 << 20
	metaWindow  = 256 << 10 // read-ahead for sequential FETCHes
)

type metaRef struct {
	uid uint32
	n   int32 // frame length
	off int64 // of the record's frame
}

// metaRefs is a set of metaRef sorted by UID: 16 bytes per message, and
// appending in UID order (the usual case) costs no move.
type metaRefs []metaRef

func (r metaRefs) search(uid uint32) (int, bool) {
	return slices.BinarySearchFunc(r, uid, func(x metaRef, u uint32) int { return cmp.Compare(x.uid, u) })
}

func (r metaRefs) get(uid uint32) (metaRef, bool) {
	if i, ok := r.search(uid); ok {
		return r[i], true
	}
	return metaRef{}, false
}

// put adds or replaces ref and returns the frame length it replaced.
func (r *metaRefs) put(ref metaRef) (old int32) {
	if n := len(*r); n == 0 || (*r)[n-1].uid < ref.uid {
		*r = append(*r, ref)
		return 0
	}
	i, ok := r.search(ref.uid)
	if ok {
		old = (*r)[i].n
		(*r)[i] = ref
		return old
	}
	*r = slices.Insert(*r, i, ref)
	return 0
}

func (r *metaRefs) del(uid uint32) (old int32) {
	if i, ok := r.search(uid); ok {
		old = (*r)[i].n
		*r = slices.Delete(*r, i, i+1)
	}
	return old
}

type metaStore struct {
	file    *os.File
	uv      uint32
	refs    metaRefs
	end     int64
	live    int64
	buf     []byte
	bufOff  int64
	scratch []byte
}

func (m *metaStore) close() { m.file.Close() }

// metaLoad opens the metadata cache of the folder (mu held).
func (f *folder) metaLoad() (*metaStore, error) {
	if f.meta != nil && f.meta.uv == f.s.uidValidity {
		return f.meta, nil
	}
	if f.meta != nil {
		f.meta.close()
		f.meta = nil
	}
	file, err := f.root.OpenFile(metaFile, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	m := &metaStore{file: file, uv: f.s.uidValidity}
	if err := m.readFrom(0, f.s); err != nil {
		// Wrong UIDVALIDITY, no header or damage: start the cache afresh.
		if err := m.reset(); err != nil {
			file.Close()
			return nil, err
		}
	}
	f.meta = m
	return m, nil
}

// metaReplaced reports whether another process compacted the cache file
// since we opened it (mu held); the caller then loads it again.
func (f *folder) metaReplaced() bool {
	if f.meta == nil {
		return false
	}
	onDisk, err1 := f.root.Stat(metaFile)
	ours, err2 := f.meta.file.Stat()
	return err1 == nil && err2 == nil && inode(onDisk) != inode(ours)
}

// metaReload drops the cache state so that metaLoad reads the file again.
func (f *folder) metaReload() {
	if f.meta != nil {
		f.meta.close()
		f.meta = nil
	}
}

func (m *metaStore) reset() error {
	if err := m.file.Truncate(0); err != nil {
		return err
	}
	var e enc
	st := e.begin(recMetaH)
	e.b = append(e.b, metaMagic...)
	e.u32(m.uv)
	e.end(st)
	if _, err := m.file.Write(e.b); err != nil {
		return err
	}
	m.refs = m.refs[:0]
	m.end, m.live, m.buf = int64(len(e.b)), 0, nil
	return nil
}

var errMetaStale = errors.New("maildir: metadata cache of another UIDVALIDITY")

// readFrom indexes the records from offset off to the end of the file.
func (m *metaStore) readFrom(off int64, s *state) error {
	r := bufio.NewReaderSize(io.NewSectionReader(m.file, off, 1<<62), 1<<20)
	var head [frameHead]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if off == 0 {
				return errMetaStale // empty or no header
			}
			m.end = off
			return nil
		}
		n := int64(binary.LittleEndian.Uint32(head[:]))
		if n < 5 || n > maxMetadata+5 {
			if off == 0 {
				return errMetaStale
			}
			m.end = off
			return nil
		}
		switch {
		case off == 0:
			body := make([]byte, n-1)
			if _, err := io.ReadFull(r, body); err != nil || head[8] != recMetaH ||
				string(body) != metaMagic+string(binary.LittleEndian.AppendUint32(nil, m.uv)) {
				return errMetaStale
			}
		case head[8] == recMeta:
			var u [4]byte
			if _, err := io.ReadFull(r, u[:]); err != nil {
				m.end = off
				return nil
			}
			if _, err := r.Discard(int(n - 5)); err != nil {
				m.end = off
				return nil
			}
			uid := binary.LittleEndian.Uint32(u[:])
			if s.find(uid) >= 0 {
				m.live -= int64(m.refs.put(metaRef{uid, int32(8 + n), off}))
				m.live += 8 + n
			}
		default:
			m.end = off
			return nil
		}
		off += 8 + n
	}
}

// get returns the data stored for uid, or ErrNotExist.
func (m *metaStore) get(uid uint32, s *state) ([]byte, error) {
	ref, ok := m.refs.get(uid)
	if !ok {
		// Another process may have added it: index what was appended.
		if fi, err := m.file.Stat(); err == nil && fi.Size() > m.end {
			m.readFrom(m.end, s)
			ref, ok = m.refs.get(uid)
		}
		if !ok {
			return nil, fmt.Errorf("maildir: no metadata for UID %d: %w", uid, mailbox.ErrNotExist)
		}
	}
	frame, err := m.read(ref)
	if err != nil {
		return nil, err
	}
	if crc32.Checksum(frame[8:], crcTable) != binary.LittleEndian.Uint32(frame[4:]) ||
		binary.LittleEndian.Uint32(frame[9:]) != uid {
		m.live -= int64(m.refs.del(uid))
		return nil, fmt.Errorf("maildir: metadata for UID %d damaged: %w", uid, mailbox.ErrNotExist)
	}
	return append([]byte(nil), frame[13:]...), nil
}

// read returns the bytes of a frame, through a read-ahead window.
func (m *metaStore) read(ref metaRef) ([]byte, error) {
	end := ref.off + int64(ref.n)
	if ref.off >= m.bufOff && end <= m.bufOff+int64(len(m.buf)) {
		return m.buf[ref.off-m.bufOff : end-m.bufOff], nil
	}
	size := max(int64(ref.n), metaWindow)
	if cap(m.buf) < int(size) {
		m.buf = make([]byte, size)
	}
	m.buf = m.buf[:size]
	n, err := m.file.ReadAt(m.buf, ref.off)
	if n < int(ref.n) {
		m.buf = m.buf[:0]
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	m.buf, m.bufOff = m.buf[:n], ref.off
	return m.buf[:ref.n], nil
}

// set appends a record for uid.
func (m *metaStore) set(uid uint32, data []byte) error {
	var e enc
	e.b = m.scratch[:0]
	st := e.begin(recMeta)
	e.u32(uid)
	e.b = append(e.b, data...)
	e.end(st)
	m.scratch = e.b[:0]
	fi, err := m.file.Stat()
	if err != nil {
		return err
	}
	off := fi.Size()
	if _, err := m.file.Write(e.b); err != nil {
		return err
	}
	m.live -= int64(m.refs.put(metaRef{uid, int32(len(e.b)), off}))
	m.live += int64(len(e.b))
	m.end = off + int64(len(e.b))
	m.buf = m.buf[:0]
	return nil
}

// drop forgets the metadata of expunged messages; the space is reclaimed
// by compact.
func (m *metaStore) drop(uids []uint32) {
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	m.refs = slices.DeleteFunc(m.refs, func(r metaRef) bool {
		if gone[r.uid] {
			m.live -= int64(r.n)
			return true
		}
		return false
	})
}

// compact rewrites the cache without dead records once they are the
// majority (lock held).
func (f *folder) metaCompact(m *metaStore) error {
	if m.end < 1<<20 || m.live*2 > m.end {
		return nil
	}
	tmp := metaFile + ".new"
	nf, err := f.root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fresh := &metaStore{file: nf, uv: m.uv, refs: make(metaRefs, 0, len(m.refs))}
	err = fresh.reset()
	for _, ref := range slices.Clone(m.refs) {
		uid := ref.uid
		if err != nil {
			break
		}
		var data []byte
		if data, err = m.get(uid, f.s); err == nil {
			err = fresh.set(uid, data)
		} else if errors.Is(err, mailbox.ErrNotExist) {
			err = nil
		}
	}
	if err == nil {
		err = f.root.Rename(tmp, metaFile)
	}
	if err != nil {
		nf.Close()
		f.root.Remove(tmp)
		return err
	}
	m.close()
	f.meta = fresh
	return nil
}
