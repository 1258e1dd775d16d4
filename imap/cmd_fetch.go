package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// bulkMinMessages is the number of messages above which a FETCH answers
// through the bulk write buffer even without message data.
const bulkMinMessages = 32

// maxHeaderBytes bounds the header block FETCH reads into memory to serve
// HEADER, HEADER.FIELDS and TEXT; a longer header is served as a header
// that ends there.
const maxHeaderBytes = 256 << 10

// FETCH and UID FETCH (RFC 9051 §6.4.5) with the MODSEQ item and the
// CHANGEDSINCE and VANISHED modifiers (RFC 7162 §3.1.4, §3.2.6).
func cmdFetch(c *conn, cmd *command) error {
	d := c.dec
	var set NumSet
	var items []wire.FetchItem
	if !d.ExpectSP() || !d.ExpectNumSet(&set) || !d.ExpectSP() || !d.FetchAtts(&items) {
		if d.Err() == nil {
			d.Fail("fetch attributes")
		}
		return d.Err()
	}
	since, vanished, partial, err := c.fetchModifiers()
	if err != nil {
		return err
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if vanished && (!cmd.uid || since == 0 || !c.qresync) {
		// RFC 7162 §3.2.6: UID FETCH only, with CHANGEDSINCE, after
		// ENABLE QRESYNC.
		return errBad("VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC")
	}
	setSeen := false
	hasModSeq := since != 0
	hasData := false // message data (literals) in the responses
	for i := range items {
		it := &items[i]
		switch it.Name {
		case "MODSEQ":
			hasModSeq = true
		case "UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "SAVEDATE":
		case "RFC822.HEADER":
			hasData = true
		case "RFC822", "RFC822.TEXT":
			setSeen, hasData = true, true
		case "ENVELOPE", "BODYSTRUCTURE", "BINARY.SIZE", "PREVIEW":
		case "BINARY":
			setSeen = setSeen || !it.Peek
			hasData = true
		case "BODY":
			setSeen = setSeen || (it.Section != nil && !it.Peek)
			hasData = hasData || it.Section != nil
		default:
			return errNo(CodeCannot, "Fetch item %s not supported", it.Name)
		}
	}
	if hasModSeq {
		if err := c.enableCondStore(); err != nil {
			return err
		}
	}
	uids, err := c.resolveSet(set, cmd.uid)
	if err == nil && partial != nil {
		uids, err = c.fetchPartial(uids, partial, since)
	}
	if err != nil {
		return err
	}
	if vanished {
		if err := c.writeVanishedEarlier(set, since); err != nil {
			return err
		}
	}
	if len(uids) == 0 {
		return nil
	}
	if len(uids) > bulkMinMessages || (hasData && len(uids) > 1) {
		if err := c.w.beginBulk(); err != nil {
			return err
		}
		defer c.w.endBulk()
	}
	v := c.view
	// Implicit \Seen (RFC 9051 §6.4.5): set before the data goes out, so
	// the FLAGS sent with the data are the new ones, and published by the
	// store like any other change.
	var seenNow map[mailbox.UID]bool
	if setSeen && !v.readOnly {
		res, err := c.mbox.SetFlags(c.ctx, uids, mailbox.FlagsAdd, []mailbox.Flag{mailbox.FlagSeen}, 0)
		if err != nil {
			return err
		}
		if len(res.Changed) > 0 {
			seenNow = make(map[mailbox.UID]bool, len(res.Changed))
			for _, fc := range res.Changed {
				seenNow[fc.UID] = true
			}
		}
	}
	hasUID, hasFlags, itemModSeq := false, false, false
	for _, it := range items {
		hasUID = hasUID || it.Name == "UID"
		hasFlags = hasFlags || it.Name == "FLAGS"
		itemModSeq = itemModSeq || it.Name == "MODSEQ"
	}
	var src msgSource // one for all messages: allocated once
	gone := false     // a message expunged by another session meanwhile
	one := func(m *mailbox.MessageInfo, pre *prefetchSlot) error {
		n := v.seq(m.UID)
		src = msgSource{c: c, info: m}
		if pre != nil {
			src.pre, pre.rc = pre.rc, nil
			src.preErr = pre.err
			if pre.read && int64(len(pre.data)) == m.Size {
				src.raw = pre.data
			}
		}
		defer src.close()
		if err := src.prepare(items); err != nil {
			if errors.Is(err, mailbox.ErrNotExist) {
				// Expunged by another session since this one last heard:
				// the others still go out (RFC 2180 §4.1.3).
				gone = true
				return nil
			}
			return err // NO before any data of this message
		}
		for i := range items {
			if it := &items[i]; it.Name == "BINARY" || it.Name == "BINARY.SIZE" {
				if _, err := src.binaryPart(it.Section); err != nil {
					return err // NO [UNKNOWN-CTE] before any data of this message
				}
			}
		}
		w := &c.w
		w.raw("* ")
		w.num32(n)
		w.raw(" FETCH (")
		first := true
		sep := func() {
			if !first {
				w.sp()
			}
			first = false
		}
		if cmd.uid && !hasUID {
			sep()
			w.raw("UID ")
			w.num(uint64(m.UID))
		}
		for i := range items {
			it := &items[i]
			sep()
			if err := c.writeFetchItem(&src, it); err != nil {
				return err
			}
		}
		if seenNow[m.UID] && !hasFlags {
			sep()
			w.raw("FLAGS ")
			w.flags(m.Flags, !c.rev2 && v.isRecent(m.UID))
		}
		if !itemModSeq && (since != 0 || (seenNow[m.UID] && c.condstore)) {
			sep()
			writeModSeq(w, m.ModSeq)
		}
		w.byte(')')
		w.crlf()
		if hasFlags || seenNow[m.UID] {
			v.reported(m.UID, m.ModSeq)
		}
		return nil
	}
	loop := c.newFetchLoop(len(uids), hasData && since == 0, one)
	defer loop.close()
	err = c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
		if n := v.seq(m.UID); n == 0 || (since != 0 && m.ModSeq <= since && !seenNow[m.UID]) {
			return nil
		}
		return loop.message(m)
	})
	err = loop.end(err)
	if err == nil && gone {
		err = errNo(CodeExpungeIssued, "Some of the requested messages no longer exist")
	}
	return err
}

// writeModSeq writes the MODSEQ fetch item (RFC 7162 §3.1.4.1).
func writeModSeq(w *respWriter, ms mailbox.ModSeq) {
	w.raw("MODSEQ (")
	w.num(uint64(ms))
	w.byte(')')
}

// writeFetchItem writes one "name value" of a FETCH response.
func (c *conn) writeFetchItem(src *msgSource, it *wire.FetchItem) error {
	w := &c.w
	m := src.info
	switch it.Name {
	case "UID":
		w.raw("UID ")
		w.num(uint64(m.UID))
	case "FLAGS":
		w.raw("FLAGS ")
		w.flags(m.Flags, !c.rev2 && c.view.isRecent(m.UID))
	case "MODSEQ":
		writeModSeq(w, m.ModSeq)
	case "PREVIEW":
		text, err := src.preview()
		if err != nil {
			return err
		}
		w.raw("PREVIEW ")
		w.nstr(text)
	case "INTERNALDATE":
		w.raw("INTERNALDATE ")
		w.dateTime(m.InternalDate)
	case "SAVEDATE":
		w.raw("SAVEDATE ")
		if m.SaveDate.IsZero() {
			w.raw("NIL")
		} else {
			w.dateTime(m.SaveDate)
		}
	case "RFC822.SIZE":
		w.raw("RFC822.SIZE ")
		w.num(uint64(m.Size))
	case "RFC822":
		w.raw("RFC822 ")
		return src.writeRange(0, m.Size)
	case "RFC822.HEADER":
		w.raw("RFC822.HEADER ")
		return src.writeSection(Section{Specifier: PartHeader}, nil)
	case "RFC822.TEXT":
		w.raw("RFC822.TEXT ")
		return src.writeSection(Section{Specifier: PartText}, nil)
	case "BINARY", "BINARY.SIZE":
		return c.writeBinary(src, it)
	case "ENVELOPE", "BODYSTRUCTURE":
		m, err := src.meta()
		if err != nil {
			return err
		}
		w.raw(it.Name)
		w.sp()
		if it.Name == "ENVELOPE" {
			w.data(m.envelope)
		} else {
			w.data(m.bodyStructure)
		}
	case "BODY":
		if it.Section == nil {
			m, err := src.meta()
			if err != nil {
				return err
			}
			w.raw("BODY ")
			w.data(m.body)
			return nil
		}
		w.raw("BODY[")
		w.section(it.Section)
		w.byte(']')
		if it.Partial != nil {
			w.byte('<')
			w.num32(it.Partial.Offset)
			w.byte('>')
		}
		w.sp()
		return src.writeSection(*it.Section, it.Partial)
	}
	return nil
}

// msgSource serves the bytes of one message for FETCH. It reads the header
// at most once and opens the message once per range.
type msgSource struct {
	c      *conn
	info   *mailbox.MessageInfo
	header []byte // header block incl. the empty line; nil until read
	done   bool
	part   *mime.Part    // MIME structure; nil until needed
	md     *msgMeta      // cached renderings and structure; nil until needed
	mdv    msgMeta       // what md points to when decoded from the cache
	raw    []byte        // the whole message when preloaded (SEARCH) or prefetched, else nil
	rc     io.ReadCloser // opened by prepare for writeRange, else nil
	pre    io.ReadCloser // opened by the prefetcher, for the first open
	preErr error         // the prefetcher's Open failed: for the first open
}

// maxPreload bounds a message SEARCH reads into memory in one go to serve
// its header, structure and text parts from a single Open.
const maxPreload = 1 << 20

// open returns the message's bytes: from memory when preloaded, else
// from the store.
func (s *msgSource) open() (io.ReadCloser, error) {
	if s.raw != nil {
		return nopCloser{bytes.NewReader(s.raw)}, nil
	}
	return s.openStore()
}

// openStore opens the message in the store, or takes what the prefetcher
// opened (or the error it got).
func (s *msgSource) openStore() (io.ReadCloser, error) {
	if s.pre != nil {
		rc := s.pre
		s.pre = nil
		return rc, nil
	}
	if err := s.preErr; err != nil {
		s.preErr = nil
		return nil, err
	}
	return s.c.mbox.Open(s.c.ctx, s.info.UID)
}

// prepare does, before "* n FETCH (" is written, every store call that
// can fail for the items asked: the cached structure for ENVELOPE and
// BODYSTRUCTURE, and the message bytes for sections, RFC822* and PREVIEW
// (read into memory up to maxPreload, else opened once to check). A store
// error then becomes the command's NO instead of cutting a response line
// or a literal in two.
func (s *msgSource) prepare(items []wire.FetchItem) error {
	needMeta, needBody, whole := false, 0, false
	headerOnly := true // every section asked is in the header block
	for i := range items {
		switch it := &items[i]; it.Name {
		case "ENVELOPE", "BODYSTRUCTURE":
			needMeta = true
		case "BODY":
			if it.Section == nil {
				needMeta = true
			} else {
				needBody++
				sec := it.Section
				whole = sec.Specifier == PartAll && len(sec.Path) == 0
				headerOnly = headerOnly && len(sec.Path) == 0 &&
					(sec.Specifier == PartHeader || sec.Specifier == PartHeaderFields || sec.Specifier == PartHeaderFieldsNot)
			}
		case "RFC822.HEADER":
			needBody++
		case "RFC822":
			needBody++
			whole, headerOnly = true, false
		case "RFC822.TEXT", "BINARY", "BINARY.SIZE", "PREVIEW":
			needBody++
			headerOnly = false
		}
	}
	if needMeta {
		if _, err := s.meta(); err != nil {
			return err
		}
	}
	if needBody == 0 || s.raw != nil {
		return nil
	}
	if headerOnly {
		return s.loadHeader() // the header alone is read, not the body
	}
	// The whole message asked for once (BODY[], RFC822): streamed from
	// the store straight into the write buffer, opened here.
	whole = whole && needBody == 1
	if s.info.Size <= maxPreload && !whole {
		return s.preload()
	}
	rc, err := s.open()
	if err != nil {
		return err
	}
	if whole {
		s.rc = rc
		return nil
	}
	return rc.Close()
}

// close releases a message prepare or the prefetcher opened and nothing
// read.
func (s *msgSource) close() {
	if s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
	if s.pre != nil {
		s.pre.Close()
		s.pre = nil
	}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// preload reads a message of at most maxPreload octets into the command's
// scratch buffer, so that every later read is served from memory.
func (s *msgSource) preload() error {
	if s.raw != nil || s.info.Size > maxPreload {
		return nil
	}
	rc, err := s.openStore()
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := s.c.getScratch()
	buf := slices.Grow(sc.raw[:0], int(s.info.Size))[:s.info.Size]
	if _, err := io.ReadFull(rc, buf); err != nil {
		return err
	}
	sc.raw = buf
	s.raw = buf
	return nil
}

// writeNestedSection writes a section with a part path or MIME, located
// through the MIME structure. A path that names no part gives NIL.
func (s *msgSource) writeNestedSection(sec Section, p *wire.Partial) error {
	part, err := s.structure()
	if err != nil {
		return err
	}
	spec := string(sec.Specifier)
	off, size, err := part.Section(sec.Path, spec)
	if errors.Is(err, mime.ErrNoSection) {
		s.c.w.raw("NIL")
		return nil
	}
	if err != nil {
		return err
	}
	if sec.Specifier == PartHeaderFields || sec.Specifier == PartHeaderFieldsNot {
		hdr, err := s.readRange(off, size)
		if err != nil {
			return err
		}
		return s.writeData(mime.HeaderFields(hdr, sec.Fields, sec.Specifier == PartHeaderFieldsNot), p)
	}
	return s.writePartialRange(off, size, p)
}

// writeData writes data (cut to the partial range) as a literal.
func (s *msgSource) writeData(data []byte, p *wire.Partial) error {
	if p != nil {
		data = partialBytes(data, p)
	}
	s.c.w.literalHeader(int64(len(data)))
	s.c.w.data(data)
	return nil
}

// writePartialRange streams the range [off, off+size) of the message cut
// to the partial range.
func (s *msgSource) writePartialRange(off, size int64, p *wire.Partial) error {
	if p != nil {
		po := min(int64(p.Offset), size)
		off += po
		size = min(size-po, int64(p.Count))
	}
	return s.writeRange(off, size)
}

// readRange reads a (small) range of the message into memory.
func (s *msgSource) readRange(off, size int64) ([]byte, error) {
	size = min(size, maxHeaderBytes)
	rc, err := s.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	r, err := mailbox.Section(rc, off, size)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	return buf[:n], err
}

// loadHeader reads the header block (up to maxHeaderBytes).
func (s *msgSource) loadHeader() error {
	if s.done {
		return nil
	}
	if s.raw != nil {
		s.header, s.done = headerBlock(s.raw), true
		return nil
	}
	rc, err := s.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := s.c.getScratch()
	br := sc.br
	lr := &sc.lim
	lr.R, lr.N = rc, min(s.info.Size, maxHeaderBytes)
	defer func() { lr.R = nil }()
	br.Reset(lr)
	hdr := readHeader(br, sc.hdr[:0])
	br.Reset(nil)
	// The buffer is reused for the next message: s.header is valid while
	// this message is being answered.
	sc.hdr = hdr
	s.header, s.done = hdr, true
	return nil
}

// readHeader appends the header block read from br to dst, up to and
// including the empty line, or all of br when there is none.
func readHeader(br *bufio.Reader, dst []byte) []byte {
	partial := false // the last chunk ended inside a long line
	for {
		line, err := br.ReadSlice('\n')
		dst = append(dst, line...)
		if err == bufio.ErrBufferFull {
			partial = true
			continue
		}
		if err != nil {
			return dst // EOF: a message that is all header
		}
		if !partial && (len(line) == 1 || (len(line) == 2 && line[0] == '\r')) {
			return dst
		}
		partial = false
	}
}

// headerBlock returns the header block of a message in memory, the empty
// line included, as loadHeader reads it: at most maxHeaderBytes, all of a
// message without an empty line.
func headerBlock(msg []byte) []byte {
	b := msg[:min(len(msg), maxHeaderBytes)]
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		line := b[i : i+j+1]
		i += j + 1
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			return b[:i]
		}
	}
	return b
}

// scratch holds buffers reused across the messages of one command. It is
// dropped after the command so that idle connections hold none.
type scratch struct {
	br   *bufio.Reader
	hdr  []byte
	raw  []byte
	lim  io.LimitedReader
	room roomyLimit
}

// roomyLimit reads at most n octets from r, as io.LimitedReader does, but
// leaves r one octet of room past them in its buffer: a store reader that
// checks that its message ends where announced (the Maildir store's) does
// so in the read that reaches the end. Octets past n are dropped.
type roomyLimit struct {
	r io.Reader
	n int64
}

func (l *roomyLimit) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	k, err := l.r.Read(p)
	if int64(k) > l.n {
		k, err = int(l.n), nil
	}
	l.n -= int64(k)
	return k, err
}

func (c *conn) getScratch() *scratch {
	if c.scratch == nil {
		c.scratch = &scratch{br: bufio.NewReaderSize(nil, 4096)}
	}
	return c.scratch
}

// writeSection writes the literal of a top-level section, with partial.
func (s *msgSource) writeSection(sec Section, p *wire.Partial) error {
	if len(sec.Path) > 0 || sec.Specifier == PartMIME {
		return s.writeNestedSection(sec, p)
	}
	var data []byte
	var off, size int64
	switch sec.Specifier {
	case PartAll:
		off, size = 0, s.info.Size
	case PartText:
		if err := s.loadHeader(); err != nil {
			return err
		}
		off = int64(len(s.header))
		size = s.info.Size - off
	case PartHeader:
		if err := s.loadHeader(); err != nil {
			return err
		}
		data = s.header
	case PartHeaderFields, PartHeaderFieldsNot:
		if err := s.loadHeader(); err != nil {
			return err
		}
		data = mime.HeaderFields(s.header, sec.Fields, sec.Specifier == PartHeaderFieldsNot)
	default:
		return errNo(CodeCannot, "Section not supported")
	}
	if data != nil {
		return s.writeData(data, p)
	}
	return s.writePartialRange(off, size, p)
}

func partialBytes(b []byte, p *wire.Partial) []byte {
	o := min(int(p.Offset), len(b))
	b = b[o:]
	return b[:min(len(b), int(p.Count))]
}

// writeRange streams size octets of the message from off as a literal.
// A message shorter than the store said breaks the literal: the
// connection cannot go on.
func (s *msgSource) writeRange(off, size int64) error {
	c := s.c
	c.w.literalHeader(size)
	if size == 0 {
		return nil
	}
	if s.raw != nil && off+size <= int64(len(s.raw)) {
		c.w.data(s.raw[off : off+size])
		return nil
	}
	rc := s.rc
	s.rc = nil
	if rc == nil {
		var err error
		if rc, err = s.open(); err != nil {
			return c.brokenLiteral(err)
		}
	}
	defer rc.Close()
	var r io.Reader = rc
	if off > 0 {
		var err error
		if r, err = mailbox.Section(rc, off, size); err != nil {
			return c.brokenLiteral(err)
		}
	}
	n, sent, err := s.sendFile(r, off, size)
	if !sent {
		// The scratch reader saves an allocation per message.
		lr := &c.getScratch().room
		lr.r, lr.n = r, size
		n, err = c.w.bw.ReadFrom(lr)
		lr.r = nil
	}
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil || n != size {
		return c.brokenLiteral(fmt.Errorf("imap: message %d: %d of %d octets: %w", s.info.UID, n, size, err))
	}
	return nil
}

// brokenLiteral ends a session whose literal could not be completed.
func (c *conn) brokenLiteral(err error) error {
	c.log.LogAttrs(c.ctx, slog.LevelError, "imap: message data short; closing connection", slog.Any("err", err))
	c.w.bw.Flush()
	c.state = stateLogout
	c.nc.Close()
	return errAlreadyAnswered
}
