package imap

import (
	"bytes"
	"strings"
	"time"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/mailbox"
)

// SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH, SEARCHRES, WITHIN
// (RFC 5032) and SAVEDATE (RFC 8514). The library evaluates the whole
// criteria tree over the store's message list, reading headers and bodies
// only for the keys that need them.
func cmdSearch(c *conn, cmd *command) error {
	d := c.dec
	if !d.ExpectSP() {
		return d.Err()
	}
	ret, ok := parseReturnOpts(d)
	if !ok {
		return d.Err()
	}
	badCharset := false
	if acceptWord(d, "CHARSET") {
		var cs string
		if !d.ExpectSP() || !d.ExpectAString(&cs) || !d.ExpectSP() {
			return d.Err()
		}
		switch strings.ToUpper(cs) {
		case "UTF-8", "US-ASCII":
		default:
			badCharset = true
		}
	}
	var key SearchKey
	if !d.SearchKeys(&key) {
		return d.Err()
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if badCharset {
		return &Error{Type: StatusNO, Code: CodeBadCharset, CodeArg: "(US-ASCII UTF-8)", Text: "Unsupported charset"}
	}
	if ret.update && c.contextTagInUse(cmd.tag) {
		return errBad("Tag %q names an active update context", cmd.tag)
	}
	withModSeq := usesModSeq(&key)
	if withModSeq {
		if err := c.enableCondStore(); err != nil {
			return err
		}
	}
	v := c.view
	uids, err := c.searchUIDs(&key)
	if err != nil {
		return err
	}
	if ret.save {
		c.searchRes = savedResult(&ret, uids)
		if !ret.wantsResult() && !ret.update {
			return nil // SAVE alone: no ESEARCH response (RFC 5182 §2.4)
		}
	}
	var topModSeq mailbox.ModSeq
	if withModSeq && len(uids) > 0 {
		// RFC 7162 §3.1.5: the highest MODSEQ of the messages found.
		if topModSeq, err = c.maxModSeq(uids); err != nil {
			return err
		}
	}
	nums := make([]uint32, len(uids))
	for i, u := range uids {
		if cmd.uid {
			nums[i] = uint32(u)
		} else {
			nums[i] = v.seq(u)
		}
	}
	w := &c.w
	if !ret.given && !c.rev2 {
		w.raw("* SEARCH")
		for _, n := range nums {
			w.sp()
			w.num32(n)
		}
		if topModSeq != 0 {
			w.raw(" (MODSEQ ")
			w.num(uint64(topModSeq))
			w.byte(')')
		}
		w.crlf()
		return nil
	}
	c.writeESearch(cmd, &ret, &esearchResult{nums: nums, topModSeq: topModSeq})
	if ret.update {
		c.addContext(cmd, &key, uids, nil, nil)
	}
	return nil
}

// searchUIDs returns the UIDs of the messages the client knows that match
// key, ascending: from the store when it can answer, else by evaluating
// the criteria over the message list, in parallel when they read message
// contents of a large mailbox (search_parallel.go).
func (c *conn) searchUIDs(key *SearchKey) ([]mailbox.UID, error) {
	v := c.view
	s := &searchCtx{c: c, now: time.Now(), seqSets: map[*SearchKey]NumSet{}}
	s.prepare(key)
	uids, pushed, err := s.storeSearch(key)
	if err != nil || pushed || v.count() == 0 {
		return uids, err
	}
	if w := searchWorkers(key, int(v.count())); w > 0 {
		return c.searchParallel(s, key, w)
	}
	return c.searchSerial(s, key)
}

// searchSerial evaluates key over the view's messages one by one.
func (c *conn) searchSerial(s *searchCtx, key *SearchKey) (uids []mailbox.UID, err error) {
	v := c.view
	err = c.eachMessage(v.uids, func(m *mailbox.MessageInfo) error {
		n := v.seq(m.UID)
		if n == 0 || v.isExpunged(m.UID) {
			return nil
		}
		s.reset(m, n)
		ok, err := s.match(key)
		if ok {
			uids = append(uids, m.UID)
		}
		return err
	})
	return uids, err
}

// acceptWord consumes the word w (ASCII case-insensitive) when it comes
// next as a whole word. It never waits for bytes beyond the end of the
// current line (a plain Peek(len(w)+1) would, on a short line).
func acceptWord(d *wire.Decoder, w string) bool {
	if d.Err() != nil {
		return false
	}
	br := d.Reader()
	for {
		n := br.Buffered()
		b, _ := br.Peek(n)
		if n >= len(w)+1 || bytes.IndexByte(b, '\n') >= 0 {
			break
		}
		if _, err := br.Peek(n + 1); err != nil {
			break
		}
	}
	b, _ := br.Peek(min(len(w)+1, br.Buffered()))
	if len(b) < len(w) || !strings.EqualFold(string(b[:len(w)]), w) {
		return false
	}
	if len(b) > len(w) && b[len(w)] != ' ' && b[len(w)] != '\r' && b[len(w)] != '\n' {
		return false
	}
	br.Discard(len(w))
	return true
}
