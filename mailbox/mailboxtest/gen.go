package mailboxtest

import "io"

// genReader yields n pseudo-random bytes computed from their offset: the
// kit streams large messages without ever holding them.
type genReader struct {
	n, off int64
	seed   uint64
}

func newGenReader(n int64, seed uint64) *genReader { return &genReader{n: n, seed: seed} }

// genByte is the byte at offset i of the stream of seed.
func genByte(seed uint64, i int64) byte {
	x := (uint64(i)>>3 + seed) * 0x9E3779B97F4A7C15
	x ^= x >> 31
	return byte(x >> (8 * (uint64(i) & 7)))
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), g.n-g.off))
	for i := range p[:k] {
		p[i] = genByte(g.seed, g.off+int64(i))
	}
	g.off += int64(k)
	return k, nil
}

// genVerifier checks that what is written to it is the stream of seed; bad
// is the offset of the first wrong byte, or -1 (its starting value).
type genVerifier struct {
	seed uint64
	n    int64
	bad  int64
}

func (v *genVerifier) Write(p []byte) (int, error) {
	if v.bad < 0 {
		for i, b := range p {
			if b != genByte(v.seed, v.n+int64(i)) {
				v.bad = v.n + int64(i)
				break
			}
		}
	}
	v.n += int64(len(p))
	return len(p), nil
}
