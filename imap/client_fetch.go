package imap

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/posthorn/posthorn/imap/internal/wire"
)

// FetchOptions says which data items FETCH asks for. Body sections are
// always asked for last, so that a server answering in order sends every
// other item before the first (possibly huge) section.
type FetchOptions struct {
	UID           bool
	Flags         bool
	InternalDate  bool
	RFC822Size    bool
	Envelope      bool
	BodyStructure bool
	ModSeq        bool // CONDSTORE
	Sections      []FetchSection
	// BinarySize asks for the decoded size of these sections
	// (BINARY.SIZE, RFC 3516); results in FetchMessage.BinarySize.
	BinarySize []Section
	// ChangedSince limits the results to messages whose MODSEQ is
	// greater (CHANGEDSINCE, RFC 7162 §3.1.4.1); 0: no limit.
	ChangedSince uint64
	// Vanished, with ChangedSince on a UID FETCH, asks for the UIDs
	// expunged since then (RFC 7162 §3.2.6); they are reported as
	// UpdateVanished to the handler and to Sync.
	Vanished bool
}

// FetchSection is one BODY[...] or BINARY[...] item.
type FetchSection struct {
	Section Section
	Binary  bool // BINARY[...] (RFC 3516): content transfer decoding done by the server
	// Seen sends BODY[...] rather than BODY.PEEK[...], setting \Seen.
	Seen bool
	// Offset and Count ask for a partial section <Offset.Count>; Count
	// 0 means the whole section.
	Offset, Count uint32
}

// FetchMessage is one FETCH response. Fields not asked for (or not sent)
// are zero; Flags is nil unless FLAGS was sent.
type FetchMessage struct {
	Seq           uint32
	UID           uint32
	Flags         []Flag
	InternalDate  time.Time
	RFC822Size    int64
	Envelope      *Envelope
	BodyStructure *BodyStructure
	ModSeq        uint64
	// BinarySize holds BINARY.SIZE[...] results by section string.
	BinarySize map[string]int64

	fs     *fetchState   // streaming: the Fetch that reads this message
	bodies []SectionBody // sections read into memory (not streaming)
	next   int           // next of bodies for NextBody
	done   bool          // the closing ")" has been read
}

// SectionBody is a body section of a FETCH response.
type SectionBody struct {
	Section Section
	Binary  bool
	// Origin is the <origin> of a partial response.
	Origin  uint32
	Partial bool
	// Size is the section's length in octets; -1 when the server sent
	// NIL (the section does not exist).
	Size int64
	// Reader yields the section's contents. In a Fetch loop it reads
	// straight from the connection and is valid only until the next
	// NextBody call or loop iteration.
	Reader io.Reader
}

// HasFlag reports whether m has flag f (case-insensitive).
func (m *FetchMessage) HasFlag(f Flag) bool {
	for _, g := range m.Flags {
		if g.Equal(f) {
			return true
		}
	}
	return false
}

// NextBody returns the message's next body section, in the order the
// server sent them, or (nil, nil) after the last one. In a Fetch loop
// the section streams from the connection; data items the server sends
// after a section are added to m as NextBody moves past them.
func (m *FetchMessage) NextBody() (*SectionBody, error) {
	if m.fs == nil {
		if m.next < len(m.bodies) {
			m.next++
			return &m.bodies[m.next-1], nil
		}
		return nil, nil
	}
	return m.fs.nextBody(m)
}

// ReadBody reads the message's next body section into memory, at most
// max octets (an error if larger); nil, nil when there is none.
func (m *FetchMessage) ReadBody(max int64) ([]byte, error) {
	sb, err := m.NextBody()
	if sb == nil || err != nil {
		return nil, err
	}
	if sb.Size > max {
		return nil, errors.New("imap: body section larger than the limit")
	}
	return io.ReadAll(sb.Reader)
}

// fetchState is the Fetch in progress: it parses FETCH responses,
// pausing a message at each streamed section.
type fetchState struct {
	c       *Client
	cur     *FetchMessage // message being read (paused at a section or done)
	ready   *FetchMessage // message to hand to the loop
	pending *SectionBody  // section returned by nextBody whose bytes are on the wire
	first   *SectionBody  // section met while parsing, not yet returned
	err     error
}

// onFetch is called by the response reader after "* n FETCH ".
func (fs *fetchState) onFetch(seq uint32) {
	m := &FetchMessage{Seq: seq, fs: fs}
	fs.cur = m
	for fs.c.rd.accept(' ') {
	}
	if !fs.c.rd.expect('(') {
		return
	}
	fs.parse(m)
	fs.ready = m
}

// parse reads items of m until a section literal pauses it or the
// response ends.
func (fs *fetchState) parse(m *FetchMessage) {
	r := &fs.c.rd
	for r.err == nil && !m.done {
		sb, ok := fs.c.readFetchItem(m, true)
		if !ok {
			return
		}
		if sb != nil {
			fs.first = sb
			return
		}
	}
}

// nextBody continues m's response to its next section.
func (fs *fetchState) nextBody(m *FetchMessage) (*SectionBody, error) {
	if fs.cur != m {
		return nil, errors.New("imap: FetchMessage body read after the loop moved on")
	}
	r := &fs.c.rd
	if fs.pending != nil {
		r.drain()
		fs.pending = nil
		if !m.done {
			fs.parse(m)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if fs.first != nil {
		fs.pending, fs.first = fs.first, nil
		return fs.pending, nil
	}
	return nil, nil
}

// finish reads the rest of the current message's response.
func (fs *fetchState) finish() {
	m := fs.cur
	if m == nil {
		return
	}
	for !m.done && fs.c.rd.err == nil {
		if sb, _ := fs.nextBody(m); sb == nil {
			break
		}
	}
	if m.done {
		fs.c.noteFetch(m)
	}
	fs.cur = nil
	m.fs = nil
}

// readFetch reads a whole FETCH response after "* n FETCH ", sections
// into memory.
func (c *Client) readFetch(seq uint32) (*FetchMessage, bool) {
	r := &c.rd
	m := &FetchMessage{Seq: seq}
	for r.accept(' ') {
	}
	if !r.expect('(') {
		return nil, false
	}
	for r.err == nil && !m.done {
		if _, ok := c.readFetchItem(m, false); !ok {
			return nil, false
		}
	}
	return m, r.err == nil
}

// readFetchItem reads one item (or the closing ")" and CRLF). With
// stream, a section's value is left on the wire and returned.
func (c *Client) readFetchItem(m *FetchMessage, stream bool) (*SectionBody, bool) {
	r := &c.rd
	for r.accept(' ') {
	}
	if r.accept(')') {
		m.done = true
		return nil, r.crlf()
	}
	var att wire.FetchItem
	if !r.decode("fetch item", func(d *wire.Decoder) bool { return d.FetchRespAtt(&att) }) {
		return nil, false
	}
	name, sec := att.Name, att.Section
	var origin uint32
	partial := att.Partial != nil
	if partial {
		origin = att.Partial.Offset
	}
	if !r.expectSP() {
		return nil, false
	}
	var ok bool
	switch {
	case sec != nil && (name == "BODY" || name == "BINARY"):
		sb := SectionBody{Section: *sec, Binary: name == "BINARY", Origin: origin, Partial: partial}
		return c.readSectionValue(m, sb, stream)
	case sec != nil && name == "BINARY.SIZE":
		var n uint64
		if ok = r.number64(&n); ok {
			if m.BinarySize == nil {
				m.BinarySize = map[string]int64{}
			}
			m.BinarySize[sec.String()] = int64(n)
		}
	case name == "RFC822" || name == "RFC822.HEADER" || name == "RFC822.TEXT":
		var sb SectionBody
		switch name {
		case "RFC822.HEADER":
			sb.Section.Specifier = PartHeader
		case "RFC822.TEXT":
			sb.Section.Specifier = PartText
		}
		return c.readSectionValue(m, sb, stream)
	case name == "UID":
		ok = r.number(&m.UID)
	case name == "FLAGS":
		m.Flags, ok = r.flagList()
	case name == "INTERNALDATE":
		m.InternalDate, ok = r.dateTime()
	case name == "RFC822.SIZE":
		var n uint64
		ok = r.number64(&n)
		m.RFC822Size = int64(n)
	case name == "ENVELOPE":
		ok = true
		if !r.nilAtom() {
			m.Envelope = new(Envelope)
			ok = r.decode("envelope", func(d *wire.Decoder) bool { return d.Envelope(m.Envelope) })
		}
	case name == "BODYSTRUCTURE" || name == "BODY":
		m.BodyStructure = new(BodyStructure)
		ok = r.decode("body structure", func(d *wire.Decoder) bool { return d.BodyStructure(m.BodyStructure) })
	case name == "MODSEQ":
		ok = r.list(func() bool { return r.number64(&m.ModSeq) })
	default:
		ok = r.skipValue()
	}
	return nil, ok
}

// readSectionValue reads a section's nstring value: into memory, or,
// with stream and a literal, as a reader over the connection.
func (c *Client) readSectionValue(m *FetchMessage, sb SectionBody, stream bool) (*SectionBody, bool) {
	r := &c.rd
	switch r.peek() {
	case '{', '~':
		if stream {
			n, ok := r.literalHeader()
			if !ok {
				return nil, false
			}
			// One allocation for the section and its reader.
			ss := &streamedSection{sb: sb}
			ss.sr = sectionReader{lr: io.LimitedReader{R: r.br, N: n}, r: r}
			r.pending = &ss.sr.lr
			ss.sb.Size = n
			ss.sb.Reader = &ss.sr
			return &ss.sb, true
		}
	}
	s, isNil, ok := r.nstring()
	if !ok {
		return nil, false
	}
	sb.Size = int64(len(s))
	if isNil {
		sb.Size = -1
	}
	sb.Reader = strings.NewReader(s)
	if stream {
		out := new(SectionBody) // a copy: sb itself stays on the stack
		*out = sb
		return out, true
	}
	m.bodies = append(m.bodies, sb)
	return nil, true
}

// streamedSection is a section streamed from the connection with its
// reader.
type streamedSection struct {
	sb SectionBody
	sr sectionReader
}

// sectionReader reads a streamed section literal; it turns a short
// connection into io.ErrUnexpectedEOF and stops once the loop moved on.
type sectionReader struct {
	lr io.LimitedReader // the literal's bytes; r.pending points here while current
	r  *respReader
}

func (s *sectionReader) Read(p []byte) (int, error) {
	if s.r.pending != &s.lr {
		return 0, errors.New("imap: section read after the Fetch loop moved on")
	}
	n, err := s.lr.Read(p)
	if err == io.EOF && s.lr.N > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		s.r.setErr(err)
	}
	return n, err
}

// Fetch sends FETCH for the messages in set (sequence numbers) and
// yields each FETCH response as it arrives:
//
//	for m, err := range c.Fetch(ctx, set, &imap.FetchOptions{Flags: true}) {
//		if err != nil { ... }
//	}
//
// A message and its section readers are valid until the next iteration.
// The loop also yields FETCH responses the server sends unasked (flag
// changes) while the command runs. Breaking out of the loop early reads
// and discards the rest of the responses, keeping the client usable. An
// error is yielded last.
func (c *Client) Fetch(ctx context.Context, set NumSet, opts *FetchOptions) iter.Seq2[*FetchMessage, error] {
	return c.fetch(ctx, false, set, opts)
}

// UIDFetch is Fetch with UIDs (UID FETCH). Every response carries UID.
func (c *Client) UIDFetch(ctx context.Context, uids NumSet, opts *FetchOptions) iter.Seq2[*FetchMessage, error] {
	return c.fetch(ctx, true, uids, opts)
}

func (c *Client) fetch(ctx context.Context, uid bool, set NumSet, opts *FetchOptions) iter.Seq2[*FetchMessage, error] {
	return func(yield func(*FetchMessage, error) bool) {
		end, err := c.begin(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		stopped := false
		defer func() {
			end(&err)
			if err != nil && !stopped {
				yield(nil, err)
			}
		}()
		cmd, w := c.newCommand(uidVerb(uid, "FETCH"))
		writeFetch(w, set, opts)
		fs := &fetchState{c: c}
		c.fetching = fs
		defer func() { c.fetching = nil }()
		if err = c.send(cmd, w); err != nil {
			return
		}
		for !cmd.done {
			if err = c.readResponse(); err != nil {
				return
			}
			if m := fs.ready; m != nil {
				fs.ready = nil
				if !stopped && !yield(m, nil) {
					stopped = true
				}
				fs.finish()
				if err = c.rd.err; err != nil {
					c.fail(err)
					return
				}
			}
		}
		err = cmd.result()
	}
}

func uidVerb(uid bool, verb string) string {
	if uid {
		return "UID " + verb
	}
	return verb
}

// writeFetch writes the arguments of FETCH.
func writeFetch(w *cmdWriter, set NumSet, opts *FetchOptions) {
	if opts == nil {
		opts = &FetchOptions{Flags: true}
	}
	w.sp().numSet(set).sp()
	writeFetchAtts(w, opts)
	if opts.ChangedSince > 0 {
		w.raw(" (CHANGEDSINCE ").number64(opts.ChangedSince)
		if opts.Vanished {
			w.raw(" VANISHED")
		}
		w.raw(")")
	}
}

// writeFetchAtts writes "(" fetch-att *(SP fetch-att) ")" for opts
// (FLAGS when it asks for nothing).
func writeFetchAtts(w *cmdWriter, opts *FetchOptions) {
	w.raw("(")
	n := 0
	item := func(s string) {
		if n > 0 {
			w.sp()
		}
		n++
		w.raw(s)
	}
	if opts.UID {
		item("UID")
	}
	if opts.Flags {
		item("FLAGS")
	}
	if opts.InternalDate {
		item("INTERNALDATE")
	}
	if opts.RFC822Size {
		item("RFC822.SIZE")
	}
	if opts.ModSeq {
		item("MODSEQ")
	}
	if opts.Envelope {
		item("ENVELOPE")
	}
	if opts.BodyStructure {
		item("BODYSTRUCTURE")
	}
	for i := range opts.BinarySize {
		item("")
		if w.err == nil {
			w.enc.FetchItem(wire.FetchItem{Name: "BINARY.SIZE", Section: &opts.BinarySize[i]})
		}
	}
	for _, s := range opts.Sections {
		it := wire.FetchItem{Name: "BODY", Peek: !s.Seen, Section: &s.Section}
		if s.Binary {
			it.Name = "BINARY"
		}
		if s.Count > 0 {
			it.Partial = &wire.Partial{Offset: s.Offset, Count: s.Count}
		}
		item("")
		if w.err == nil {
			w.enc.FetchItem(it)
		}
	}
	if n == 0 {
		item("FLAGS")
	}
	w.raw(")")
}
