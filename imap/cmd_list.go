package imap

import (
	"slices"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// listOpts are the selection and return options of LIST-EXTENDED
// (RFC 5258), SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819).
type listOpts struct {
	selSubscribed, selSpecialUse, recursive bool
	retSubscribed, retChildren, retSpecial  bool
	status                                  []string
}

// LIST (RFC 9051 §6.3.9, RFC 5258) and LSUB (RFC 3501 §6.3.9).
func cmdList(c *conn, cmd *command) error {
	d := c.dec
	var o listOpts
	lsub := cmd.name == "LSUB"
	if !d.ExpectSP() {
		return d.Err()
	}
	if !lsub && d.List(func() bool {
		var kw string
		if !d.Keyword(&kw) {
			return d.Fail("selection option")
		}
		switch kw {
		case "SUBSCRIBED":
			o.selSubscribed = true
		case "SPECIAL-USE":
			o.selSpecialUse = true
		case "RECURSIVEMATCH":
			o.recursive = true
		case "REMOTE":
		default:
			return d.Fail("selection option")
		}
		return true
	}) && !d.ExpectSP() {
		return d.Err()
	}
	var ref string
	var pats []string
	if !d.ExpectMailbox(&ref) || !d.ExpectSP() {
		return d.Err()
	}
	if ref == "INBOX" && !c.utf8 { // keep the reference as typed
		ref = "INBOX"
	}
	listPat := func() bool {
		var p string
		if !d.ListMailbox(&p) {
			return d.Fail("mailbox pattern")
		}
		pats = append(pats, p)
		return true
	}
	if lsub || !d.List(listPat) {
		if d.Err() != nil || !listPat() {
			return d.Err()
		}
	}
	if !lsub && d.SP() {
		var kw string
		if !d.Keyword(&kw) || kw != "RETURN" || !d.ExpectSP() {
			d.Fail("RETURN")
			return d.Err()
		}
		d.ExpectList(func() bool {
			if !d.Keyword(&kw) {
				return d.Fail("return option")
			}
			switch kw {
			case "SUBSCRIBED":
				o.retSubscribed = true
			case "CHILDREN":
				o.retChildren = true
			case "SPECIAL-USE":
				o.retSpecial = true
			case "STATUS":
				if !d.ExpectSP() {
					return false
				}
				o.status = c.statusAtts()
				return d.Err() == nil
			default:
				return d.Fail("return option")
			}
			return true
		})
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if o.recursive && !o.selSubscribed {
		return errBad("RECURSIVEMATCH needs another selection option")
	}
	if len(pats) == 1 && pats[0] == "" && !lsub && !o.selSubscribed && !o.selSpecialUse {
		// RFC 9051 §6.3.9: the hierarchy delimiter and root.
		c.w.raw(`* LIST (\Noselect) "/" ""`)
		c.w.crlf()
		return nil
	}
	for i, p := range pats {
		pats[i] = canonicalPattern(ref + p)
	}
	return c.listMailboxes(lsub, pats, &o)
}

// canonicalPattern upper-cases a leading INBOX level, as names are.
func canonicalPattern(p string) string {
	first, rest, has := strings.Cut(p, "/")
	if strings.EqualFold(first, mailbox.Inbox) {
		if has {
			return mailbox.Inbox + "/" + rest
		}
		return mailbox.Inbox
	}
	return p
}

type listEntry struct {
	name       string
	attrs      []string
	subscribed bool
	exists     bool
	childSub   bool // RECURSIVEMATCH: a descendant is subscribed
}

func (c *conn) listMailboxes(lsub bool, pats []string, o *listOpts) error {
	infos, err := c.acct.List(c.ctx)
	if err != nil {
		return err
	}
	subs, err := c.acct.Subscriptions(c.ctx)
	if err != nil {
		return err
	}
	entries := make(map[string]*listEntry, len(infos))
	for _, info := range infos {
		e := &listEntry{name: info.Name, exists: true, subscribed: info.Subscribed}
		// Special-use attributes are always returned (RFC 6154 §2).
		for _, a := range info.Attrs {
			e.attrs = append(e.attrs, string(a))
		}
		entries[info.Name] = e
	}
	for _, s := range subs {
		if e, ok := entries[s]; ok {
			e.subscribed = true
		} else {
			entries[s] = &listEntry{name: s, subscribed: true}
		}
	}
	if o.recursive {
		for _, e := range entries {
			if !e.subscribed {
				continue
			}
			for p := mailbox.Parent(e.name); p != ""; p = mailbox.Parent(p) {
				pe, ok := entries[p]
				if !ok {
					pe = &listEntry{name: p}
					entries[p] = pe
				}
				pe.childSub = true
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.Sort(names)
	w := &c.w
	for _, n := range names {
		e := entries[n]
		if !matchAny(pats, n) {
			continue
		}
		switch {
		case lsub || o.selSubscribed:
			if !e.subscribed && !(o.recursive && e.childSub) {
				continue
			}
		case !e.exists:
			continue
		}
		if o.selSpecialUse && !hasSpecialUse(e.attrs) {
			continue
		}
		attrs := e.attrs
		if !e.exists {
			attrs = []string{string(AttrNonExistent)}
			if lsub {
				attrs = []string{string(AttrNoSelect)}
			}
		}
		if e.subscribed && !lsub && (o.selSubscribed || o.retSubscribed) {
			attrs = append(slices.Clip(attrs), string(AttrSubscribed))
		}
		if lsub {
			w.raw("* LSUB (")
		} else {
			w.raw("* LIST (")
		}
		w.raw(strings.Join(attrs, " "))
		w.raw(`) "/" `)
		w.mailboxName(n)
		if o.recursive && e.childSub && !lsub {
			w.raw(` ("CHILDINFO" ("SUBSCRIBED"))`)
		}
		w.crlf()
		if len(o.status) > 0 && e.exists && !slices.Contains(e.attrs, string(mailbox.AttrNoSelect)) {
			if err := c.writeMailboxStatus(n, o.status); err != nil && !isNotExist(err) {
				return err
			}
		}
	}
	return nil
}

func isNotExist(err error) bool {
	return err != nil && (errorIs(err, mailbox.ErrNotExist) || errorIs(err, mailbox.ErrNoSelect))
}

func hasSpecialUse(attrs []string) bool {
	for _, a := range attrs {
		if mailbox.Attr(a).IsSpecialUse() {
			return true
		}
	}
	return false
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if matchPattern(p, name) {
			return true
		}
	}
	return false
}

// matchPattern matches a LIST pattern: "*" matches anything, "%" anything
// but the hierarchy delimiter (RFC 9051 §6.3.9). It runs in
// O(len(pattern)·len(name)) whatever the pattern.
func matchPattern(pat, name string) bool {
	// cur[j]: pattern prefix matched name[:j].
	cur := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	cur[0] = true
	for i := 0; i < len(pat); i++ {
		pc := pat[i]
		clear(next)
		switch pc {
		case '*', '%':
			reach := false
			for j := 0; j <= len(name); j++ {
				if cur[j] {
					reach = true
				} else if j > 0 && pc == '%' && name[j-1] == '/' {
					reach = false
				}
				next[j] = reach
			}
		default:
			for j := 0; j < len(name); j++ {
				if cur[j] && name[j] == pc {
					next[j+1] = true
				}
			}
		}
		cur, next = next, cur
	}
	return cur[len(name)]
}
