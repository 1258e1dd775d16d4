package imap

import (
	"bufio"
	"errors"
	"io"
)

// inflater decodes a raw DEFLATE stream (RFC 1951) for COMPRESS (RFC
// 4978) and hands out every decoded byte as soon as the compressed bytes
// that carry it have arrived. compress/flate holds decoded data back until
// a block ends in a stored block or the window fills, so a peer that ends
// each command with a partial flush (zlib's Z_PARTIAL_FLUSH, as mbsync
// does) would wait forever for the server to read its command.
//
// Decoding never starts a symbol it cannot finish with the bytes already
// buffered while it holds output: it returns the output first and only
// blocks on the connection when it has nothing to give.
type inflater struct {
	br    *bufio.Reader
	bits  uint64 // bit buffer, LSB first
	nbits uint
	err   error

	state  int // inflateHeader, inflateStored, inflateHuffman
	final  bool
	stored int // octets left in a stored block
	lit    huffman
	dist   huffman

	win  [1 << 15]byte // the last 32 KiB of output
	wpos int
	out  []byte // decoded; out[rpos:] not yet returned
	rpos int
}

// pending reports whether decoded output waits to be returned.
func (f *inflater) pending() bool { return f.rpos < len(f.out) }

const (
	inflateHeader = iota
	inflateStored
	inflateHuffman
	inflateDone
)

var errInflate = errors.New("imap: invalid DEFLATE data")

// huffman is a canonical Huffman code: count[l] codes of length l, and
// the symbols ordered by code.
type huffman struct {
	count  [16]uint16
	symbol []uint16
}

func (h *huffman) build(lengths []uint8) error {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return errInflate // over-subscribed
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbol = h.symbol[:0]
	h.symbol = append(h.symbol, make([]uint16, len(lengths))...)
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	return nil
}

func newInflater(r io.Reader) *inflater {
	return &inflater{br: bufio.NewReaderSize(r, 4096)}
}

// fill moves buffered input bytes into the bit buffer; with block set it
// waits for at least one byte.
func (f *inflater) fill(block bool) bool {
	if block && f.br.Buffered() == 0 {
		if _, err := f.br.Peek(1); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			f.err = err
			return false
		}
	}
	for f.nbits <= 56 && f.br.Buffered() > 0 {
		b, _ := f.br.ReadByte()
		f.bits |= uint64(b) << f.nbits
		f.nbits += 8
	}
	return true
}

func (f *inflater) take(n uint) uint32 {
	v := uint32(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nbits -= n
	return v
}

// decode reads one symbol of h from the bit buffer copy (bits, nbits);
// ok is false when the buffered bits end first.
func (h *huffman) decode(bits uint64, nbits uint) (sym int, used uint, ok bool, err error) {
	code, first, index := 0, 0, 0
	for l := uint(1); l < 16; l++ {
		if l > nbits {
			return 0, 0, false, nil
		}
		code |= int(bits>>(l-1)) & 1
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+(code-first)]), l, true, nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, 0, false, errInflate
}

var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// maxInflateOut bounds the output decoded ahead of the reader.
const maxInflateOut = 32 << 10

func (f *inflater) emit(b byte) {
	f.win[f.wpos] = b
	f.wpos = (f.wpos + 1) & (len(f.win) - 1)
	f.out = append(f.out, b)
}

func (f *inflater) Read(p []byte) (int, error) {
	for !f.pending() {
		if f.err != nil {
			return 0, f.err
		}
		f.out, f.rpos = f.out[:0], 0
		f.step()
	}
	n := copy(p, f.out[f.rpos:])
	f.rpos += n
	return n, nil
}

// step decodes until there is output to return and no more input
// buffered, the output bound is reached, or an error.
func (f *inflater) step() {
	for f.err == nil && len(f.out) < maxInflateOut {
		switch f.state {
		case inflateDone:
			f.err = io.EOF
			return
		case inflateHeader:
			// A block boundary: hand out what is decoded before waiting
			// for the next block, which the peer may not have sent.
			if f.pending() {
				return
			}
			if f.final {
				f.state = inflateDone
				continue
			}
			hdr, ok := f.bitsBlocking(3)
			if !ok {
				return
			}
			f.final = hdr&1 == 1
			switch hdr >> 1 {
			case 0:
				if !f.storedHeader() {
					return
				}
			case 1:
				f.fixedTables()
				f.state = inflateHuffman
			case 2:
				if !f.dynamicTables() {
					return
				}
				f.state = inflateHuffman
			default:
				f.err = errInflate
				return
			}
		case inflateStored:
			if f.stored == 0 {
				f.state = inflateHeader
				continue
			}
			if f.nbits >= 8 {
				f.emit(byte(f.take(8)))
				f.stored--
				continue
			}
			if f.br.Buffered() == 0 {
				if f.pending() || !f.fill(true) {
					return
				}
				continue // fill moved the bytes into the bit buffer
			}
			b, _ := f.br.ReadByte()
			f.emit(b)
			f.stored--
		case inflateHuffman:
			if !f.symbol() {
				return
			}
		}
	}
}

// storedHeader reads LEN and NLEN after aligning to a byte. It runs at a
// block boundary with no output pending, so it may wait.
func (f *inflater) storedHeader() bool {
	f.take(f.nbits % 8)
	v, ok := f.bitsBlocking(32)
	if !ok {
		return false
	}
	n, nn := v&0xffff, v>>16
	if n != ^nn&0xffff {
		f.err = errInflate
		return false
	}
	f.stored = int(n)
	f.state = inflateStored
	return true
}

func (f *inflater) fixedTables() {
	var l [288 + 32]uint8
	for i := range 288 {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	for i := 288; i < len(l); i++ {
		l[i] = 5
	}
	f.lit.build(l[:288])
	f.dist.build(l[288:])
}

var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// bitsBlocking reads n ≤ 32 bits, waiting for them.
func (f *inflater) bitsBlocking(n uint) (uint32, bool) {
	for f.nbits < n {
		if !f.fill(true) {
			return 0, false
		}
	}
	return f.take(n), true
}

func (f *inflater) dynamicTables() bool {
	hdr, ok := f.bitsBlocking(14)
	if !ok {
		return false
	}
	nlen, ndist, ncode := int(hdr&31)+257, int(hdr>>5&31)+1, int(hdr>>10)+4
	if nlen > 286 || ndist > 30 {
		f.err = errInflate
		return false
	}
	var cl [19]uint8
	for i := range ncode {
		v, ok := f.bitsBlocking(3)
		if !ok {
			return false
		}
		cl[clOrder[i]] = uint8(v)
	}
	var code huffman
	if code.build(cl[:]) != nil {
		f.err = errInflate
		return false
	}
	var lengths [286 + 30]uint8
	for i := 0; i < nlen+ndist; {
		f.fill(false)
		sym, used, ok, err := code.decode(f.bits, f.nbits)
		if err != nil {
			f.err = err
			return false
		}
		if !ok {
			if !f.fill(true) {
				return false
			}
			continue
		}
		f.take(used)
		rep, val := 0, uint8(0)
		switch {
		case sym < 16:
			lengths[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				f.err = errInflate
				return false
			}
			v, ok := f.bitsBlocking(2)
			if !ok {
				return false
			}
			rep, val = 3+int(v), lengths[i-1]
		case sym == 17:
			v, ok := f.bitsBlocking(3)
			if !ok {
				return false
			}
			rep = 3 + int(v)
		default:
			v, ok := f.bitsBlocking(7)
			if !ok {
				return false
			}
			rep = 11 + int(v)
		}
		if i+rep > nlen+ndist {
			f.err = errInflate
			return false
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 || f.lit.build(lengths[:nlen]) != nil || f.dist.build(lengths[nlen:nlen+ndist]) != nil {
		f.err = errInflate
		return false
	}
	return true
}

// symbol decodes one literal, end of block or length/distance pair, all
// of it or nothing. False: return the output first (or an error).
func (f *inflater) symbol() bool {
	for {
		f.fill(false)
		if ok, done := f.trySymbol(); done {
			return ok
		}
		// Not enough bits buffered for the whole item.
		if f.pending() {
			return false
		}
		if f.nbits > 56 {
			f.err = errInflate
			return false
		}
		if !f.fill(true) {
			return false
		}
	}
}

// trySymbol decodes one item on a copy of the bit buffer and commits it
// only when complete; done is false when more bits are needed.
func (f *inflater) trySymbol() (ok, done bool) {
	bits, nbits := f.bits, f.nbits
	sym, used, got, err := f.lit.decode(bits, nbits)
	if err != nil {
		f.err = err
		return false, true
	}
	if !got {
		return false, false
	}
	bits, nbits = bits>>used, nbits-used
	switch {
	case sym < 256:
		f.bits, f.nbits = bits, nbits
		f.emit(byte(sym))
		return true, true
	case sym == 256:
		f.bits, f.nbits = bits, nbits
		f.state = inflateHeader
		return true, true
	case sym > 285:
		f.err = errInflate
		return false, true
	}
	sym -= 257
	eb := uint(lenExtra[sym])
	if nbits < eb {
		return false, false
	}
	length := int(lenBase[sym]) + int(bits&(1<<eb-1))
	bits, nbits = bits>>eb, nbits-eb
	dsym, used, got, err := f.dist.decode(bits, nbits)
	if err != nil || (got && dsym > 29) {
		f.err = errInflate
		return false, true
	}
	if !got {
		return false, false
	}
	bits, nbits = bits>>used, nbits-used
	eb = uint(dstExtra[dsym])
	if nbits < eb {
		return false, false
	}
	dist := int(dstBase[dsym]) + int(bits&(1<<eb-1))
	bits, nbits = bits>>eb, nbits-eb
	f.bits, f.nbits = bits, nbits
	if dist > len(f.win) {
		f.err = errInflate
		return false, true
	}
	for range length {
		f.emit(f.win[(f.wpos-dist)&(len(f.win)-1)])
	}
	return true, true
}

// Close is a no-op: the connection is closed by its owner.
func (f *inflater) Close() error { return nil }
