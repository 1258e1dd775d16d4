package imap

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// THREAD=REFERENCES (RFC 5256 §3.2): threads from Message-ID, References
// and In-Reply-To, with dummy containers for messages not present,
// pruned, then root threads with the same base subject merged.

// threadMsg is what the algorithm needs of one message.
type threadMsg struct {
	uid     mailbox.UID
	date    time.Time
	id      string
	refs    []string // References, else the first In-Reply-To id
	subject string   // base subject
	reply   bool     // the subject was a reply or forward
}

type container struct {
	msg      *threadMsg // nil for a dummy
	parent   *container
	children []*container
}

func (c *container) isAncestorOf(o *container) bool {
	for p := o; p != nil; p = p.parent {
		if p == c {
			return true
		}
	}
	return false
}

func (c *container) unlink() {
	if p := c.parent; p != nil {
		p.children = slices.DeleteFunc(p.children, func(x *container) bool { return x == c })
		c.parent = nil
	}
}

func (c *container) adopt(child *container) {
	child.unlink()
	child.parent = c
	c.children = append(c.children, child)
}

// msgIDs returns the <...> message ids in a header value.
func msgIDs(s string) []string {
	var ids []string
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return ids
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return ids
		}
		if id := strings.TrimSpace(s[i+1 : i+j]); id != "" {
			ids = append(ids, id)
		}
		s = s[i+j+1:]
	}
}

// threadReferences builds the threads (RFC 5256 §3.2 steps 1 to 6) and
// returns the sorted root containers.
func threadReferences(msgs []threadMsg) []*container {
	byID := map[string]*container{}
	get := func(id string) *container {
		c := byID[id]
		if c == nil {
			c = &container{}
			byID[id] = c
		}
		return c
	}
	for i := range msgs {
		m := &msgs[i]
		// (1A) a message without a unique Message-ID gets one of its own.
		if m.id == "" || (byID[m.id] != nil && byID[m.id].msg != nil) {
			m.id = "\x00" + strconv.FormatUint(uint64(m.uid), 10)
		}
		var prev *container
		for _, r := range m.refs {
			c := get(r)
			if prev != nil && c.parent == nil && !c.isAncestorOf(prev) && c != prev {
				prev.adopt(c)
			}
			prev = c
		}
		// (1B) the message's container, under the last reference.
		c := get(m.id)
		c.msg = m
		c.unlink()
		if prev != nil && prev != c && !c.isAncestorOf(prev) {
			prev.adopt(c)
		}
	}
	// (2) the root set.
	var roots []*container
	for _, c := range byID {
		if c.parent == nil {
			roots = append(roots, c)
		}
	}
	// A stable order before the pruning and merging below.
	slices.SortFunc(roots, func(a, b *container) int { return cmp.Compare(firstUID(a), firstUID(b)) })
	// (4) prune dummies.
	roots = prune(roots, true)
	// (5) merge root threads with the same base subject.
	roots = mergeBySubject(roots)
	// (6) sort siblings by date.
	sortThreads(roots)
	return roots
}

func firstUID(c *container) mailbox.UID {
	if c.msg != nil {
		return c.msg.uid
	}
	u := mailbox.UID(1<<32 - 1)
	for _, ch := range c.children {
		u = min(u, firstUID(ch))
	}
	return u
}

// prune removes empty dummies and replaces a dummy by its children,
// except at the root, where only a dummy with one child is replaced.
func prune(list []*container, root bool) []*container {
	var out []*container
	for _, c := range list {
		c.children = prune(c.children, false)
		for _, ch := range c.children {
			ch.parent = c
		}
		switch {
		case c.msg == nil && len(c.children) == 0:
			continue
		case c.msg == nil && (!root || len(c.children) == 1):
			for _, ch := range c.children {
				ch.parent = nil
			}
			out = append(out, c.children...)
			continue
		}
		out = append(out, c)
	}
	return out
}

func threadSubject(c *container) (string, bool) {
	if c.msg != nil {
		return c.msg.subject, c.msg.reply
	}
	if len(c.children) > 0 && c.children[0].msg != nil {
		return c.children[0].msg.subject, c.children[0].msg.reply
	}
	return "", false
}

func mergeBySubject(roots []*container) []*container {
	table := map[string]*container{}
	for _, c := range roots {
		s, reply := threadSubject(c)
		if s == "" {
			continue
		}
		old := table[s]
		if old == nil {
			table[s] = c
			continue
		}
		_, oldReply := threadSubject(old)
		if (old.msg != nil && c.msg == nil) || (oldReply && !reply && c.msg != nil && old.msg != nil) {
			table[s] = c
		}
	}
	var out []*container
	for _, c := range roots {
		s, reply := threadSubject(c)
		t := table[s]
		if s == "" || t == c || t == nil {
			out = append(out, c)
			continue
		}
		_, treply := threadSubject(t)
		switch {
		case t.msg == nil && c.msg == nil:
			for _, ch := range slices.Clone(c.children) {
				t.adopt(ch)
			}
		case t.msg == nil:
			t.adopt(c)
		case c.msg != nil && !treply && reply:
			t.adopt(c)
		default:
			// A new dummy holds both; it takes t's place in the roots.
			d := &container{}
			i := slices.Index(out, t)
			d.adopt(t)
			d.adopt(c)
			table[s] = d
			if i >= 0 {
				out[i] = d
			} else {
				out = append(out, d) // t comes later in roots: see below
			}
		}
	}
	// Roots that were adopted after being output, or output twice, go.
	var final []*container
	seen := map[*container]bool{}
	for _, c := range out {
		if c.parent == nil && !seen[c] {
			seen[c] = true
			final = append(final, c)
		}
	}
	return final
}

// threadDate is a thread's sort date: its message's, or for a dummy that
// of its first child (RFC 5256 §3.2 step 6).
func threadDate(c *container) (time.Time, mailbox.UID) {
	if c.msg != nil {
		return c.msg.date, c.msg.uid
	}
	if len(c.children) > 0 {
		return threadDate(c.children[0])
	}
	return time.Time{}, 0
}

func sortThreads(list []*container) {
	for _, c := range list {
		sortThreads(c.children)
	}
	slices.SortStableFunc(list, func(a, b *container) int {
		da, ua := threadDate(a)
		db, ub := threadDate(b)
		if r := da.Compare(db); r != 0 {
			return r
		}
		return cmp.Compare(ua, ub)
	})
}

// threadMsgInfo reads the threading data of a message from its header.
func threadMsgInfo(uid mailbox.UID, arrival time.Time, hdr []byte) threadMsg {
	first := func(name string) string {
		if v := mime.Lookup(hdr, name); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	m := threadMsg{uid: uid, date: arrival}
	if t, ok := mime.ParseDate(first("Date")); ok {
		m.date = t
	}
	if ids := msgIDs(first("Message-ID")); len(ids) > 0 {
		m.id = ids[0]
	}
	m.refs = msgIDs(strings.Join(mime.Lookup(hdr, "References"), " "))
	if len(m.refs) == 0 {
		if ids := msgIDs(first("In-Reply-To")); len(ids) > 0 {
			m.refs = ids[:1]
		}
	}
	m.refs = slices.DeleteFunc(m.refs, func(r string) bool { return r == m.id })
	subj := mime.DecodeHeader(first("Subject"))
	m.subject = baseSubject(subj)
	m.reply = isReplySubject(subj)
	return m
}

// isReplySubject reports whether extracting the base subject removes a
// reply or forward marker ("Re:", "Fwd:", "(fwd)", "[fwd: ...]").
func isReplySubject(s string) bool {
	t := strings.TrimSpace(strings.Join(strings.Fields(s), " "))
	if l := len(t); l >= 5 && strings.EqualFold(t[l-5:], "(fwd)") {
		return true
	}
	if len(t) >= 5 && strings.EqualFold(t[:5], "[fwd:") {
		return true
	}
	for {
		r, ok := cutBlob(t)
		if !ok || strings.TrimSpace(r) == "" {
			break
		}
		t = r
	}
	_, ok := cutLeader(t)
	return ok
}

// threadByReferences answers THREAD REFERENCES for the messages found.
func (c *conn) threadByReferences(uids []mailbox.UID, asUID bool) error {
	msgs := make([]threadMsg, 0, len(uids))
	err := c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
		src := msgSource{c: c, info: m}
		if err := src.loadHeader(); err != nil {
			return err
		}
		msgs = append(msgs, threadMsgInfo(m.UID, m.InternalDate, src.header))
		return nil
	})
	if err != nil {
		return err
	}
	roots := threadReferences(msgs)
	w := &c.w
	w.raw("* THREAD ")
	for _, r := range roots {
		w.byte('(')
		c.writeThreadMembers(r, asUID)
		w.byte(')')
	}
	w.crlf()
	return nil
}

// writeThreadMembers writes a thread below its "(": the message, then a
// single child's members in line, or each of several children in
// parentheses; a dummy writes only its children (RFC 5256 §4).
func (c *conn) writeThreadMembers(n *container, asUID bool) {
	w := &c.w
	if n.msg != nil {
		c.writeNum(n.msg.uid, asUID)
		if len(n.children) == 0 {
			return
		}
		w.sp()
		if len(n.children) == 1 {
			c.writeThreadMembers(n.children[0], asUID)
			return
		}
	}
	for _, ch := range n.children {
		w.byte('(')
		c.writeThreadMembers(ch, asUID)
		w.byte(')')
	}
}
