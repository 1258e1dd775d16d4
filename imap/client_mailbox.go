package imap

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/utf7"
)

// MailboxState describes the selected mailbox: what SELECT or EXAMINE
// reported, kept current by the unsolicited responses that followed.
type MailboxState struct {
	Name           string
	ReadOnly       bool
	Flags          []Flag // FLAGS: flags defined in the mailbox
	PermanentFlags []Flag // flags the client can change permanently; nil if not sent
	Exists         uint32 // number of messages
	Recent         uint32 // rev1 only
	UIDValidity    uint32
	UIDNext        uint32 // 0 if the server did not say
	FirstUnseen    uint32 // rev1 [UNSEEN n]; 0 if not sent
	HighestModSeq  uint64 // CONDSTORE; 0 if not sent
	NoModSeq       bool   // [NOMODSEQ]: the mailbox has no MODSEQ support
}

// mailboxView is the client-side view of the selected mailbox: the
// state plus the sequence number → UID table, with UIDs filled in as
// FETCH responses report them (0 = not known yet).
type mailboxView struct {
	MailboxState
	uids []uint32
}

func (v *mailboxView) applyCode(code ResponseCode, arg string) {
	n, _ := strconv.ParseUint(strings.TrimSpace(arg), 10, 64)
	switch code {
	case CodeUIDValidity:
		v.UIDValidity = uint32(n)
	case CodeUIDNext:
		v.UIDNext = uint32(n)
	case CodeUnseen:
		v.FirstUnseen = uint32(n)
	case CodeHighestModSeq:
		v.HighestModSeq = n
	case CodeNoModSeq:
		v.NoModSeq = true
	case CodePermanentFlags:
		v.PermanentFlags = parseFlagWords(arg)
	case CodeReadOnly:
		v.ReadOnly = true
	case CodeReadWrite:
		v.ReadOnly = false
	}
}

// parseFlagWords parses "(\Seen \Deleted \*)" from a response code.
func parseFlagWords(s string) []Flag {
	s = strings.Trim(strings.TrimSpace(s), "()")
	out := []Flag{}
	for _, w := range strings.Fields(s) {
		out = append(out, Flag(w))
	}
	return out
}

func (v *mailboxView) setExists(n uint32) {
	v.Exists = n
	if int(n) < len(v.uids) {
		v.uids = v.uids[:n]
		return
	}
	if n > 1<<24 { // keep the table bounded against a hostile count
		return
	}
	for uint32(len(v.uids)) < n {
		v.uids = append(v.uids, 0)
	}
}

func (v *mailboxView) expunge(seq uint32) {
	if seq == 0 || seq > v.Exists {
		return
	}
	v.Exists--
	if int(seq) <= len(v.uids) {
		v.uids = append(v.uids[:seq-1], v.uids[seq:]...)
	}
}

// vanish applies a VANISHED response (not EARLIER): every UID in it was
// a message of the mailbox (RFC 7162 §3.2.10). Those whose position is
// known are removed; if some were not, positions of the rest can no
// longer be trusted and the seq → UID table is forgotten.
func (v *mailboxView) vanish(set NumSet) {
	uids := expandUIDs(set)
	out := v.uids[:0]
	removed := 0
	for _, u := range v.uids {
		if u != 0 && set.Contains(u, ^uint32(0)) {
			removed++
			continue
		}
		out = append(out, u)
	}
	v.uids = out
	gone := max(len(uids), removed)
	if gone > int(v.Exists) {
		gone = int(v.Exists)
	}
	v.Exists -= uint32(gone)
	if removed < gone || uids == nil {
		v.uids = v.uids[:0]
	}
	v.setExists(v.Exists)
}

func (v *mailboxView) setUID(seq, uid uint32) {
	if seq >= 1 && int(seq) <= len(v.uids) {
		v.uids[seq-1] = uid
	}
}

// Mailbox returns the state of the selected mailbox, or nil when none
// is selected. The value is a copy.
func (c *Client) Mailbox() *MailboxState {
	if c.mbox == nil {
		return nil
	}
	st := c.mbox.MailboxState
	return &st
}

// SeqUID returns the UID of message seq in the selected mailbox, if a
// FETCH response has reported it since the message was last renumbered.
func (c *Client) SeqUID(seq uint32) (uint32, bool) {
	if c.mbox == nil || seq == 0 || int(seq) > len(c.mbox.uids) {
		return 0, false
	}
	u := c.mbox.uids[seq-1]
	return u, u != 0
}

// SelectOptions are the parameters of SELECT and EXAMINE.
type SelectOptions struct {
	ReadOnly  bool     // EXAMINE instead of SELECT
	CondStore bool     // (CONDSTORE): ask for MODSEQ (RFC 7162 §3.1.8)
	QResync   *QResync // (QRESYNC ...): needs Enable(ctx, "QRESYNC") first
}

// QResync is the QRESYNC parameter of SELECT (RFC 7162 §3.2.5): what the
// client knew of the mailbox.
type QResync struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   NumSet // optional
}

// SelectData is the result of SELECT/EXAMINE. With QRESYNC, the FETCH
// and VANISHED (EARLIER) responses describing changes are collected in
// Changed and Vanished.
type SelectData struct {
	MailboxState
	Changed  []*FetchMessage // QRESYNC: messages changed since ModSeq
	Vanished NumSet          // QRESYNC: UIDs expunged since ModSeq
}

// Select opens a mailbox (SELECT, or EXAMINE with opts.ReadOnly).
// opts may be nil.
func (c *Client) Select(ctx context.Context, name string, opts *SelectOptions) (data *SelectData, err error) {
	if opts == nil {
		opts = &SelectOptions{}
	}
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	verb := "SELECT"
	if opts.ReadOnly {
		verb = "EXAMINE"
	}
	cmd, w := c.newCommand(verb)
	w.sp().mailbox(name)
	switch {
	case opts.QResync != nil:
		q := opts.QResync
		w.raw(" (QRESYNC (").number(q.UIDValidity).sp().number64(q.ModSeq)
		if !q.KnownUIDs.IsEmpty() {
			w.sp().numSet(q.KnownUIDs)
		}
		w.raw("))")
	case opts.CondStore:
		w.raw(" (CONDSTORE)")
	}
	data = &SelectData{}
	c.mbox = &mailboxView{MailboxState: MailboxState{Name: name, ReadOnly: opts.ReadOnly}}
	cmd.data = func(u *untagged) bool {
		switch {
		case u.name == "FETCH" && opts.QResync != nil:
			data.Changed = append(data.Changed, u.fetch)
			return true
		case u.name == "VANISHED" && u.earlier:
			data.Vanished.Ranges = append(data.Vanished.Ranges, u.set.Ranges...)
			return true
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		c.mbox = nil
		return nil, err
	}
	c.mbox.applyCode(cmd.status.Code, cmd.status.CodeArg)
	data.MailboxState = c.mbox.MailboxState
	return data, nil
}

// Examine opens a mailbox read-only.
func (c *Client) Examine(ctx context.Context, name string) (*SelectData, error) {
	return c.Select(ctx, name, &SelectOptions{ReadOnly: true})
}

// CloseMailbox sends CLOSE: expunge \Deleted messages silently and leave
// the selected state.
func (c *Client) CloseMailbox(ctx context.Context) error { return c.simple(ctx, "CLOSE", nil) }

// Unselect leaves the selected state without expunging (RFC 3691,
// IMAP4rev2).
func (c *Client) Unselect(ctx context.Context) error { return c.simple(ctx, "UNSELECT", nil) }

// Create creates a mailbox.
func (c *Client) Create(ctx context.Context, name string) error {
	return c.simple(ctx, "CREATE", func(w *cmdWriter) { w.sp().mailbox(name) })
}

// Delete deletes a mailbox.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.simple(ctx, "DELETE", func(w *cmdWriter) { w.sp().mailbox(name) })
}

// Rename renames a mailbox.
func (c *Client) Rename(ctx context.Context, from, to string) error {
	return c.simple(ctx, "RENAME", func(w *cmdWriter) { w.sp().mailbox(from).sp().mailbox(to) })
}

// Subscribe adds a mailbox to the subscription list.
func (c *Client) Subscribe(ctx context.Context, name string) error {
	return c.simple(ctx, "SUBSCRIBE", func(w *cmdWriter) { w.sp().mailbox(name) })
}

// Unsubscribe removes a mailbox from the subscription list.
func (c *Client) Unsubscribe(ctx context.Context, name string) error {
	return c.simple(ctx, "UNSUBSCRIBE", func(w *cmdWriter) { w.sp().mailbox(name) })
}

// ---- LIST ----

// ListData is one LIST response.
type ListData struct {
	Attrs     []MailboxAttr
	Delim     rune   // hierarchy delimiter; 0 for NIL (flat)
	Name      string // decoded (UTF-8)
	OldName   string // LIST-EXTENDED OLDNAME, after a rename
	ChildInfo []string
	Status    *StatusData // LIST-STATUS (RFC 5819)
}

// HasAttr reports whether the mailbox has attribute a (case-insensitive).
func (l *ListData) HasAttr(a MailboxAttr) bool {
	for _, x := range l.Attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// ListOptions are LIST-EXTENDED selection and return options (RFC 5258,
// RFC 6154, RFC 5819). The zero value is a plain LIST.
type ListOptions struct {
	SelectSubscribed bool // (SUBSCRIBED)
	SelectSpecialUse bool // (SPECIAL-USE)
	SelectRecursive  bool // (RECURSIVEMATCH), with another selection option
	ReturnSubscribed bool
	ReturnChildren   bool
	ReturnSpecialUse bool
	// ReturnStatus asks for STATUS of each mailbox (LIST-STATUS).
	ReturnStatus []StatusItem
	// Patterns beyond the first (LIST-EXTENDED multiple patterns).
	MorePatterns []string
}

func (o *ListOptions) extended() bool {
	return o != nil && (o.SelectSubscribed || o.SelectSpecialUse || o.SelectRecursive ||
		o.ReturnSubscribed || o.ReturnChildren || o.ReturnSpecialUse || len(o.ReturnStatus) > 0 || len(o.MorePatterns) > 0)
}

// List lists mailboxes matching pattern ("*" all, "%" one level) under
// ref. opts may be nil.
func (c *Client) List(ctx context.Context, ref, pattern string, opts *ListOptions) (out []*ListData, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand("LIST")
	w.sp()
	if opts.extended() {
		var sel []string
		if opts.SelectSubscribed {
			sel = append(sel, "SUBSCRIBED")
		}
		if opts.SelectSpecialUse {
			sel = append(sel, "SPECIAL-USE")
		}
		if opts.SelectRecursive {
			sel = append(sel, "RECURSIVEMATCH")
		}
		if len(sel) > 0 {
			w.raw("(" + strings.Join(sel, " ") + ") ")
		}
	}
	w.mailbox(ref).sp()
	if opts.extended() && len(opts.MorePatterns) > 0 {
		w.raw("(").listPattern(pattern)
		for _, p := range opts.MorePatterns {
			w.sp().listPattern(p)
		}
		w.raw(")")
	} else {
		w.listPattern(pattern)
	}
	if opts.extended() {
		var ret []string
		if opts.ReturnSubscribed {
			ret = append(ret, "SUBSCRIBED")
		}
		if opts.ReturnChildren {
			ret = append(ret, "CHILDREN")
		}
		if opts.ReturnSpecialUse {
			ret = append(ret, "SPECIAL-USE")
		}
		if len(opts.ReturnStatus) > 0 {
			ret = append(ret, "STATUS ("+statusItemList(opts.ReturnStatus)+")")
		}
		if len(ret) > 0 {
			w.raw(" RETURN (" + strings.Join(ret, " ") + ")")
		}
	}
	byName := map[string]*ListData{}
	cmd.data = func(u *untagged) bool {
		switch {
		case u.list != nil:
			out = append(out, u.list)
			byName[u.list.Name] = u.list
			return true
		case u.status != nil:
			if l := byName[u.status.Mailbox]; l != nil {
				l.Status = u.status
				return true
			}
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	return out, nil
}

// readList parses a LIST/LSUB response after its name.
func (c *Client) readList() *ListData {
	r := &c.rd
	l := &ListData{}
	if !r.expectSP() {
		return nil
	}
	r.list(func() bool {
		f := r.flag()
		l.Attrs = append(l.Attrs, MailboxAttr(f))
		return f != ""
	})
	if !r.expectSP() {
		return nil
	}
	delim, isNil, ok := r.nstring()
	if !ok {
		return nil
	}
	if !isNil && delim != "" {
		l.Delim = []rune(delim)[0]
	}
	if !r.expectSP() {
		return nil
	}
	name, ok := r.astring()
	if !ok {
		return nil
	}
	l.Name = c.decodeName(name)
	if r.sp() && r.peek() == '(' { // mbox-list-extended
		r.list(func() bool {
			tag, ok := r.astring()
			if !ok || !r.expectSP() {
				return false
			}
			switch strings.ToUpper(tag) {
			case "OLDNAME":
				return r.list(func() bool {
					s, ok := r.astring()
					l.OldName = c.decodeName(s)
					return ok
				})
			case "CHILDINFO":
				return r.list(func() bool {
					s, ok := r.astring()
					l.ChildInfo = append(l.ChildInfo, strings.ToUpper(s))
					return ok
				})
			}
			return r.skipValue()
		})
	}
	if r.err != nil {
		return nil
	}
	return l
}

// ---- STATUS ----

// StatusItem is a STATUS data item.
type StatusItem string

// Status items (RFC 9051 §6.3.11, RFC 7162, RFC 8438).
const (
	StatusMessages      StatusItem = "MESSAGES"
	StatusRecent        StatusItem = "RECENT" // rev1 only
	StatusUIDNext       StatusItem = "UIDNEXT"
	StatusUIDValidity   StatusItem = "UIDVALIDITY"
	StatusUnseen        StatusItem = "UNSEEN"
	StatusDeleted       StatusItem = "DELETED"
	StatusSize          StatusItem = "SIZE"
	StatusHighestModSeq StatusItem = "HIGHESTMODSEQ"
	StatusAppendLimit   StatusItem = "APPENDLIMIT"
)

func statusItemList(items []StatusItem) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = string(it)
	}
	return strings.Join(s, " ")
}

// StatusData is a STATUS response. Only the items asked for (and sent)
// are set; Has says which.
type StatusData struct {
	Mailbox       string
	Messages      uint32
	Recent        uint32
	UIDNext       uint32
	UIDValidity   uint32
	Unseen        uint32
	Deleted       uint32
	Size          uint64
	HighestModSeq uint64
	AppendLimit   uint64
	Items         map[StatusItem]bool
}

// Has reports whether the server sent item.
func (s *StatusData) Has(item StatusItem) bool { return s.Items[item] }

// Status asks for the status of a mailbox (not the selected one, RFC
// 9051 §6.3.11). items nil → MESSAGES UIDNEXT UIDVALIDITY UNSEEN.
func (c *Client) Status(ctx context.Context, name string, items []StatusItem) (st *StatusData, err error) {
	if len(items) == 0 {
		items = []StatusItem{StatusMessages, StatusUIDNext, StatusUIDValidity, StatusUnseen}
	}
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand("STATUS")
	w.sp().mailbox(name).raw(" (" + statusItemList(items) + ")")
	cmd.data = func(u *untagged) bool {
		if u.status != nil && st == nil {
			st = u.status
			return true
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errors.New("imap: server sent no STATUS response")
	}
	return st, nil
}

func (c *Client) readStatusData() *StatusData {
	r := &c.rd
	if !r.expectSP() {
		return nil
	}
	name, ok := r.astring()
	if !ok || !r.expectSP() {
		return nil
	}
	st := &StatusData{Mailbox: c.decodeName(name), Items: map[StatusItem]bool{}}
	r.list(func() bool {
		item := StatusItem(r.keyword())
		var n uint64
		if !r.expectSP() || !r.number64(&n) {
			return false
		}
		st.Items[item] = true
		switch item {
		case StatusMessages:
			st.Messages = uint32(n)
		case StatusRecent:
			st.Recent = uint32(n)
		case StatusUIDNext:
			st.UIDNext = uint32(n)
		case StatusUIDValidity:
			st.UIDValidity = uint32(n)
		case StatusUnseen:
			st.Unseen = uint32(n)
		case StatusDeleted:
			st.Deleted = uint32(n)
		case StatusSize:
			st.Size = n
		case StatusHighestModSeq:
			st.HighestModSeq = n
		case StatusAppendLimit:
			st.AppendLimit = n
		}
		return true
	})
	if r.err != nil {
		return nil
	}
	return st
}

// decodeName decodes a mailbox name from the wire (modified UTF-7
// unless UTF-8 is enabled; undecodable names are kept as sent).
func (c *Client) decodeName(s string) string {
	if strings.EqualFold(s, "INBOX") {
		return "INBOX"
	}
	if c.utf8 {
		return s
	}
	if d, err := utf7.Decode(s); err == nil {
		return d
	}
	return s
}

// ---- NAMESPACE ----

// Namespace is one namespace description (RFC 2342).
type Namespace struct {
	Prefix string
	Delim  rune
}

// Namespaces is a NAMESPACE response.
type Namespaces struct {
	Personal, Other, Shared []Namespace
}

// Namespace asks for the server's namespaces (RFC 2342, IMAP4rev2).
func (c *Client) Namespace(ctx context.Context) (ns *Namespaces, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand("NAMESPACE")
	cmd.data = func(u *untagged) bool {
		if u.ns != nil {
			ns = u.ns
			return true
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	if ns == nil {
		return nil, errors.New("imap: server sent no NAMESPACE response")
	}
	return ns, nil
}

func (c *Client) readNamespace() *Namespaces {
	r := &c.rd
	ns := &Namespaces{}
	for _, dst := range []*[]Namespace{&ns.Personal, &ns.Other, &ns.Shared} {
		if !r.expectSP() {
			return nil
		}
		r.nilOrList(func() bool {
			return r.list(func() bool {
				prefix, ok := r.str()
				if !ok || !r.expectSP() {
					return false
				}
				d, isNil, ok := r.nstring()
				n := Namespace{Prefix: c.decodeName(prefix)}
				if !isNil && d != "" {
					n.Delim = []rune(d)[0]
				}
				*dst = append(*dst, n)
				for ok && r.sp() { // namespace-response-extensions
					ok = r.skipValue()
				}
				return ok
			})
		})
	}
	if r.err != nil {
		return nil
	}
	return ns
}

// ---- ID ----

// ID exchanges identification with the server (RFC 2971). fields may be
// nil; the server's fields are returned (nil for NIL).
func (c *Client) ID(ctx context.Context, fields map[string]string) (server map[string]string, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand("ID")
	w.sp()
	if len(fields) == 0 {
		w.raw("NIL")
	} else {
		w.raw("(")
		first := true
		for k, v := range fields {
			if !first {
				w.sp()
			}
			first = false
			w.str(k).sp().str(v)
		}
		w.raw(")")
	}
	cmd.data = func(u *untagged) bool {
		if u.name == "ID" {
			server = u.id
			return true
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	return server, nil
}

func (c *Client) readID() map[string]string {
	r := &c.rd
	if !r.expectSP() {
		return nil
	}
	var m map[string]string
	r.nilOrList(func() bool {
		if m == nil {
			m = map[string]string{}
		}
		k, ok := r.str()
		if !ok || !r.expectSP() {
			return false
		}
		v, ok := r.str()
		m[k] = v
		return ok
	})
	return m
}
