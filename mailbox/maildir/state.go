package maildir

import (
	"slices"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// msgRec is what the store holds in memory for one message: 48 bytes, no
// pointers, so a 100,000-message folder costs the garbage collector nothing
// to scan. The file name lives in the folder's name arena; keywords, rare,
// are an index into a table of distinct keyword sets.
//
// flags and the file name are the file as it is on disk; want holds the
// message's flags as clients see them. They differ while a flag change
// waits for the flusher to rename the file (see flush.go): code that finds
// the file uses flags, code that reports flags uses want.
type msgRec struct {
	uid     uint32
	nameLen uint16
	flags   uint8  // system flag bits, plus inCur, of the file on disk
	want    uint8  // the same as the message should have: what clients see
	nameOff uint32 // into state.names: the name on disk
	kw      uint32 // index into state.kwsets; 0 = no keywords
	modseq  uint64
	size    int64
	idate   int64 // internal date, Unix nanoseconds
	sdate   int64 // save date, Unix nanoseconds
}

type tomb struct {
	uid    uint32
	modseq uint64
}

// dirStamp records the modification times of new/ and cur/ seen by the
// last full scan, and when that scan started (Unix nanoseconds).
type dirStamp struct {
	newMtime, curMtime, scanned int64
}

// state is the content of a folder's index: everything but the message
// bytes. It is what the index log replays into and what a compaction writes
// out.
type state struct {
	uidValidity uint32
	uidNext     uint32
	lastAdded   uint32 // highest UID added by the records read so far
	highest     uint64 // HIGHESTMODSEQ
	msgs        []msgRec
	names       []byte            // arena of file names
	garbage     int               // bytes of names no message refers to
	kwsets      []string          // id → keywords joined by " " (kwsets[0] == "")
	kwIDs       map[string]uint32 // inverse of kwsets
	tombs       []tomb            // in MODSEQ order
	dirs        dirStamp
	// pend lists the UIDs of messages whose file waits for a rename
	// (flags ≠ disk), each added when it starts waiting: every such
	// message is in it (a UID may appear again, or stay after its rename;
	// the flusher skips those).
	pend []uint32
}

// pending reports whether the file of m waits for a rename.
func (m *msgRec) pending() bool { return m.want != m.flags }

// addPending notes that m may have started waiting for a rename; a list
// grown past the folder's size is first weeded of messages that no
// longer wait, so that it stays bounded in a process that never flushes.
func (s *state) addPending(m *msgRec) {
	if len(s.pend) >= 2*len(s.msgs)+64 {
		keep := s.pend[:0]
		next := 0
		for _, uid := range s.pend {
			i := s.findNext(uid, next)
			if i < 0 {
				continue
			}
			next = i + 1 // found, pending or not: the next UID is likely there
			if s.msgs[i].pending() {
				keep = append(keep, uid)
			}
		}
		if !slices.IsSorted(keep) {
			slices.Sort(keep)
		}
		s.pend = slices.Compact(keep)
	}
	s.pend = append(s.pend, m.uid)
}

func newState() *state {
	return &state{kwsets: []string{""}, kwIDs: map[string]uint32{"": 0}, uidNext: 1}
}

func (s *state) name(m *msgRec) string {
	return string(s.names[m.nameOff : m.nameOff+uint32(m.nameLen)])
}

// nameBytes returns the name without copying; valid until the arena changes.
func (s *state) nameBytes(m *msgRec) []byte {
	return s.names[m.nameOff : m.nameOff+uint32(m.nameLen)]
}

func (s *state) setNameBytes(m *msgRec, name []byte) {
	if m.nameLen > 0 {
		s.garbage += int(m.nameLen)
	}
	m.nameOff = uint32(len(s.names))
	m.nameLen = uint16(len(name))
	s.names = append(s.names, name...)
}

func (s *state) setName(m *msgRec, name string) {
	if m.nameLen > 0 {
		s.garbage += int(m.nameLen)
	}
	m.nameOff = uint32(len(s.names))
	m.nameLen = uint16(len(name))
	s.names = append(s.names, name...)
}

// compactNames rewrites the arena when more than half of it is garbage.
func (s *state) compactNames() {
	if s.garbage < 64<<10 || s.garbage < len(s.names)/2 {
		return
	}
	names := make([]byte, 0, len(s.names)-s.garbage+1024)
	for i := range s.msgs {
		m := &s.msgs[i]
		off := len(names)
		names = append(names, s.nameBytes(m)...)
		m.nameOff = uint32(off)
	}
	s.names = names
	s.garbage = 0
}

// path returns the message's file path relative to the folder directory.
func (s *state) path(m *msgRec) string {
	if m.flags&inCur != 0 {
		return "cur/" + s.name(m)
	}
	return "new/" + s.name(m)
}

func (s *state) find(uid uint32) int {
	i, ok := slices.BinarySearchFunc(s.msgs, uid, func(m msgRec, u uint32) int {
		switch {
		case m.uid < u:
			return -1
		case m.uid > u:
			return 1
		}
		return 0
	})
	if !ok {
		return -1
	}
	return i
}

// findNext is find for UIDs taken in ascending order: next is where the
// previous one was found, plus one (a run of consecutive messages, as
// "1:*" names, costs no search).
func (s *state) findNext(uid uint32, next int) int {
	if next >= 0 && next < len(s.msgs) && s.msgs[next].uid == uid {
		return next
	}
	return s.find(uid)
}

// lowerBound returns the index of the first message with UID ≥ uid.
func (s *state) lowerBound(uid uint32) int {
	i, _ := slices.BinarySearchFunc(s.msgs, uid, func(m msgRec, u uint32) int {
		switch {
		case m.uid < u:
			return -1
		case m.uid > u:
			return 1
		}
		return 0
	})
	return i
}

// kwID interns a sorted keyword list.
func (s *state) kwID(keywords []string) uint32 {
	if len(keywords) == 0 {
		return 0
	}
	key := strings.Join(keywords, " ")
	if id, ok := s.kwIDs[key]; ok {
		return id
	}
	id := uint32(len(s.kwsets))
	s.kwsets = append(s.kwsets, key)
	s.kwIDs[key] = id
	return id
}

func (s *state) keywords(m *msgRec) []string {
	if m.kw == 0 || int(m.kw) >= len(s.kwsets) {
		return nil
	}
	return strings.Split(s.kwsets[m.kw], " ")
}

// flags returns the message's canonical flags in a new slice.
func (s *state) flags(m *msgRec) []mailbox.Flag {
	return appendFlags(nil, m.want&flagMask, s.keywords(m))
}

// flagsIn returns the message's canonical flags as flags does, but carved
// out of *arena (grown as needed), so that the lists of many messages cost
// a few allocations rather than one each. Each list is capped at its own
// length: appending to one never writes over the next.
func (s *state) flagsIn(arena *[]mailbox.Flag, m *msgRec) []mailbox.Flag {
	a := *arena
	start := len(a)
	a = appendFlags(a, m.want&flagMask, s.keywords(m))
	*arena = a
	if len(a) == start {
		return nil
	}
	return a[start:len(a):len(a)]
}

func (s *state) remove(uids map[uint32]bool) {
	s.msgs = slices.DeleteFunc(s.msgs, func(m msgRec) bool {
		if uids[m.uid] {
			s.garbage += int(m.nameLen)
			return true
		}
		return false
	})
}

// status computes the mailbox counters.
func (s *state) status() mailbox.Status {
	st := mailbox.Status{
		Messages:      uint32(len(s.msgs)),
		UIDNext:       mailbox.UID(s.uidNext),
		UIDValidity:   s.uidValidity,
		HighestModSeq: mailbox.ModSeq(s.highest),
	}
	for i := range s.msgs {
		m := &s.msgs[i]
		if m.want&flagSeen == 0 {
			st.Unseen++
		}
		if m.want&flagDeleted != 0 {
			st.Deleted++
		}
		st.Size += m.size
	}
	return st
}
