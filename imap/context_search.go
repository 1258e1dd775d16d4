package imap

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/mailbox"
)

// The RETURN options of SEARCH and SORT: ESEARCH (RFC 4731), SEARCHRES
// (RFC 5182), CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267: CONTEXT, UPDATE)
// and PARTIAL (RFC 9394), and the ESEARCH response that answers them.

// searchReturn holds the RETURN options of a SEARCH or SORT.
type searchReturn struct {
	given                      bool // RETURN (...) present: answer with ESEARCH
	min, max, all, count, save bool
	context                    bool          // RFC 5267 §4.2: a hint only
	update                     bool          // RFC 5267 §4.3: keep the result up to date
	partial                    *partialRange // RFC 9394
}

// wantsResult reports whether an option other than SAVE, CONTEXT and
// UPDATE asks for result data; without one, ALL is implied (RFC 4731
// §3.1, RFC 5267 §4.3).
func (r *searchReturn) wantsResult() bool {
	return r.min || r.max || r.all || r.count || r.partial != nil
}

// partialRange is RFC 9394's partial-range: positions lo to hi (1-based,
// lo ≤ hi) of the result, counted from its end when last is set
// ("-1:-100" are the last hundred).
type partialRange struct {
	lo, hi uint32
	last   bool
}

// String formats the range as the response echoes it: "1:100" or
// "-1:-100".
func (p partialRange) String() string {
	if p.last {
		return "-" + strconv.FormatUint(uint64(p.lo), 10) + ":-" + strconv.FormatUint(uint64(p.hi), 10)
	}
	return strconv.FormatUint(uint64(p.lo), 10) + ":" + strconv.FormatUint(uint64(p.hi), 10)
}

// window returns the half-open index range [from, to) of the positions
// in a result of n entries; from == to when none is in range.
func (p partialRange) window(n int) (from, to int) {
	lo, hi := int(p.lo), int(p.hi)
	if lo > n {
		return 0, 0
	}
	hi = min(hi, n)
	if p.last {
		return n - hi, n - lo + 1
	}
	return lo - 1, hi
}

// parsePartialRange reads "nz-number:nz-number" or
// "-nz-number:-nz-number" (RFC 9394 §5); the ends may come in either
// order.
func parsePartialRange(d *wire.Decoder) (partialRange, bool) {
	var p partialRange
	p.last = d.Special('-')
	if !d.ExpectNzNumber(&p.lo) || !d.ExpectSpecial(':') {
		return p, false
	}
	if p.last && !d.ExpectSpecial('-') {
		return p, false
	}
	if !d.ExpectNzNumber(&p.hi) {
		return p, false
	}
	if p.lo > p.hi {
		p.lo, p.hi = p.hi, p.lo
	}
	return p, true
}

// parseReturnOpts reads the optional "RETURN (...) SP" of SEARCH (RFC
// 4731) and SORT (RFC 5267). PARTIAL may not be given twice nor with ALL
// (RFC 9394 §3.1).
func parseReturnOpts(d *wire.Decoder) (ret searchReturn, ok bool) {
	if !acceptWord(d, "RETURN") {
		return ret, true
	}
	ret.given = true
	if !d.ExpectSP() {
		return ret, false
	}
	d.ExpectList(func() bool {
		var kw string
		if !d.Keyword(&kw) {
			return d.Fail("search return option")
		}
		switch kw {
		case "MIN":
			ret.min = true
		case "MAX":
			ret.max = true
		case "ALL":
			ret.all = true
		case "COUNT":
			ret.count = true
		case "SAVE":
			ret.save = true
		case "CONTEXT":
			ret.context = true
		case "UPDATE":
			ret.update = true
		case "PARTIAL":
			if ret.partial != nil {
				return d.Fail("one PARTIAL")
			}
			p, ok := partialRange{}, d.ExpectSP()
			if ok {
				p, ok = parsePartialRange(d)
			}
			if !ok {
				return false
			}
			ret.partial = &p
		default:
			return d.Fail("search return option")
		}
		return true
	})
	if d.Err() == nil && ret.all && ret.partial != nil {
		d.Fail("PARTIAL without ALL")
	}
	return ret, d.Err() == nil && d.ExpectSP()
}

// String formats the options as a client sends them: "RETURN (...) "
// when given, "" otherwise.
func (r searchReturn) String() string {
	if !r.given {
		return ""
	}
	var opts []string
	for _, o := range []struct {
		on   bool
		name string
	}{{r.min, "MIN"}, {r.max, "MAX"}, {r.all, "ALL"}, {r.count, "COUNT"}, {r.save, "SAVE"}, {r.context, "CONTEXT"}, {r.update, "UPDATE"}} {
		if o.on {
			opts = append(opts, o.name)
		}
	}
	if r.partial != nil {
		opts = append(opts, "PARTIAL "+r.partial.String())
	}
	return "RETURN (" + strings.Join(opts, " ") + ") "
}

// esearchResult is what an ESEARCH response reports: the messages found,
// as the numbers the client asked for (UIDs or sequence numbers), in
// result order (ascending for SEARCH, the sort order for SORT).
type esearchResult struct {
	nums      []uint32
	topModSeq mailbox.ModSeq // SEARCH with MODSEQ (RFC 7162 §3.1.5)
}

// writeESearch writes the ESEARCH response of cmd. MIN and MAX are the
// first and last entries of the result order; ALL lists the result in
// that order (RFC 5267 §3.1), PARTIAL the requested window of it.
func (c *conn) writeESearch(cmd *command, ret *searchReturn, res *esearchResult) {
	if !ret.wantsResult() {
		ret.all = true
	}
	nums := res.nums
	w := &c.w
	c.esearchHead(cmd.tag, cmd.uid)
	if len(nums) > 0 {
		if ret.min {
			w.raw(" MIN ")
			w.num32(nums[0])
		}
		if ret.max {
			w.raw(" MAX ")
			w.num32(nums[len(nums)-1])
		}
		if ret.all {
			w.raw(" ALL ")
			w.raw(orderedSet(nums).String())
		}
	}
	if ret.partial != nil {
		w.raw(" PARTIAL (")
		w.raw(ret.partial.String())
		w.sp()
		if from, to := ret.partial.window(len(nums)); from < to {
			w.raw(orderedSet(nums[from:to]).String())
		} else {
			w.raw("NIL")
		}
		w.byte(')')
	}
	if ret.count {
		w.raw(" COUNT ")
		w.num(uint64(len(nums)))
	}
	if res.topModSeq != 0 && ret.wantsResult() {
		w.raw(" MODSEQ ")
		w.num(uint64(res.topModSeq))
	}
	w.crlf()
}

// esearchHead writes "* ESEARCH (TAG tag)" and " UID" for UID results.
func (c *conn) esearchHead(tag string, uid bool) {
	c.w.raw(`* ESEARCH (TAG `)
	c.w.quoted(tag)
	c.w.byte(')')
	if uid {
		c.w.raw(" UID")
	}
}

// orderedSet is nums as a sequence set in the same order, ascending runs
// merged into ranges.
func orderedSet(nums []uint32) NumSet {
	var set NumSet
	set.AddNum(nums...)
	return set
}

// savedResult returns what SAVE keeps of a result (in result order, as
// UIDs): all of it when ALL or COUNT is given or SAVE stands alone,
// otherwise only the messages MIN, MAX and PARTIAL report (RFC 5182 §2.4,
// RFC 9394 §3.2).
func savedResult(ret *searchReturn, uids []mailbox.UID) []mailbox.UID {
	if ret.all || ret.count || !ret.wantsResult() || len(uids) == 0 {
		return uids
	}
	keep := make([]bool, len(uids))
	if ret.min {
		keep[0] = true
	}
	if ret.max {
		keep[len(uids)-1] = true
	}
	if ret.partial != nil {
		from, to := ret.partial.window(len(uids))
		for i := from; i < to; i++ {
			keep[i] = true
		}
	}
	var out []mailbox.UID
	for i, u := range uids {
		if keep[i] {
			out = append(out, u)
		}
	}
	return out
}
