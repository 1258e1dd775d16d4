package mailboxtest

import (
	"errors"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

func cases() []kase {
	var all []kase
	for _, group := range [][]kase{
		accountCases, namesCases, messageCases, flagCases, modseqCases,
		eventCases, copyCases, handleCases, contextCases, authCases, durabilityCases, optionalCases, modelCases,
	} {
		all = append(all, group...)
	}
	return all
}

var accountCases = []kase{
	{
		name:    "Store/OpenUnknownUser",
		explain: "Store.Open of a user that does not exist returns an error wrapping ErrNotExist",
		run: func(c *caseT) {
			a, err := c.F.Store.Open(c.Ctx, c.F.User+"-no-such-user")
			if err == nil {
				a.Close()
			}
			c.wantErr(err, mailbox.ErrNotExist, "Open of an unknown user")
		},
	},
	{
		name:    "Store/DeliverUnknownUser",
		explain: "mailbox.Deliver to a user that does not exist fails with ErrNotExist",
		run: func(c *caseT) {
			_, err := mailbox.Deliver(c.Ctx, c.F.Store, c.F.User+"-no-such-user", strings.NewReader("x"), nil)
			c.wantErr(err, mailbox.ErrNotExist, "Deliver to an unknown user")
		},
	},
	{
		name:    "Account/User",
		explain: "Account.User returns the user name the account was opened for",
		run: func(c *caseT) {
			if got := c.account().User(); got != c.F.User {
				c.errorf("User() = %q, want %q", got, c.F.User)
			}
		},
	},
	{
		name:    "Account/InboxExists",
		explain: "every account has a selectable INBOX, listed as \"INBOX\"",
		run: func(c *caseT) {
			a := c.account()
			l := c.list(a)
			info, ok := l[mailbox.Inbox]
			if !ok {
				c.errorf("List does not include INBOX: %v", l)
			} else if info.HasAttr(mailbox.AttrNoSelect) {
				c.errorf("INBOX is listed \\Noselect")
			}
			for name := range l {
				if mailbox.IsInbox(name) && name != mailbox.Inbox {
					c.errorf("List spells the inbox %q, want %q", name, mailbox.Inbox)
				}
			}
			m := c.box(a, mailbox.Inbox)
			if m.Name() != mailbox.Inbox {
				c.errorf("Name() = %q, want INBOX", m.Name())
			}
		},
	},
	{
		name:    "Account/InboxCaseInsensitive",
		explain: "the name INBOX is case-insensitive (RFC 9051 §5.1): any spelling opens the same mailbox, named \"INBOX\"",
		needs:   needWrite,
		run: func(c *caseT) {
			a, in := c.inbox()
			uid := c.appendMsg(in, "hello")
			for _, spelling := range []string{"inbox", "Inbox", "iNbOx"} {
				m, err := a.Mailbox(c.Ctx, spelling)
				if err != nil {
					c.errorf("Mailbox(%q): %v", spelling, err)
					continue
				}
				if m.Name() != mailbox.Inbox {
					c.errorf("Mailbox(%q).Name() = %q, want INBOX", spelling, m.Name())
				}
				if st := c.status(m); st.Messages != 1 || st.UIDValidity != c.status(in).UIDValidity {
					c.errorf("Mailbox(%q) is not INBOX: status %+v", spelling, st)
				}
				if got := c.read(m, uid); string(got) != "hello" {
					c.errorf("Mailbox(%q) message %d = %q", spelling, uid, got)
				}
				m.Close()
			}
			c.wantErr(a.Create(c.Ctx, "inbox", nil), mailbox.ErrExist, "Create(\"inbox\")")
		},
	},
	{
		name:    "Account/InboxCannotBeDeleted",
		explain: "Delete of INBOX, in any spelling, returns ErrNotPermitted and leaves it intact",
		needs:   needWrite,
		run: func(c *caseT) {
			a, in := c.inbox()
			c.appendMsg(in, "keep me")
			for _, name := range []string{"INBOX", "inbox"} {
				c.wantErr(a.Delete(c.Ctx, name), mailbox.ErrNotPermitted, "Delete(%q)", name)
			}
			if st := c.status(in); st.Messages != 1 {
				c.errorf("INBOX has %d messages after a refused Delete, want 1", st.Messages)
			}
		},
	},
	{
		name:    "Account/CreateAndList",
		explain: "Create makes a selectable, empty mailbox that List reports with \\HasNoChildren and without \\Noselect",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "Work")
			info, ok := c.list(a)["Work"]
			if !ok {
				c.fatalf("List lacks the created mailbox \"Work\"")
			}
			if info.HasAttr(mailbox.AttrNoSelect) {
				c.errorf("\"Work\" listed with \\Noselect")
			}
			if !info.HasAttr(mailbox.AttrHasNoChildren) || info.HasAttr(mailbox.AttrHasChildren) {
				c.errorf("\"Work\" attributes %v, want \\HasNoChildren", info.Attrs)
			}
			st := c.status(c.box(a, "Work"))
			if st.Messages != 0 || st.UIDValidity == 0 || st.UIDNext == 0 {
				c.errorf("new mailbox status %+v: want no messages, non-zero UIDVALIDITY and UIDNEXT", st)
			}
		},
	},
	{
		name:    "Account/CreateExisting",
		explain: "Create of an existing selectable mailbox returns ErrExist",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "Work")
			c.wantErr(a.Create(c.Ctx, "Work", nil), mailbox.ErrExist, "second Create(\"Work\")")
		},
	},
	{
		name:    "Account/CreateParents",
		explain: "Create makes any missing parents (RFC 9051 §6.3.4); List reports \\HasChildren on a parent and \\HasNoChildren on a leaf",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "a/b/c")
			l := c.list(a)
			for _, n := range []string{"a", "a/b"} {
				info, ok := l[n]
				switch {
				case !ok:
					c.errorf("parent %q of \"a/b/c\" not listed", n)
				case !info.HasAttr(mailbox.AttrHasChildren):
					c.errorf("parent %q attributes %v lack \\HasChildren", n, info.Attrs)
				}
			}
			if info := l["a/b/c"]; !info.HasAttr(mailbox.AttrHasNoChildren) {
				c.errorf("leaf \"a/b/c\" attributes %v lack \\HasNoChildren", info.Attrs)
			}
			c.create(a, "a/b/d") // a sibling under an existing parent
		},
	},
	{
		name:    "Account/CreateSpecialUse",
		explain: "a special-use attribute given to Create (RFC 6154) is reported by List",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			uses := map[string]mailbox.Attr{"Sent": mailbox.AttrSent, "Trash": mailbox.AttrTrash, "Drafts": mailbox.AttrDrafts, "Junk": mailbox.AttrJunk, "Archive": mailbox.AttrArchive}
			for name, use := range uses {
				c.must(a.Create(c.Ctx, name, &mailbox.CreateOptions{SpecialUse: use}), "Create(%q, %s)", name, use)
			}
			l := c.list(a)
			for name, use := range uses {
				if info := l[name]; !info.HasAttr(use) {
					c.errorf("%q listed with %v, want %s", name, info.Attrs, use)
				}
			}
		},
	},
	{
		name:    "Account/MailboxNotExist",
		explain: "Account.Mailbox of a name that does not exist returns ErrNotExist",
		run: func(c *caseT) {
			_, err := c.account().Mailbox(c.Ctx, "No/Such/Mailbox")
			c.wantErr(err, mailbox.ErrNotExist, "Mailbox of a missing name")
		},
	},
	{
		name:    "Account/DeleteRemoves",
		explain: "Delete removes a mailbox and its messages: List no longer has it and Mailbox returns ErrNotExist",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "Old")
			m := c.box(a, "Old")
			c.appendMsg(m, "gone soon")
			m.Close()
			c.must(a.Delete(c.Ctx, "Old"), "Delete(\"Old\")")
			if _, ok := c.list(a)["Old"]; ok {
				c.errorf("deleted mailbox still listed")
			}
			_, err := a.Mailbox(c.Ctx, "Old")
			c.wantErr(err, mailbox.ErrNotExist, "Mailbox of a deleted name")
			c.wantErr(a.Delete(c.Ctx, "Old"), mailbox.ErrNotExist, "second Delete")
		},
	},
	{
		name:    "Account/DeleteWithChildren",
		explain: "deleting a mailbox with children removes its messages and leaves it \\Noselect; Mailbox then returns ErrNoSelect and a second Delete ErrHasChildren (RFC 9051 §6.3.5)",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "p/child")
			p := c.box(a, "p")
			c.appendMsg(p, "in the parent")
			p.Close()
			c.must(a.Delete(c.Ctx, "p"), "Delete(\"p\") with a child")
			l := c.list(a)
			if info, ok := l["p"]; !ok || !info.HasAttr(mailbox.AttrNoSelect) {
				c.errorf("\"p\" after Delete: listed %v with %v, want \\Noselect", ok, info.Attrs)
			}
			if _, ok := l["p/child"]; !ok {
				c.errorf("the child \"p/child\" disappeared with its parent")
			}
			if info := l["p"]; !info.HasAttr(mailbox.AttrHasChildren) {
				c.errorf("\\Noselect \"p\" listed with %v, want \\HasChildren too", info.Attrs)
			}
			_, err := a.Mailbox(c.Ctx, "p")
			c.wantErr(err, mailbox.ErrNoSelect, "Mailbox of a \\Noselect name")
			c.wantErr(a.Delete(c.Ctx, "p"), mailbox.ErrHasChildren, "Delete of a \\Noselect mailbox with children")
			c.must(a.Delete(c.Ctx, "p/child"), "Delete(\"p/child\")")
		},
	},
	{
		name:    "Account/RecreateNoSelect",
		explain: "Create of a \\Noselect name makes it selectable again, empty, with a new UIDVALIDITY",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "p/child")
			p := c.box(a, "p")
			c.appendMsg(p, "x")
			old := c.status(p).UIDValidity
			p.Close()
			c.must(a.Delete(c.Ctx, "p"), "Delete(\"p\")")
			c.must(a.Create(c.Ctx, "p", nil), "Create of the \\Noselect name \"p\"")
			st := c.status(c.box(a, "p"))
			if st.Messages != 0 {
				c.errorf("re-created \"p\" has %d messages, want 0", st.Messages)
			}
			if st.UIDValidity == old {
				c.errorf("re-created \"p\" has its old UIDVALIDITY %d", old)
			}
			if info := c.list(a)["p"]; info.HasAttr(mailbox.AttrNoSelect) {
				c.errorf("re-created \"p\" still listed \\Noselect")
			}
		},
	},
	{
		name:    "Account/UIDValidityAfterRecreate",
		explain: "a UIDVALIDITY is never reused for a mailbox name, even after delete and create",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			seen := map[uint32]bool{}
			for i := range 4 {
				c.create(a, "Again")
				m := c.box(a, "Again")
				uv := c.status(m).UIDValidity
				if seen[uv] {
					c.errorf("round %d: UIDVALIDITY %d reused after delete and create", i, uv)
				}
				if n := len(c.infos(m)); n != 0 {
					c.errorf("round %d: the re-created mailbox holds %d messages of the deleted one", i, n)
				}
				seen[uv] = true
				c.appendMsg(m, "x")
				m.Close()
				c.must(a.Delete(c.Ctx, "Again"), "Delete")
			}
		},
	},
	{
		name:    "Account/Rename",
		explain: "Rename moves a mailbox and its messages (same UIDs and bytes) to the new name; the old name no longer exists",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "From")
			m := c.box(a, "From")
			uids := c.appendN(m, 3)
			uv := c.status(m).UIDValidity
			m.Close()
			c.must(a.Rename(c.Ctx, "From", "To"), "Rename")
			_, err := a.Mailbox(c.Ctx, "From")
			c.wantErr(err, mailbox.ErrNotExist, "Mailbox of the old name")
			to := c.box(a, "To")
			if got := uidsOf(c.infos(to)); !equalUIDs(got, uids) {
				c.errorf("renamed mailbox has UIDs %v, want %v", got, uids)
			}
			if st := c.status(to); st.UIDValidity != uv {
				c.errorf("renamed mailbox UIDVALIDITY %d, want the old %d (same messages, same UIDs)", st.UIDValidity, uv)
			}
			for i, uid := range uids {
				if got := string(c.read(to, uid)); got != sampleMessage(i) {
					c.errorf("message %d after rename = %q", uid, got)
				}
			}
			l := c.list(a)
			if _, ok := l["From"]; ok {
				c.errorf("old name still listed")
			}
		},
	},
	{
		name:    "Account/RenameChildren",
		explain: "Rename moves all children with their parent (RFC 9051 §6.3.6) and creates missing parents of the new name",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "a/b/c")
			c.create(a, "a/x")
			m := c.box(a, "a/b/c")
			uid := c.appendMsg(m, "deep")
			m.Close()
			c.must(a.Rename(c.Ctx, "a", "n/z"), "Rename(\"a\", \"n/z\")")
			l := c.list(a)
			for _, n := range []string{"n", "n/z", "n/z/b", "n/z/b/c", "n/z/x"} {
				if _, ok := l[n]; !ok {
					c.errorf("%q not listed after rename", n)
				}
			}
			for _, n := range []string{"a", "a/b", "a/b/c", "a/x"} {
				if _, ok := l[n]; ok {
					c.errorf("old name %q still listed after rename", n)
				}
			}
			if got := string(c.read(c.box(a, "n/z/b/c"), uid)); got != "deep" {
				c.errorf("child's message after rename = %q", got)
			}
		},
	},
	{
		name:    "Account/RenameErrors",
		explain: "Rename returns ErrNotExist for a missing source and ErrExist for an existing target, changing nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "One")
			c.create(a, "Two")
			c.wantErr(a.Rename(c.Ctx, "Missing", "Three"), mailbox.ErrNotExist, "Rename of a missing mailbox")
			c.wantErr(a.Rename(c.Ctx, "One", "Two"), mailbox.ErrExist, "Rename onto an existing mailbox")
			c.wantErr(a.Rename(c.Ctx, "One", "inbox"), mailbox.ErrExist, "Rename onto INBOX")
			c.wantErr(a.Rename(c.Ctx, "One", "One"), mailbox.ErrExist, "Rename onto itself")
			l := c.list(a)
			for _, n := range []string{"One", "Two"} {
				if _, ok := l[n]; !ok {
					c.errorf("%q gone after a failed Rename", n)
				}
			}
			if _, ok := l["Three"]; ok {
				c.errorf("a failed Rename created \"Three\"")
			}
		},
	},
	{
		name:    "Account/RenameInbox",
		explain: "renaming INBOX moves its messages into the new mailbox and leaves INBOX existing and empty; INBOX's children stay (RFC 9051 §6.3.6)",
		needs:   needWrite,
		run: func(c *caseT) {
			a, in := c.inbox()
			c.create(a, "INBOX/kid")
			c.appendN(in, 2)
			before := c.status(in)
			c.must(a.Rename(c.Ctx, "inbox", "Saved"), "Rename(INBOX, \"Saved\")")
			in2 := c.box(a, mailbox.Inbox)
			st := c.status(in2)
			if st.Messages != 0 {
				c.errorf("INBOX has %d messages after rename, want 0", st.Messages)
			}
			if st.UIDNext < before.UIDNext && st.UIDValidity == before.UIDValidity {
				c.errorf("INBOX UIDNEXT went back from %d to %d with the same UIDVALIDITY", before.UIDNext, st.UIDNext)
			}
			saved := c.infos(c.box(a, "Saved"))
			if len(saved) != 2 {
				c.errorf("\"Saved\" has %d messages, want INBOX's 2", len(saved))
			}
			l := c.list(a)
			if _, ok := l["INBOX/kid"]; !ok {
				c.errorf("INBOX's child moved or vanished")
			}
			if _, ok := l["Saved/kid"]; ok {
				c.errorf("INBOX's child was renamed along with the messages")
			}
			if uid := c.appendMsg(in2, "new"); st.UIDValidity == before.UIDValidity && uid < before.UIDNext {
				c.errorf("UID %d reused in INBOX after rename (UIDNEXT was %d)", uid, before.UIDNext)
			}
		},
	},
	{
		name:    "Account/Subscriptions",
		explain: "SetSubscribed adds and removes names, existing or not; Subscriptions returns them; List marks subscribed mailboxes",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "Lists")
			c.must(a.SetSubscribed(c.Ctx, "Lists", true), "subscribe \"Lists\"")
			c.must(a.SetSubscribed(c.Ctx, "Not/There", true), "subscribe a missing name")
			c.must(a.SetSubscribed(c.Ctx, "Lists", true), "subscribe twice")
			subs, err := a.Subscriptions(c.Ctx)
			c.must(err, "Subscriptions")
			if got := sortedCopy(subs); strings.Join(got, ",") != "Lists,Not/There" {
				c.errorf("Subscriptions = %q, want [Lists Not/There]", got)
			}
			if !c.list(a)["Lists"].Subscribed {
				c.errorf("List does not mark \"Lists\" subscribed")
			}
			c.must(a.SetSubscribed(c.Ctx, "Lists", false), "unsubscribe")
			subs, err = a.Subscriptions(c.Ctx)
			c.must(err, "Subscriptions")
			if strings.Join(subs, ",") != "Not/There" {
				c.errorf("Subscriptions after unsubscribe = %q, want [Not/There]", subs)
			}
			if c.list(a)["Lists"].Subscribed {
				c.errorf("List still marks \"Lists\" subscribed")
			}
		},
	},
	{
		name:    "Account/ListNotAliased",
		explain: "returned slices are copies: changing List's attributes or the Subscriptions slice does not change the store",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.must(a.Create(c.Ctx, "Sent", &mailbox.CreateOptions{SpecialUse: mailbox.AttrSent}), "Create Sent")
			c.must(a.SetSubscribed(c.Ctx, "Sent", true), "subscribe")
			infos, err := a.List(c.Ctx)
			c.must(err, "List")
			for i := range infos {
				for j := range infos[i].Attrs {
					infos[i].Attrs[j] = "\\Scribbled"
				}
			}
			subs, err := a.Subscriptions(c.Ctx)
			c.must(err, "Subscriptions")
			for i := range subs {
				subs[i] = "scribbled"
			}
			if info := c.list(a)["Sent"]; !info.HasAttr(mailbox.AttrSent) || info.HasAttr("\\Scribbled") {
				c.errorf("List attributes changed through a returned slice: %v", info.Attrs)
			}
			subs, _ = a.Subscriptions(c.Ctx)
			if len(subs) != 1 || subs[0] != "Sent" {
				c.errorf("Subscriptions changed through a returned slice: %q", subs)
			}
		},
	},
}

func equalUIDs(a, b []mailbox.UID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var namesCases = []kase{
	{
		name:    "Names/InvalidCreate",
		explain: "Create refuses names ValidName refuses (empty levels, \".\", \"..\", NUL, CR, LF, \"*\", \"%\", too long or deep) with ErrInvalidName, creating nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			before := len(c.list(a))
			for _, name := range invalidNames() {
				c.wantErr(a.Create(c.Ctx, name, nil), mailbox.ErrInvalidName, "Create(%q)", shorten(name))
			}
			if after := len(c.list(a)); after != before {
				c.errorf("invalid Creates changed the mailbox count from %d to %d", before, after)
			}
		},
	},
	{
		name:    "Names/InvalidRename",
		explain: "Rename to an invalid name returns ErrInvalidName and leaves the mailbox where it was",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "Here")
			for _, name := range invalidNames() {
				c.wantErr(a.Rename(c.Ctx, "Here", name), mailbox.ErrInvalidName, "Rename(\"Here\", %q)", shorten(name))
			}
			if _, ok := c.list(a)["Here"]; !ok {
				c.errorf("\"Here\" is gone after refused renames")
			}
		},
	},
	{
		name:    "Names/InvalidOther",
		explain: "Mailbox, Delete and SetSubscribed refuse invalid names with ErrInvalidName (Mailbox and Delete may say ErrNotExist)",
		run: func(c *caseT) {
			a := c.account()
			for _, name := range invalidNames() {
				_, err := a.Mailbox(c.Ctx, name)
				c.wantErrs(err, []error{mailbox.ErrInvalidName, mailbox.ErrNotExist}, "Mailbox(%q)", shorten(name))
				if c.opts.ReadOnly {
					continue
				}
				c.wantErrs(a.Delete(c.Ctx, name), []error{mailbox.ErrInvalidName, mailbox.ErrNotExist}, "Delete(%q)", shorten(name))
				c.wantErr(a.SetSubscribed(c.Ctx, name, true), mailbox.ErrInvalidName, "SetSubscribed(%q)", shorten(name))
			}
		},
	},
	{
		name:    "Names/RenameChildTooDeep",
		explain: "a rename that would push a child past MaxNameDepth fails with ErrInvalidName and moves nothing",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			leaf := "top/" + strings.TrimSuffix(strings.Repeat("d/", mailbox.MaxNameDepth-1), "/")
			c.create(a, leaf)
			c.wantErr(a.Rename(c.Ctx, "top", "x/y"), mailbox.ErrInvalidName, "Rename pushing %q one level too deep", shorten(leaf))
			l := c.list(a)
			if _, ok := l[leaf]; !ok {
				c.errorf("the deep child moved or vanished after a refused rename")
			}
			if _, ok := l["x/y"]; ok {
				c.errorf("a refused rename created \"x/y\"")
			}
		},
	},
	{
		name:    "Names/NoEscape",
		explain: "no name reaches outside the account: names made of dots and slashes are refused, and mailboxes named like path tricks stay inside the hierarchy",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			for _, name := range []string{"../x", "x/../../y", "/etc", "./x", "x/.", `..\x`} {
				err := a.Create(c.Ctx, name, nil)
				if strings.Contains(name, `\`) {
					// A backslash is an ordinary character in a name: the
					// mailbox must stay inside the account.
					if err == nil {
						if _, ok := c.list(a)[name]; !ok {
							c.errorf("Create(%q) succeeded but List does not show it under that name", name)
						}
					}
					continue
				}
				c.wantErr(err, mailbox.ErrInvalidName, "Create(%q)", name)
			}
		},
	},
	{
		name:    "Names/UTF8",
		explain: "mailbox names are UTF-8 in the API and come back from List byte for byte",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			names := []string{"Entwürfe", "日本語/子", "Ünïcödé & more", "with space", "emoji 📬"}
			for _, n := range names {
				c.create(a, n)
			}
			l := c.list(a)
			for _, n := range names {
				if _, ok := l[n]; !ok {
					c.errorf("%q not listed under its exact name", n)
				}
				m, err := a.Mailbox(c.Ctx, n)
				if err != nil {
					c.errorf("Mailbox(%q): %v", n, err)
					continue
				}
				if m.Name() != n {
					c.errorf("Mailbox(%q).Name() = %q", n, m.Name())
				}
				m.Close()
			}
		},
	},
	{
		name:    "Names/InboxChildren",
		explain: "names below INBOX have the first level in canonical form: \"inbox/Sub\" is \"INBOX/Sub\" (mailbox.ValidName)",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			c.create(a, "inbox/Sub")
			l := c.list(a)
			if _, ok := l["INBOX/Sub"]; !ok {
				c.errorf("Create(\"inbox/Sub\") not listed as \"INBOX/Sub\": %v", l)
			}
			if info := l[mailbox.Inbox]; !info.HasAttr(mailbox.AttrHasChildren) {
				c.errorf("INBOX with a child listed with %v, want \\HasChildren", info.Attrs)
			}
			m, err := a.Mailbox(c.Ctx, "Inbox/Sub")
			c.must(err, "Mailbox(\"Inbox/Sub\")")
			defer m.Close()
			if m.Name() != "INBOX/Sub" {
				c.errorf("Mailbox(\"Inbox/Sub\").Name() = %q, want \"INBOX/Sub\"", m.Name())
			}
			c.wantErr(a.Create(c.Ctx, "INBOX/sub/../x", nil), mailbox.ErrInvalidName, "Create with \"..\" below INBOX")
		},
	},
	{
		name:    "Names/Limits",
		explain: "a store accepts names of MaxNameLength bytes and MaxNameDepth levels",
		needs:   needWrite,
		run: func(c *caseT) {
			a := c.account()
			deep := strings.TrimSuffix(strings.Repeat("d/", mailbox.MaxNameDepth), "/")
			long := strings.Repeat("L", mailbox.MaxNameLength)
			for _, n := range []string{deep, long} {
				if err := a.Create(c.Ctx, n, nil); err != nil {
					c.errorf("Create of a name at the limit (%d bytes, %d levels): %v", len(n), strings.Count(n, "/")+1, err)
				}
			}
		},
	},
}

// invalidNames are names every store refuses.
func invalidNames() []string {
	return []string{
		"", "/", "a//b", "/lead", "trail/", ".", "..", "a/../b", "a/./b", "../escape",
		"nul\x00", "cr\rx", "lf\nx", "tab\tx", "star*", "percent%", "bad\xffutf8",
		strings.Repeat("x", mailbox.MaxNameLength+1),
		strings.TrimSuffix(strings.Repeat("d/", mailbox.MaxNameDepth+1), "/"),
	}
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:20] + "…" + s[len(s)-10:]
	}
	return s
}

var _ = errors.Is
