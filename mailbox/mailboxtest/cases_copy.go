package mailboxtest

import (
	"bytes"
	"strings"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// plain hides a Mailbox's optional interfaces so the helpers take their
// generic path.
type plain struct{ mailbox.Mailbox }

// copySetup makes a source mailbox with three messages (varied flags and
// dates) and an empty destination.
func (c *caseT) copySetup() (mailbox.Account, mailbox.Mailbox, []mailbox.UID, mailbox.Mailbox) {
	c.Helper()
	a := c.account()
	c.create(a, "Src")
	c.create(a, "Dst")
	src, dst := c.box(a, "Src"), c.box(a, "Dst")
	var uids []mailbox.UID
	for i, flags := range [][]mailbox.Flag{{mailbox.FlagSeen}, nil, {mailbox.FlagFlagged, "$Kw"}} {
		date := time.Date(2020, 1, i+1, 12, 0, 0, 0, time.UTC)
		uid, err := src.Append(c.Ctx, strings.NewReader(sampleMessage(i)), &mailbox.AppendOptions{Flags: flags, InternalDate: date})
		c.must(err, "Append")
		uids = append(uids, uid)
	}
	return a, src, uids, dst
}

// checkCopy verifies a CopyResult against the messages it maps.
func (c *caseT) checkCopy(what string, res mailbox.CopyResult, src mailbox.Mailbox, srcInfos map[mailbox.UID]mailbox.MessageInfo, srcBytes map[mailbox.UID][]byte, dst mailbox.Mailbox, wantSrc []mailbox.UID, nextBefore mailbox.UID) {
	c.Helper()
	if !equalUIDs(res.Source, wantSrc) {
		c.errorf("%s: CopyResult.Source = %v, want %v", what, res.Source, wantSrc)
	}
	if len(res.Dest) != len(res.Source) {
		c.errorf("%s: CopyResult has %d sources and %d destinations", what, len(res.Source), len(res.Dest))
		return
	}
	st := c.status(dst)
	if res.UIDValidity != st.UIDValidity {
		c.errorf("%s: CopyResult.UIDValidity %d, destination has %d", what, res.UIDValidity, st.UIDValidity)
	}
	for i, d := range res.Dest {
		if d < nextBefore || i > 0 && d <= res.Dest[i-1] {
			c.errorf("%s: destination UIDs %v not ascending from UIDNEXT %d", what, res.Dest, nextBefore)
			break
		}
	}
	for i, s := range res.Source {
		want, got := srcInfos[s], c.info(dst, res.Dest[i])
		if !sameFlagList(got.Flags, want.Flags) || !got.InternalDate.Equal(want.InternalDate) || got.Size != want.Size {
			c.errorf("%s: copy of %d is %+v, original %+v (flags, internal date and size must be kept)", what, s, got, want)
		}
		if b := c.read(dst, res.Dest[i]); !bytes.Equal(b, srcBytes[s]) {
			c.errorf("%s: copy of %d has different bytes", what, s)
		}
	}
}

func (c *caseT) snapshot(m mailbox.Mailbox) (map[mailbox.UID]mailbox.MessageInfo, map[mailbox.UID][]byte) {
	c.Helper()
	infos := map[mailbox.UID]mailbox.MessageInfo{}
	data := map[mailbox.UID][]byte{}
	for _, info := range c.infos(m) {
		infos[info.UID] = info
		data[info.UID] = c.read(m, info.UID)
	}
	return infos, data
}

// copyCase runs a copy or move through the store's fast path (if any) or
// the generic one, and checks the outcome.
func copyCase(move, generic bool) func(c *caseT) {
	return func(c *caseT) {
		a, src, uids, dst := c.copySetup()
		var s mailbox.Mailbox = src
		if generic {
			s = plain{src}
		} else {
			_, isCopier := src.(mailbox.Copier)
			_, isMover := src.(mailbox.Mover)
			if move && !isMover || !move && !isCopier {
				c.Skipf("the mailbox (%T) has no fast path: the generic case covers it", src)
			}
		}
		infos, data := c.snapshot(src)
		next := c.status(dst).UIDNext
		ask := []mailbox.UID{uids[2], uids[0], uids[2] + 100}
		var res mailbox.CopyResult
		var err error
		if move {
			res, err = mailbox.Move(c.Ctx, a, s, ask, "Dst")
		} else {
			res, err = mailbox.Copy(c.Ctx, a, s, ask, "Dst")
		}
		c.must(err, "copy or move")
		c.checkCopy("result", res, src, infos, data, dst, []mailbox.UID{uids[0], uids[2]}, next)
		left := uidsOf(c.infos(src))
		want := uids
		if move {
			want = uids[1:2]
		}
		if !equalUIDs(left, want) {
			c.errorf("source holds %v afterwards, want %v", left, want)
		}
		if st := c.status(dst); st.Messages != 2 {
			c.errorf("destination holds %d messages, want 2", st.Messages)
		}
	}
}

var copyCases = []kase{
	{
		name:    "Copy/FastPath",
		explain: "the store's Copier copies bytes, flags and internal dates, and returns the UID mapping in ascending order (RFC 4315 COPYUID), skipping missing UIDs",
		needs:   needWrite,
		run:     copyCase(false, false),
	},
	{
		name:    "Copy/Generic",
		explain: "mailbox.Copy through the generic path (Open + Append) agrees with the store: same bytes, flags, dates and mapping rules",
		needs:   needWrite,
		run:     copyCase(false, true),
	},
	{
		name:    "Move/FastPath",
		explain: "the store's Mover moves bytes, flags and internal dates, expunges the originals and returns the UID mapping (RFC 6851)",
		needs:   needWrite,
		run:     copyCase(true, false),
	},
	{
		name:    "Move/Generic",
		explain: "mailbox.Move through the generic path (copy, then expunge) agrees with the store",
		needs:   needWrite,
		run:     copyCase(true, true),
	},
	{
		name:    "Copy/PathsAgree",
		explain: "the store's Copier and the generic path of mailbox.Copy give the same result for the same request: same number of copies, same bytes, flags, dates and sizes, in the same order",
		needs:   needWrite,
		run: func(c *caseT) {
			a, src, uids, _ := c.copySetup()
			if _, ok := src.(mailbox.Copier); !ok {
				c.Skipf("the mailbox (%T) is not a mailbox.Copier", src)
			}
			c.create(a, "Dst2")
			ask := []mailbox.UID{uids[2], uids[1], uids[2] + 7}
			fast, err := mailbox.Copy(c.Ctx, a, src, ask, "Dst")
			c.must(err, "Copy through the Copier")
			slow, err := mailbox.Copy(c.Ctx, a, plain{src}, ask, "Dst2")
			c.must(err, "Copy through the generic path")
			if !equalUIDs(fast.Source, slow.Source) || len(fast.Dest) != len(slow.Dest) {
				c.fatalf("Copier mapped %v → %v, the generic path %v → %v", fast.Source, fast.Dest, slow.Source, slow.Dest)
			}
			d1, d2 := c.box(a, "Dst"), c.box(a, "Dst2")
			for i := range fast.Dest {
				f, g := c.info(d1, fast.Dest[i]), c.info(d2, slow.Dest[i])
				if !sameFlagList(f.Flags, g.Flags) || !f.InternalDate.Equal(g.InternalDate) || f.Size != g.Size {
					c.errorf("copy %d: Copier made %+v, the generic path %+v", i, f, g)
				}
				if !bytes.Equal(c.read(d1, fast.Dest[i]), c.read(d2, slow.Dest[i])) {
					c.errorf("copy %d: the two paths stored different bytes", i)
				}
			}
		},
	},
	{
		name:    "Copy/MissingDestination",
		explain: "copying or moving into a mailbox that does not exist returns ErrNotExist and changes nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			a, src, uids, _ := c.copySetup()
			for _, s := range []mailbox.Mailbox{src, plain{src}} {
				_, err := mailbox.Copy(c.Ctx, a, s, uids, "Nowhere")
				c.wantErr(err, mailbox.ErrNotExist, "Copy (%T) to a missing mailbox", s)
				_, err = mailbox.Move(c.Ctx, a, s, uids, "Nowhere")
				c.wantErr(err, mailbox.ErrNotExist, "Move (%T) to a missing mailbox", s)
			}
			if st := c.status(src); st.Messages != 3 {
				c.errorf("source has %d messages after failed moves, want 3", st.Messages)
			}
		},
	},
	{
		name:    "Copy/NoSelectDestination",
		explain: "copying or moving into a \\Noselect mailbox fails (ErrNoSelect or ErrNotExist) and changes nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			a, src, uids, _ := c.copySetup()
			c.create(a, "Hollow/Child")
			c.must(a.Delete(c.Ctx, "Hollow"), "Delete(\"Hollow\") to make it \\Noselect")
			for _, s := range []mailbox.Mailbox{src, plain{src}} {
				_, err := mailbox.Copy(c.Ctx, a, s, uids, "Hollow")
				c.wantErrs(err, []error{mailbox.ErrNoSelect, mailbox.ErrNotExist}, "Copy (%T) into a \\Noselect mailbox", s)
				_, err = mailbox.Move(c.Ctx, a, s, uids, "Hollow")
				c.wantErrs(err, []error{mailbox.ErrNoSelect, mailbox.ErrNotExist}, "Move (%T) into a \\Noselect mailbox", s)
			}
			if st := c.status(src); st.Messages != 3 {
				c.errorf("source has %d messages after refused moves, want 3", st.Messages)
			}
		},
	},
	{
		name:    "Copy/IntoItself",
		explain: "copying messages into their own mailbox adds copies with new, higher UIDs",
		needs:   needWrite,
		run: func(c *caseT) {
			a, src, uids, _ := c.copySetup()
			res, err := mailbox.Copy(c.Ctx, a, src, uids[:2], "Src")
			c.must(err, "Copy into itself")
			if len(res.Dest) != 2 || res.Dest[0] <= uids[2] {
				c.errorf("copy into itself mapped %v → %v, want 2 new UIDs above %d", res.Source, res.Dest, uids[2])
			}
			if st := c.status(src); st.Messages != 5 {
				c.errorf("mailbox has %d messages, want 5", st.Messages)
			}
		},
	},
	{
		name:    "Move/Events",
		explain: "a move publishes MessagesAdded in the destination (the new UIDs) and MessagesExpunged in the source (the old ones)",
		needs:   needWrite,
		run: func(c *caseT) {
			a, src, uids, _ := c.copySetup()
			rec := c.watch()
			res, err := mailbox.Move(c.Ctx, a, src, uids[:2], "Dst")
			c.must(err, "Move")
			if uids, _ := c.uidsIn(rec, mailbox.EventMessagesAdded, "Dst"); !equalUIDs(uids, res.Dest) {
				c.errorf("MessagesAdded UIDs %v, want %v", uids, res.Dest)
			}
			if uids, _ := c.uidsIn(rec, mailbox.EventMessagesExpunged, "Src"); !equalUIDs(sortedCopy(uids), res.Source) {
				c.errorf("MessagesExpunged UIDs %v, want %v", uids, res.Source)
			}
		},
	},
	{
		name:    "Copy/Events",
		explain: "a copy publishes MessagesAdded in the destination with the new UIDs and its HIGHESTMODSEQ, and nothing for the source",
		needs:   needWrite,
		run: func(c *caseT) {
			a, src, uids, dst := c.copySetup()
			rec := c.watch()
			res, err := mailbox.Copy(c.Ctx, a, src, uids, "Dst")
			c.must(err, "Copy")
			uids, modseq := c.uidsIn(rec, mailbox.EventMessagesAdded, "Dst")
			if st := c.status(dst); !equalUIDs(uids, res.Dest) || modseq != st.HighestModSeq {
				c.errorf("MessagesAdded events for UIDs %v ending at MODSEQ %d, want UIDs %v and MODSEQ %d", uids, modseq, res.Dest, st.HighestModSeq)
			}
			if evs := rec.find(0, "Src"); len(evs) != 0 {
				c.errorf("a copy published events for the source: %+v", evs)
			}
		},
	},
	{
		name:    "Move/Tombstones",
		explain: "messages moved out leave tombstones in the source, as an expunge does (QRESYNC sees them vanish)",
		needs:   needWrite,
		run: func(c *caseT) {
			a, src, uids, _ := c.copySetup()
			h := c.status(src).HighestModSeq
			_, err := mailbox.Move(c.Ctx, a, src, uids[1:], "Dst")
			c.must(err, "Move")
			v, err := src.Vanished(c.Ctx, h)
			c.must(err, "Vanished")
			if !equalUIDs(v, uids[1:]) {
				c.errorf("Vanished after the move = %v, want %v", v, uids[1:])
			}
		},
	},
}
