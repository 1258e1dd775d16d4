package mailboxtest

import (
	"slices"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// sameFlagList reports whether got and want hold the same flags in the same
// (canonical) order.
func sameFlagList(got, want []mailbox.Flag) bool {
	return slices.Equal(got, want) || len(got) == 0 && len(want) == 0
}

func canonical(c *caseT, flags ...mailbox.Flag) []mailbox.Flag {
	c.Helper()
	out, err := mailbox.CanonicalFlags(flags)
	c.must(err, "CanonicalFlags(%v)", flags)
	return out
}

var flagCases = []kase{
	{
		name:    "Flags/AppendRoundTrip",
		explain: "the flags given to Append come back from Messages in canonical form (mailbox.CanonicalFlags)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			sets := [][]mailbox.Flag{
				nil,
				{mailbox.FlagSeen},
				{mailbox.FlagDraft, mailbox.FlagAnswered, mailbox.FlagFlagged, mailbox.FlagDeleted, mailbox.FlagSeen},
				{"$Label1", mailbox.FlagSeen, mailbox.KeywordForwarded, "NonJunk"},
			}
			for _, flags := range sets {
				uid := c.appendMsg(m, "flagged", flags...)
				if got, want := c.info(m, uid).Flags, canonical(c, flags...); !sameFlagList(got, want) {
					c.errorf("appended with %v, listed with %v, want %v", flags, got, want)
				}
			}
		},
	},
	{
		name:    "Flags/Canonical",
		explain: "flags are case-insensitive: system flags are stored in their RFC spelling, duplicates differing in case are kept once",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			in := []mailbox.Flag{`\seen`, `\SEEN`, `\fLaGgEd`, "$Work", "$work", `\draft`}
			uid := c.appendMsg(m, "case", in...)
			got := c.info(m, uid).Flags
			if want := canonical(c, in...); !sameFlagList(got, want) {
				c.errorf("appended with %v, listed with %v, want %v", in, got, want)
			}
			res := c.setFlags(m, []mailbox.UID{uid}, mailbox.FlagsRemove, `\SEEN`, "$WORK")
			got = c.info(m, uid).Flags
			if mailbox.HasFlag(got, mailbox.FlagSeen) || mailbox.HasFlag(got, "$Work") {
				c.errorf("removing \\SEEN and $WORK left %v", got)
			}
			if len(res.Changed) != 1 {
				c.errorf("FlagResult.Changed = %v, want the one message", res.Changed)
			}
		},
	},
	{
		name:    "Flags/Invalid",
		explain: "invalid flags (\\Recent, unknown system flags, keywords with spaces, specials or non-ASCII, empty, longer than MaxFlagLength) make Append and SetFlags fail with ErrInvalidFlag, changing nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uid := c.appendMsg(m, "target", mailbox.FlagSeen)
			before := c.status(m)
			bad := []mailbox.Flag{`\Recent`, `\Bogus`, "two words", "", "paren(", "quote\"", "brace{", "star*", "percent%", "bracket]", "nön-ascii", "ctl\x01", mailbox.Flag(strings.Repeat("k", mailbox.MaxFlagLength+1))}
			for _, f := range bad {
				_, err := m.Append(c.Ctx, strings.NewReader("x"), &mailbox.AppendOptions{Flags: []mailbox.Flag{mailbox.FlagSeen, f}})
				c.wantErr(err, mailbox.ErrInvalidFlag, "Append with flag %q", shorten(string(f)))
				_, err = m.SetFlags(c.Ctx, []mailbox.UID{uid}, mailbox.FlagsReplace, []mailbox.Flag{f}, 0)
				c.wantErr(err, mailbox.ErrInvalidFlag, "SetFlags with flag %q", shorten(string(f)))
			}
			after := c.status(m)
			if after.Messages != before.Messages || after.HighestModSeq != before.HighestModSeq {
				c.errorf("refused flags changed the mailbox: status %+v → %+v", before, after)
			}
			if got := c.info(m, uid).Flags; !sameFlagList(got, []mailbox.Flag{mailbox.FlagSeen}) {
				c.errorf("refused SetFlags changed the flags to %v", got)
			}
		},
	},
	{
		name:    "Flags/Operations",
		explain: "SetFlags replaces (FLAGS), adds (+FLAGS) or removes (-FLAGS) flags as RFC 9051 §6.4.6 says",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uid := c.appendMsg(m, "x", mailbox.FlagSeen, "$A")
			steps := []struct {
				op    mailbox.FlagOp
				flags []mailbox.Flag
				want  []mailbox.Flag
			}{
				{mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagFlagged, "$B"}, []mailbox.Flag{mailbox.FlagFlagged, mailbox.FlagSeen, "$A", "$B"}},
				{mailbox.FlagsRemove, []mailbox.Flag{mailbox.FlagSeen, "$A", "$Absent"}, []mailbox.Flag{mailbox.FlagFlagged, "$B"}},
				{mailbox.FlagsReplace, []mailbox.Flag{mailbox.FlagAnswered, "$C"}, []mailbox.Flag{mailbox.FlagAnswered, "$C"}},
				{mailbox.FlagsReplace, nil, nil},
				{mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagDeleted}, []mailbox.Flag{mailbox.FlagDeleted}},
			}
			for i, s := range steps {
				c.setFlags(m, []mailbox.UID{uid}, s.op, s.flags...)
				if got, want := c.info(m, uid).Flags, canonical(c, s.want...); !sameFlagList(got, want) {
					c.errorf("step %d (%v %v): flags %v, want %v", i, s.op, s.flags, got, want)
				}
			}
		},
	},
	{
		name:    "Flags/Result",
		explain: "FlagResult.Changed lists, in UID order, each changed message with its new flags and MODSEQ, as Messages then reports them",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 4)
			c.setFlags(m, uids[1:2], mailbox.FlagsAdd, mailbox.FlagSeen)
			res := c.setFlags(m, []mailbox.UID{uids[3], uids[0], uids[1], uids[2]}, mailbox.FlagsAdd, mailbox.FlagSeen)
			want := []mailbox.UID{uids[0], uids[2], uids[3]}
			var got []mailbox.UID
			for _, ch := range res.Changed {
				got = append(got, ch.UID)
				info := c.info(m, ch.UID)
				if !sameFlagList(ch.Flags, info.Flags) || ch.ModSeq != info.ModSeq {
					c.errorf("Changed entry %+v disagrees with Messages %+v", ch, info)
				}
			}
			if !equalUIDs(got, want) {
				c.errorf("Changed UIDs %v, want %v (message %d already had \\Seen)", got, want, uids[1])
			}
			if len(res.Modified) != 0 {
				c.errorf("Modified = %v without UNCHANGEDSINCE", res.Modified)
			}
		},
	},
	{
		name:    "Flags/NoOpNoModSeq",
		explain: "a flag change that changes nothing is not listed in Changed and bumps neither the message's MODSEQ nor HIGHESTMODSEQ (RFC 7162 §3.1.3)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uid := c.appendMsg(m, "x", mailbox.FlagSeen, "$K")
			before, st := c.info(m, uid), c.status(m)
			noops := []struct {
				op    mailbox.FlagOp
				flags []mailbox.Flag
			}{
				{mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}},
				{mailbox.FlagsAdd, []mailbox.Flag{`\seen`, "$k"}},
				{mailbox.FlagsRemove, []mailbox.Flag{mailbox.FlagDraft}},
				{mailbox.FlagsReplace, []mailbox.Flag{"$K", mailbox.FlagSeen}},
			}
			for _, n := range noops {
				if res := c.setFlags(m, []mailbox.UID{uid}, n.op, n.flags...); len(res.Changed) != 0 {
					c.errorf("%v %v: Changed = %+v for a no-op", n.op, n.flags, res.Changed)
				}
			}
			if after := c.info(m, uid); after.ModSeq != before.ModSeq {
				c.errorf("message MODSEQ %d → %d after no-op changes", before.ModSeq, after.ModSeq)
			}
			if after := c.status(m); after.HighestModSeq != st.HighestModSeq {
				c.errorf("HIGHESTMODSEQ %d → %d after no-op changes", st.HighestModSeq, after.HighestModSeq)
			}
		},
	},
	{
		name:    "Flags/MissingUIDsIgnored",
		explain: "SetFlags and Expunge ignore UIDs that are not in the mailbox",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uid := c.appendMsg(m, "x")
			res, err := m.SetFlags(c.Ctx, []mailbox.UID{uid + 5, uid, 1<<32 - 1}, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
			if err != nil {
				c.errorf("SetFlags with missing UIDs: %v", err)
			} else if len(res.Changed) != 1 || res.Changed[0].UID != uid {
				c.errorf("Changed = %+v, want only %d", res.Changed, uid)
			}
			got, err := m.Expunge(c.Ctx, []mailbox.UID{uid + 5, uid + 6})
			if err != nil || len(got) != 0 {
				c.errorf("Expunge of missing UIDs = %v, %v; want none, nil", got, err)
			}
			if st := c.status(m); st.Messages != 1 {
				c.errorf("%d messages left, want 1", st.Messages)
			}
		},
	},
	{
		name:    "Flags/Keywords",
		explain: "any valid keyword round-trips, up to MaxFlagLength bytes and many per message",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			kws := []mailbox.Flag{mailbox.KeywordForwarded, mailbox.KeywordMDNSent, mailbox.KeywordJunk, mailbox.KeywordNotJunk, mailbox.KeywordPhishing,
				"NonJunk", "$label1", "a.b-c_d+e", "~!@#$&'-=[;:,.<>?/`|^", mailbox.Flag(strings.Repeat("k", mailbox.MaxFlagLength))}
			for i := range 40 {
				kws = append(kws, mailbox.Flag("kw"+strings.Repeat("x", i)))
			}
			uid := c.appendMsg(m, "keywords")
			c.setFlags(m, []mailbox.UID{uid}, mailbox.FlagsReplace, kws...)
			if got, want := c.info(m, uid).Flags, canonical(c, kws...); !sameFlagList(got, want) {
				c.errorf("keywords listed as %v, want %v", got, want)
			}
		},
	},
	{
		name:    "Flags/NotAliased",
		explain: "returned slices are copies and the store keeps no caller slice: changing MessageInfo.Flags, FlagResult flags, or the slices given to Append and SetFlags changes nothing stored",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			in := []mailbox.Flag{mailbox.FlagSeen, "$Keep"}
			uid, err := m.Append(c.Ctx, strings.NewReader("x"), &mailbox.AppendOptions{Flags: in})
			c.must(err, "Append")
			in[0], in[1] = "$Scribble", "$Scribble2"
			info := c.info(m, uid)
			want := canonical(c, mailbox.FlagSeen, "$Keep")
			if !sameFlagList(info.Flags, want) {
				c.errorf("changing the Append flags slice changed the stored flags to %v", info.Flags)
			}
			for i := range info.Flags {
				info.Flags[i] = "$Scribble"
			}
			if got := c.info(m, uid).Flags; !sameFlagList(got, want) {
				c.errorf("changing MessageInfo.Flags changed the stored flags to %v", got)
			}
			change := []mailbox.Flag{mailbox.FlagFlagged}
			res := c.setFlags(m, []mailbox.UID{uid}, mailbox.FlagsAdd, change...)
			change[0] = "$Scribble"
			for _, ch := range res.Changed {
				for i := range ch.Flags {
					ch.Flags[i] = "$Scribble"
				}
			}
			want = canonical(c, mailbox.FlagSeen, mailbox.FlagFlagged, "$Keep")
			if got := c.info(m, uid).Flags; !sameFlagList(got, want) {
				c.errorf("changing SetFlags' slices changed the stored flags to %v", got)
			}
			uids := []mailbox.UID{uid}
			gone := c.expunge(m, uids...)
			uids[0] = 0
			if len(gone) == 1 {
				gone[0] = 12345
			}
			if v, err := m.Vanished(c.Ctx, 0); err == nil && (len(v) != 1 || v[0] != uid) {
				c.errorf("Vanished = %v after changing Expunge's slices, want [%d]", v, uid)
			}
		},
	},
	{
		name:    "Flags/ManyMessages",
		explain: "one SetFlags changes every listed message, and Status counts follow",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			uids := c.appendN(m, 500)
			res := c.setFlags(m, uids, mailbox.FlagsAdd, mailbox.FlagSeen, mailbox.FlagDeleted)
			if len(res.Changed) != len(uids) {
				c.errorf("Changed lists %d messages, want %d", len(res.Changed), len(uids))
			}
			if st := c.status(m); st.Unseen != 0 || st.Deleted != uint32(len(uids)) {
				c.errorf("status after flagging all: %+v", st)
			}
			for _, info := range c.infos(m) {
				if !info.HasFlag(mailbox.FlagSeen) || !info.HasFlag(mailbox.FlagDeleted) {
					c.errorf("message %d has %v", info.UID, info.Flags)
					break
				}
			}
		},
	},
}
