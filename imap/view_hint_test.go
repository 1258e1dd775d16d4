package imap

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
)

// seq gives the same answers as a search whatever order UIDs are asked in,
// while the view shrinks and grows.
func TestViewSeqHint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	v := &view{}
	for round := range 200 {
		n := rng.IntN(50)
		v.uids = v.uids[:0]
		u := mailbox.UID(0)
		for range n {
			u += mailbox.UID(1 + rng.IntN(3))
			v.uids = append(v.uids, u)
		}
		for range 100 {
			var uid mailbox.UID
			switch rng.IntN(3) {
			case 0: // walking in order
				if i := v.hint + 1; i < len(v.uids) {
					uid = v.uids[i]
				}
			case 1:
				uid = mailbox.UID(rng.IntN(int(u) + 3))
			case 2:
				if n > 0 {
					uid = v.uids[rng.IntN(n)]
				}
			}
			want := uint32(0)
			if i, ok := slices.BinarySearch(v.uids, uid); ok {
				want = uint32(i + 1)
			}
			if got := v.seq(uid); got != want {
				t.Fatalf("round %d: seq(%d) = %d, want %d (uids %v)", round, uid, got, want, v.uids)
			}
		}
	}
}
