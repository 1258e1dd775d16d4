package imap

import "github.com/posthorn/posthorn/imap/internal/wire"

// NumSet is a sequence-set of message sequence numbers or UIDs
// (RFC 9051 §9); which of the two it holds is given by the command that
// carries it. SearchRes marks the "$" of RFC 5182. A NumSet keeps the
// ranges as written and never expands them: Contains, InBounds,
// Normalize, ContainsNormalized, Count and All resolve "*" against max,
// the largest number in use, and cost what the ranges and max say, not
// what the numbers span. AddNum and AddRange build sets; String formats.
type NumSet = wire.NumSet

// Range is "Start:Stop" in a sequence set; either end may be Star, and
// the ends may come in any order.
type Range = wire.Range

// Star is the value of "*" in a Range.
const Star = wire.Star

// ErrBadNumSet is returned by ParseNumSet.
var ErrBadNumSet = wire.ErrBadNumSet

// ParseNumSet parses a sequence-set ("1,3:5,7:*") or "$".
func ParseNumSet(s string) (NumSet, error) { return wire.ParseNumSet(s) }
