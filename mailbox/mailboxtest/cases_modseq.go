package mailboxtest

import (
	"github.com/posthorn/posthorn/mailbox"
)

var modseqCases = []kase{
	{
		name:    "ModSeq/Increasing",
		explain: "every change (append, flag change, expunge) gets a MODSEQ above any before it in the mailbox; HIGHESTMODSEQ follows and is never 0",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			last := c.status(m).HighestModSeq
			if last == 0 {
				c.errorf("HIGHESTMODSEQ of an empty mailbox is 0 (mod-sequences are positive, RFC 7162 §3.1.1)")
			}
			step := func(what string) mailbox.ModSeq {
				c.Helper()
				h := c.status(m).HighestModSeq
				if h <= last {
					c.errorf("%s: HIGHESTMODSEQ %d not above the previous %d", what, h, last)
				}
				last = h
				return h
			}
			uid := c.appendMsg(m, "a")
			h := step("append")
			if info := c.info(m, uid); info.ModSeq == 0 || info.ModSeq > h {
				c.errorf("appended message MODSEQ %d, want in (0, HIGHESTMODSEQ %d]", info.ModSeq, h)
			}
			uid2 := c.appendMsg(m, "b")
			step("second append")
			res := c.setFlags(m, []mailbox.UID{uid}, mailbox.FlagsAdd, mailbox.FlagSeen)
			h = step("flag change")
			if len(res.Changed) == 1 && res.Changed[0].ModSeq != h {
				c.errorf("flag change MODSEQ %d, HIGHESTMODSEQ %d: want equal", res.Changed[0].ModSeq, h)
			}
			if info := c.info(m, uid); info.ModSeq != h {
				c.errorf("changed message MODSEQ %d, want HIGHESTMODSEQ %d", info.ModSeq, h)
			}
			c.expunge(m, uid2)
			step("expunge")
			for _, info := range c.infos(m) {
				if info.ModSeq > last {
					c.errorf("message %d MODSEQ %d above HIGHESTMODSEQ %d", info.UID, info.ModSeq, last)
				}
			}
		},
	},
	{
		name:    "ModSeq/PerMessage",
		explain: "a flag change raises the MODSEQ of the changed messages only",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 3)
			before := c.infos(m)
			c.setFlags(m, uids[1:2], mailbox.FlagsAdd, mailbox.FlagFlagged)
			after := c.infos(m)
			if len(after) != 3 {
				c.fatalf("%d messages, want 3", len(after))
			}
			for i := range after {
				changed := after[i].ModSeq != before[i].ModSeq
				if changed != (i == 1) {
					c.errorf("message %d MODSEQ %d → %d (changed: %v, want %v)", after[i].UID, before[i].ModSeq, after[i].ModSeq, changed, i == 1)
				}
			}
			if after[1].ModSeq <= before[1].ModSeq {
				c.errorf("changed message MODSEQ went from %d to %d", before[1].ModSeq, after[1].ModSeq)
			}
		},
	},
	{
		name:    "ModSeq/UnchangedSince",
		explain: "SetFlags with UNCHANGEDSINCE leaves messages with a higher MODSEQ untouched and lists them in Modified; the others change (RFC 7162 §3.1.3)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 3)
			mid := c.status(m).HighestModSeq
			c.setFlags(m, uids[2:], mailbox.FlagsAdd, "$Later") // uids[2] now above mid
			high := c.info(m, uids[2]).ModSeq
			res, err := m.SetFlags(c.Ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, mid)
			c.must(err, "SetFlags UNCHANGEDSINCE %d", mid)
			if !equalUIDs(res.Modified, uids[2:]) {
				c.errorf("Modified = %v, want %v", res.Modified, uids[2:])
			}
			var changed []mailbox.UID
			for _, ch := range res.Changed {
				changed = append(changed, ch.UID)
			}
			if !equalUIDs(changed, uids[:2]) {
				c.errorf("Changed = %v, want %v", changed, uids[:2])
			}
			if info := c.info(m, uids[2]); info.HasFlag(mailbox.FlagSeen) || info.ModSeq != high {
				c.errorf("message above UNCHANGEDSINCE was changed: %+v", info)
			}
			// The condition holds exactly at the message's MODSEQ.
			res, err = m.SetFlags(c.Ctx, uids[2:], mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, high)
			c.must(err, "SetFlags UNCHANGEDSINCE %d", high)
			if len(res.Modified) != 0 || len(res.Changed) != 1 {
				c.errorf("UNCHANGEDSINCE equal to the MODSEQ: result %+v, want the message changed", res)
			}
		},
	},
	{
		name:    "ModSeq/UnchangedSinceAndNoOps",
		explain: "UNCHANGEDSINCE 1 refuses every message changed since (all MODSEQs are higher), even when the change would be a no-op",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 2)
			c.setFlags(m, uids, mailbox.FlagsAdd, mailbox.FlagSeen)
			st := c.status(m)
			res, err := m.SetFlags(c.Ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 1)
			c.must(err, "SetFlags UNCHANGEDSINCE 1")
			if len(res.Changed) != 0 || !equalUIDs(res.Modified, uids) {
				c.errorf("result %+v, want nothing changed and %v in Modified", res, uids)
			}
			if after := c.status(m); after.HighestModSeq != st.HighestModSeq {
				c.errorf("HIGHESTMODSEQ moved from %d to %d though nothing changed", st.HighestModSeq, after.HighestModSeq)
			}
		},
	},
	{
		name:    "Expunge/Basic",
		explain: "Expunge removes the listed messages and returns their UIDs ascending; a second Expunge of them returns none",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 5)
			got := c.expunge(m, uids[3], uids[1], uids[3])
			if want := []mailbox.UID{uids[1], uids[3]}; !equalUIDs(got, want) {
				c.errorf("Expunge returned %v, want %v", got, want)
			}
			if left := uidsOf(c.infos(m)); !equalUIDs(left, []mailbox.UID{uids[0], uids[2], uids[4]}) {
				c.errorf("after Expunge Messages lists %v", left)
			}
			if st := c.status(m); st.Messages != 3 {
				c.errorf("Status.Messages = %d, want 3", st.Messages)
			}
			if again := c.expunge(m, uids[1], uids[3]); len(again) != 0 {
				c.errorf("second Expunge returned %v", again)
			}
		},
	},
	{
		name:    "Expunge/Vanished",
		explain: "expunged UIDs leave tombstones: Vanished(since) returns, ascending, the UIDs expunged with a MODSEQ above since (RFC 7162 §3.2.5)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 6)
			m0 := c.status(m).HighestModSeq
			c.expunge(m, uids[4], uids[1])
			m1 := c.status(m).HighestModSeq
			c.expunge(m, uids[2])
			m2 := c.status(m).HighestModSeq
			check := func(since mailbox.ModSeq, want []mailbox.UID) {
				c.Helper()
				got, err := m.Vanished(c.Ctx, since)
				if err != nil {
					c.errorf("Vanished(%d): %v", since, err)
					return
				}
				if !equalUIDs(got, want) {
					c.errorf("Vanished(%d) = %v, want %v", since, got, want)
				}
			}
			check(0, []mailbox.UID{uids[1], uids[2], uids[4]})
			check(m0, []mailbox.UID{uids[1], uids[2], uids[4]})
			check(m1, []mailbox.UID{uids[2]})
			check(m2, nil)
		},
	},
	{
		name:    "Expunge/ModSeqAndTombstones",
		explain: "an expunge raises HIGHESTMODSEQ (expunges count, RFC 7162 §3.1.1); expunging nothing raises nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 2)
			h0 := c.status(m).HighestModSeq
			c.expunge(m, uids[0])
			h1 := c.status(m).HighestModSeq
			if h1 <= h0 {
				c.errorf("HIGHESTMODSEQ %d → %d across an expunge", h0, h1)
			}
			c.expunge(m, uids[0])
			if h2 := c.status(m).HighestModSeq; h2 != h1 {
				c.errorf("HIGHESTMODSEQ %d → %d across an expunge of nothing", h1, h2)
			}
		},
	},
}
