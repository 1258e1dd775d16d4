package wire

import (
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// Star is the value of "*" in a [Range]: the largest number in use in the
// mailbox (RFC 9051 §9, seq-number). Numbers on the wire are non-zero, so
// 0 is free to stand for it.
const Star uint32 = 0

// Range is "Start:Stop" in a sequence set; a single number n is the range
// n:n. Either end may be [Star]. The ends may come in any order: "4:2"
// means the same as "2:4" (RFC 9051 §9).
type Range struct {
	Start, Stop uint32
}

// resolve returns the range with Star replaced by max and lo <= hi.
func (r Range) resolve(max uint32) (lo, hi uint32) {
	lo, hi = r.Start, r.Stop
	if lo == Star {
		lo = max
	}
	if hi == Star {
		hi = max
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// NumSet is a sequence-set of message sequence numbers or UIDs
// (RFC 9051 §9). Which of the two it holds is given by the command that
// carries it. SearchRes marks the "$" of RFC 5182 (the saved search
// result); Ranges is then empty.
//
// A NumSet keeps the ranges as written; it never expands them. Operations
// that resolve "*" take max, the largest number in use (the message count
// for sequence numbers, the highest UID for UIDs; 0 for an empty mailbox).
type NumSet struct {
	Ranges    []Range
	SearchRes bool
}

// ErrBadNumSet is wrapped by ParseNumSet's errors.
var ErrBadNumSet = errors.New("imap: bad sequence set")

// ParseNumSet parses a sequence-set ("1,3:5,7:*") or "$".
func ParseNumSet(s string) (NumSet, error) {
	if s == "$" {
		return NumSet{SearchRes: true}, nil
	}
	if s == "" || s[len(s)-1] == ',' {
		return NumSet{}, ErrBadNumSet
	}
	set := NumSet{Ranges: make([]Range, 0, strings.Count(s, ",")+1)}
	for s != "" {
		var item string
		item, s, _ = strings.Cut(s, ",")
		if item == "" {
			return NumSet{}, ErrBadNumSet
		}
		a, b, isRange := strings.Cut(item, ":")
		start, err := parseSeqNumber(a)
		if err != nil {
			return NumSet{}, err
		}
		stop := start
		if isRange {
			if stop, err = parseSeqNumber(b); err != nil {
				return NumSet{}, err
			}
		}
		set.Ranges = append(set.Ranges, Range{start, stop})
	}
	return set, nil
}

// parseSeqNumber parses seq-number = nz-number / "*".
func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return Star, nil
	}
	if s == "" || s[0] == '0' || len(s) > 10 {
		return 0, ErrBadNumSet
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, ErrBadNumSet
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<32-1 {
		return 0, ErrBadNumSet
	}
	return uint32(n), nil
}

// String formats the set in wire syntax; the empty set formats as "".
func (s NumSet) String() string {
	if s.SearchRes {
		return "$"
	}
	b := make([]byte, 0, len(s.Ranges)*8)
	for i, r := range s.Ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSeqNumber(b, r.Start)
		if r.Stop != r.Start {
			b = append(b, ':')
			b = appendSeqNumber(b, r.Stop)
		}
	}
	return string(b)
}

func appendSeqNumber(b []byte, n uint32) []byte {
	if n == Star {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(n), 10)
}

// IsEmpty reports whether the set has no ranges and is not "$".
func (s NumSet) IsEmpty() bool { return len(s.Ranges) == 0 && !s.SearchRes }

// Dynamic reports whether the set uses "*", so its meaning depends on
// the mailbox.
func (s NumSet) Dynamic() bool {
	for _, r := range s.Ranges {
		if r.Start == Star || r.Stop == Star {
			return true
		}
	}
	return false
}

// Contains reports whether n is in the set, with "*" standing for max.
// It costs one step per range; for many lookups against a large set,
// Normalize first and use [NumSet.ContainsNormalized].
func (s NumSet) Contains(n, max uint32) bool {
	if n == 0 {
		return false
	}
	for _, r := range s.Ranges {
		lo, hi := r.resolve(max)
		if lo <= n && n <= hi {
			return true
		}
	}
	return false
}

// InBounds reports whether every number in the set is at most max after
// resolving "*" (for sequence numbers, an out-of-range number is an
// error: RFC 9051 §6.4.5). Every set is out of bounds of an empty mailbox.
func (s NumSet) InBounds(max uint32) bool {
	if max == 0 {
		return false
	}
	for _, r := range s.Ranges {
		if _, hi := r.resolve(max); hi > max {
			return false
		}
	}
	return true
}

// Normalize returns the set with "*" resolved to max, clipped to 1..max,
// sorted, and with overlapping or adjacent ranges merged: the canonical
// form in which every number appears once. Its cost depends only on the
// number of ranges. The result has no Star and Start <= Stop everywhere.
func (s NumSet) Normalize(max uint32) NumSet {
	out := make([]Range, 0, len(s.Ranges))
	for _, r := range s.Ranges {
		lo, hi := r.resolve(max)
		if hi > max {
			hi = max
		}
		if lo == 0 {
			lo = 1
		}
		if lo > hi {
			continue
		}
		out = append(out, Range{lo, hi})
	}
	slices.SortFunc(out, func(a, b Range) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	merged := out[:0]
	for _, r := range out {
		if k := len(merged) - 1; k >= 0 && uint64(r.Start) <= uint64(merged[k].Stop)+1 {
			if r.Stop > merged[k].Stop {
				merged[k].Stop = r.Stop
			}
			continue
		}
		merged = append(merged, r)
	}
	return NumSet{Ranges: merged}
}

// ContainsNormalized reports whether n is in s, which must be the result
// of [NumSet.Normalize]; it uses binary search.
func (s NumSet) ContainsNormalized(n uint32) bool {
	i, _ := slices.BinarySearchFunc(s.Ranges, n, func(r Range, n uint32) int {
		switch {
		case r.Stop < n:
			return -1
		case r.Start > n:
			return 1
		}
		return 0
	})
	return i < len(s.Ranges) && s.Ranges[i].Start <= n && n <= s.Ranges[i].Stop
}

// Count returns how many distinct numbers in 1..max the set holds.
func (s NumSet) Count(max uint32) uint64 {
	var c uint64
	for _, r := range s.Normalize(max).Ranges {
		c += uint64(r.Stop-r.Start) + 1
	}
	return c
}

// All yields the distinct numbers of the set within 1..max in ascending
// order. Work is bounded by max and the number of ranges, whatever the
// ranges say.
func (s NumSet) All(max uint32) iter.Seq[uint32] {
	norm := s.Normalize(max)
	return func(yield func(uint32) bool) {
		for _, r := range norm.Ranges {
			for n := r.Start; ; n++ {
				if !yield(n) {
					return
				}
				if n == r.Stop {
					break
				}
			}
		}
	}
}

// AddNum adds single numbers to the set, extending the last range when
// they follow it (so adding 1,2,3 gives "1:3").
func (s *NumSet) AddNum(nums ...uint32) {
	for _, n := range nums {
		s.AddRange(n, n)
	}
}

// AddRange adds start:stop to the set, merging with the last range when
// contiguous in ascending order.
func (s *NumSet) AddRange(start, stop uint32) {
	if k := len(s.Ranges) - 1; k >= 0 {
		last := &s.Ranges[k]
		if last.Start != Star && last.Stop != Star && start != Star &&
			last.Start <= last.Stop && start <= stop &&
			uint64(start) == uint64(last.Stop)+1 {
			last.Stop = stop
			return
		}
	}
	s.Ranges = append(s.Ranges, Range{start, stop})
}
