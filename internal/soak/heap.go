package soak

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// HeapSlack is how far above its start the live heap may be once a soak of
// the CI size is over (every client gone, the server closed): 2 MiB, where
// we measure at most 0.3 MiB, and where a leak of 8 KiB per connection
// fails the SMTP soaks (about 400 connections). What legitimately stays is
// the runtime's own growth (goroutine descriptors are never freed), maps
// that do not shrink, and a memory store's tombstone per message expunged
// (the soaks empty their stores before the end with Empty, so that the mail
// itself is not counted).
const HeapSlack = 2 << 20

// FullHeapSlack is HeapSlack for POSTHORN_SOAK=full: 16 MiB, since the
// tombstones of a memory store grow with the number of messages a run
// stores (about 40 bytes each; 1.7 MiB after 43,000 deliveries). A leak of
// a buffer or a session per connection passes it long before the end of
// the tens of thousands of connections of a full run.
const FullHeapSlack = 16 << 20

// Heap returns the bytes of live heap objects (MemStats.HeapAlloc) right
// after a full collection. It collects twice, so that what sync.Pools
// hold is dropped too.
func Heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// CheckHeap fails t unless, within settle, the live heap comes back to at
// most before plus slack bytes. Goroutines that are still winding down
// (connections being closed) hold memory for a moment, hence the wait.
func CheckHeap(t testing.TB, before, slack uint64, settle time.Duration) {
	t.Helper()
	end := time.Now().Add(settle)
	now := Heap()
	for now > before+slack && time.Now().Before(end) {
		time.Sleep(50 * time.Millisecond)
		now = Heap()
	}
	if testing.Verbose() {
		t.Logf("live heap %s before, %s after", mib(before), mib(now))
	}
	if now > before+slack {
		t.Errorf("heap not back near its start: %s before, %s after (slack %s); %s",
			mib(before), mib(now), mib(slack), writeHeapProfile())
	}
}

// writeHeapProfile writes the heap profile (what is live, by allocating
// stack) to a temporary file, for go tool pprof -sample_index=inuse_space,
// and says where.
func writeHeapProfile() string {
	f, err := os.CreateTemp("", "soak-heap-*.pprof")
	if err != nil {
		return "no heap profile: " + err.Error()
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return "no heap profile: " + err.Error()
	}
	return "heap profile in " + f.Name()
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
