package mailboxtest

import (
	"context"
	"testing"

	"github.com/posthorn/posthorn/mailbox/memstore"
)

// FuzzModel replays random change sequences on memstore and checks them
// against the model of the Model cases: the property is that store and
// model agree after every step.
func FuzzModel(f *testing.F) {
	f.Add(uint64(1), uint16(50))
	f.Add(uint64(7), uint16(300))
	f.Add(uint64(1<<63), uint16(1))
	f.Fuzz(func(t *testing.T, seed uint64, n uint16) {
		s := memstore.New()
		if err := s.AddUser("kit", "pw"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &caseT{T: t, Ctx: ctx, F: Fixture{Store: s, User: "kit"}, explain: modelExplain}
		modelCase(seed, int(n%400)+1)(c)
	})
}
