package imap

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/posthorn/posthorn/imap/internal/wire"
	"io"
	"log/slog"
	"strings"

	"github.com/posthorn/posthorn/mailbox"
)

// maxHeaderBytes bounds the header block FETCH reads into memory to serve
// HEADER, HEADER.FIELDS and TEXT; a longer header is served as a header
// that ends there.
const maxHeaderBytes = 256 << 10

// FETCH and UID FETCH (RFC 9051 §6.4.5).
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
	if err := c.expectEOL(); err != nil {
		return err
	}
	setSeen := false
	for i := range items {
		it := &items[i]
		switch it.Name {
		case "UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "SAVEDATE", "RFC822.HEADER":
		case "RFC822", "RFC822.TEXT":
			setSeen = true
		case "BODY":
			if it.Section == nil {
				return errNo(CodeCannot, "BODY structure not supported")
			}
			if len(it.Section.Path) > 0 || it.Section.Specifier == PartMIME {
				return errNo(CodeCannot, "Nested body sections not supported")
			}
			setSeen = setSeen || !it.Peek
		default:
			return errNo(CodeCannot, "Fetch item %s not supported", it.Name)
		}
	}
	uids, err := c.resolveSet(set, cmd.uid)
	if err != nil || len(uids) == 0 {
		return err
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
	hasUID, hasFlags := false, false
	for _, it := range items {
		hasUID = hasUID || it.Name == "UID"
		hasFlags = hasFlags || it.Name == "FLAGS"
	}
	return c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
		n := v.seq(m.UID)
		if n == 0 {
			return nil
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
		src := msgSource{c: c, info: m}
		defer src.close()
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
		w.byte(')')
		w.crlf()
		if hasFlags || seenNow[m.UID] {
			v.reported(m.UID, m.ModSeq)
		}
		return nil
	})
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
	case "BODY":
		w.raw("BODY[")
		w.raw(it.Section.String())
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
}

func (s *msgSource) close() {}

// loadHeader reads the header block (up to maxHeaderBytes).
func (s *msgSource) loadHeader() error {
	if s.done {
		return nil
	}
	rc, err := s.c.mbox.Open(s.c.ctx, s.info.UID)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(io.LimitReader(rc, min(s.info.Size, maxHeaderBytes)), 4096)
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			hdr = append(hdr, line...)
			continue
		}
		hdr = append(hdr, line...)
		if err != nil {
			break // EOF: a message that is all header
		}
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			break
		}
	}
	s.header, s.done = hdr, true
	return nil
}

// writeSection writes the literal of a top-level section, with partial.
func (s *msgSource) writeSection(sec Section, p *wire.Partial) error {
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
		data = filterHeader(s.header, sec.Fields, sec.Specifier == PartHeaderFieldsNot)
	default:
		return errNo(CodeCannot, "Section not supported")
	}
	if data != nil {
		if p != nil {
			data = partialBytes(data, p)
		}
		s.c.w.literalHeader(int64(len(data)))
		s.c.w.data(data)
		return nil
	}
	if p != nil {
		po := min(int64(p.Offset), size)
		off += po
		size = min(size-po, int64(p.Count))
	}
	return s.writeRange(off, size)
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
	rc, err := c.mbox.Open(c.ctx, s.info.UID)
	if err != nil {
		return c.brokenLiteral(err)
	}
	defer rc.Close()
	r, err := mailbox.Section(rc, off, size)
	if err != nil {
		return c.brokenLiteral(err)
	}
	n, err := io.CopyN(c.w.bw, r, size)
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

// filterHeader keeps (or, with not, drops) the header fields named in
// fields, and ends the result with the empty line (RFC 9051 §6.4.5).
func filterHeader(hdr []byte, fields []string, not bool) []byte {
	var out []byte
	keep := false
	for len(hdr) > 0 {
		i := bytes.IndexByte(hdr, '\n')
		line := hdr
		if i >= 0 {
			line = hdr[:i+1]
		}
		hdr = hdr[len(line):]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // the empty line ending the header
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, ok := bytes.Cut(line, []byte(":"))
			match := false
			if ok {
				name = bytes.TrimRight(name, " \t")
				for _, f := range fields {
					if strings.EqualFold(string(name), f) {
						match = true
						break
					}
				}
			}
			keep = match != not
		}
		if keep {
			out = append(out, line...)
		}
	}
	return append(out, '\r', '\n')
}
