package soak

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

func TestPickAndCounts(t *testing.T) {
	short, full := Size{Clients: 1}, Size{Clients: 2}
	t.Setenv(EnvVar, "")
	if got := Pick(short, full); got != short {
		t.Fatalf("Pick without %s = %v", EnvVar, got)
	}
	t.Setenv(EnvVar, "full")
	if want := map[bool]Size{true: short, false: full}[testing.Short()]; Pick(short, full) != want {
		t.Fatalf("Pick with %s=full = %v", EnvVar, Pick(short, full))
	}
	before := Snapshot()
	if before.Goroutines < 1 || before.FDs < 3 {
		t.Fatalf("snapshot %+v", before)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if FDs() != before.FDs+1 {
		t.Errorf("an open file not counted: %d → %d", before.FDs, FDs())
	}
	f.Close()
	done := make(chan struct{})
	go func() { <-done }()
	// The leaked goroutine is gone within the settle time: no failure.
	time.AfterFunc(50*time.Millisecond, func() { close(done) })
	CheckLeaks(t, before, 0, 2*time.Second)
}

func TestCheckLeaksReports(t *testing.T) {
	before := Snapshot()
	stop := make(chan struct{})
	defer close(stop)
	for range 10 {
		go func() { <-stop }()
	}
	ft := &fakeT{TB: t}
	CheckLeaks(ft, before, 2, 50*time.Millisecond)
	if !ft.failed {
		t.Fatal("a leaked goroutine was not reported")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }

func TestInbox(t *testing.T) {
	st := memstore.New()
	if err := st.AddUser("u", "pw"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a\r\n", "b\r\n"} {
		if _, err := mailbox.Deliver(context.Background(), st, "u", strings.NewReader(m), nil); err != nil {
			t.Fatal(err)
		}
	}
	got := Inbox(t, st, "u")
	if len(got) != 2 || string(got[0].Data) != "a\r\n" || string(got[1].Data) != "b\r\n" || got[0].UID >= got[1].UID {
		t.Fatalf("Inbox = %+v", got)
	}
}

func TestCheckHeap(t *testing.T) {
	before := Heap()
	kept := make([]byte, 3*HeapSlack)
	for i := range kept {
		kept[i] = byte(i) // touched, so it is really there
	}
	ft := &fakeT{TB: t}
	CheckHeap(ft, before, HeapSlack, 200*time.Millisecond)
	if !ft.failed {
		t.Fatalf("%d MiB kept past the check were not reported", len(kept)>>20)
	}
	runtime.KeepAlive(kept)
	// Let go of, it is collected: no failure.
	CheckHeap(t, before, HeapSlack, 2*time.Second)
}

func TestEmpty(t *testing.T) {
	st := memstore.New()
	if err := st.AddUser("u", "pw"); err != nil {
		t.Fatal(err)
	}
	Empty(t, st, "u") // an empty INBOX stays so
	for range 3 {
		if _, err := mailbox.Deliver(context.Background(), st, "u", strings.NewReader("a\r\n"), nil); err != nil {
			t.Fatal(err)
		}
	}
	Empty(t, st, "u")
	if got := Inbox(t, st, "u"); len(got) != 0 {
		t.Fatalf("after Empty: %+v", got)
	}
}
