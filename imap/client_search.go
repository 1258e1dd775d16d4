package imap

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Search criteria builders. Each returns a SearchKey; several keys given
// to Search are ANDed.

// KeyAll matches every message.
func KeyAll() SearchKey { return SearchKey{Key: "ALL"} }

// KeySeq matches the messages in a sequence set.
func KeySeq(set NumSet) SearchKey { return SearchKey{Key: "SEQSET", Set: set} }

// KeyUID matches the messages in a UID set.
func KeyUID(set NumSet) SearchKey { return SearchKey{Key: "UID", Set: set} }

var flagKeys = map[Flag][2]string{
	FlagSeen:     {"SEEN", "UNSEEN"},
	FlagAnswered: {"ANSWERED", "UNANSWERED"},
	FlagFlagged:  {"FLAGGED", "UNFLAGGED"},
	FlagDeleted:  {"DELETED", "UNDELETED"},
	FlagDraft:    {"DRAFT", "UNDRAFT"},
}

// KeyFlag matches messages with flag f (system flag or keyword).
func KeyFlag(f Flag) SearchKey {
	for sf, k := range flagKeys {
		if sf.Equal(f) {
			return SearchKey{Key: k[0]}
		}
	}
	return SearchKey{Key: "KEYWORD", Flag: f}
}

// KeyNoFlag matches messages without flag f.
func KeyNoFlag(f Flag) SearchKey {
	for sf, k := range flagKeys {
		if sf.Equal(f) {
			return SearchKey{Key: k[1]}
		}
	}
	return SearchKey{Key: "UNKEYWORD", Flag: f}
}

// KeyHeader matches messages whose header field contains value ("" :
// messages having the field).
func KeyHeader(field, value string) SearchKey {
	return SearchKey{Key: "HEADER", Field: field, Str: value}
}

// KeyText matches one of the string keys: "FROM", "TO", "CC", "BCC",
// "SUBJECT", "BODY" or "TEXT", against s (substring, case-insensitive).
func KeyText(key, s string) SearchKey { return SearchKey{Key: strings.ToUpper(key), Str: s} }

// KeyDate matches one of the date keys: "BEFORE", "ON", "SINCE" (internal
// date) or "SENTBEFORE", "SENTON", "SENTSINCE" (Date header). Only the
// date of t counts.
func KeyDate(key string, t time.Time) SearchKey { return SearchKey{Key: strings.ToUpper(key), Date: t} }

// KeyLarger matches messages larger than n octets.
func KeyLarger(n uint64) SearchKey { return SearchKey{Key: "LARGER", Num: n} }

// KeySmaller matches messages smaller than n octets.
func KeySmaller(n uint64) SearchKey { return SearchKey{Key: "SMALLER", Num: n} }

// KeyModSeq matches messages with MODSEQ >= n (CONDSTORE).
func KeyModSeq(n uint64) SearchKey { return SearchKey{Key: "MODSEQ", Num: n} }

// KeyNot negates k.
func KeyNot(k SearchKey) SearchKey { return SearchKey{Key: "NOT", Keys: []SearchKey{k}} }

// KeyOr matches either a or b.
func KeyOr(a, b SearchKey) SearchKey { return SearchKey{Key: "OR", Keys: []SearchKey{a, b}} }

// KeyAnd matches all of keys (a parenthesized list).
func KeyAnd(keys ...SearchKey) SearchKey { return SearchKey{Key: "AND", Keys: keys} }

// searchKeys writes keys, ANDed (ALL when there are none).
func (w *cmdWriter) searchKeys(keys []SearchKey) *cmdWriter {
	if w.err != nil {
		return w
	}
	switch len(keys) {
	case 0:
		w.enc.SearchKey(KeyAll())
	case 1:
		w.enc.SearchKey(keys[0])
	default:
		w.enc.SearchKey(KeyAnd(keys...)) // top-level AND: keys side by side
	}
	return w
}

// SearchOptions are ESEARCH return options (RFC 4731, IMAP4rev2). With
// none set, Search sends a plain SEARCH and fills All.
type SearchOptions struct {
	Min, Max, Count, All bool
	Save                 bool // RFC 5182: remember the result as "$"
	// Partial asks for one window of the result (RFC 9394, capability
	// PARTIAL): "1:100" for the first hundred matches, "-1:-100" for the
	// last hundred. It cannot be combined with All.
	Partial string
}

func (o *SearchOptions) any() bool {
	return o != nil && (o.Min || o.Max || o.Count || o.All || o.Save || o.Partial != "")
}

// SearchData is a SEARCH or ESEARCH result. Numbers are sequence numbers,
// or UIDs for UIDSearch.
type SearchData struct {
	All    NumSet // matching messages
	Min    uint32
	Max    uint32
	Count  uint32
	ModSeq uint64 // CONDSTORE: highest MODSEQ of the matches
	UID    bool
	// Partial holds the matches in the window SearchOptions.Partial
	// asked for (empty when none is in it).
	Partial NumSet
}

// Nums lists the numbers in All in ascending order (nil for more than
// 1<<20 numbers: use All directly).
func (d *SearchData) Nums() []uint32 { return expandUIDs(d.All) }

// Search finds messages; keys are ANDed. opts may be nil.
func (c *Client) Search(ctx context.Context, opts *SearchOptions, keys ...SearchKey) (*SearchData, error) {
	return c.search(ctx, false, opts, keys)
}

// UIDSearch is Search returning UIDs.
func (c *Client) UIDSearch(ctx context.Context, opts *SearchOptions, keys ...SearchKey) (*SearchData, error) {
	return c.search(ctx, true, opts, keys)
}

func (c *Client) search(ctx context.Context, uid bool, opts *SearchOptions, keys []SearchKey) (res *SearchData, err error) {
	end, err := c.beginCaps(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand(uidVerb(uid, "SEARCH"))
	if opts.any() {
		var ret []string
		for _, o := range []struct {
			on   bool
			name string
		}{{opts.Min, "MIN"}, {opts.Max, "MAX"}, {opts.Count, "COUNT"}, {opts.All, "ALL"}, {opts.Save, "SAVE"}, {opts.Partial != "", "PARTIAL " + opts.Partial}} {
			if o.on {
				ret = append(ret, o.name)
			}
		}
		w.raw(" RETURN (" + strings.Join(ret, " ") + ")")
	}
	if needsCharset(keys) && !c.utf8 {
		w.raw(" CHARSET UTF-8")
	}
	w.sp().searchKeys(keys)
	res = &SearchData{UID: uid}
	cmd.data = func(u *untagged) bool {
		if u.search == nil {
			return false
		}
		if u.search.tag != "" && u.search.tag != cmd.tag {
			return false
		}
		s := &u.search.SearchData
		res.All.Ranges = append(res.All.Ranges, s.All.Ranges...)
		res.Partial.Ranges = append(res.Partial.Ranges, s.Partial.Ranges...)
		res.Min, res.Max, res.Count = max(res.Min, s.Min), max(res.Max, s.Max), res.Count+s.Count
		res.ModSeq = max(res.ModSeq, s.ModSeq)
		return true
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	return res, nil
}

// needsCharset reports whether any string argument is not ASCII.
func needsCharset(keys []SearchKey) bool {
	for _, k := range keys {
		for i := 0; i < len(k.Str); i++ {
			if k.Str[i] >= 0x80 {
				return true
			}
		}
		if needsCharset(k.Keys) {
			return true
		}
	}
	return false
}

// searchResult is a parsed SEARCH/SORT/ESEARCH response.
type searchResult struct {
	SearchData
	tag   string   // ESEARCH (TAG "...")
	order []uint32 // SEARCH/SORT numbers in the order sent
}

// readSearch parses "* SEARCH n n n [(MODSEQ n)]" (and SORT) after the name.
func (c *Client) readSearch() *searchResult {
	r := &c.rd
	res := &searchResult{}
	for r.sp() && !r.atEOL() {
		if r.peek() == '(' {
			r.list(func() bool {
				if r.keyword() != "MODSEQ" || !r.expectSP() {
					return r.fail("MODSEQ")
				}
				return r.number64(&res.ModSeq)
			})
			continue
		}
		var n uint32
		if !r.number(&n) {
			return nil
		}
		res.All.AddNum(n)
		res.order = append(res.order, n)
		res.Count++
		if res.Min == 0 || n < res.Min {
			res.Min = n
		}
		res.Max = max(res.Max, n)
	}
	if r.err != nil {
		return nil
	}
	return res
}

// readESearch parses "* ESEARCH [(TAG "x")] [UID] *(name SP value)".
func (c *Client) readESearch() *searchResult {
	r := &c.rd
	res := &searchResult{}
	for r.sp() && !r.atEOL() {
		if r.peek() == '(' {
			r.list(func() bool {
				k := r.keyword()
				if !r.expectSP() {
					return false
				}
				if k == "TAG" {
					res.tag, _ = r.str()
					return r.err == nil
				}
				return r.skipValue()
			})
			continue
		}
		switch name := r.keyword(); name {
		case "UID":
			res.UID = true
		case "MIN", "MAX", "COUNT":
			var n uint32
			if !r.expectSP() || !r.number(&n) {
				return nil
			}
			switch name {
			case "MIN":
				res.Min = n
			case "MAX":
				res.Max = n
			default:
				res.Count = n
			}
		case "ALL":
			if !r.expectSP() {
				return nil
			}
			res.All, _ = r.numSet()
		case "MODSEQ":
			if !r.expectSP() || !r.number64(&res.ModSeq) {
				return nil
			}
		case "PARTIAL": // RFC 9394: "(" range SP (sequence-set / NIL) ")"
			if !r.expectSP() || !r.readPartial(&res.Partial) {
				return nil
			}
		case "":
			r.fail("ESEARCH item")
			return nil
		default:
			if !r.expectSP() || !r.skipValue() {
				return nil
			}
		}
	}
	if r.err != nil {
		return nil
	}
	return res
}

// readPartial reads the value of an ESEARCH PARTIAL item into set.
func (r *respReader) readPartial(set *NumSet) bool {
	i := 0
	return r.list(func() bool {
		i++
		switch {
		case i == 1:
			return r.atom() != "" || r.fail("partial range")
		case i > 2:
			return r.fail("PARTIAL with two elements")
		case r.nilAtom():
			return true
		}
		s, ok := r.numSet()
		*set = s
		return ok
	})
}

// SortKey is a SORT criterion (RFC 5256): "ARRIVAL", "CC", "DATE",
// "FROM", "SIZE", "SUBJECT", "TO", each optionally preceded by REVERSE.
type SortKey struct {
	Key     string
	Reverse bool
}

// Sort returns the sequence numbers (UIDs with uid) of the matching
// messages in the order given by sortKeys (RFC 5256 SORT).
func (c *Client) Sort(ctx context.Context, uid bool, sortKeys []SortKey, keys ...SearchKey) (nums []uint32, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand(uidVerb(uid, "SORT"))
	w.raw(" (")
	for i, k := range sortKeys {
		if i > 0 {
			w.sp()
		}
		if k.Reverse {
			w.raw("REVERSE ")
		}
		if !isAtomString(k.Key) {
			return nil, fmt.Errorf("imap: invalid sort key %q", k.Key)
		}
		w.atom(strings.ToUpper(k.Key))
	}
	w.raw(") UTF-8")
	w.sp().searchKeys(keys)
	cmd.data = func(u *untagged) bool {
		if u.name == "SORT" && u.search != nil {
			nums = append(nums, u.search.order...)
			return true
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	return nums, nil
}

// Thread is one node of a THREAD response (RFC 5256): a message and the
// replies to it.
type Thread struct {
	Num      uint32 // sequence number, or UID for a UID THREAD
	Children []Thread
}

// Thread groups the matching messages into conversations with algorithm
// ("REFERENCES", "ORDEREDSUBJECT", "REFS"; the server advertises
// THREAD=<algorithm>). It returns the roots. A root with Num 0 stands
// for a missing parent whose children are siblings.
func (c *Client) Thread(ctx context.Context, uid bool, algorithm string, keys ...SearchKey) (threads []Thread, err error) {
	if !isAtomString(algorithm) {
		return nil, fmt.Errorf("imap: invalid thread algorithm %q", algorithm)
	}
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand(uidVerb(uid, "THREAD"))
	w.sp().atom(strings.ToUpper(algorithm)).raw(" UTF-8").sp().searchKeys(keys)
	cmd.data = func(u *untagged) bool {
		if u.name == "THREAD" {
			threads = append(threads, u.threads...)
			return true
		}
		return false
	}
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	return threads, nil
}

// readThreads parses the thread lists of "* THREAD" after the name.
func (c *Client) readThreads() []Thread {
	r := &c.rd
	var out []Thread
	for {
		for r.accept(' ') {
		}
		if r.peek() != '(' || r.err != nil {
			break
		}
		var t Thread
		if !r.readThread(&t) {
			return nil
		}
		out = append(out, t)
	}
	return out
}

// readThread reads one "(" thread-members / thread-nested ")" into t: a
// chain of numbers, each the child of the previous, then nested lists
// as children of the last.
func (r *respReader) readThread(t *Thread) bool {
	node := t
	started := false
	return r.list(func() bool {
		if r.peek() == '(' {
			var child Thread
			if !r.readThread(&child) {
				return false
			}
			node.Children = append(node.Children, child)
			return true
		}
		var n uint32
		if !r.number(&n) {
			return false
		}
		if !started {
			node.Num, started = n, true
			return true
		}
		node.Children = append(node.Children, Thread{Num: n})
		node = &node.Children[len(node.Children)-1]
		return true
	})
}
