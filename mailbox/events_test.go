package mailbox

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBusDeliversToUserSubscribers(t *testing.T) {
	bus := NewBus()
	var a1, a2, b []Event
	cancelA1 := bus.Subscribe("alice", func(ev Event) { a1 = append(a1, ev) })
	cancelA2 := bus.Subscribe("alice", func(ev Event) { a2 = append(a2, ev) })
	defer bus.Subscribe("bob", func(ev Event) { b = append(b, ev) })()

	ev := Event{Kind: EventMessagesAdded, User: "alice", Mailbox: "INBOX", UIDs: []UID{1}, ModSeq: 2}
	bus.Publish(ev)
	assert.Equal(t, []Event{ev}, a1)
	assert.Equal(t, []Event{ev}, a2)
	assert.Empty(t, b, "bob must not see alice's events")

	cancelA1()
	cancelA1() // harmless
	bus.Publish(ev)
	assert.Len(t, a1, 1, "cancelled subscriber must not be called")
	assert.Len(t, a2, 2)
	cancelA2()
	bus.Publish(ev) // no subscriber left: no panic
	assert.Len(t, a2, 2)
}

func TestBusCancelFromCallback(t *testing.T) {
	// A subscriber may cancel itself from its callback without deadlock.
	bus := NewBus()
	var calls int
	var cancel func()
	cancel = bus.Subscribe("u", func(Event) { calls++; cancel() })
	bus.Publish(Event{User: "u"})
	bus.Publish(Event{User: "u"})
	assert.Equal(t, 1, calls)
}

func TestBusConcurrent(t *testing.T) {
	bus := NewBus()
	var n atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				cancel := bus.Subscribe("u", func(Event) { n.Add(1) })
				bus.Publish(Event{User: "u"})
				cancel()
			}
		}()
	}
	wg.Wait()
	// Each publish reaches at least its own publisher's subscriber.
	assert.GreaterOrEqual(t, n.Load(), int64(8*200))
}

func TestEventKindString(t *testing.T) {
	assert.Equal(t, "FlagsChanged", EventFlagsChanged.String())
	assert.Equal(t, "MailboxRenamed", EventMailboxRenamed.String())
	assert.Equal(t, "EventKind(?)", EventKind(0).String())
	assert.Equal(t, "EventKind(?)", EventKind(200).String())
}

func BenchmarkBusPublish(b *testing.B) {
	bus := NewBus()
	var n int
	for i := 0; i < 4; i++ {
		defer bus.Subscribe("u", func(Event) { n++ })()
	}
	ev := Event{Kind: EventFlagsChanged, User: "u", Mailbox: "INBOX"}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(ev)
	}
}
