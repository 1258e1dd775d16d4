package imap

import (
	"bytes"
	"io"
	stdmime "mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posthorn/posthorn/mailbox"
)

// searchCtx evaluates a search key tree over one message at a time. Header
// and body are read only when a key needs them, once per message. A
// searchCtx is used by one goroutine: a parallel search gives each worker
// its own (search_parallel.go); only seqSets and needles, filled by
// prepare, are shared, read-only.
type searchCtx struct {
	c        *conn
	now      time.Time
	seqSets  map[*SearchKey]NumSet // normalized SEQSET/UID sets
	needles  map[*SearchKey][]byte // lower-cased strings of BODY, TEXT and header keys
	m        *mailbox.MessageInfo
	seq      uint32
	src      msgSource
	hdrMap   map[string][]string // lower-case field name → decoded values
	bodyDone bool
	body     []byte // lower-cased text of the body (bounded)
	unfolded []byte // scratch: the header unfolded and lower-cased

	msg searchMsgBuf // the message's bytes and derived forms (search_text.go)
}

// maxSearchBody bounds the body text a BODY/TEXT search reads per message.
const maxSearchBody = 16 << 20

func (s *searchCtx) reset(m *mailbox.MessageInfo, seq uint32) {
	s.m, s.seq = m, seq
	s.src = msgSource{c: s.c, info: m}
	s.hdrMap, s.bodyDone, s.body = nil, false, s.body[:0]
	s.msg.reset()
}

// prepare normalizes every set in the tree once and checks charsets of
// nothing (strings are UTF-8 or ASCII).
func (s *searchCtx) prepare(k *SearchKey) {
	switch k.Key {
	case "FROM", "TO", "CC", "BCC", "SUBJECT", "HEADER", "BODY", "TEXT":
		if s.needles == nil {
			s.needles = map[*SearchKey][]byte{}
		}
		s.needles[k] = []byte(strings.ToLower(k.Str))
	case "SEQSET":
		if k.Set.SearchRes {
			s.seqSets[k] = s.resSet(false)
		} else {
			s.seqSets[k] = k.Set.Normalize(s.c.view.count())
		}
	case "UID":
		if k.Set.SearchRes {
			s.seqSets[k] = s.resSet(true)
		} else {
			s.seqSets[k] = k.Set.Normalize(uint32(s.c.view.maxUID()))
		}
	}
	for i := range k.Keys {
		s.prepare(&k.Keys[i])
	}
}

// resSet returns the saved search result as sequence numbers or UIDs.
func (s *searchCtx) resSet(uid bool) NumSet {
	var set NumSet
	for _, u := range s.c.searchRes {
		if uid {
			set.AddNum(uint32(u))
		} else if n := s.c.view.seq(u); n != 0 {
			set.AddNum(n)
		}
	}
	return set.Normalize(^uint32(0))
}

func (s *searchCtx) match(k *SearchKey) (bool, error) {
	m := s.m
	switch k.Key {
	case "AND":
		for i := range k.Keys {
			ok, err := s.match(&k.Keys[i])
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "NOT":
		ok, err := s.match(&k.Keys[0])
		return !ok, err
	case "OR":
		ok, err := s.match(&k.Keys[0])
		if err != nil || ok {
			return ok, err
		}
		return s.match(&k.Keys[1])
	case "ALL", "SAVEDATESUPPORTED":
		return true, nil
	case "SEQSET":
		return s.seqSets[k].ContainsNormalized(s.seq), nil
	case "UID":
		return s.seqSets[k].ContainsNormalized(uint32(m.UID)), nil
	case "ANSWERED":
		return m.HasFlag(mailbox.FlagAnswered), nil
	case "DELETED":
		return m.HasFlag(mailbox.FlagDeleted), nil
	case "DRAFT":
		return m.HasFlag(mailbox.FlagDraft), nil
	case "FLAGGED":
		return m.HasFlag(mailbox.FlagFlagged), nil
	case "SEEN":
		return m.HasFlag(mailbox.FlagSeen), nil
	case "UNANSWERED":
		return !m.HasFlag(mailbox.FlagAnswered), nil
	case "UNDELETED":
		return !m.HasFlag(mailbox.FlagDeleted), nil
	case "UNDRAFT":
		return !m.HasFlag(mailbox.FlagDraft), nil
	case "UNFLAGGED":
		return !m.HasFlag(mailbox.FlagFlagged), nil
	case "UNSEEN":
		return !m.HasFlag(mailbox.FlagSeen), nil
	case "RECENT":
		return s.c.view.isRecent(m.UID), nil
	case "OLD":
		return !s.c.view.isRecent(m.UID), nil
	case "NEW":
		return s.c.view.isRecent(m.UID) && !m.HasFlag(mailbox.FlagSeen), nil
	case "KEYWORD":
		return m.HasFlag(mailbox.Flag(k.Flag)), nil
	case "UNKEYWORD":
		return !m.HasFlag(mailbox.Flag(k.Flag)), nil
	case "LARGER":
		return uint64(m.Size) > k.Num, nil
	case "SMALLER":
		return uint64(m.Size) < k.Num, nil
	case "MODSEQ":
		return uint64(m.ModSeq) >= k.Num, nil
	case "BEFORE", "ON", "SINCE":
		return dateMatch(k.Key, m.InternalDate, k.Date), nil
	case "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		if m.SaveDate.IsZero() {
			return false, nil
		}
		return dateMatch(strings.TrimPrefix(k.Key, "SAVED"), m.SaveDate, k.Date), nil
	case "OLDER":
		return s.now.Sub(m.InternalDate) >= time.Duration(k.Num)*time.Second, nil
	case "YOUNGER":
		return s.now.Sub(m.InternalDate) <= time.Duration(k.Num)*time.Second, nil
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		vals, err := s.headerValues("date")
		if err != nil || len(vals) == 0 {
			return false, err
		}
		t, perr := mail.ParseDate(vals[0])
		if perr != nil {
			return false, nil
		}
		return dateMatch(strings.TrimPrefix(k.Key, "SENT"), t, k.Date), nil
	case "FROM", "TO", "CC", "BCC", "SUBJECT":
		return s.headerContains(strings.ToLower(k.Key), k.Str)
	case "HEADER":
		return s.headerContains(strings.ToLower(k.Field), k.Str)
	case "BODY":
		return s.bodyContains(s.needle(k))
	case "TEXT":
		if ok, err := s.headerAnyContains(k.Str, s.needle(k)); ok || err != nil {
			return ok, err
		}
		return s.bodyContains(s.needle(k))
	}
	return false, errBad("Unsupported search key %s", k.Key)
}

// dateMatch compares the calendar date of t (in its own zone, RFC 9051
// §6.4.4 "disregarding time and timezone") with day.
func dateMatch(op string, t, day time.Time) bool {
	y, mo, d := t.Date()
	td := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	dd := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	switch op {
	case "BEFORE":
		return td.Before(dd)
	case "ON":
		return td.Equal(dd)
	case "SINCE":
		return !td.Before(dd)
	}
	return false
}

var wordDecoder = stdmime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	// Unknown charsets: keep the bytes (ASCII-compatible ones still match).
	return r, nil
}}

// headerValues returns the decoded values of a header field.
func (s *searchCtx) headerValues(name string) ([]string, error) {
	if s.hdrMap == nil {
		if err := s.load(); err != nil {
			return nil, err
		}
		s.hdrMap = parseHeaderFields(s.src.header)
	}
	return s.hdrMap[name], nil
}

// parseHeaderFields unfolds a header block into decoded field values.
func parseHeaderFields(hdr []byte) map[string][]string {
	out := make(map[string][]string)
	var name string
	var val []byte
	flush := func() {
		if name != "" {
			v := strings.TrimSpace(string(val))
			if dec, err := wordDecoder.DecodeHeader(v); err == nil {
				v = dec
			}
			out[name] = append(out[name], v)
		}
		name, val = "", val[:0]
	}
	for len(hdr) > 0 {
		i := bytes.IndexByte(hdr, '\n')
		line := hdr
		if i >= 0 {
			line = hdr[:i+1]
		}
		hdr = hdr[len(line):]
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			val = append(val, line...)
			continue
		}
		flush()
		n, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = strings.ToLower(string(bytes.TrimSpace(n)))
		val = append(val, v...)
	}
	flush()
	return out
}

func (s *searchCtx) headerContains(name, needle string) (bool, error) {
	vals, err := s.headerValues(name)
	if err != nil {
		return false, err
	}
	for _, v := range vals {
		if needle == "" || containsFold(v, needle) {
			return true, nil
		}
	}
	return false, nil
}

// headerAnyContains reports whether any header field, name or decoded
// value, contains needle (low is needle lower-cased).
func (s *searchCtx) headerAnyContains(needle string, low []byte) (bool, error) {
	if s.hdrMap == nil {
		// Fast path: a header without encoded words is searched as
		// unfolded, lower-cased bytes, without splitting it into fields.
		if err := s.load(); err != nil {
			return false, err
		}
		if hdr := s.src.header; isASCII(needle) && bytes.Index(hdr, []byte("=?")) < 0 {
			return s.headerBytesContain(low), nil
		}
	}
	if _, err := s.headerValues("from"); err != nil {
		return false, err
	}
	for name, vals := range s.hdrMap {
		if containsFold(name, needle) { // names too, as the fast path
			return true, nil
		}
		for _, v := range vals {
			if containsFold(v, needle) {
				return true, nil
			}
		}
	}
	return false, nil
}

// unfoldLower appends hdr to dst with line folds removed (CRLF before a
// space or tab) and ASCII letters lower-cased.
func unfoldLower(dst, hdr []byte) []byte {
	for i := 0; i < len(hdr); i++ {
		c := hdr[i]
		if c == '\r' && i+2 < len(hdr) && hdr[i+1] == '\n' && (hdr[i+2] == ' ' || hdr[i+2] == '\t') {
			i++
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// lowerInPlace lower-cases b, in place when it is ASCII.
func lowerInPlace(b []byte) []byte {
	for i, c := range b {
		if c >= 0x80 {
			return bytes.ToLower(b)
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// containsFold reports whether s contains substr, ignoring case (Unicode
// simple folding for UTF-8 text).
func containsFold(s, substr string) bool {
	if substr == "" {
		return true
	}
	if isASCII(s) && isASCII(substr) {
		return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
	}
	return strings.Contains(strings.ToLower(strings.ToValidUTF8(s, string(utf8.RuneError))), strings.ToLower(substr))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
