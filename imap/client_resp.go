package imap

import (
	"io"
	"strconv"
	"strings"
)

// UpdateKind says what an Update reports.
type UpdateKind int

// Update kinds.
const (
	UpdateExists   UpdateKind = iota + 1 // Count messages in the mailbox (EXISTS)
	UpdateRecent                         // Count \Recent messages (rev1)
	UpdateExpunge                        // message Seq expunged; later numbers shift down
	UpdateVanished                       // UIDs in Vanished expunged (QRESYNC)
	UpdateFetch                          // Message's flags (and MODSEQ) changed
	UpdateStatus                         // a STATUS response nobody asked for (NOTIFY)
	UpdateList                           // a LIST response nobody asked for
	UpdateAlert                          // Text is an [ALERT] the user must see
	UpdateBye                            // the server is closing the connection; Text says why
)

var updateKindNames = [...]string{"", "EXISTS", "RECENT", "EXPUNGE", "VANISHED", "FETCH", "STATUS", "LIST", "ALERT", "BYE"}

func (k UpdateKind) String() string {
	if int(k) < len(updateKindNames) {
		return updateKindNames[k]
	}
	return "UpdateKind(" + strconv.Itoa(int(k)) + ")"
}

// Update is an unsolicited server response delivered to
// ClientOptions.Handler. Only the fields of its Kind are set.
type Update struct {
	Kind     UpdateKind
	Seq      uint32        // UpdateExpunge, UpdateFetch
	Count    uint32        // UpdateExists, UpdateRecent
	Vanished NumSet        // UpdateVanished
	Message  *FetchMessage // UpdateFetch: Flags, UID and ModSeq as sent
	Status   *StatusData   // UpdateStatus
	List     *ListData     // UpdateList
	Text     string        // UpdateAlert, UpdateBye
}

// untagged is a parsed untagged data response, offered to the commands
// in flight.
type untagged struct {
	name    string // upper case: "LIST", "EXISTS", "FETCH", ...
	num     uint32
	list    *ListData
	status  *StatusData
	search  *searchResult
	set     NumSet
	earlier bool
	ns      *Namespaces
	id      map[string]string
	fetch   *FetchMessage
	words   []string // CAPABILITY, ENABLED
	threads []Thread
}

// readResponse reads one response line and dispatches it.
func (c *Client) readResponse() error {
	if c.broken != nil {
		return c.broken
	}
	r := &c.rd
	if _, err := r.br.Peek(1); err == io.EOF && r.pending == nil {
		// The server closed the connection between responses.
		if c.bye != nil {
			err = c.bye
		}
		c.fail(err)
		return err
	}
	switch r.peek() {
	case '+':
		r.br.Discard(1)
		text := ""
		if r.sp() {
			text = r.text()
		}
		r.crlf()
		c.cont = &text
		c.trace("S", "+ "+text)
	case '*':
		r.br.Discard(1)
		if r.expectSP() {
			c.readUntagged()
		}
	default:
		tag := r.scan(&atomStop)
		if r.err == nil && tag == "" {
			r.fail("tag")
		}
		if r.expectSP() {
			if st, ok := c.readStatus(false); ok {
				c.trace("S", tag+" "+st.Error())
				c.complete(tag, st)
			}
		}
	}
	if r.err != nil {
		err := r.err
		if c.bye != nil && (err == io.ErrUnexpectedEOF || err == io.EOF) {
			err = c.bye
		}
		c.fail(err)
		return err
	}
	return c.broken
}

// readStatus reads "OK/NO/BAD/BYE/PREAUTH [SP [code args] text]" CRLF.
func (c *Client) readStatus(untaggedResp bool) (*Error, bool) {
	r := &c.rd
	kw := r.keyword()
	switch StatusType(kw) {
	case StatusOK, StatusNO, StatusBAD, StatusBYE, StatusPREAUTH:
	default:
		return nil, r.fail("status (OK, NO, BAD, BYE)")
	}
	st := &Error{Type: StatusType(kw)}
	c.readRespText(st)
	if !r.crlf() {
		return nil, false
	}
	return st, true
}

// readRespText reads [SP ["[" code [SP arg] "]" SP] text].
func (c *Client) readRespText(st *Error) {
	r := &c.rd
	if !r.sp() {
		return
	}
	if r.accept('[') {
		st.Code = ResponseCode(strings.ToUpper(r.scan(&codeStop)))
		if r.sp() {
			st.CodeArg = r.scan(&bracketStop)
		}
		r.expect(']')
		r.sp()
	}
	if !r.atEOL() {
		st.Text = r.text()
	}
}

var codeStop [256]bool

func init() {
	for _, c := range []byte(" ]\r\n") {
		codeStop[c] = true
	}
}

// readUntagged reads an untagged response after "* ".
func (c *Client) readUntagged() {
	r := &c.rd
	if c0 := r.peek(); c0 >= '0' && c0 <= '9' {
		var n uint32
		if !r.number(&n) || !r.expectSP() {
			return
		}
		isFetch := r.acceptWord("FETCH ")
		if isFetch && c.fetching != nil {
			c.fetching.onFetch(n) // the hot path: nothing allocated here
			return
		}
		u := &untagged{num: n, name: "FETCH"}
		if !isFetch {
			u.name = r.keyword()
		}
		switch u.name {
		case "FETCH":
			m, ok := c.readFetch(n)
			if !ok {
				return
			}
			u.fetch = m
			c.noteFetch(m)
		case "EXISTS", "RECENT", "EXPUNGE":
		default:
			r.discardLine()
			return
		}
		if u.name != "FETCH" && !r.crlf() {
			return
		}
		c.dispatch(u)
		return
	}
	kw := r.keyword()
	switch StatusType(kw) {
	case StatusOK, StatusNO, StatusBAD, StatusBYE, StatusPREAUTH:
		st := &Error{Type: StatusType(kw)}
		c.readRespText(st)
		if r.crlf() {
			c.untaggedStatus(st)
		}
		return
	}
	u := &untagged{name: kw}
	switch kw {
	case "CAPABILITY", "ENABLED":
		for r.sp() && !r.atEOL() {
			u.words = append(u.words, strings.ToUpper(r.atom()))
		}
	case "FLAGS":
		if r.expectSP() {
			flags, ok := r.flagList()
			if ok && c.mbox != nil {
				c.mbox.Flags = flags
			}
		}
	case "LIST", "LSUB", "XLIST":
		u.list = c.readList()
	case "STATUS":
		u.status = c.readStatusData()
	case "SEARCH", "SORT":
		u.search = c.readSearch()
	case "ESEARCH":
		u.search = c.readESearch()
	case "THREAD":
		u.threads = c.readThreads()
	case "VANISHED":
		if r.expectSP() {
			if r.peek() == '(' {
				r.list(func() bool {
					// An element that is no atom consumes nothing:
					// fail rather than loop on it.
					k := r.keyword()
					u.earlier = u.earlier || k == "EARLIER"
					return k != "" || r.fail("VANISHED modifier")
				})
				r.expectSP()
			}
			u.set, _ = r.numSet()
		}
	case "NAMESPACE":
		u.ns = c.readNamespace()
	case "ID":
		u.id = c.readID()
	default:
		r.discardLine()
		return
	}
	if r.err == nil && r.crlf() {
		c.dispatch(u)
	}
}

// untaggedStatus handles "* OK/NO/BAD/BYE/PREAUTH [code] text".
func (c *Client) untaggedStatus(st *Error) {
	c.trace("S", "* "+st.Error())
	switch st.Code {
	case CodeCapability:
		c.setCaps(strings.Fields(st.CodeArg))
	case CodeCopyUID:
		c.copyUID = parseCopyUID(st.CodeArg)
	}
	if c.mbox != nil {
		c.mbox.applyCode(st.Code, st.CodeArg)
	}
	switch {
	case st.Type == StatusBYE:
		c.bye = st
		if !c.loggingOut() {
			c.notify(Update{Kind: UpdateBye, Text: st.Text})
		}
	case st.Code == CodeAlert:
		c.notify(Update{Kind: UpdateAlert, Text: st.Text})
	}
}

// dispatch applies an untagged data response to the client state and
// offers it to the commands in flight, then to the handler.
func (c *Client) dispatch(u *untagged) {
	switch u.name {
	case "CAPABILITY":
		c.setCaps(u.words)
	case "ENABLED":
		if c.enabled == nil {
			c.enabled = map[string]bool{}
		}
		for _, w := range u.words {
			c.enabled[w] = true
			if w == "UTF8=ACCEPT" || w == "UTF8=ONLY" || w == "IMAP4REV2" {
				c.utf8 = true
			}
		}
	case "EXISTS":
		if c.mbox != nil {
			c.mbox.setExists(u.num)
		}
	case "RECENT":
		if c.mbox != nil {
			c.mbox.Recent = u.num
		}
	case "EXPUNGE":
		if c.mbox != nil {
			c.mbox.expunge(u.num)
		}
	case "VANISHED":
		if c.mbox != nil && !u.earlier {
			c.mbox.vanish(u.set)
		}
	}
	for _, cmd := range c.inflight {
		if cmd.data != nil && cmd.data(u) {
			return
		}
	}
	var up Update
	switch u.name {
	case "EXISTS":
		up = Update{Kind: UpdateExists, Count: u.num}
	case "RECENT":
		up = Update{Kind: UpdateRecent, Count: u.num}
	case "EXPUNGE":
		up = Update{Kind: UpdateExpunge, Seq: u.num}
	case "VANISHED":
		up = Update{Kind: UpdateVanished, Vanished: u.set}
	case "FETCH":
		up = Update{Kind: UpdateFetch, Seq: u.num, Message: u.fetch}
	case "STATUS":
		up = Update{Kind: UpdateStatus, Status: u.status}
	case "LIST":
		up = Update{Kind: UpdateList, List: u.list}
	default:
		return
	}
	c.notify(up)
}

// loggingOut reports whether LOGOUT is in flight (its BYE is expected).
func (c *Client) loggingOut() bool {
	for _, cmd := range c.inflight {
		if cmd.name == "LOGOUT" {
			return true
		}
	}
	return false
}

func (c *Client) notify(up Update) {
	if c.opts.Handler != nil {
		c.opts.Handler(up)
	}
}

// noteFetch records what a FETCH response says about the selected
// mailbox (UIDs, so the view knows seq→UID).
func (c *Client) noteFetch(m *FetchMessage) {
	if c.mbox != nil && m.UID != 0 {
		c.mbox.setUID(m.Seq, m.UID)
	}
}
