package imap

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/utf7"
	"github.com/posthorn/posthorn/mailbox"
)

// This file holds the NOTIFY command (RFC 5465) as data: its grammar
// (parse and render, so that a fuzz target can check one against the
// other), the RFC's rules on which requests are valid, and the matching
// of an event's mailbox against the request's filters. The session side
// (queueing, delivery) is in notify_queue.go and cmd_notify.go.

// Response codes of NOTIFY (RFC 5465 §8).
const (
	// CodeNotificationOverflow: the server stopped notifying (untagged
	// OK), or refused a NOTIFY that would cost too much (tagged NO).
	CodeNotificationOverflow ResponseCode = "NOTIFICATIONOVERFLOW"
	// CodeBadEvent: a NOTIFY asked for an event the server does not
	// report; the argument lists the ones it does.
	CodeBadEvent ResponseCode = "BADEVENT"
)

// notifyEvents is a set of RFC 5465 §5 events.
type notifyEvents uint16

const (
	evMessageNew notifyEvents = 1 << iota
	evMessageExpunge
	evFlagChange
	evAnnotationChange
	evMailboxName
	evSubscriptionChange
	evMailboxMetadataChange
	evServerMetadataChange

	// evMessage are the <message-event>s, the only ones allowed with
	// SELECTED and SELECTED-DELAYED (RFC 5465 §6.1).
	evMessage = evMessageNew | evMessageExpunge | evFlagChange | evAnnotationChange
	// evSupported are the events this server reports.
	evSupported = evMessageNew | evMessageExpunge | evFlagChange | evMailboxName | evSubscriptionChange
)

// notifyEventNames spells the events as RFC 5465 §8 does, in the order
// they are rendered.
var notifyEventNames = [...]struct {
	ev   notifyEvents
	name string
}{
	{evMessageNew, "MessageNew"},
	{evMessageExpunge, "MessageExpunge"},
	{evFlagChange, "FlagChange"},
	{evAnnotationChange, "AnnotationChange"},
	{evMailboxName, "MailboxName"},
	{evSubscriptionChange, "SubscriptionChange"},
	{evMailboxMetadataChange, "MailboxMetadataChange"},
	{evServerMetadataChange, "ServerMetadataChange"},
}

// badEventArg is the argument of NO [BADEVENT ...]: every event the server
// supports (RFC 5465 §3.1).
var badEventArg = func() string {
	var names []string
	for _, e := range notifyEventNames {
		if evSupported&e.ev != 0 {
			names = append(names, e.name)
		}
	}
	return "(" + strings.Join(names, " ") + ")"
}()

// notifyFilter is a filter-mailboxes of RFC 5465 §6.
type notifyFilter uint8

const (
	filterSelected notifyFilter = iota + 1
	filterSelectedDelayed
	filterInboxes
	filterPersonal
	filterSubscribed
	filterSubtree
	filterMailboxes
)

var notifyFilterNames = [...]string{
	filterSelected:        "SELECTED",
	filterSelectedDelayed: "SELECTED-DELAYED",
	filterInboxes:         "INBOXES",
	filterPersonal:        "PERSONAL",
	filterSubscribed:      "SUBSCRIBED",
	filterSubtree:         "SUBTREE",
	filterMailboxes:       "MAILBOXES",
}

func (f notifyFilter) selected() bool { return f == filterSelected || f == filterSelectedDelayed }

// notifyGroup is one event-group: "(" filter-mailboxes SP events ")".
type notifyGroup struct {
	filter notifyFilter
	names  []string     // SUBTREE and MAILBOXES: the mailboxes, decoded, as sent
	events notifyEvents // 0 with unknown empty: NONE
	// unknown holds event-ext atoms (upper case), which this server does
	// not support.
	unknown []string
	fetch   []wire.FetchItem // MessageNew's fetch attributes
	// canon holds names as the store spells them, set by prepare; a name
	// no mailbox can have is left out (RFC 5465 §3.1: ignored).
	canon []string
}

// notifyCmd is the parsed argument of a NOTIFY command.
type notifyCmd struct {
	none   bool // NOTIFY NONE
	status bool // NOTIFY SET STATUS
	groups []notifyGroup
}

// Limits of one NOTIFY command, past which it is refused with
// NO [NOTIFICATIONOVERFLOW] (RFC 5465 §3.1: "too expensive"). They bound
// the work the store's publishing goroutine does per event.
const (
	maxNotifyGroups    = 32
	maxNotifyMailboxes = 256 // names in SUBTREE and MAILBOXES, all groups together
	maxNotifyFetchAtts = 32
)

// parseNotify reads the arguments of NOTIFY, from the SP after the command
// name to the end of the arguments (not the CRLF). It returns nil with the
// decoder's error set on a syntax error.
func parseNotify(d *wire.Decoder) *notifyCmd {
	n := &notifyCmd{}
	var kw string
	if !d.ExpectSP() || !d.Keyword(&kw) {
		d.Fail("SET or NONE")
		return nil
	}
	switch kw {
	case "NONE":
		n.none = true
		return n
	case "SET":
	default:
		d.Fail("SET or NONE")
		return nil
	}
	if !d.ExpectSP() {
		return nil
	}
	if d.Keyword(&kw) {
		if kw != "STATUS" || !d.ExpectSP() {
			d.Fail("STATUS or event group")
			return nil
		}
		n.status = true
	}
	for {
		var g notifyGroup
		if !parseNotifyGroup(d, &g) {
			d.Fail("event group")
			return nil
		}
		n.groups = append(n.groups, g)
		if !d.SP() {
			return n
		}
	}
}

// parseNotifyGroup reads "(" filter-mailboxes SP events ")".
func parseNotifyGroup(d *wire.Decoder, g *notifyGroup) bool {
	var kw string
	if !d.ExpectSpecial('(') || !d.Keyword(&kw) {
		return false
	}
	for f, name := range notifyFilterNames {
		if name != "" && kw == name {
			g.filter = notifyFilter(f)
		}
	}
	if g.filter == 0 {
		return d.Fail("filter-mailboxes")
	}
	if !d.ExpectSP() {
		return false
	}
	if g.filter == filterSubtree || g.filter == filterMailboxes {
		if !parseNotifyMailboxes(d, &g.names) || !d.ExpectSP() {
			return false
		}
	}
	if d.Special('(') {
		for {
			if !d.Keyword(&kw) || !parseNotifyEvent(d, g, kw) {
				return d.Fail("event")
			}
			if d.Special(')') {
				break
			}
			if !d.ExpectSP() {
				return false
			}
		}
	} else if !d.Keyword(&kw) {
		return d.Fail("events or NONE")
	} else if kw != "NONE" {
		// RFC 5465's own examples leave out the parentheses around the
		// events: "(selected MessageNew (uid) MessageExpunge)". Accepted.
		for {
			if !parseNotifyEvent(d, g, kw) {
				return d.Fail("event")
			}
			if d.Special(')') {
				return true
			}
			if !d.ExpectSP() || !d.Keyword(&kw) {
				return d.Fail("event")
			}
		}
	}
	return d.ExpectSpecial(')')
}

// parseNotifyMailboxes reads one-or-more-mailbox.
func parseNotifyMailboxes(d *wire.Decoder, names *[]string) bool {
	if !d.Special('(') {
		var name string
		if !d.ExpectMailbox(&name) {
			return false
		}
		*names = append(*names, name)
		return true
	}
	for {
		var name string
		if !d.ExpectMailbox(&name) {
			return false
		}
		*names = append(*names, name)
		if d.Special(')') {
			return true
		}
		if !d.ExpectSP() {
			return false
		}
	}
}

// parseNotifyEvent records the event kw, just read, in g. MessageNew may
// be followed by SP "(" fetch-att *(SP fetch-att) ")"; an atom that names
// no event is an event-ext.
func parseNotifyEvent(d *wire.Decoder, g *notifyGroup, kw string) bool {
	var ev notifyEvents
	for _, e := range notifyEventNames {
		if strings.EqualFold(kw, e.name) {
			ev = e.ev
		}
	}
	if ev == 0 {
		g.unknown = append(g.unknown, kw)
		return true
	}
	g.events |= ev
	if ev != evMessageNew || !d.SP() {
		return true
	}
	if !d.Special('(') {
		// SP and the next event: read it now.
		return d.Keyword(&kw) && parseNotifyEvent(d, g, kw)
	}
	if g.fetch != nil {
		return d.Fail("one fetch-att list")
	}
	g.fetch = []wire.FetchItem{}
	for {
		var it wire.FetchItem
		if !d.FetchAtt(&it) {
			return d.Fail("fetch-att")
		}
		g.fetch = append(g.fetch, it)
		if d.Special(')') {
			return true
		}
		if !d.ExpectSP() {
			return false
		}
	}
}

// String renders the arguments as parseNotify reads them (after
// "NOTIFY"), mailbox names in UTF-8 when utf8, else modified UTF-7.
func (n *notifyCmd) render(utf8 bool) string {
	if n.none {
		return " NONE"
	}
	var b strings.Builder
	b.WriteString(" SET")
	if n.status {
		b.WriteString(" STATUS")
	}
	for i := range n.groups {
		g := &n.groups[i]
		b.WriteString(" (")
		b.WriteString(notifyFilterNames[g.filter])
		if g.filter == filterSubtree || g.filter == filterMailboxes {
			b.WriteString(" (")
			for j, name := range g.names {
				if j > 0 {
					b.WriteByte(' ')
				}
				if !utf8 {
					name = utf7.Encode(name)
				}
				renderAString(&b, name, utf8)
			}
			b.WriteByte(')')
		}
		if g.events == 0 && len(g.unknown) == 0 {
			b.WriteString(" NONE)")
			continue
		}
		b.WriteString(" (")
		sep := ""
		for _, e := range notifyEventNames {
			if g.events&e.ev == 0 {
				continue
			}
			b.WriteString(sep)
			b.WriteString(e.name)
			sep = " "
			if e.ev == evMessageNew && g.fetch != nil {
				b.WriteString(" (")
				for j := range g.fetch {
					if j > 0 {
						b.WriteByte(' ')
					}
					renderFetchAtt(&b, &g.fetch[j], utf8)
				}
				b.WriteByte(')')
			}
		}
		for _, u := range g.unknown {
			b.WriteString(sep)
			b.WriteString(u)
			sep = " "
		}
		b.WriteString("))")
	}
	return b.String()
}

// renderFetchAtt writes a fetch-att as a command carries it.
func renderFetchAtt(b *strings.Builder, it *wire.FetchItem, utf8 bool) {
	b.WriteString(it.Name)
	if it.Peek {
		b.WriteString(".PEEK")
	}
	if it.Lazy {
		b.WriteString(" (LAZY)")
	}
	if it.Section == nil {
		return
	}
	b.WriteByte('[')
	s := it.Section
	for i, p := range s.Path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if s.Specifier != wire.PartAll {
		if len(s.Path) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(string(s.Specifier))
	}
	if len(s.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			renderAString(b, f, utf8)
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
	if p := it.Partial; p != nil {
		b.WriteByte('<')
		b.WriteString(strconv.FormatUint(uint64(p.Offset), 10))
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(p.Count), 10))
		b.WriteByte('>')
	}
}

// renderAString writes s as an atom, a quoted string or a literal.
func renderAString(b *strings.Builder, s string, utf8 bool) {
	switch {
	case isAtom(s) && !strings.ContainsRune(s, ']'):
		b.WriteString(s)
	case canQuote(s, utf8):
		b.WriteByte('"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte('"')
	default:
		b.WriteByte('{')
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteString("}\r\n")
		b.WriteString(s)
	}
}

// check applies RFC 5465's rules to a parsed NOTIFY SET and returns the
// tagged response for a request that is not valid or not supported: BAD
// for what the RFC forbids, NO [BADEVENT] for events this server does not
// report, NO [NOTIFICATIONOVERFLOW] past the limits.
func (n *notifyCmd) check() *Error {
	if n.none {
		return nil
	}
	selected, names, unsupported := 0, 0, false
	for i := range n.groups {
		g := &n.groups[i]
		if g.filter.selected() {
			// §6.1: only one of them in a command, and only
			// <message-event>s.
			if selected++; selected > 1 {
				return errBad("Only one SELECTED or SELECTED-DELAYED event group is allowed")
			}
			if g.events&^evMessage != 0 {
				return errBad("Only message events are allowed with %s", notifyFilterNames[g.filter])
			}
		} else if g.fetch != nil {
			// §8: the fetch-att list only for the selected mailbox.
			return errBad("MessageNew fetch attributes are only allowed with SELECTED or SELECTED-DELAYED")
		}
		// §5: MessageNew and MessageExpunge together; FlagChange and
		// AnnotationChange need both.
		both := evMessageNew | evMessageExpunge
		if m := g.events & both; m != 0 && m != both {
			return errBad("MessageNew and MessageExpunge must be requested together")
		}
		if g.events&(evFlagChange|evAnnotationChange) != 0 && g.events&both != both {
			return errBad("FlagChange and AnnotationChange need MessageNew and MessageExpunge")
		}
		if g.events&^evSupported != 0 || len(g.unknown) > 0 {
			unsupported = true
		}
		names += len(g.names)
	}
	if unsupported {
		return &Error{Type: StatusNO, Code: CodeBadEvent, CodeArg: badEventArg, Text: "Unsupported NOTIFY event"}
	}
	if len(n.groups) > maxNotifyGroups || names > maxNotifyMailboxes {
		return &Error{Type: StatusNO, Code: CodeNotificationOverflow, Text: "Too many mailboxes or event groups in NOTIFY"}
	}
	for i := range n.groups {
		g := &n.groups[i]
		if len(g.fetch) > maxNotifyFetchAtts {
			return &Error{Type: StatusNO, Code: CodeNotificationOverflow, Text: "Too many fetch attributes in NOTIFY"}
		}
		for _, it := range g.fetch {
			if !notifyFetchable(it.Name) {
				return errNo(CodeCannot, "Fetch item %s not supported", it.Name)
			}
		}
	}
	return nil
}

// notifyFetchable reports whether FETCH serves the item (as cmdFetch
// does).
func notifyFetchable(name string) bool {
	switch name {
	case "UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "SAVEDATE", "RFC822.HEADER",
		"RFC822", "RFC822.TEXT", "ENVELOPE", "BODYSTRUCTURE", "BINARY.SIZE", "PREVIEW",
		"BINARY", "BODY", "MODSEQ":
		return true
	}
	return false
}

// selectedGroup returns the SELECTED or SELECTED-DELAYED group, or nil.
func (n *notifyCmd) selectedGroup() *notifyGroup {
	if n == nil {
		return nil
	}
	for i := range n.groups {
		if n.groups[i].filter.selected() {
			return &n.groups[i]
		}
	}
	return nil
}

// eventsFor returns the events requested for a mailbox other than the
// selected one. subscribed reports whether name is subscribed.
func (n *notifyCmd) eventsFor(name string, subscribed bool) notifyEvents {
	var evs notifyEvents
	for i := range n.groups {
		g := &n.groups[i]
		if !g.filter.selected() && g.matches(name, subscribed) {
			evs |= g.events
		}
	}
	return evs
}

// matches reports whether the group's filter covers name (RFC 5465 §6.2
// to §6.6). INBOXES is PERSONAL (§6.3 allows it): every mailbox of the
// user may receive mail.
func (g *notifyGroup) matches(name string, subscribed bool) bool {
	switch g.filter {
	case filterInboxes, filterPersonal:
		return true
	case filterSubscribed:
		return subscribed
	case filterSubtree:
		for _, s := range g.canon {
			if name == s || strings.HasPrefix(name, s) && name[len(s)] == mailbox.Delimiter {
				return true
			}
		}
	case filterMailboxes:
		for _, s := range g.canon {
			if name == s {
				return true
			}
		}
	}
	return false
}

// prepare spells the groups' mailbox names as the store does, once, so
// that matching an event costs string comparisons only.
func (n *notifyCmd) prepare() {
	for i := range n.groups {
		g := &n.groups[i]
		g.canon = g.canon[:0]
		for _, s := range g.names {
			if c, err := mailbox.ValidName(s); err == nil {
				g.canon = append(g.canon, c)
			}
		}
	}
}
