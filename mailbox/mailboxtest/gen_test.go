package mailboxtest

import (
	"io"
	"runtime"
	"testing"
)

// The Message/Large case streams 20 MiB from genReader into the store and
// from the store into genVerifier: neither side may hold the message.
func TestGenStreamsWithoutBuffering(t *testing.T) {
	const size = 20 << 20
	buf := make([]byte, 32<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v := &genVerifier{seed: 7, bad: -1}
	n, err := io.CopyBuffer(v, newGenReader(size, 7), buf)
	runtime.ReadMemStats(&after)
	if err != nil || n != size || v.n != size || v.bad != -1 {
		t.Fatalf("copied %d (verifier saw %d, first bad byte %d), err %v; want %d clean bytes", n, v.n, v.bad, err, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("streaming %d bytes allocated %d bytes: the kit buffers the message", size, alloc)
	}
}

func TestGenVerifierCatchesChanges(t *testing.T) {
	data, err := io.ReadAll(newGenReader(100_000, 3))
	if err != nil || len(data) != 100_000 {
		t.Fatalf("ReadAll = %d bytes, %v", len(data), err)
	}
	for _, off := range []int{0, 1, 4095, 99_999} {
		bad := append([]byte(nil), data...)
		bad[off] ^= 0x20
		v := &genVerifier{seed: 3, bad: -1}
		v.Write(bad[:off/2])
		v.Write(bad[off/2:])
		if v.bad != int64(off) {
			t.Errorf("byte changed at %d: verifier reports %d", off, v.bad)
		}
	}
	if other, _ := io.ReadAll(newGenReader(64, 4)); string(other) == string(data[:64]) {
		t.Errorf("seeds 3 and 4 give the same stream")
	}
}
