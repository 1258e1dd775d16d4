package maildir

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/posthorn/posthorn/mailbox"
)

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{
		"1700000000.M1P2Q3.host,S=1234:2,FRS",
		"1700000000.M1P2Q3.host,S=1234",
		"1700000000.M1P2Q3.host,S=12,W=14:2,Sab",
		"x:2,",
		"x:1,exp",
		"host\\057name:2,T",
		":2,S",
		".hidden",
		"a,S=-5:2,PPP",
	} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, name string, bits uint8) {
		fn, ok := parseName(name)
		if nameOK([]byte(name)) != ok {
			t.Fatalf("nameOK(%q) = %v, parseName ok = %v", name, !ok, ok)
		}
		if !ok {
			return
		}
		if fn.Base == "" || strings.ContainsAny(fn.Base, ":/\x00") {
			t.Fatalf("parseName(%q) base %q", name, fn.Base)
		}
		bits &= flagMask
		renamed := withFlags(name, bits)
		got, ok := parseName(renamed)
		if len(renamed) > 255 {
			return // too long to be a file name: parseName refuses it
		}
		if !ok || got.Base != fn.Base || got.Size != fn.Size || got.Flags != bits {
			t.Fatalf("withFlags(%q, %06b) = %q parses as %+v (ok %v)", name, bits, renamed, got, ok)
		}
		if again := withFlags(renamed, bits); again != renamed {
			t.Fatalf("withFlags not idempotent: %q → %q", renamed, again)
		}
		// The in-place form SetFlags and the index replay use: appended
		// to a buffer that holds the name itself, read from there.
		buf := append([]byte(name), name...)
		buf = appendWithFlags(buf, buf[len(name):], bits)
		if string(buf[:2*len(name)]) != name+name || string(buf[2*len(name):]) != renamed {
			t.Fatalf("appendWithFlags over its own buffer: %q, want %q", buf[2*len(name):], renamed)
		}
		info := renamed[strings.LastIndex(renamed, ":2,")+3:]
		for i := 1; i < len(info); i++ {
			if info[i-1] >= info[i] {
				t.Fatalf("info %q of %q not in strict ASCII order", info, renamed)
			}
		}
	})
}

func FuzzFolderName(f *testing.F) {
	for _, s := range []string{"INBOX", "Work/Reports", "a.b", "Entwürfe", "日本語/子", "&", "&-", "x.&AC4-.y", "emoji 📬", "..a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		// Any level encodes to printable ASCII without "." or "/", and back.
		if level := strings.ReplaceAll(name, "/", "_"); utf8.ValidString(level) {
			enc := encodeLevel(level)
			for i := 0; i < len(enc); i++ {
				if enc[i] < 0x20 || enc[i] > 0x7e || enc[i] == '.' || enc[i] == '/' {
					t.Fatalf("encodeLevel(%q) = %q holds %q", level, enc, enc[i])
				}
			}
			if dec, err := decodeLevel(enc); err != nil || dec != level {
				t.Fatalf("decodeLevel(encodeLevel(%q)) = %q, %v", level, dec, err)
			}
		}
		// Decoding arbitrary input never panics, and what decodes
		// re-encodes to something that decodes the same.
		if dec, err := decodeLevel(name); err == nil {
			if again, err := decodeLevel(encodeLevel(dec)); err != nil || again != dec {
				t.Fatalf("%q decodes to %q, which does not round-trip (%q, %v)", name, dec, again, err)
			}
		}
		// Valid mailbox names map to a directory and back.
		canon, err := mailbox.ValidName(name)
		if err != nil {
			return
		}
		dir := dirOf(canon)
		if strings.HasPrefix(dir, longDir+"/") {
			return // named by a hash; the name lives in a file
		}
		if canon == mailbox.Inbox {
			return
		}
		if back, ok := nameOf(dir); !ok || back != canon {
			t.Fatalf("nameOf(dirOf(%q) = %q) = %q, %v", canon, dir, back, ok)
		}
		if strings.Contains(dir, "/") || dir == "." || dir == ".." {
			t.Fatalf("dirOf(%q) = %q is not one path component", canon, dir)
		}
	})
}

// validIndex builds an index exercising every record type.
func validIndex() []byte {
	s := newState()
	s.uidValidity, s.uidNext, s.highest = 7, 1, 1
	var e enc
	e.header(s)
	e.add(&msgRec{uid: 1, modseq: 2, size: 10, idate: 1e18, sdate: 1e18}, "1.a.host,S=10", nil)
	e.add(&msgRec{uid: 3, modseq: 3, size: 5, flags: flagSeen | inCur}, "2.b.host:2,S", []string{"$Work", "Later"})
	e.flagChange(4, []flagEntry{{uid: 1, flags: flagFlagged, kws: []string{"x"}}})
	e.rename(5, 3, flagSeen|flagAnswered|inCur, "2.b.host:2,RS")
	e.add(&msgRec{uid: 4, modseq: 6, size: 1}, "4.c.host", nil)
	e.expunge(7, []uint32{4})
	e.dirStamp(dirStamp{1, 2, 3})
	return e.b
}

// writeBehindIndex builds an index with write-behind records: changes
// waiting for their renames (W) and renames done (K).
func writeBehindIndex() []byte {
	b := validIndex()
	e := enc{b: b}
	e.want(8, []flagEntry{{uid: 1, flags: flagSeen}, {uid: 3, flags: flagDraft, kws: []string{"$Work"}}})
	e.onDisk([]diskEntry{{uid: 3, disk: flagDraft | inCur}})
	e.want(9, []flagEntry{{uid: 3, flags: flagDraft | flagDeleted}})
	e.wantRuns(10, []wantRun{{first: 1, last: 3, bits: flagAnswered}})
	return e.b
}

func FuzzLoadIndex(f *testing.F) {
	good := validIndex()
	f.Add(good)
	f.Add(writeBehindIndex())
	f.Add(good[:len(good)-3])
	f.Add(append(bytes.Clone(good), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	snap := func() []byte {
		s := newState()
		if _, err := s.readLog(good, nil); err != nil {
			panic(err)
		}
		return s.snapshot()
	}()
	f.Add(snap)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newState()
		n, err := s.readLog(data, func(*changes) {})
		if n > len(data) {
			t.Fatalf("consumed %d of %d bytes", n, len(data))
		}
		if err != nil || s.uidValidity == 0 {
			return
		}
		// Whatever loads survives a snapshot and a reload unchanged.
		s.compactNames()
		again := newState()
		snap := s.snapshot()
		if m, err := again.readLog(snap, nil); err != nil || m != len(snap) {
			t.Fatalf("snapshot of a loaded index does not load: %v (%d of %d bytes)", err, m, len(snap))
		}
		if !sameState(s, again) {
			t.Fatalf("snapshot round trip changed the state:\n%+v\n%+v", s, again)
		}
	})
}

func sameState(a, b *state) bool {
	if a.uidValidity != b.uidValidity || a.uidNext != b.uidNext || a.highest != b.highest ||
		len(a.msgs) != len(b.msgs) || a.dirs != b.dirs || !reflect.DeepEqual(a.tombs, b.tombs) {
		return false
	}
	for i := range a.msgs {
		x, y := a.msgs[i], b.msgs[i]
		if a.name(&x) != b.name(&y) || !reflect.DeepEqual(a.keywords(&x), b.keywords(&y)) {
			return false
		}
		x.nameOff, y.nameOff, x.kw, y.kw = 0, 0, 0, 0
		if x != y {
			return false
		}
	}
	return true
}

func TestValidIndexLoads(t *testing.T) {
	s := newState()
	var evs []*changes
	n, err := s.readLog(validIndex(), func(c *changes) { evs = append(evs, c) })
	if err != nil || n != len(validIndex()) {
		t.Fatalf("readLog: %d, %v", n, err)
	}
	if s.uidNext != 5 || s.highest != 7 || len(s.msgs) != 2 || len(s.tombs) != 1 {
		t.Fatalf("state %+v", s)
	}
	if got := s.flags(&s.msgs[0]); !reflect.DeepEqual(got, []mailbox.Flag{mailbox.FlagFlagged, "x"}) {
		t.Errorf("UID 1 flags %v", got)
	}
	if got := s.name(&s.msgs[0]); got != "1.a.host,S=10:2,F" {
		t.Errorf("UID 1 renamed to %q", got)
	}
	if got := s.flags(&s.msgs[1]); !reflect.DeepEqual(got, []mailbox.Flag{mailbox.FlagAnswered, mailbox.FlagSeen, "$Work", "Later"}) {
		t.Errorf("UID 3 flags %v", got)
	}
	if len(evs) != 6 { // 3 adds, a flag change, a rename with a MODSEQ, an expunge; the dir stamp has none
		t.Errorf("%d records reported changes, want 6", len(evs))
	}
}
