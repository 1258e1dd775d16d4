package maildir

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// The index of a folder is the file "posthorn-index" in the folder's
// directory: an append-only log of records, each framed as
//
//	length uint32 LE | CRC-32C uint32 LE | type byte | payload
//
// where length counts the type byte and the payload and the CRC covers both.
// The first record is a header; every change appends one record, written
// with one write(2) and fsynced before the operation returns. A crash can
// only leave a torn last record, which the next writer truncates away. A
// record failing its checksum anywhere else means the index is corrupt: the
// folder is rebuilt from its files with a new UIDVALIDITY, so no UID is ever
// reused wrongly. When the log grows past twice the size of a snapshot it is
// compacted: a snapshot is written to a new file, fsynced and renamed over
// the old one.
const (
	indexFile    = "posthorn-index"
	indexMagic   = "posthorn maildir index"
	indexVersion = 1
	frameHead    = 9 // length, CRC, type
)

// Record types.
const (
	recHeader  = 'H' // version, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ
	recAdd     = 'A' // one message added (append, scan, snapshot)
	recFlags   = 'F' // flags of messages changed through the store
	recRename  = 'N' // a message's file renamed (outside change, or a move to cur/)
	recExpunge = 'X' // messages removed
	recTombs   = 'T' // snapshot of tombstones
	recDirs    = 'D' // new/ and cur/ mtimes covered by the last full scan
)

// maxRecord is the largest record the loader accepts (a variable so that
// a test can show that large changes are split).
var maxRecord = 1 << 26

var (
	crcTable   = crc32.MakeTable(crc32.Castagnoli)
	errCorrupt = errors.New("maildir: index corrupt")
)

// enc builds one record.
type enc struct{ b []byte }

func (e *enc) begin(typ byte) int {
	start := len(e.b)
	e.b = append(e.b, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return start
}

func (e *enc) end(start int) {
	body := e.b[start+8:]
	binary.LittleEndian.PutUint32(e.b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(e.b[start+4:], crc32.Checksum(body, crcTable))
}

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *enc) str16(s string) {
	e.u16(uint16(len(s)))
	e.b = append(e.b, s...)
}
func (e *enc) keywords(kws []string) {
	e.u16(uint16(len(kws)))
	for _, k := range kws {
		e.u8(uint8(len(k)))
		e.b = append(e.b, k...)
	}
}

func (e *enc) header(s *state) {
	st := e.begin(recHeader)
	e.b = append(e.b, indexMagic...)
	e.u8(indexVersion)
	e.u32(s.uidValidity)
	e.u32(s.uidNext)
	e.u64(s.highest)
	e.end(st)
}

func (e *enc) add(m *msgRec, name string, kws []string) {
	st := e.begin(recAdd)
	e.u32(m.uid)
	e.u64(m.modseq)
	e.u64(uint64(m.size))
	e.u64(uint64(m.idate))
	e.u64(uint64(m.sdate))
	e.u8(m.flags)
	e.str16(name)
	e.keywords(kws)
	e.end(st)
}

type flagEntry struct {
	uid   uint32
	flags uint8 // system flag bits; the file moves to cur/ with matching info
	kws   []string
}

func (e *enc) flagChange(modseq uint64, entries []flagEntry) {
	st := e.begin(recFlags)
	e.u64(modseq)
	e.u32(uint32(len(entries)))
	for _, fe := range entries {
		e.u32(fe.uid)
		e.u8(fe.flags)
		e.keywords(fe.kws)
	}
	e.end(st)
}

func (e *enc) rename(modseq uint64, uid uint32, flags uint8, name string) {
	st := e.begin(recRename)
	e.u64(modseq)
	e.u32(uid)
	e.u8(flags)
	e.str16(name)
	e.end(st)
}

func (e *enc) expunge(modseq uint64, uids []uint32) {
	st := e.begin(recExpunge)
	e.u64(modseq)
	e.u32(uint32(len(uids)))
	for _, u := range uids {
		e.u32(u)
	}
	e.end(st)
}

func (e *enc) tombs(ts []tomb) {
	st := e.begin(recTombs)
	e.u32(uint32(len(ts)))
	for _, t := range ts {
		e.u32(t.uid)
		e.u64(t.modseq)
	}
	e.end(st)
}

func (e *enc) dirStamp(d dirStamp) {
	st := e.begin(recDirs)
	e.u64(uint64(d.newMtime))
	e.u64(uint64(d.curMtime))
	e.u64(uint64(d.scanned))
	e.end(st)
}

// maxTombs is how many tombstones a snapshot keeps; older ones are
// forgotten (Mailbox.Vanished then reports fewer, which QRESYNC tolerates).
const maxTombs = 1 << 16

// snapshot encodes the whole state as a fresh index file.
func (s *state) snapshot() []byte {
	e := enc{b: make([]byte, 0, 64+len(s.msgs)*(frameHead+48)+len(s.names)-s.garbage)}
	e.header(s)
	for i := range s.msgs {
		m := &s.msgs[i]
		e.add(m, s.name(m), s.keywords(m))
	}
	ts := s.tombs
	if len(ts) > maxTombs {
		ts = ts[len(ts)-maxTombs:]
	}
	if len(ts) > 0 {
		e.tombs(ts)
	}
	if s.dirs != (dirStamp{}) {
		e.dirStamp(s.dirs)
	}
	return e.b
}

// dec reads one record's payload with a sticky error.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) take(n int) []byte {
	if d.bad || n > len(d.b) {
		d.bad = true
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}
func (d *dec) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}
func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}
func (d *dec) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}
func (d *dec) str16() string { return string(d.take(int(d.u16()))) }
func (d *dec) keywords() []string {
	n := int(d.u16())
	if n == 0 {
		return nil
	}
	if n > len(d.b) {
		d.bad = true
		return nil
	}
	kws := make([]string, 0, n)
	for range n {
		k := string(d.take(int(d.u8())))
		if d.bad || k == "" || k[0] == '\\' || mailbox.ValidFlag(mailbox.Flag(k)) != nil ||
			strings.EqualFold(k, string(mailbox.KeywordForwarded)) {
			d.bad = true
			return nil
		}
		if len(kws) > 0 && kws[len(kws)-1] >= k {
			d.bad = true // keyword lists are sorted and without duplicates
			return nil
		}
		kws = append(kws, k)
	}
	return kws
}

// changes collects what applying records did, for events.
type changes struct {
	added    []uint32
	flagged  []uint32
	expunged []uint32
}

func (c *changes) any() bool {
	return c != nil && len(c.added)+len(c.flagged)+len(c.expunged) > 0
}

// readLog replays the records in data into s. It returns how many bytes hold
// whole, valid records. A damaged record that ends the data (a torn write)
// stops the replay without error; damage followed by more data, or a record
// that contradicts the state (a UID going backwards), returns errCorrupt.
// When s is empty the first record must be the header. emit, when not nil,
// is called after each record with what it changed.
func (s *state) readLog(data []byte, emit func(*changes)) (int, error) {
	off := 0
	for off < len(data) {
		rest := data[off:]
		if len(rest) < frameHead {
			return off, tornTail(rest)
		}
		n := int(binary.LittleEndian.Uint32(rest))
		if n < 1 || n > maxRecord || 8+n > len(rest) {
			return off, tornTail(rest)
		}
		body := rest[8 : 8+n]
		if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(rest[4:]) {
			if 8+n == len(rest) {
				return off, nil // the last record, half written
			}
			return off, tornTail(rest)
		}
		if off == 0 && s.uidValidity == 0 && body[0] != recHeader {
			return off, errCorrupt
		}
		var ch *changes
		if emit != nil {
			ch = new(changes)
		}
		if err := s.apply(body[0], body[1:], ch); err != nil {
			return off, err
		}
		off += 8 + n
		if ch.any() {
			emit(ch)
		}
	}
	return off, nil
}

// tornTail decides whether damaged bytes at the end of a log are the
// leftovers of an interrupted write (a prefix of a record, or zeros from a
// file extended but never written) or corruption in the middle.
func tornTail(rest []byte) error {
	if len(rest) < frameHead {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(rest))
	if n >= 1 && n <= maxRecord && 8+n >= len(rest) {
		return nil // a record cut short by the end of the file
	}
	for _, c := range rest {
		if c != 0 {
			return errCorrupt
		}
	}
	return nil
}

func (s *state) apply(typ byte, p []byte, ch *changes) error {
	d := dec{b: p}
	switch typ {
	case recHeader:
		if s.uidValidity != 0 || string(d.take(len(indexMagic))) != indexMagic || d.u8() != indexVersion {
			return errCorrupt
		}
		s.uidValidity = d.u32()
		s.uidNext = d.u32()
		s.highest = d.u64()
		if d.bad || s.uidValidity == 0 || s.uidNext == 0 {
			return errCorrupt
		}
	case recAdd:
		var m msgRec
		m.uid = d.u32()
		m.modseq = d.u64()
		m.size = int64(d.u64())
		m.idate = int64(d.u64())
		m.sdate = int64(d.u64())
		m.flags = d.u8()
		name := d.take(int(d.u16()))
		kws := d.keywords()
		// UIDs grow through the log; a snapshot's header already holds the
		// final UIDNEXT, so the check is against the last UID added.
		if d.bad || !nameOK(name) || m.uid == 0 || m.uid == math.MaxUint32 ||
			m.uid <= s.lastAdded || m.size < 0 || m.modseq == 0 || m.flags&^(flagMask|inCur) != 0 {
			return errCorrupt
		}
		if len(s.msgs) > 0 && s.msgs[len(s.msgs)-1].uid >= m.uid {
			return errCorrupt
		}
		m.kw = s.kwID(kws)
		s.setNameBytes(&m, name)
		s.msgs = append(s.msgs, m)
		s.lastAdded = m.uid
		s.uidNext = max(s.uidNext, m.uid+1)
		s.highest = max(s.highest, m.modseq)
		if ch != nil {
			ch.added = append(ch.added, m.uid)
		}
	case recFlags:
		modseq := d.u64()
		n := int(d.u32())
		if d.bad || modseq == 0 || n > len(d.b)/5 {
			return errCorrupt
		}
		for range n {
			uid := d.u32()
			bits := d.u8()
			kws := d.keywords()
			if d.bad || bits&^flagMask != 0 {
				return errCorrupt
			}
			i := s.find(uid)
			if i < 0 {
				continue
			}
			m := &s.msgs[i]
			if m.flags&flagMask != bits || m.flags&inCur == 0 {
				// The new name goes straight into the arena, built from
				// the old one there (no string in between).
				off := len(s.names)
				s.names = appendWithFlags(s.names, s.nameBytes(m), bits)
				name := s.names[off:]
				if len(name) > 255 || !nameOK(name) {
					s.names = s.names[:off]
					return errCorrupt
				}
				s.garbage += int(m.nameLen)
				m.nameOff, m.nameLen = uint32(off), uint16(len(name))
			} else if !nameOK(s.nameBytes(m)) {
				return errCorrupt
			}
			m.flags = bits | inCur
			m.kw = s.kwID(kws)
			m.modseq = modseq
			if ch != nil {
				ch.flagged = append(ch.flagged, uid)
			}
		}
		s.highest = max(s.highest, modseq)
	case recRename:
		modseq := d.u64()
		uid := d.u32()
		flags := d.u8()
		name := d.str16()
		if _, ok := parseName(name); d.bad || !ok || flags&^(flagMask|inCur) != 0 {
			return errCorrupt
		}
		if i := s.find(uid); i >= 0 {
			m := &s.msgs[i]
			s.setName(m, name)
			m.flags = flags
			if modseq != 0 {
				m.modseq = modseq
				if ch != nil {
					ch.flagged = append(ch.flagged, uid)
				}
			}
		}
		s.highest = max(s.highest, modseq)
	case recExpunge:
		modseq := d.u64()
		n := int(d.u32())
		if d.bad || modseq == 0 || n != len(d.b)/4 || len(d.b)%4 != 0 {
			return errCorrupt
		}
		gone := make(map[uint32]bool, n)
		for range n {
			uid := d.u32()
			if s.find(uid) >= 0 && !gone[uid] {
				gone[uid] = true
				s.tombs = append(s.tombs, tomb{uid, modseq})
				if ch != nil {
					ch.expunged = append(ch.expunged, uid)
				}
			}
		}
		s.remove(gone)
		s.highest = max(s.highest, modseq)
	case recTombs:
		n := int(d.u32())
		if d.bad || n != len(d.b)/12 || len(d.b)%12 != 0 {
			return errCorrupt
		}
		for range n {
			t := tomb{d.u32(), d.u64()}
			if t.uid == 0 || t.uid >= s.uidNext || t.modseq > s.highest {
				return errCorrupt
			}
			s.tombs = append(s.tombs, t)
		}
	case recDirs:
		s.dirs = dirStamp{int64(d.u64()), int64(d.u64()), int64(d.u64())}
	default:
		return errCorrupt
	}
	if d.bad || len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}
