package wire

import ()

// Search keys by argument kind (RFC 9051 §6.4.4, RFC 3501 §6.4.4,
// RFC 5032 WITHIN, RFC 8514 SAVEDATE, RFC 7162 CONDSTORE).
var searchKeyArgs = map[string]byte{
	"ALL": 0, "ANSWERED": 0, "DELETED": 0, "DRAFT": 0, "FLAGGED": 0,
	"NEW": 0, "OLD": 0, "RECENT": 0, "SEEN": 0, "UNANSWERED": 0,
	"UNDELETED": 0, "UNDRAFT": 0, "UNFLAGGED": 0, "UNSEEN": 0,
	"SAVEDATESUPPORTED": 0,

	"BCC": 's', "BODY": 's', "CC": 's', "FROM": 's', "SUBJECT": 's',
	"TEXT": 's', "TO": 's',

	"BEFORE": 'd', "ON": 'd', "SINCE": 'd', "SENTBEFORE": 'd',
	"SENTON": 'd', "SENTSINCE": 'd', "SAVEDBEFORE": 'd', "SAVEDON": 'd',
	"SAVEDSINCE": 'd',

	"KEYWORD": 'f', "UNKEYWORD": 'f',

	"LARGER": 'n', "SMALLER": 'n', "OLDER": 'z', "YOUNGER": 'z',

	"HEADER": 'h', "UID": 'u', "NOT": '1', "OR": '2', "MODSEQ": 'm',
}

// SearchKey reads one search-key. A sequence set gives Key "SEQSET", a
// parenthesized list Key "AND".
func (d *Decoder) SearchKey(k *SearchKey) bool {
	return d.searchKey(k, 0)
}

func (d *Decoder) searchKey(k *SearchKey, nest int) bool {
	if m := d.maxDepth(); m > 0 && nest+d.depth > m {
		return d.setErr(&SyntaxError{Msg: "search key", Err: ErrTooDeep})
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	*k = SearchKey{}
	switch {
	case c == '(':
		k.Key = "AND"
		return d.List(func() bool {
			var sub SearchKey
			if !d.searchKey(&sub, nest+1) {
				return false
			}
			k.Keys = append(k.Keys, sub)
			return true
		}) && (len(k.Keys) > 0 || d.Fail("search key"))
	case c == '$' || c == '*' || digit[c]:
		k.Key = "SEQSET"
		return d.ExpectNumSet(&k.Set)
	}
	var name string
	if !d.Keyword(&name) {
		return false
	}
	kind, known := searchKeyArgs[name]
	if !known {
		return d.Fail("search key")
	}
	k.Key = name
	if kind == 0 {
		return true
	}
	if !d.ExpectSP() {
		return false
	}
	switch kind {
	case 's':
		return d.ExpectAString(&k.Str)
	case 'd':
		return d.ExpectDate(&k.Date)
	case 'f':
		var a string
		if !d.ExpectAtom(&a) {
			return false
		}
		k.Flag = Flag(a)
		return true
	case 'n':
		return d.ExpectNumber64(&k.Num)
	case 'z':
		var n uint32
		if !d.ExpectNzNumber(&n) {
			return false
		}
		k.Num = uint64(n)
		return true
	case 'h':
		return d.ExpectAString(&k.Field) && d.ExpectSP() && d.ExpectAString(&k.Str)
	case 'u':
		return d.ExpectNumSet(&k.Set)
	case 'm':
		// "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
		var s string
		if d.Quoted(&s) {
			var typ string
			if !d.ExpectSP() || !d.ExpectAtom(&typ) || !d.ExpectSP() {
				return false
			}
			k.Field = s
			k.Str = typ
		} else if d.err != nil {
			return false
		}
		return d.ExpectNumber64(&k.Num)
	case '1':
		k.Keys = make([]SearchKey, 1)
		return d.searchKey(&k.Keys[0], nest+1)
	case '2':
		k.Keys = make([]SearchKey, 2)
		return d.searchKey(&k.Keys[0], nest+1) && d.ExpectSP() && d.searchKey(&k.Keys[1], nest+1)
	}
	return d.Fail("search key")
}

// ExpectSearchKey reads a search key or fails.
func (d *Decoder) ExpectSearchKey(k *SearchKey) bool {
	return d.SearchKey(k) || d.Fail("search key")
}

// SearchKeys reads search-key *(SP search-key) up to the end of the line
// (CRLF not consumed) and returns them as one "AND" key.
func (d *Decoder) SearchKeys(k *SearchKey) bool {
	*k = SearchKey{Key: "AND"}
	for {
		var sub SearchKey
		if !d.ExpectSearchKey(&sub) {
			return false
		}
		k.Keys = append(k.Keys, sub)
		if d.AtEOL() || !d.SP() {
			return d.err == nil
		}
	}
}
