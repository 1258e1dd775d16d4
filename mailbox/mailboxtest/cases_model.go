package mailboxtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// model is what a mailbox must hold after a sequence of changes: the kit
// replays random changes on the store and on the model, and compares.
type model struct {
	flags  map[mailbox.UID][]mailbox.Flag
	modseq map[mailbox.UID]mailbox.ModSeq
	gone   map[mailbox.UID]bool // expunged
	last   mailbox.UID          // highest UID handed out
	high   mailbox.ModSeq       // highest MODSEQ seen
}

var modelFlags = []mailbox.Flag{mailbox.FlagSeen, mailbox.FlagFlagged, mailbox.FlagDeleted, mailbox.FlagAnswered, mailbox.FlagDraft, "$A", "$Label", "Junk"}

func (md *model) live() []mailbox.UID {
	out := make([]mailbox.UID, 0, len(md.flags))
	for uid := range md.flags {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}

// pick returns a random subset of the live UIDs, with an expunged or
// never-used UID now and then.
func (md *model) pick(rng *rand.Rand) []mailbox.UID {
	var out []mailbox.UID
	for _, uid := range md.live() {
		if rng.IntN(3) == 0 {
			out = append(out, uid)
		}
	}
	if rng.IntN(4) == 0 {
		out = append(out, md.last+1+mailbox.UID(rng.IntN(5)))
	}
	for uid := range md.gone {
		if rng.IntN(8) == 0 {
			out = append(out, uid)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func randomFlags(rng *rand.Rand) []mailbox.Flag {
	var out []mailbox.Flag
	for _, f := range modelFlags {
		if rng.IntN(3) == 0 {
			out = append(out, f)
		}
	}
	return out
}

// modelCase replays ops random changes from seed through two handles.
func modelCase(seed uint64, ops int) func(c *caseT) {
	return func(c *caseT) {
		_, m1 := c.inbox()
		_, m2 := c.inbox()
		rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
		md := &model{flags: map[mailbox.UID][]mailbox.Flag{}, modseq: map[mailbox.UID]mailbox.ModSeq{}, gone: map[mailbox.UID]bool{}}
		md.high = c.status(m1).HighestModSeq
		for i := range ops {
			m := m1
			if rng.IntN(2) == 0 {
				m = m2
			}
			step := fmt.Sprintf("seed %d step %d", seed, i)
			switch r := rng.IntN(10); {
			case r < 3 || len(md.flags) == 0:
				md.append(c, m, rng, step)
			case r < 8:
				md.setFlags(c, m, rng, step)
			default:
				md.expunge(c, m, rng, step)
			}
			if c.Failed() {
				return // one divergence makes the rest noise
			}
			if i%25 == 24 || i == ops-1 {
				md.compare(c, m1, step)
			}
		}
	}
}

func (md *model) bump(c *caseT, got mailbox.ModSeq, step string) {
	c.Helper()
	if got <= md.high {
		c.errorf("%s: MODSEQ %d not above the previous %d", step, got, md.high)
	}
	md.high = got
}

func (md *model) append(c *caseT, m mailbox.Mailbox, rng *rand.Rand, step string) {
	c.Helper()
	flags := randomFlags(rng)
	uid, err := m.Append(c.Ctx, strings.NewReader(step), &mailbox.AppendOptions{Flags: flags})
	if err != nil {
		c.errorf("%s: Append: %v", step, err)
		return
	}
	if uid <= md.last {
		c.errorf("%s: Append returned UID %d, not above %d", step, uid, md.last)
	}
	md.last = uid
	md.flags[uid] = canonical(c, flags...)
	st := c.status(m)
	md.bump(c, st.HighestModSeq, step+" (append)")
	md.modseq[uid] = c.info(m, uid).ModSeq
}

func (md *model) setFlags(c *caseT, m mailbox.Mailbox, rng *rand.Rand, step string) {
	c.Helper()
	uids := md.pick(rng)
	op := mailbox.FlagOp(rng.IntN(3))
	flags := randomFlags(rng)
	var since mailbox.ModSeq
	if rng.IntN(3) == 0 && md.high > 1 {
		since = 1 + mailbox.ModSeq(rng.Uint64N(uint64(md.high)))
	}
	res, err := m.SetFlags(c.Ctx, uids, op, flags, since)
	if err != nil {
		c.errorf("%s: SetFlags: %v", step, err)
		return
	}
	change := canonical(c, flags...)
	var wantChanged, wantModified []mailbox.UID
	next := map[mailbox.UID][]mailbox.Flag{}
	for _, uid := range sortedCopy(uids) {
		cur, ok := md.flags[uid]
		if !ok || slices.Contains(wantChanged, uid) || slices.Contains(wantModified, uid) {
			continue
		}
		if since != 0 && md.modseq[uid] > since {
			wantModified = append(wantModified, uid)
			continue
		}
		if n, diff := mailbox.ApplyFlags(cur, op, change); diff {
			wantChanged = append(wantChanged, uid)
			next[uid] = n
		}
	}
	var gotChanged []mailbox.UID
	for _, ch := range res.Changed {
		gotChanged = append(gotChanged, ch.UID)
		if want, ok := next[ch.UID]; ok && !sameFlagList(ch.Flags, want) {
			c.errorf("%s: %v %v on %d gave %v, want %v", step, op, change, ch.UID, ch.Flags, want)
		}
	}
	if !equalUIDs(gotChanged, wantChanged) || !equalUIDs(res.Modified, wantModified) {
		c.errorf("%s: SetFlags(%v, %v %v, UNCHANGEDSINCE %d) changed %v and refused %v; want changed %v, refused %v",
			step, uids, op, change, since, gotChanged, res.Modified, wantChanged, wantModified)
		return
	}
	prev, high := md.high, md.high
	for _, ch := range res.Changed {
		if ch.ModSeq <= prev {
			c.errorf("%s: message %d changed with MODSEQ %d, not above the previous %d", step, ch.UID, ch.ModSeq, prev)
		}
		high = max(high, ch.ModSeq)
		md.flags[ch.UID] = next[ch.UID]
		md.modseq[ch.UID] = ch.ModSeq
	}
	md.high = high
}

func (md *model) expunge(c *caseT, m mailbox.Mailbox, rng *rand.Rand, step string) {
	c.Helper()
	uids := md.pick(rng)
	got, err := m.Expunge(c.Ctx, uids)
	if err != nil {
		c.errorf("%s: Expunge: %v", step, err)
		return
	}
	var want []mailbox.UID
	for _, uid := range sortedCopy(uids) {
		if _, ok := md.flags[uid]; ok && !slices.Contains(want, uid) {
			want = append(want, uid)
		}
	}
	if !equalUIDs(got, want) {
		c.errorf("%s: Expunge(%v) = %v, want %v", step, uids, got, want)
		return
	}
	for _, uid := range got {
		delete(md.flags, uid)
		delete(md.modseq, uid)
		md.gone[uid] = true
	}
	if len(got) > 0 {
		md.bump(c, c.status(m).HighestModSeq, step+" (expunge)")
	}
}

// compare checks the whole mailbox against the model.
func (md *model) compare(c *caseT, m mailbox.Mailbox, step string) {
	c.Helper()
	infos := c.infos(m)
	if got, want := uidsOf(infos), md.live(); !equalUIDs(got, want) {
		c.errorf("%s: Messages lists %v, the model %v", step, got, want)
		return
	}
	var unseen, deleted uint32
	for _, info := range infos {
		if !sameFlagList(info.Flags, md.flags[info.UID]) || info.ModSeq != md.modseq[info.UID] {
			c.errorf("%s: message %d has flags %v MODSEQ %d, the model %v MODSEQ %d", step, info.UID, info.Flags, info.ModSeq, md.flags[info.UID], md.modseq[info.UID])
		}
		if !info.HasFlag(mailbox.FlagSeen) {
			unseen++
		}
		if info.HasFlag(mailbox.FlagDeleted) {
			deleted++
		}
	}
	st := c.status(m)
	if st.Messages != uint32(len(infos)) || st.Unseen != unseen || st.Deleted != deleted || st.HighestModSeq != md.high || st.UIDNext <= md.last {
		c.errorf("%s: status %+v; want %d messages, %d unseen, %d deleted, HIGHESTMODSEQ %d, UIDNEXT above %d", step, st, len(infos), unseen, deleted, md.high, md.last)
	}
	v, err := m.Vanished(c.Ctx, 0)
	if err != nil {
		c.errorf("%s: Vanished: %v", step, err)
		return
	}
	for _, uid := range v {
		if !md.gone[uid] {
			c.errorf("%s: Vanished reports %d, which was not expunged", step, uid)
		}
	}
}

const modelExplain = "after any sequence of appends, flag changes (with and without UNCHANGEDSINCE, on live, expunged and unknown UIDs) and expunges through two handles, the mailbox holds what the rules of SetFlags, Expunge and MODSEQ say"

var modelCases = []kase{
	{name: "Model/RandomChanges1", explain: modelExplain, needs: needWrite, run: modelCase(1, 300)},
	{name: "Model/RandomChanges2", explain: modelExplain, needs: needWrite, run: modelCase(2, 300)},
	{name: "Model/RandomChanges3", explain: modelExplain, needs: needWrite, run: modelCase(3, 300)},
}
