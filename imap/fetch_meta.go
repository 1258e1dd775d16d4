package imap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// What the server keeps in a store's mailbox.MetadataCache for each
// message: the ENVELOPE, BODYSTRUCTURE and BODY responses already
// rendered, and the MIME structure (for sections and SEARCH). FETCH of
// the first three then costs one cache read and a copy; nothing is parsed.
//
// Layout: metaMagic, then three uvarint-length-prefixed renderings
// (ENVELOPE, BODYSTRUCTURE, BODY), then mime.Marshal of the structure.
// The renderings use literals for 8-bit strings, which every client
// accepts, UTF8=ACCEPT or not. Data in another layout (an older version)
// is recomputed and replaced.

const metaMagic = "PHm1"

var errBadMeta = errors.New("imap: metadata in an unknown layout")

// msgMeta is the decoded cache entry of one message.
type msgMeta struct {
	envelope, bodyStructure, body []byte
	partData                      []byte // mime.Marshal output
}

func decodeMeta(data []byte) (*msgMeta, error) {
	m := new(msgMeta)
	return m, m.decode(data)
}

// decode fills m from a cache entry; m keeps pointing into data.
func (m *msgMeta) decode(data []byte) error {
	rest, ok := bytes.CutPrefix(data, []byte(metaMagic))
	if !ok {
		return errBadMeta
	}
	var fields [3][]byte
	for i := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return errBadMeta
		}
		fields[i], rest = rest[k:k+int(n)], rest[k+int(n):]
	}
	*m = msgMeta{envelope: fields[0], bodyStructure: fields[1], body: fields[2], partData: rest}
	return nil
}

// renderMeta renders the responses of part p into a cache entry.
func renderMeta(p *mime.Part) ([]byte, *msgMeta) {
	render := func(f func(e *wire.Encoder)) []byte {
		var b bytes.Buffer
		bw := bufio.NewWriter(&b)
		f(wire.NewEncoder(bw))
		bw.Flush()
		return b.Bytes()
	}
	m := &msgMeta{
		envelope:      render(func(e *wire.Encoder) { e.Envelope(p.Envelope) }),
		bodyStructure: render(func(e *wire.Encoder) { e.BodyStructure(p, true) }),
		body:          render(func(e *wire.Encoder) { e.BodyStructure(p, false) }),
		partData:      mime.Marshal(p),
	}
	out := []byte(metaMagic)
	for _, f := range [][]byte{m.envelope, m.bodyStructure, m.body} {
		out = binary.AppendUvarint(out, uint64(len(f)))
		out = append(out, f...)
	}
	out = append(out, m.partData...)
	return out, m
}

// meta returns the message's cache entry: from the store's metadata cache
// when it has a current one, else parsed (streaming), rendered and stored.
func (s *msgSource) meta() (*msgMeta, error) {
	if s.md != nil {
		return s.md, nil
	}
	ctx, uid := s.c.ctx, s.info.UID
	mc, cache := s.c.mbox.(mailbox.MetadataCache)
	if cache {
		if data, err := mc.Metadata(ctx, uid); err == nil {
			// Decoded into the source: no allocation per message.
			if err := s.mdv.decode(data); err == nil {
				s.md = &s.mdv
				return s.md, nil
			}
		}
	}
	rc, err := s.open()
	if err != nil {
		return nil, err
	}
	p, err := mime.Parse(rc, nil)
	rc.Close()
	if err != nil {
		return nil, err
	}
	data, m := renderMeta(p)
	if cache {
		mc.SetMetadata(ctx, uid, data) // losing it only costs a re-parse
	}
	s.md, s.part = m, p
	return m, nil
}

// structure returns the message's MIME structure.
func (s *msgSource) structure() (*mime.Part, error) {
	if s.part != nil {
		return s.part, nil
	}
	m, err := s.meta()
	if err != nil {
		return nil, err
	}
	if s.part == nil {
		if s.part, err = mime.Unmarshal(m.partData); err != nil {
			return nil, err
		}
	}
	return s.part, nil
}
