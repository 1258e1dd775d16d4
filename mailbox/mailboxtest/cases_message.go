package mailboxtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing/iotest"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// bodies are messages that must survive Append and Open byte for byte.
var bodies = []struct{ name, data string }{
	{"crlf", "Subject: hi\r\n\r\nbody\r\n"},
	{"bare LF", "Subject: hi\n\nbody\n"},
	{"no trailing newline", "Subject: hi\r\n\r\nno newline at the end"},
	{"8-bit", "Subject: =?utf-8?q?x?=\r\n\r\nGrüße, 日本, \xff\xfe\x80 raw 8-bit\r\n"},
	{"NULs", "Subject: nul\r\n\r\n\x00\x00binary\x00\r\n\x00"},
	{"lone CR", "a\rb\r\rc\r"},
	{"dot lines", ".\r\n..\r\n.\r\nFrom the start\r\n"},
	{"one byte", "x"},
	{"every byte", everyByte()},
}

func everyByte() string {
	b := make([]byte, 0, 512)
	for i := range 512 {
		b = append(b, byte(i))
	}
	return string(b)
}

var messageCases = []kase{
	{
		name:    "Message/RoundTrip",
		explain: "Open returns exactly the bytes appended (8-bit, NULs, bare LF or CR, no trailing newline), MessageInfo.Size of them; Append never changes line endings",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			for _, b := range bodies {
				uid, err := m.Append(c.Ctx, strings.NewReader(b.data), nil)
				if err != nil {
					c.errorf("%s: Append: %v", b.name, err)
					continue
				}
				got := c.read(m, uid)
				if !bytes.Equal(got, []byte(b.data)) {
					c.errorf("%s: Open returned %q, want %q", b.name, shorten(string(got)), shorten(b.data))
				}
				if info := c.info(m, uid); info.Size != int64(len(b.data)) {
					c.errorf("%s: Size = %d, want %d", b.name, info.Size, len(b.data))
				}
			}
		},
	},
	{
		name:    "Message/Empty",
		explain: "an empty message is stored and read back as zero bytes with Size 0",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uid, err := m.Append(c.Ctx, strings.NewReader(""), nil)
			c.must(err, "Append of an empty message")
			if got := c.read(m, uid); len(got) != 0 {
				c.errorf("empty message reads back as %q", got)
			}
			if info := c.info(m, uid); info.Size != 0 {
				c.errorf("empty message Size = %d", info.Size)
			}
		},
	},
	{
		name:    "Message/AppendOddReaders",
		explain: "Append reads its io.Reader correctly however the reader behaves: one byte at a time, half reads, data returned together with io.EOF",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			data := strings.Repeat("line of text\r\n", 400)
			readers := map[string]func() io.Reader{
				"OneByteReader": func() io.Reader { return iotest.OneByteReader(strings.NewReader(data)) },
				"HalfReader":    func() io.Reader { return iotest.HalfReader(strings.NewReader(data)) },
				"DataErrReader": func() io.Reader { return iotest.DataErrReader(strings.NewReader(data)) },
			}
			for name, r := range readers {
				uid, err := m.Append(c.Ctx, r(), nil)
				if err != nil {
					c.errorf("Append through %s: %v", name, err)
					continue
				}
				if got := c.read(m, uid); string(got) != data {
					c.errorf("Append through %s stored %d bytes, want %d", name, len(got), len(data))
				}
			}
		},
	},
	{
		name:    "Message/OpenReader",
		explain: "the reader Open returns behaves as an io.Reader must (and io.ReaderAt/io.Seeker when it offers them), read in any pattern",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			data := []byte(strings.Repeat("0123456789abcdef\r\n", 300) + everyByte())
			uid, err := m.Append(c.Ctx, bytes.NewReader(data), nil)
			c.must(err, "Append")
			r, err := m.Open(c.Ctx, uid)
			c.must(err, "Open")
			if err := iotest.TestReader(r, data); err != nil {
				c.errorf("iotest.TestReader: %v", err)
			}
			r.Close()
			r, err = m.Open(c.Ctx, uid)
			c.must(err, "Open")
			got, err := io.ReadAll(iotest.OneByteReader(r))
			r.Close()
			if err != nil || !bytes.Equal(got, data) {
				c.errorf("reading one byte at a time: %d bytes, err %v; want %d bytes", len(got), err, len(data))
			}
		},
	},
	{
		name:    "Message/Section",
		explain: "mailbox.Section over the value Open returns yields exactly the bytes [off, off+n) (partial FETCH)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			data := strings.Repeat("abcdefghijklmnopqrstuvwxyz\r\n", 100)
			uid := c.appendMsg(m, data)
			for _, sec := range [][2]int64{{0, 10}, {5, 100}, {1000, 1}, {int64(len(data)) - 3, 10}, {int64(len(data)), 5}, {0, int64(len(data))}} {
				r, err := m.Open(c.Ctx, uid)
				c.must(err, "Open")
				s, err := mailbox.Section(r, sec[0], sec[1])
				if err != nil {
					c.errorf("Section(%d, %d): %v", sec[0], sec[1], err)
					r.Close()
					continue
				}
				got, err := io.ReadAll(s)
				r.Close()
				end := min(sec[0]+sec[1], int64(len(data)))
				if want := data[sec[0]:end]; err != nil || string(got) != want {
					c.errorf("Section(%d, %d) = %q (err %v), want %q", sec[0], sec[1], shorten(string(got)), err, shorten(want))
				}
			}
		},
	},
	{
		name:    "Message/ReaderAt",
		explain: "Open should return an io.ReaderAt so partial FETCH reads by offset; ReadAt returns the right bytes at any offset and io.EOF past the end",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			data := strings.Repeat("0123456789", 1000)
			uid := c.appendMsg(m, data)
			r, err := m.Open(c.Ctx, uid)
			c.must(err, "Open")
			defer r.Close()
			ra, ok := r.(io.ReaderAt)
			if !ok {
				c.Skipf("Open returns %T, not an io.ReaderAt: partial FETCH reads from the start", r)
			}
			buf := make([]byte, 7)
			for _, off := range []int64{0, 3, 4321, int64(len(data)) - 7} {
				n, err := ra.ReadAt(buf, off)
				if n != 7 || err != nil && err != io.EOF || string(buf) != data[off:off+7] {
					c.errorf("ReadAt(off %d) = %d, %v, %q", off, n, err, buf[:n])
				}
			}
			if n, err := ra.ReadAt(buf, int64(len(data))-2); n != 2 || err != io.EOF {
				c.errorf("ReadAt across the end = %d, %v; want 2, io.EOF", n, err)
			}
		},
	},
	{
		name:    "Message/ConcurrentReads",
		explain: "a message may be opened by many readers at once, and parallel ReadAt calls on one reader are allowed (io.ReaderAt)",
		needs:   needWrite,
		run: func(c *caseT) {
			a, m := c.inbox()
			data := strings.Repeat("concurrent readers\r\n", 500)
			uid := c.appendMsg(m, data)
			r, err := m.Open(c.Ctx, uid)
			c.must(err, "Open")
			defer r.Close()
			ra, _ := r.(io.ReaderAt)
			c.workers(a, 8, func(w int, h mailbox.Mailbox) error {
				if ra != nil {
					buf := make([]byte, 100)
					off := int64(w * 997)
					if n, err := ra.ReadAt(buf, off); n != len(buf) || string(buf) != data[off:off+100] {
						return fmt.Errorf("parallel ReadAt(%d) = %d, %v", off, n, err)
					}
				}
				r, err := h.Open(c.Ctx, uid)
				if err != nil {
					return err
				}
				defer r.Close()
				b, err := io.ReadAll(r)
				if err != nil || string(b) != data {
					return fmt.Errorf("concurrent Open read %d bytes, %v", len(b), err)
				}
				return nil
			})
		},
	},
	{
		name:    "Message/Large",
		explain: "a 20 MiB message streamed into Append from a reader the kit never buffers comes back byte for byte, with the exact Size",
		needs:   needWrite | needLarge,
		run: func(c *caseT) {
			_, m := c.inbox()
			const size = 20 << 20
			uid, err := m.Append(c.Ctx, newGenReader(size, 42), nil)
			c.must(err, "Append of %d bytes", size)
			r, err := m.Open(c.Ctx, uid)
			c.must(err, "Open")
			v := &genVerifier{seed: 42, bad: -1}
			_, err = io.Copy(v, r)
			r.Close()
			c.must(err, "reading the large message")
			if v.bad >= 0 {
				c.errorf("large message differs at offset %d", v.bad)
			}
			if v.n != size {
				c.errorf("large message read back as %d bytes, want %d", v.n, size)
			}
			if info := c.info(m, uid); info.Size != size {
				c.errorf("Size = %d, want %d", info.Size, size)
			}
			if st := c.status(m); st.Size != size {
				c.errorf("Status.Size = %d, want %d", st.Size, size)
			}
		},
	},
	{
		name:    "Message/OpenMissing",
		explain: "Open of a UID that is not (or no longer) in the mailbox returns ErrNotExist",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uid := c.appendMsg(m, "x")
			for _, u := range []mailbox.UID{uid + 1, uid + 1000, 1<<32 - 1} {
				_, err := m.Open(c.Ctx, u)
				c.wantErr(err, mailbox.ErrNotExist, "Open(%d) of a missing UID", u)
			}
			c.expunge(m, uid)
			_, err := m.Open(c.Ctx, uid)
			c.wantErr(err, mailbox.ErrNotExist, "Open of an expunged UID")
		},
	},
	{
		name:    "Message/AppendReaderError",
		explain: "when the reader fails, Append returns an error wrapping the reader's and stores nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			boom := errors.New("mailboxtest: reader broke")
			r := io.MultiReader(strings.NewReader("Subject: half\r\n\r\n"), iotest.ErrReader(boom))
			_, err := m.Append(c.Ctx, r, nil)
			c.wantErr(err, boom, "Append from a failing reader")
			if st := c.status(m); st.Messages != 0 {
				c.errorf("a failed Append left %d messages", st.Messages)
			}
		},
	},
	{
		name:    "Message/Sizes",
		explain: "MessageInfo.Size is the exact octet count and Status.Size their sum (RFC 8438)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			var sum int64
			for _, b := range bodies {
				uid := c.appendMsg(m, b.data)
				sum += int64(len(b.data))
				if info := c.info(m, uid); info.Size != int64(len(b.data)) {
					c.errorf("%s: Size = %d, want %d", b.name, info.Size, len(b.data))
				}
			}
			if st := c.status(m); st.Size != sum {
				c.errorf("Status.Size = %d, want %d", st.Size, sum)
			}
		},
	},
	{
		name:    "Message/InternalDate",
		explain: "AppendOptions.InternalDate is kept (to the second at least); a zero one means the time of the append; SaveDate is the time of the append",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			date := time.Date(2001, 2, 3, 4, 5, 6, 0, time.FixedZone("", -7*3600))
			uid, err := m.Append(c.Ctx, strings.NewReader("dated"), &mailbox.AppendOptions{InternalDate: date})
			c.must(err, "Append with a date")
			if got := c.info(m, uid).InternalDate; !got.Truncate(time.Second).Equal(date) {
				c.errorf("InternalDate = %v, want %v", got, date)
			}
			before := time.Now().Add(-2 * time.Second)
			uid = c.appendMsg(m, "undated")
			after := time.Now().Add(2 * time.Second)
			info := c.info(m, uid)
			if info.InternalDate.Before(before) || info.InternalDate.After(after) {
				c.errorf("zero InternalDate stored as %v, want the time of the append (%v)", info.InternalDate, before)
			}
			if info.SaveDate.Before(before) || info.SaveDate.After(after) {
				c.errorf("SaveDate = %v, want the time of the append (%v)", info.SaveDate, before)
			}
		},
	},
	{
		name:    "UID/Increasing",
		explain: "Append returns strictly increasing UIDs, each at least the UIDNEXT before it and below the UIDNEXT after it",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			var last mailbox.UID
			for i := range 20 {
				next := c.status(m).UIDNext
				uid := c.appendMsg(m, sampleMessage(i))
				if uid <= last {
					c.errorf("append %d: UID %d not above the previous %d", i, uid, last)
				}
				if uid < next {
					c.errorf("append %d: UID %d below the UIDNEXT %d announced before", i, uid, next)
				}
				if after := c.status(m).UIDNext; after <= uid {
					c.errorf("append %d: UIDNEXT %d not above the new UID %d", i, after, uid)
				}
				last = uid
			}
		},
	},
	{
		name:    "UID/Concurrent",
		explain: "8 concurrent appenders get distinct UIDs; every message is listed once, in ascending UID order",
		needs:   needWrite,
		run: func(c *caseT) {
			a, m := c.inbox()
			const workers, each = 8, 25
			var mu sync.Mutex
			got := map[mailbox.UID]int{}
			c.workers(a, workers, func(w int, h mailbox.Mailbox) error {
				var last mailbox.UID
				for i := range each {
					uid, err := h.Append(c.Ctx, strings.NewReader(sampleMessage(w*each+i)), nil)
					if err != nil {
						return err
					}
					if uid <= last {
						return fmt.Errorf("UID %d after %d: the UIDs of one appender went down", uid, last)
					}
					last = uid
					mu.Lock()
					got[uid]++
					mu.Unlock()
				}
				return nil
			})
			for uid, n := range got {
				if n > 1 {
					c.errorf("UID %d returned %d times", uid, n)
				}
			}
			infos := c.infos(m)
			if len(infos) != workers*each {
				c.errorf("Messages lists %d messages, want %d", len(infos), workers*each)
			}
			for i := 1; i < len(infos); i++ {
				if infos[i].UID <= infos[i-1].UID {
					c.errorf("Messages out of order: %d after %d", infos[i].UID, infos[i-1].UID)
				}
			}
			for _, info := range infos {
				if got[info.UID] != 1 {
					c.errorf("listed UID %d was not returned by Append", info.UID)
				}
			}
		},
	},
	{
		name:    "UID/NotReused",
		explain: "UIDs are never reused: after expunging the highest UID the next append gets a higher one",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 3)
			next := c.status(m).UIDNext
			c.expunge(m, uids[1], uids[2])
			if st := c.status(m); st.UIDNext < next {
				c.errorf("UIDNEXT went down from %d to %d across an expunge", next, st.UIDNext)
			}
			if uid := c.appendMsg(m, "after"); uid <= uids[2] {
				c.errorf("UID %d after expunging %d: reused", uid, uids[2])
			}
		},
	},
	{
		name:    "Messages/From",
		explain: "Messages(from) yields exactly the messages with UID ≥ from, ascending; 0 and 1 mean all",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 6)
			c.expunge(m, uids[2])
			live := []mailbox.UID{uids[0], uids[1], uids[3], uids[4], uids[5]}
			checks := []struct {
				from mailbox.UID
				want []mailbox.UID
			}{
				{0, live}, {1, live}, {uids[1], live[1:]}, {uids[2], live[2:]},
				{uids[5], live[4:]}, {uids[5] + 1, nil}, {1<<32 - 1, nil},
			}
			for _, ck := range checks {
				if got := uidsOf(c.infosFrom(m, ck.from)); !equalUIDs(got, ck.want) {
					c.errorf("Messages(%d) = %v, want %v", ck.from, got, ck.want)
				}
			}
		},
	},
	{
		name:    "Messages/BreakEarly",
		explain: "stopping a Messages loop early, or calling the store from its body, leaves the store usable (no lock held past the loop)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			c.appendN(m, 600)
			n := 0
			for _, err := range m.Messages(c.Ctx, 1) {
				c.must(err, "Messages")
				if n++; n == 3 {
					break
				}
			}
			c.prompt("Append after breaking out of Messages", func() {
				if _, err := m.Append(c.Ctx, strings.NewReader("after break"), nil); err != nil {
					c.errorf("Append after break: %v", err)
				}
			})
			c.prompt("changing flags from inside a Messages loop", func() {
				for info, err := range m.Messages(c.Ctx, 1) {
					if err != nil {
						c.errorf("Messages: %v", err)
						return
					}
					if info.UID%100 == 0 {
						if _, err := m.SetFlags(c.Ctx, []mailbox.UID{info.UID}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0); err != nil {
							c.errorf("SetFlags inside the loop: %v", err)
						}
					}
				}
			})
		},
	},
	{
		name:    "Status/Counters",
		explain: "Status counts messages, unseen (no \\Seen), \\Deleted, the total size, UIDNEXT above every UID, and UIDVALIDITY non-zero",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			empty := c.status(m)
			if empty.Messages != 0 || empty.Unseen != 0 || empty.Deleted != 0 || empty.Size != 0 || empty.UIDNext == 0 || empty.UIDValidity == 0 {
				c.errorf("empty INBOX status %+v", empty)
			}
			u1 := c.appendMsg(m, "one", mailbox.FlagSeen)
			c.appendMsg(m, "two")
			u3 := c.appendMsg(m, "three", mailbox.FlagDeleted, mailbox.FlagSeen)
			c.appendMsg(m, "four", mailbox.FlagDeleted)
			st := c.status(m)
			if st.Messages != 4 || st.Unseen != 2 || st.Deleted != 2 || st.Size != 3+3+5+4 {
				c.errorf("status %+v: want 4 messages, 2 unseen, 2 deleted, size 15", st)
			}
			if st.UIDNext <= u3 {
				c.errorf("UIDNEXT %d not above the last UID", st.UIDNext)
			}
			if st.UIDValidity != empty.UIDValidity {
				c.errorf("UIDVALIDITY changed from %d to %d by appends", empty.UIDValidity, st.UIDValidity)
			}
			c.setFlags(m, []mailbox.UID{u1}, mailbox.FlagsRemove, mailbox.FlagSeen)
			if st := c.status(m); st.Unseen != 3 {
				c.errorf("Unseen = %d after clearing \\Seen, want 3", st.Unseen)
			}
		},
	},
}
