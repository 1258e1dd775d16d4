package maildir

import (
	"cmp"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"slices"
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
// with one write(2) (fsynced before the operation returns, but for changes
// of system flags; see doc.go). A crash can
// only leave a torn last record, which the next writer truncates away. A
// record failing its checksum anywhere else means the index is corrupt: the
// folder is rebuilt from its files with a new UIDVALIDITY, so no UID is ever
// reused wrongly. When the log grows past twice the size of a snapshot it is
// compacted: a snapshot is written to a new file, fsynced and renamed over
// the old one.
//
// Flag changes are written behind: SetFlags appends a W record with the
// flags a message should have (its MODSEQ and keywords), and the flusher
// later renames the file and appends a K record with the flags the file
// name now carries. An A record names the file as it is on disk, with its
// flags; a W record after it says what the flags should be. So at any
// instant the log says, per message, both the name we last gave the file
// and the flags it should carry: the next scan tells our own unrecorded
// rename (the file carries exactly the flags of the W record) from another
// program's (any other name: that program wins, as for any outside
// change), and a file still under its recorded name is renamed again. A
// V record is a W record for runs of adjacent messages without keywords
// that get the same flags (first UID, last UID, flags: 9 bytes for a
// "STORE 1:*" where W needs 7 per message). A snapshot writes each message's A record for its file on disk and W
// records, grouped by MODSEQ, for those still waiting. Version 1 logs
// written before the W and K records existed hold F records (flags changed
// and file renamed at once), which still load.
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
	recFlags   = 'F' // flags changed and files renamed (written by older versions)
	recWant    = 'W' // flags of messages changed through the store, files not yet renamed
	recDisk    = 'K' // files renamed to carry the flags of their W records
	recRuns    = 'V' // a W record for runs of adjacent messages without keywords
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

// flagChange encodes a legacy F record (tests build old logs with it).
func (e *enc) flagChange(modseq uint64, entries []flagEntry) { e.flagRecord(recFlags, modseq, entries) }

// want encodes a W record: the flags the messages should have from modseq.
func (e *enc) want(modseq uint64, entries []flagEntry) { e.flagRecord(recWant, modseq, entries) }

// wants encodes W records for entries sharing modseq: several when the
// change is large, each well under maxRecord.
func (e *enc) wants(modseq uint64, entries []flagEntry) {
	for start, size := 0, 0; start < len(entries); {
		end := start
		for size = 0; end < len(entries) && size < maxRecord/4; end++ {
			size += 8 + len(entries[end].kws)*(maxFlagBytes+1)
		}
		e.want(modseq, entries[start:end])
		start = end
	}
}

// wantRun is a run of adjacent messages (every message with a UID from
// first to last) whose flags became bits, without keywords.
type wantRun struct {
	first, last uint32
	bits        uint8
}

// wantRuns encodes a V record: what a W record says for runs of messages
// (a "STORE 1:* +FLAGS (\Seen)" on a folder is one run, or a few).
func (e *enc) wantRuns(modseq uint64, runs []wantRun) {
	st := e.begin(recRuns)
	e.u64(modseq)
	e.u32(uint32(len(runs)))
	for _, r := range runs {
		e.u32(r.first)
		e.u32(r.last)
		e.u8(r.bits)
	}
	e.end(st)
}

func (e *enc) flagRecord(typ byte, modseq uint64, entries []flagEntry) {
	st := e.begin(typ)
	e.u64(modseq)
	e.u32(uint32(len(entries)))
	for _, fe := range entries {
		e.u32(fe.uid)
		e.u8(fe.flags)
		e.keywords(fe.kws)
	}
	e.end(st)
}

// wantsRuns encodes the changes of one SetFlags (entries in UID order,
// idx[i] the position of entries[i] in s.msgs): runs of adjacent messages
// without keywords that get the same flags go into a V record, the others
// into W records.
func (e *enc) wantsRuns(modseq uint64, entries []flagEntry, idx []int) {
	var runs []wantRun
	var rest []flagEntry
	for i := 0; i < len(entries); {
		fe := entries[i]
		j := i + 1
		if len(fe.kws) == 0 {
			for j < len(entries) && len(entries[j].kws) == 0 && entries[j].flags == fe.flags && idx[j] == idx[j-1]+1 {
				j++
			}
		}
		if j-i >= 4 {
			runs = append(runs, wantRun{first: fe.uid, last: entries[j-1].uid, bits: fe.flags})
		} else {
			rest = append(rest, entries[i:j]...)
		}
		i = j
	}
	for start := 0; start < len(runs); start += maxRecord / 16 {
		e.wantRuns(modseq, runs[start:min(start+maxRecord/16, len(runs))])
	}
	e.wants(modseq, rest)
}

// diskEntry says that the file of uid now carries flags disk (with inCur).
type diskEntry struct {
	uid  uint32
	disk uint8
}

// onDisk encodes a K record: files renamed by the flusher, each from its
// recorded name to that name with the given flags, in cur/.
func (e *enc) onDisk(entries []diskEntry) {
	st := e.begin(recDisk)
	e.u32(uint32(len(entries)))
	for _, de := range entries {
		e.u32(de.uid)
		e.u8(de.disk)
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
	var waiting []int // messages whose file waits for a rename
	for i := range s.msgs {
		m := &s.msgs[i]
		e.add(m, s.name(m), s.keywords(m)) // the file on disk
		if m.pending() {
			waiting = append(waiting, i)
		}
	}
	// Then what the waiting ones should be, one W record per MODSEQ.
	slices.SortStableFunc(waiting, func(a, b int) int { return cmp.Compare(s.msgs[a].modseq, s.msgs[b].modseq) })
	var entries []flagEntry
	for j, i := range waiting {
		m := &s.msgs[i]
		entries = append(entries, flagEntry{uid: m.uid, flags: m.want & flagMask, kws: s.keywords(m)})
		if j == len(waiting)-1 || s.msgs[waiting[j+1]].modseq != m.modseq {
			e.wants(m.modseq, entries)
			entries = entries[:0]
		}
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
		m.want = m.flags
		s.setNameBytes(&m, name)
		s.msgs = append(s.msgs, m)
		s.lastAdded = m.uid
		s.uidNext = max(s.uidNext, m.uid+1)
		s.highest = max(s.highest, m.modseq)
		if ch != nil {
			ch.added = append(ch.added, m.uid)
		}
	case recFlags, recWant:
		modseq := d.u64()
		n := int(d.u32())
		if d.bad || modseq == 0 || n > len(d.b)/5 {
			return errCorrupt
		}
		next := 0
		for range n {
			uid := d.u32()
			bits := d.u8()
			kws := d.keywords()
			if d.bad || bits&^flagMask != 0 {
				return errCorrupt
			}
			i := s.findNext(uid, next)
			if i < 0 {
				continue
			}
			next = i + 1
			m := &s.msgs[i]
			if typ == recFlags {
				// An old record: the file was renamed with the change.
				if err := s.renamed(m, bits|inCur); err != nil {
					return err
				}
			}
			was := m.pending()
			m.want = bits | inCur
			m.kw = s.kwID(kws)
			m.modseq = modseq
			if !was && m.pending() {
				s.addPending(m)
			}
			if ch != nil {
				ch.flagged = append(ch.flagged, uid)
			}
		}
		s.highest = max(s.highest, modseq)
	case recRuns:
		modseq := d.u64()
		n := int(d.u32())
		if d.bad || modseq == 0 || n != len(d.b)/9 || len(d.b)%9 != 0 {
			return errCorrupt
		}
		for range n {
			first, last, bits := d.u32(), d.u32(), d.u8()
			if first == 0 || last < first || bits&^flagMask != 0 {
				return errCorrupt
			}
			for i := s.lowerBound(first); i < len(s.msgs) && s.msgs[i].uid <= last; i++ {
				m := &s.msgs[i]
				was := m.pending()
				m.want = bits | inCur
				m.kw = 0
				m.modseq = modseq
				if !was && m.pending() {
					s.addPending(m)
				}
				if ch != nil {
					ch.flagged = append(ch.flagged, m.uid)
				}
			}
		}
		s.highest = max(s.highest, modseq)
	case recDisk:
		n := int(d.u32())
		if d.bad || n != len(d.b)/5 || len(d.b)%5 != 0 {
			return errCorrupt
		}
		next := 0
		for range n {
			uid := d.u32()
			disk := d.u8()
			if disk&^flagMask != inCur {
				return errCorrupt
			}
			if i := s.findNext(uid, next); i >= 0 {
				next = i + 1
				if err := s.renamed(&s.msgs[i], disk); err != nil {
					return err
				}
			}
		}
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
			m.flags, m.want = flags, flags
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

// renamed records that the file of m was renamed from its recorded name to
// that name with the flags of disk, in cur/ (a K record, or an old F
// record). The new name goes straight into the arena, built from the old
// one there (no string in between).
func (s *state) renamed(m *msgRec, disk uint8) error {
	if m.flags == disk && nameOK(s.nameBytes(m)) {
		return nil
	}
	if m.flags != disk {
		off := len(s.names)
		s.names = appendWithFlags(s.names, s.nameBytes(m), disk&flagMask)
		name := s.names[off:]
		if len(name) > 255 || !nameOK(name) {
			s.names = s.names[:off]
			return errCorrupt
		}
		s.garbage += int(m.nameLen)
		m.nameOff, m.nameLen = uint32(off), uint16(len(name))
		m.flags = disk
		return nil
	}
	return errCorrupt
}
