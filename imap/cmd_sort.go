package imap

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// SORT (RFC 5256) with SORT=DISPLAY (RFC 5957), and THREAD=ORDEREDSUBJECT
// (RFC 5256 §3.1), computed by the library from the messages' headers
// after the search.

// sortInfo holds what the sort criteria compare for one message.
type sortInfo struct {
	uid              mailbox.UID
	arrival, date    time.Time
	size             int64
	from, to, cc     string // first address's mailbox, folded
	dispFrom, dispTo string // display name or address, folded
	subject          string // base subject, folded
}

// sortCriterion is one SORT key, possibly reversed.
type sortCriterion struct {
	key     string
	reverse bool
}

var sortKeys = map[string]bool{
	"ARRIVAL": true, "CC": true, "DATE": true, "FROM": true, "SIZE": true,
	"SUBJECT": true, "TO": true, "DISPLAYFROM": true, "DISPLAYTO": true,
}

// SORT and UID SORT, with ESORT's RETURN options (RFC 5267 §3).
func cmdSort(c *conn, cmd *command) error {
	d := c.dec
	var crit []sortCriterion
	if !d.ExpectSP() {
		return d.Err()
	}
	ret, ok := parseReturnOpts(d)
	if !ok {
		return d.Err()
	}
	reverse := false
	d.ExpectList(func() bool {
		var kw string
		if !d.Keyword(&kw) {
			return d.Fail("sort criterion")
		}
		if kw == "REVERSE" {
			if reverse {
				return d.Fail("sort criterion")
			}
			reverse = true
			return d.ExpectSP() && d.Keyword(&kw) && sortKeys[kw] && addCriterion(&crit, kw, &reverse) || d.Fail("sort criterion")
		}
		if !sortKeys[kw] {
			return d.Fail("sort criterion")
		}
		return addCriterion(&crit, kw, &reverse)
	})
	if len(crit) == 0 {
		d.Fail("sort criterion")
	}
	key, err := c.charsetAndKeys()
	if err != nil {
		return err
	}
	if ret.save {
		return errBad("SAVE is not a SORT return option")
	}
	if ret.update && c.contextTagInUse(cmd.tag) {
		return errBad("Tag %q names an active update context", cmd.tag)
	}
	uids, err := c.searchUIDs(key)
	if err != nil {
		return err
	}
	infos, err := c.sortedInfos(uids, crit, !ret.update)
	if err != nil {
		return err
	}
	w := &c.w
	if ret.given {
		nums := make([]uint32, len(infos))
		for i, in := range infos {
			nums[i] = uint32(in.uid)
			if !cmd.uid {
				nums[i] = c.view.seq(in.uid)
			}
		}
		c.writeESearch(cmd, &ret, &esearchResult{nums: nums})
		if ret.update {
			c.addContext(cmd, key, nil, crit, infos)
		}
		return nil
	}
	w.raw("* SORT")
	for _, in := range infos {
		w.sp()
		c.writeNum(in.uid, cmd.uid)
	}
	w.crlf()
	return nil
}

func addCriterion(crit *[]sortCriterion, kw string, reverse *bool) bool {
	*crit = append(*crit, sortCriterion{kw, *reverse})
	*reverse = false
	return true
}

// writeNum writes a message's UID, or its sequence number.
func (c *conn) writeNum(uid mailbox.UID, asUID bool) {
	if asUID {
		c.w.num(uint64(uid))
	} else {
		c.w.num32(c.view.seq(uid))
	}
}

// charsetAndKeys reads SP charset SP search-keys CRLF, the tail of SORT
// and THREAD, and refuses charsets other than UTF-8 and US-ASCII.
func (c *conn) charsetAndKeys() (*SearchKey, error) {
	d := c.dec
	var cs string
	var key SearchKey
	if !d.ExpectSP() || !d.ExpectAString(&cs) || !d.ExpectSP() || !d.SearchKeys(&key) {
		if d.Err() == nil {
			d.Fail("search keys")
		}
		return nil, d.Err()
	}
	if err := c.expectEOL(); err != nil {
		return nil, err
	}
	switch strings.ToUpper(cs) {
	case "UTF-8", "US-ASCII":
	default:
		return nil, &Error{Type: StatusNO, Code: CodeBadCharset, CodeArg: "(US-ASCII UTF-8)", Text: "Unsupported charset"}
	}
	return &key, nil
}

func compareBy(key string, a, b *sortInfo) int {
	switch key {
	case "ARRIVAL":
		return a.arrival.Compare(b.arrival)
	case "DATE":
		return a.date.Compare(b.date)
	case "SIZE":
		return cmp.Compare(a.size, b.size)
	case "FROM":
		return strings.Compare(a.from, b.from)
	case "TO":
		return strings.Compare(a.to, b.to)
	case "CC":
		return strings.Compare(a.cc, b.cc)
	case "DISPLAYFROM":
		return strings.Compare(a.dispFrom, b.dispFrom)
	case "DISPLAYTO":
		return strings.Compare(a.dispTo, b.dispTo)
	case "SUBJECT":
		return strings.Compare(a.subject, b.subject)
	}
	return 0
}

// sortInfos collects the sort data of uids, reading the header only when
// a criterion needs it.
func (c *conn) sortInfos(uids []mailbox.UID, uses func(string) bool) ([]sortInfo, error) {
	needHeader := uses("DATE") || uses("FROM") || uses("TO") || uses("CC") || uses("SUBJECT") || uses("DISPLAYFROM") || uses("DISPLAYTO")
	infos := make([]sortInfo, 0, len(uids))
	err := c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
		in := sortInfo{uid: m.UID, arrival: m.InternalDate, size: m.Size, date: m.InternalDate}
		if needHeader {
			src := msgSource{c: c, info: m}
			if err := src.loadHeader(); err != nil {
				return err
			}
			in.fill(src.header)
		}
		infos = append(infos, in)
		return nil
	})
	return infos, err
}

// fill sets the header-derived fields (RFC 5256 §3, RFC 5957 §3).
func (in *sortInfo) fill(hdr []byte) {
	first := func(name string) string {
		if v := mime.Lookup(hdr, name); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if t, ok := mime.ParseDate(first("Date")); ok {
		in.date = t
	}
	addr := func(name string) (mbox, display string) {
		list := mime.ParseAddressList(first(name))
		for _, a := range list {
			if a.Mailbox == "" {
				continue // a group marker
			}
			display = a.DecodedName()
			if display == "" {
				display = a.Mailbox
				if a.Host != "" {
					display += "@" + a.Host
				}
			}
			return strings.ToLower(a.Mailbox), foldText(display)
		}
		return "", ""
	}
	in.from, in.dispFrom = addr("From")
	in.to, in.dispTo = addr("To")
	in.cc, _ = addr("Cc")
	in.subject = baseSubject(mime.DecodeHeader(first("Subject")))
}

// foldText is the i;unicode-casemap comparison key, approximately: upper
// then lower case of the UTF-8 text.
func foldText(s string) string { return strings.ToLower(strings.ToUpper(s)) }

// baseSubject extracts the base subject (RFC 5256 §2.1): whitespace
// collapsed, "Re:", "Fw:", "Fwd:" and "[blob]" prefixes and "(fwd)"
// trailers removed, and a "[fwd: ...]" wrapper unwrapped, repeatedly.
func baseSubject(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for {
		before := s
		for { // (2) trailers
			t := strings.TrimRight(s, " ")
			if l := len(t); l >= 5 && strings.EqualFold(t[l-5:], "(fwd)") {
				s = t[:l-5]
				continue
			}
			s = t
			break
		}
		for { // (3) and (4): leaders and blobs
			t := strings.TrimLeft(s, " ")
			if rest, ok := cutLeader(t); ok {
				s = rest
				continue
			}
			if rest, ok := cutBlob(t); ok && strings.TrimSpace(rest) != "" {
				s = rest
				continue
			}
			s = t
			break
		}
		// (6) [fwd: ...]
		if l := len(s); l >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[l-1] == ']' {
			s = s[5 : l-1]
			continue
		}
		if s == before {
			return foldText(s)
		}
	}
}

// cutLeader removes one subj-refwd: ("re" / ("fw" ["d"])) *WSP [blob] ":".
func cutLeader(s string) (string, bool) {
	l := strings.ToLower(s)
	var n int
	switch {
	case strings.HasPrefix(l, "re"):
		n = 2
	case strings.HasPrefix(l, "fwd"):
		n = 3
	case strings.HasPrefix(l, "fw"):
		n = 2
	default:
		return s, false
	}
	rest := strings.TrimLeft(s[n:], " ")
	if r, ok := cutBlob(rest); ok {
		rest = r
	}
	if !strings.HasPrefix(rest, ":") {
		return s, false
	}
	return rest[1:], true
}

// cutBlob removes one leading "[" *(not "[]") "]" *WSP.
func cutBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return s, false
	}
	i := strings.IndexAny(s[1:], "[]")
	if i < 0 || s[1+i] != ']' {
		return s, false
	}
	return strings.TrimLeft(s[i+2:], " "), true
}

// THREAD and UID THREAD with the ORDEREDSUBJECT algorithm (RFC 5256
// §3.1): messages grouped by base subject, each group ordered by sent
// date under its first message, groups ordered by their first date.
func cmdThread(c *conn, cmd *command) error {
	d := c.dec
	var alg string
	if !d.ExpectSP() || !d.ExpectAtom(&alg) {
		return d.Err()
	}
	key, err := c.charsetAndKeys()
	if err != nil {
		return err
	}
	alg = strings.ToUpper(alg)
	if alg != "ORDEREDSUBJECT" && alg != "REFERENCES" {
		return errBad("Unsupported threading algorithm")
	}
	uids, err := c.searchUIDs(key)
	if err != nil {
		return err
	}
	if alg == "REFERENCES" {
		return c.threadByReferences(uids, cmd.uid)
	}
	infos, err := c.sortInfos(uids, func(k string) bool { return k == "SUBJECT" || k == "DATE" })
	if err != nil {
		return err
	}
	byDate := func(a, b sortInfo) int {
		if r := a.date.Compare(b.date); r != 0 {
			return r
		}
		return cmp.Compare(a.uid, b.uid)
	}
	slices.SortStableFunc(infos, func(a, b sortInfo) int {
		if r := strings.Compare(a.subject, b.subject); r != 0 {
			return r
		}
		return byDate(a, b)
	})
	var threads [][]sortInfo
	for i, in := range infos {
		if i == 0 || in.subject != infos[i-1].subject {
			threads = append(threads, nil)
		}
		threads[len(threads)-1] = append(threads[len(threads)-1], in)
	}
	slices.SortStableFunc(threads, func(a, b []sortInfo) int { return byDate(a[0], b[0]) })
	w := &c.w
	w.raw("* THREAD ")
	for _, t := range threads {
		w.byte('(')
		c.writeNum(t[0].uid, cmd.uid)
		switch {
		case len(t) == 2:
			w.sp()
			c.writeNum(t[1].uid, cmd.uid)
		case len(t) > 2:
			w.sp()
			for _, child := range t[1:] {
				w.byte('(')
				c.writeNum(child.uid, cmd.uid)
				w.byte(')')
			}
		}
		w.byte(')')
	}
	w.crlf()
	return nil
}
