package mailboxtest

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// closer collects handles to close before a reopen.
type closer []interface{ Close() error }

func (cl *closer) closeAll() {
	for _, h := range *cl {
		h.Close()
	}
	*cl = nil
}

// open opens an account and the named mailboxes on s, remembering them in cl.
func (c *caseT) openOn(s mailbox.Store, cl *closer, names ...string) (mailbox.Account, []mailbox.Mailbox) {
	c.Helper()
	a, err := s.Open(c.Ctx, c.F.User)
	c.must(err, "Store.Open")
	*cl = append(*cl, a)
	var ms []mailbox.Mailbox
	for _, n := range names {
		m, err := a.Mailbox(c.Ctx, n)
		c.must(err, "Mailbox(%q)", n)
		*cl = append(*cl, m)
		ms = append(ms, m)
	}
	return a, ms
}

// reopen closes every handle in cl and returns the store reopened.
func (c *caseT) reopen(cl *closer) mailbox.Store {
	c.Helper()
	cl.closeAll()
	s := c.F.Reopen(c.T)
	if s == nil {
		c.fatalf("Fixture.Reopen returned nil")
	}
	return s
}

var durabilityCases = []kase{
	{
		name:    "Reopen/Messages",
		explain: "Append is durable: after a reopen every message is there with the same UID, bytes, flags, internal date and size, and UIDVALIDITY and UIDNEXT are unchanged",
		needs:   needWrite | needReopen,
		run: func(c *caseT) {
			var cl closer
			defer cl.closeAll()
			_, ms := c.openOn(c.F.Store, &cl, mailbox.Inbox)
			m := ms[0]
			date := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
			for i, b := range bodies {
				_, err := m.Append(c.Ctx, strings.NewReader(b.data), &mailbox.AppendOptions{Flags: []mailbox.Flag{mailbox.FlagSeen, mailbox.Flag("$k" + string(rune('a'+i)))}, InternalDate: date})
				c.must(err, "Append %s", b.name)
			}
			c.setFlags(m, []mailbox.UID{c.infos(m)[0].UID}, mailbox.FlagsAdd, mailbox.FlagFlagged)
			infos, data := c.snapshot(m)
			st := c.status(m)
			s := c.reopen(&cl)
			_, ms = c.openOn(s, &cl, mailbox.Inbox)
			m = ms[0]
			st2 := c.status(m)
			if st2.UIDValidity != st.UIDValidity || st2.UIDNext != st.UIDNext || st2.Messages != st.Messages || st2.Size != st.Size {
				c.errorf("status before reopen %+v, after %+v", st, st2)
			}
			if st2.HighestModSeq < st.HighestModSeq {
				c.errorf("HIGHESTMODSEQ went down across reopen: %d → %d", st.HighestModSeq, st2.HighestModSeq)
			}
			for _, info := range c.infos(m) {
				want, ok := infos[info.UID]
				if !ok {
					c.errorf("UID %d appeared after reopen", info.UID)
					continue
				}
				delete(infos, info.UID)
				if !sameFlagList(info.Flags, want.Flags) || !info.InternalDate.Equal(want.InternalDate) || info.Size != want.Size || info.ModSeq < want.ModSeq {
					c.errorf("message %d before reopen %+v, after %+v", info.UID, want, info)
				}
				if b := c.read(m, info.UID); !bytes.Equal(b, data[info.UID]) {
					c.errorf("message %d bytes changed across reopen", info.UID)
				}
			}
			for uid := range infos {
				c.errorf("message %d lost across reopen", uid)
			}
		},
	},
	{
		name:    "Reopen/UIDValidity",
		explain: "UIDVALIDITY is stable across reopen, and a name deleted and created after a reopen never gets an earlier UIDVALIDITY",
		needs:   needWrite | needReopen,
		run: func(c *caseT) {
			var cl closer
			defer cl.closeAll()
			a, _ := c.openOn(c.F.Store, &cl)
			seen := map[uint32]bool{}
			for range 2 {
				c.create(a, "Cycle")
				m, err := a.Mailbox(c.Ctx, "Cycle")
				c.must(err, "Mailbox")
				seen[c.status(m).UIDValidity] = true
				m.Close()
				c.must(a.Delete(c.Ctx, "Cycle"), "Delete")
			}
			c.create(a, "Cycle")
			_, ms := c.openOn(c.F.Store, &cl, "Cycle", mailbox.Inbox)
			uv, inboxUV := c.status(ms[0]).UIDValidity, c.status(ms[1]).UIDValidity
			seen[uv] = true
			s := c.reopen(&cl)
			a, ms = c.openOn(s, &cl, "Cycle", mailbox.Inbox)
			if got := c.status(ms[0]).UIDValidity; got != uv {
				c.errorf("UIDVALIDITY of \"Cycle\" %d → %d across reopen", uv, got)
			}
			if got := c.status(ms[1]).UIDValidity; got != inboxUV {
				c.errorf("UIDVALIDITY of INBOX %d → %d across reopen", inboxUV, got)
			}
			ms[0].Close()
			c.must(a.Delete(c.Ctx, "Cycle"), "Delete after reopen")
			c.create(a, "Cycle")
			_, ms = c.openOn(s, &cl, "Cycle")
			if got := c.status(ms[0]).UIDValidity; seen[got] {
				c.errorf("UIDVALIDITY %d of \"Cycle\" reused after reopen, delete and create", got)
			}
		},
	},
	{
		name:    "Reopen/UIDsNotReused",
		explain: "UIDs of expunged messages are not reused after a reopen: UIDNEXT is kept",
		needs:   needWrite | needReopen,
		run: func(c *caseT) {
			var cl closer
			defer cl.closeAll()
			_, ms := c.openOn(c.F.Store, &cl, mailbox.Inbox)
			uids := c.appendN(ms[0], 3)
			c.expunge(ms[0], uids[1], uids[2])
			s := c.reopen(&cl)
			_, ms = c.openOn(s, &cl, mailbox.Inbox)
			if got := uidsOf(c.infos(ms[0])); !equalUIDs(got, uids[:1]) {
				c.errorf("after reopen the mailbox lists %v, want %v (expunges are durable)", got, uids[:1])
			}
			if uid := c.appendMsg(ms[0], "after reopen"); uid <= uids[2] {
				c.errorf("UID %d after reopen reuses an expunged UID (highest was %d)", uid, uids[2])
			}
			if v, err := ms[0].Vanished(c.Ctx, 0); err == nil {
				for _, u := range v {
					if u != uids[1] && u != uids[2] {
						c.errorf("Vanished after reopen reports %d, which was never expunged", u)
					}
				}
			}
		},
	},
	{
		name:    "Reopen/Mailboxes",
		explain: "the mailbox tree, special-use attributes and subscriptions survive a reopen",
		needs:   needWrite | needReopen,
		run: func(c *caseT) {
			var cl closer
			defer cl.closeAll()
			a, _ := c.openOn(c.F.Store, &cl)
			c.create(a, "Tree/Leaf")
			c.must(a.Create(c.Ctx, "Sent", &mailbox.CreateOptions{SpecialUse: mailbox.AttrSent}), "Create Sent")
			c.must(a.SetSubscribed(c.Ctx, "Tree/Leaf", true), "SetSubscribed")
			c.must(a.SetSubscribed(c.Ctx, "Gone/Away", true), "SetSubscribed")
			s := c.reopen(&cl)
			a, _ = c.openOn(s, &cl)
			l := c.list(a)
			for _, n := range []string{"Tree", "Tree/Leaf", "Sent", mailbox.Inbox} {
				if _, ok := l[n]; !ok {
					c.errorf("%q lost across reopen", n)
				}
			}
			if sent := l["Sent"]; !sent.HasAttr(mailbox.AttrSent) {
				c.errorf("\"Sent\" lost \\Sent across reopen: %v", l["Sent"].Attrs)
			}
			subs, err := a.Subscriptions(c.Ctx)
			c.must(err, "Subscriptions")
			if strings.Join(sortedCopy(subs), ",") != "Gone/Away,Tree/Leaf" {
				c.errorf("subscriptions after reopen %q", subs)
			}
		},
	},
	{
		name:    "Reopen/TreeChanges",
		explain: "renames and deletes of mailboxes are durable: after a reopen the tree is as they left it",
		needs:   needWrite | needReopen,
		run: func(c *caseT) {
			var cl closer
			defer cl.closeAll()
			a, _ := c.openOn(c.F.Store, &cl)
			c.create(a, "Gone")
			c.create(a, "Old/Kid")
			c.create(a, "Parent/Child")
			_, ms := c.openOn(c.F.Store, &cl, "Old/Kid")
			uid := c.appendMsg(ms[0], "kid")
			ms[0].Close()
			c.must(a.Rename(c.Ctx, "Old", "New"), "Rename")
			c.must(a.Delete(c.Ctx, "Gone"), "Delete")
			c.must(a.Delete(c.Ctx, "Parent"), "Delete of a parent")
			s := c.reopen(&cl)
			a, _ = c.openOn(s, &cl)
			l := c.list(a)
			for _, n := range []string{"Gone", "Old", "Old/Kid"} {
				if _, ok := l[n]; ok {
					c.errorf("%q is back after reopen", n)
				}
			}
			if info, ok := l["Parent"]; !ok || !info.HasAttr(mailbox.AttrNoSelect) {
				c.errorf("deleted parent after reopen: listed %v with %v, want \\Noselect", ok, info.Attrs)
			}
			_, ms = c.openOn(s, &cl, "New/Kid")
			if got := string(c.read(ms[0], uid)); got != "kid" {
				c.errorf("renamed child's message after reopen = %q", got)
			}
		},
	},
	{
		name:    "Reopen/ModSeq",
		explain: "MODSEQs never go back across a reopen: a change after it gets a MODSEQ above every one before",
		needs:   needWrite | needReopen,
		run: func(c *caseT) {
			var cl closer
			defer cl.closeAll()
			_, ms := c.openOn(c.F.Store, &cl, mailbox.Inbox)
			uids := c.appendN(ms[0], 2)
			c.setFlags(ms[0], uids, mailbox.FlagsAdd, mailbox.FlagSeen)
			c.expunge(ms[0], uids[1])
			h := c.status(ms[0]).HighestModSeq
			s := c.reopen(&cl)
			_, ms = c.openOn(s, &cl, mailbox.Inbox)
			res := c.setFlags(ms[0], uids[:1], mailbox.FlagsAdd, mailbox.FlagFlagged)
			if len(res.Changed) != 1 || res.Changed[0].ModSeq <= h {
				c.errorf("change after reopen got %+v, want a MODSEQ above %d", res.Changed, h)
			}
		},
	},
}

var optionalCases = []kase{
	{
		name:    "ReadOnly/Refuses",
		explain: "a read-only store refuses changes with ErrReadOnly",
		needs:   needReadOnly,
		run: func(c *caseT) {
			a, m := c.inbox()
			_, err := m.Append(c.Ctx, strings.NewReader("x"), nil)
			c.wantErr(err, mailbox.ErrReadOnly, "Append")
			c.wantErr(a.Create(c.Ctx, "New", nil), mailbox.ErrReadOnly, "Create")
			for info, err := range m.Messages(c.Ctx, 1) {
				c.must(err, "Messages")
				_, err = m.SetFlags(c.Ctx, []mailbox.UID{info.UID}, mailbox.FlagsAdd, []mailbox.Flag{"$Try"}, 0)
				c.wantErr(err, mailbox.ErrReadOnly, "SetFlags")
				_, err = m.Expunge(c.Ctx, []mailbox.UID{info.UID})
				c.wantErr(err, mailbox.ErrReadOnly, "Expunge")
				break
			}
		},
	},
	{
		name:    "Metadata/RoundTrip",
		explain: "a MetadataCache returns what SetMetadata stored (a copy), ErrNotExist when there is none or the message is gone",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			mc, ok := m.(mailbox.MetadataCache)
			if !ok {
				c.Skipf("the mailbox (%T) is not a mailbox.MetadataCache", m)
			}
			uid := c.appendMsg(m, "x")
			_, err := mc.Metadata(c.Ctx, uid)
			c.wantErr(err, mailbox.ErrNotExist, "Metadata before SetMetadata")
			data := []byte("parsed\x00structure")
			c.must(mc.SetMetadata(c.Ctx, uid, data), "SetMetadata")
			data[0] = 'X'
			got, err := mc.Metadata(c.Ctx, uid)
			if err != nil || string(got) != "parsed\x00structure" {
				c.errorf("Metadata = %q, %v; want what was stored (unchanged by the caller's later writes)", got, err)
			}
			if len(got) > 0 {
				got[0] = 'Y'
			}
			if again, _ := mc.Metadata(c.Ctx, uid); string(again) != "parsed\x00structure" {
				c.errorf("Metadata changed through a returned slice: %q", again)
			}
			c.must(mc.SetMetadata(c.Ctx, uid, []byte("v2")), "SetMetadata again")
			if got, _ := mc.Metadata(c.Ctx, uid); string(got) != "v2" {
				c.errorf("Metadata after replace = %q", got)
			}
			c.wantErr(mc.SetMetadata(c.Ctx, uid+100, []byte("x")), mailbox.ErrNotExist, "SetMetadata of a missing message")
			c.expunge(m, uid)
			_, err = mc.Metadata(c.Ctx, uid)
			c.wantErr(err, mailbox.ErrNotExist, "Metadata of an expunged message")
		},
	},
	{
		name:    "Quota/Usage",
		explain: "a Quotaer reports storage and message use that follow appends and expunges exactly (RFC 9208)",
		needs:   needWrite,
		run: func(c *caseT) {
			a, m := c.inbox()
			q, ok := a.(mailbox.Quotaer)
			if !ok {
				c.Skipf("the account (%T) is not a mailbox.Quotaer", a)
			}
			before, err := q.Quota(c.Ctx)
			c.must(err, "Quota")
			uid := c.appendMsg(m, strings.Repeat("q", 1000))
			after, err := q.Quota(c.Ctx)
			c.must(err, "Quota")
			if after.StorageUsed-before.StorageUsed != 1000 || after.MessagesUsed-before.MessagesUsed != 1 {
				c.errorf("use %+v → %+v after a 1000-octet append", before, after)
			}
			c.expunge(m, uid)
			if back, _ := q.Quota(c.Ctx); back.StorageUsed != before.StorageUsed || back.MessagesUsed != before.MessagesUsed {
				c.errorf("use %+v after the expunge, want %+v", back, before)
			}
		},
	},
	{
		name:    "UIDL/Format",
		explain: "a UIDLer gives each message a stable unique-id of 1 to 70 characters in 0x21–0x7E, distinct between messages (RFC 1939 §7)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			ul, ok := m.(mailbox.UIDLer)
			if !ok {
				c.Skipf("the mailbox (%T) is not a mailbox.UIDLer", m)
			}
			seen := map[string]bool{}
			for _, uid := range c.appendN(m, 5) {
				id, err := ul.UIDL(c.Ctx, uid)
				c.must(err, "UIDL(%d)", uid)
				if len(id) < 1 || len(id) > 70 || strings.IndexFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
					c.errorf("UIDL(%d) = %q", uid, id)
				}
				if seen[id] {
					c.errorf("UIDL %q given twice", id)
				}
				seen[id] = true
				if again, _ := ul.UIDL(c.Ctx, uid); again != id {
					c.errorf("UIDL(%d) changed from %q to %q", uid, id, again)
				}
			}
		},
	},
	{
		name:    "MessageReader/SameAsOpen",
		explain: "a MessageReader appends exactly the bytes Open gives to the caller's slice, keeps what the slice held, and answers ErrNotExist for a missing or expunged message",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			mr, ok := m.(mailbox.MessageReader)
			if !ok {
				c.Skipf("the mailbox (%T) is not a mailbox.MessageReader", m)
			}
			bodies := []string{"x", everyByte(), strings.Repeat("line of text\r\n", 10000)}
			for _, body := range bodies {
				uid := c.appendMsg(m, body)
				want := c.read(m, uid)
				for _, dst := range [][]byte{nil, []byte("prefix"), make([]byte, 3, len(want)+100)} {
					prefix := string(dst)
					got, err := mr.ReadMessage(c.Ctx, uid, dst)
					c.must(err, "ReadMessage(%d)", uid)
					if !strings.HasPrefix(string(got), prefix) || string(got[len(prefix):]) != string(want) {
						c.errorf("ReadMessage(%d) with %d octets before = %d octets, want them and the %d octets Open gives", uid, len(prefix), len(got), len(want))
					}
				}
				c.expunge(m, uid)
				_, err := mr.ReadMessage(c.Ctx, uid, nil)
				c.wantErr(err, mailbox.ErrNotExist, "ReadMessage of an expunged message")
			}
			_, err := mr.ReadMessage(c.Ctx, 1<<31, nil)
			c.wantErr(err, mailbox.ErrNotExist, "ReadMessage of a UID never given")
		},
	},
	{
		name:    "Search/Basic",
		explain: "a Searcher returns exactly the UIDs that match (or an error wrapping errors.ErrUnsupported)",
		needs:   needWrite,
		run: func(c *caseT) {
			_, m := c.inbox()
			s, ok := m.(mailbox.Searcher)
			if !ok {
				c.Skipf("the mailbox (%T) is not a mailbox.Searcher", m)
			}
			uids := c.appendN(m, 4)
			c.setFlags(m, uids[1:3], mailbox.FlagsAdd, mailbox.FlagSeen)
			got, err := s.Search(c.Ctx, &mailbox.SearchCriteria{
				UIDs:      []mailbox.UIDRange{{Start: uids[0], Stop: uids[2]}},
				WithFlags: []mailbox.Flag{mailbox.FlagSeen},
			})
			if errors.Is(err, errors.ErrUnsupported) {
				c.Skip("the Searcher does not support UID and flag criteria")
			}
			c.must(err, "Search")
			if !equalUIDs(sortedCopy(got), uids[1:3]) {
				c.errorf("Search = %v, want %v", got, uids[1:3])
			}
		},
	},
}
