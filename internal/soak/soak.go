// Package soak holds the shared machinery of the bounded load and soak
// tests (the hardening_*_test.go files): the size of a run, chosen by the
// POSTHORN_SOAK environment variable, and a leak check that counts
// goroutines, open file descriptors and the live heap before and after.
//
//	POSTHORN_SOAK=full go test -run Soak -race ./smtp ./pop3 ./imap
//
// Without the variable (and always under -short) a run is small enough for
// CI; with POSTHORN_SOAK=full it is the size of issue 13: 200 concurrent
// clients for 60 seconds. Every loop is bounded both in count and in time.
package soak

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Size is the shape of a soak run.
type Size struct {
	Clients  int           // concurrent clients
	Ops      int           // operations per client, at most
	Duration time.Duration // wall-clock bound of the load phase
}

// EnvVar names the environment variable that selects the full size.
const EnvVar = "POSTHORN_SOAK"

// Full reports whether the full-size soak was asked for.
func Full() bool { return os.Getenv(EnvVar) == "full" && !testing.Short() }

// Pick returns short when the full size was not asked for, else full.
func Pick(short, full Size) Size {
	if Full() {
		return full
	}
	return short
}

// Deadline returns the end of the load phase that starts now.
func (s Size) Deadline() time.Time { return time.Now().Add(s.Duration) }

// FDs counts this process's open file descriptors (Linux /proc); -1 when
// they cannot be counted.
func FDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// Counts is a snapshot of goroutines and file descriptors.
type Counts struct{ Goroutines, FDs int }

// Snapshot takes the current counts.
func Snapshot() Counts { return Counts{runtime.NumGoroutine(), FDs()} }

// CheckLeaks fails t unless, within settle, the goroutine and descriptor
// counts come back to at most before plus slack. Call it after every client
// and every server of the run have been stopped.
func CheckLeaks(t testing.TB, before Counts, slack int, settle time.Duration) {
	t.Helper()
	end := time.Now().Add(settle)
	var now Counts
	for {
		now = Snapshot()
		if now.Goroutines <= before.Goroutines+slack && (before.FDs < 0 || now.FDs <= before.FDs+slack) {
			return
		}
		if time.Now().After(end) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("leak: goroutines %d → %d, fds %d → %d (slack %d)\nopen files: %s\n%s",
		before.Goroutines, now.Goroutines, before.FDs, now.FDs, slack, openFiles(), buf)
}

// openFiles lists what the open descriptors point to.
func openFiles() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			out = append(out, l)
		}
	}
	return out
}

// LeakCheck snapshots the counts and the live heap now and, when the test
// ends, after every cleanup registered later has run (servers closed,
// handles released), checks them with CheckLeaks and CheckHeap (with
// HeapSlack, or FullHeapSlack for the full size). Call it first in a soak
// test.
func LeakCheck(t testing.TB, slack int) {
	t.Helper()
	heap := Heap()
	before := Snapshot()
	t.Cleanup(func() {
		CheckLeaks(t, before, slack, 5*time.Second)
		heapSlack := uint64(HeapSlack)
		if Full() {
			heapSlack = FullHeapSlack
		}
		CheckHeap(t, heap, heapSlack, 5*time.Second)
	})
}
