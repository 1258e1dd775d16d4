package wire

import "bytes"

// Envelope reads an ENVELOPE (RFC 9051 §7.5.2). NIL strings become "".
//
// The strings are gathered in a buffer of the decoder and cut from a
// few shared strings at the end (see [Envelope] on what that keeps
// alive), and the address lists share one array: a typical envelope
// costs two allocations however many strings it has.
func (d *Decoder) Envelope(env *Envelope) bool {
	*env = Envelope{}
	if !d.accept('(') {
		return false
	}
	e := &d.env
	e.reset()
	var lists [6]int // addresses in From, Sender, ReplyTo, To, Cc, Bcc
	ok := d.envelopeBuffered(&lists)
	if !ok {
		e.reset()
		lists = [6]int{}
		ok = d.envNString(nil) && d.ExpectSP() && d.envNString(nil) && d.ExpectSP()
		for i := 0; ok && i < len(lists); i++ {
			ok = d.envAddressList(&lists[i]) && d.ExpectSP()
		}
		ok = ok && d.envNString(nil) && d.ExpectSP() && d.envNString(nil) && d.ExpectSpecial(')')
	}
	if ok {
		e.build(env, &lists)
	}
	e.release()
	return ok
}

// Bounds on what one kept field of an Envelope keeps alive (documented
// on Envelope).
const (
	envBlock      = 1024 // strings are cut from shared strings of at most this many bytes
	envSharedAddr = 16   // address lists share one array up to this many addresses
)

// envScratch gathers an envelope being decoded: the bytes of its
// strings one after the other, where each string ends, and the group
// mark of each address. It is reused from envelope to envelope.
type envScratch struct {
	bytes  []byte
	ends   []int // end of each string in bytes, in wire order
	groups []GroupMark
}

func (e *envScratch) reset() {
	e.bytes, e.ends, e.groups = e.bytes[:0], e.ends[:0], e.groups[:0]
}

// release forgets buffers grown large by an unusual envelope, so that
// a decoder does not hold on to them.
func (e *envScratch) release() {
	if cap(e.bytes) > 64<<10 {
		e.bytes = nil
	}
	if cap(e.ends) > 4096 {
		e.ends, e.groups = nil, nil
	}
}

// envNString reads an nstring of an envelope into d.env, setting
// *isNil (if not nil) when it was NIL.
func (d *Decoder) envNString(isNil *bool) bool {
	e := &d.env
	c, ok := d.peek()
	if !ok {
		return false
	}
	nilString := false
	switch {
	case c == '"':
		b, ok := d.quotedAppend(e.bytes)
		if !ok {
			return d.Fail("nstring")
		}
		e.bytes = b
	case (c == 'N' || c == 'n') && d.NIL():
		nilString = true
	default:
		b, ok := d.literalAppend(e.bytes, false)
		if !ok {
			return d.Fail("nstring")
		}
		e.bytes = b
	}
	e.ends = append(e.ends, len(e.bytes))
	if isNil != nil {
		*isNil = nilString
	}
	return true
}

// envAddressList reads "(" 1*address ")" / nil into d.env, counting the
// addresses in *n.
func (d *Decoder) envAddressList(n *int) bool {
	*n = 0
	if d.atNIL() {
		return true
	}
	return d.ExpectList(func() bool {
		var mboxNil, hostNil bool
		ok := d.accept('(') &&
			d.envNString(nil) && d.ExpectSP() && // name
			d.envNString(nil) && d.ExpectSP() && // adl
			d.envNString(&mboxNil) && d.ExpectSP() &&
			d.envNString(&hostNil) && d.ExpectSpecial(')')
		if !ok {
			return d.Fail("address")
		}
		d.env.groups = append(d.env.groups, groupMark(mboxNil, hostNil))
		*n++
		return true
	})
}

// envelopeBuffered reads the rest of an envelope, after "(", into d.env
// from the bytes already buffered when it has the form servers send:
// quoted strings without escapes, NIL, addresses with no space between
// them. It is the general path's result without its per-byte calls.
// For anything else (a literal, an escape, an envelope not yet wholly
// buffered, a limit reached, a syntax error) it consumes nothing and
// returns false, leaving d.env to be reset, and the general path reads
// the envelope (and reports any error).
func (d *Decoder) envelopeBuffered(lists *[6]int) bool {
	if d.noEnvelopeFastPath || d.err != nil || d.pending != nil {
		return false
	}
	if m := d.maxDepth(); m > 0 && d.depth+1 > m {
		return false
	}
	win, _ := d.r.Peek(d.r.Buffered())
	p := envParser{e: &d.env, win: win}
	ok := p.nstring(nil) && p.byte(' ') && p.nstring(nil) && p.byte(' ')
	for i := 0; ok && i < len(lists); i++ {
		ok = p.addressList(&lists[i]) && p.byte(' ')
	}
	ok = ok && p.nstring(nil) && p.byte(' ') && p.nstring(nil) && p.byte(')')
	if !ok {
		return false
	}
	if m := d.maxLine(); m > 0 && d.line+p.i > m {
		return false
	}
	return d.advance(p.i)
}

// envParser reads an envelope from a window of buffered bytes.
type envParser struct {
	e   *envScratch
	win []byte
	i   int // bytes of win read
}

func (p *envParser) byte(c byte) bool {
	if p.i < len(p.win) && p.win[p.i] == c {
		p.i++
		return true
	}
	return false
}

// nilAtom reads NIL (any case) not followed by an atom character.
func (p *envParser) nilAtom() bool {
	w := p.win[p.i:]
	if len(w) >= 4 && w[0]|0x20 == 'n' && w[1]|0x20 == 'i' && w[2]|0x20 == 'l' && !atomChar[w[3]] {
		p.i += 3
		return true
	}
	return false
}

func (p *envParser) nstring(isNil *bool) bool {
	nilString := p.nilAtom()
	if !nilString {
		w := p.win[p.i:]
		if len(w) == 0 || w[0] != '"' {
			return false
		}
		j := 1
		for j < len(w) && quotedChar[w[j]] {
			j++
		}
		if j == len(w) || w[j] != '"' {
			return false
		}
		p.e.bytes = append(p.e.bytes, w[1:j]...)
		p.i += j + 1
	}
	p.e.ends = append(p.e.ends, len(p.e.bytes))
	if isNil != nil {
		*isNil = nilString
	}
	return true
}

func (p *envParser) addressList(n *int) bool {
	if p.nilAtom() {
		return true
	}
	if !p.byte('(') {
		return false
	}
	for {
		var mboxNil, hostNil bool
		ok := p.byte('(') && p.nstring(nil) && p.byte(' ') && p.nstring(nil) && p.byte(' ') &&
			p.nstring(&mboxNil) && p.byte(' ') && p.nstring(&hostNil) && p.byte(')')
		if !ok {
			return false
		}
		p.e.groups = append(p.e.groups, groupMark(mboxNil, hostNil))
		*n++
		if p.byte(')') {
			return true
		}
	}
}

// groupMark says what an address is from which of its mailbox and host
// were NIL (RFC 9051 §7.5.2).
func groupMark(mboxNil, hostNil bool) GroupMark {
	switch {
	case !hostNil:
		return GroupNone
	case mboxNil:
		return GroupEnd
	}
	return GroupStart
}

// build sets env's fields from the scratch, lists giving the number of
// addresses of each address list.
func (e *envScratch) build(env *Envelope, lists *[6]int) {
	c := envCutter{e: e}
	env.Date = c.next()
	env.Subject = c.next()
	var shared []Address
	if n := len(e.groups); n > 0 && n <= envSharedAddr {
		shared = make([]Address, n)
	}
	dst := [6]*[]Address{&env.From, &env.Sender, &env.ReplyTo, &env.To, &env.Cc, &env.Bcc}
	k := 0
	for i, n := range lists {
		if n == 0 {
			continue // NIL, or "()" from a lenient server
		}
		var l []Address
		if shared != nil {
			l = shared[k : k+n : k+n] // full slice: an append to one list copies
		} else {
			l = make([]Address, n)
		}
		for j := range l {
			a := &l[j]
			a.Name = c.next()
			a.Adl = c.next()
			a.Mailbox = c.next()
			a.Host = c.next()
			a.Group = e.groups[k+j]
		}
		*dst[i] = l
		k += n
	}
	env.InReplyTo = c.next()
	env.MessageID = c.next()
}

// envCutter hands out the scratch's strings in wire order, cutting them
// from blocks: strings of consecutive fields, at most envBlock bytes
// together (a longer string is a block of its own).
type envCutter struct {
	e    *envScratch
	i    int    // next string
	blk  string // current block
	base int    // offset of blk in e.bytes
}

func (c *envCutter) next() string {
	ends := c.e.ends
	start := 0
	if c.i > 0 {
		start = ends[c.i-1]
	}
	end := ends[c.i]
	c.i++
	if start == end {
		return ""
	}
	if end > c.base+len(c.blk) {
		stop := end
		for j := c.i; j < len(ends) && ends[j]-start <= envBlock; j++ {
			stop = ends[j]
		}
		c.blk, c.base = string(c.e.bytes[start:stop]), start
	}
	return c.blk[start-c.base : end-c.base]
}

// literalAppend reads a literal ({n}, {n+}, and ~{n} with allowBinary)
// of at most MaxLiteral octets, appending its contents to dst. When no
// literal is next it returns (nil, false) without consuming anything
// and without an error.
func (d *Decoder) literalAppend(dst []byte, allowBinary bool) ([]byte, bool) {
	line := d.line
	size, _, binary, ok := d.literalHeader(allowBinary, d.maxLiteral())
	if !ok {
		return nil, false
	}
	start := len(dst)
	dst, err := readAppend(d.r, dst, size)
	if err != nil {
		return nil, d.setErr(err)
	}
	if !binary && bytes.IndexByte(dst[start:], 0) >= 0 {
		return nil, d.Fail("literal without NUL")
	}
	d.line = line + 1 // the literal continues the same logical line
	return dst, true
}
