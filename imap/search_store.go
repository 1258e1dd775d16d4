package imap

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// Pushing SEARCH down to a store that implements mailbox.Searcher. The
// criteria tree is translated to UID-only mailbox.SearchCriteria; keys
// that depend on session state (RECENT, NEW, OLD) keep the search in the
// library, as does a store answering errors.ErrUnsupported.

// errNoPushdown marks a key tree the store cannot be asked about.
var errNoPushdown = errors.New("imap: search not expressible for the store")

// storeCriteria translates k into store criteria, resolving sequence
// numbers and "$" through the view.
func (s *searchCtx) storeCriteria(k *SearchKey) (mailbox.SearchCriteria, error) {
	var c mailbox.SearchCriteria
	err := s.addCriteria(&c, k)
	return c, err
}

func (s *searchCtx) addCriteria(c *mailbox.SearchCriteria, k *SearchKey) error {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	since := func(dst *time.Time, t time.Time) {
		if dst.IsZero() || t.After(*dst) {
			*dst = t
		}
	}
	before := func(dst *time.Time, t time.Time) {
		if dst.IsZero() || t.Before(*dst) {
			*dst = t
		}
	}
	switch k.Key {
	case "AND":
		for i := range k.Keys {
			if err := s.addCriteria(c, &k.Keys[i]); err != nil {
				return err
			}
		}
	case "ALL", "SAVEDATESUPPORTED":
	case "NOT":
		sub, err := s.storeCriteria(&k.Keys[0])
		if err != nil {
			return err
		}
		c.Not = append(c.Not, sub)
	case "OR":
		a, err := s.storeCriteria(&k.Keys[0])
		if err != nil {
			return err
		}
		b, err := s.storeCriteria(&k.Keys[1])
		if err != nil {
			return err
		}
		c.Or = append(c.Or, [2]mailbox.SearchCriteria{a, b})
	case "SEQSET", "UID":
		var ranges []mailbox.UIDRange
		set := s.seqSets[k]
		for _, r := range set.Ranges {
			if k.Key == "UID" {
				ranges = append(ranges, mailbox.UIDRange{Start: mailbox.UID(r.Start), Stop: mailbox.UID(r.Stop)})
				continue
			}
			ranges = append(ranges, mailbox.UIDRange{Start: s.c.view.uid(r.Start), Stop: s.c.view.uid(r.Stop)})
		}
		if ranges == nil {
			ranges = []mailbox.UIDRange{} // matches nothing
		}
		if c.UIDs != nil {
			ranges = intersectRanges(c.UIDs, ranges)
		}
		c.UIDs = ranges
	case "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN":
		c.WithFlags = append(c.WithFlags, mailbox.Flag(`\`+k.Key[:1]+strings.ToLower(k.Key[1:])))
	case "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		f := k.Key[2:]
		c.WithoutFlags = append(c.WithoutFlags, mailbox.Flag(`\`+f[:1]+strings.ToLower(f[1:])))
	case "KEYWORD":
		c.WithFlags = append(c.WithFlags, mailbox.Flag(k.Flag))
	case "UNKEYWORD":
		c.WithoutFlags = append(c.WithoutFlags, mailbox.Flag(k.Flag))
	case "LARGER":
		c.Larger = max(c.Larger, int64(min(k.Num, 1<<62)))
	case "SMALLER":
		if n := int64(min(k.Num, 1<<62)); c.Smaller == 0 || n < c.Smaller {
			c.Smaller = n
		}
		if k.Num == 0 {
			return errNoPushdown // "SMALLER 0" matches nothing; 0 means no condition to a store
		}
	case "MODSEQ":
		c.ModSeq = max(c.ModSeq, mailbox.ModSeq(k.Num))
	case "BEFORE":
		before(&c.Before, day(k.Date))
	case "SINCE":
		since(&c.Since, day(k.Date))
	case "ON":
		since(&c.Since, day(k.Date))
		before(&c.Before, day(k.Date).AddDate(0, 0, 1))
	case "SENTBEFORE":
		before(&c.SentBefore, day(k.Date))
	case "SENTSINCE":
		since(&c.SentSince, day(k.Date))
	case "SENTON":
		since(&c.SentSince, day(k.Date))
		before(&c.SentBefore, day(k.Date).AddDate(0, 0, 1))
	case "SAVEDBEFORE":
		before(&c.SavedBefore, day(k.Date))
	case "SAVEDSINCE":
		since(&c.SavedSince, day(k.Date))
	case "SAVEDON":
		since(&c.SavedSince, day(k.Date))
		before(&c.SavedBefore, day(k.Date).AddDate(0, 0, 1))
	case "OLDER":
		before(&c.Before, s.now.Add(-time.Duration(k.Num)*time.Second).Add(time.Second))
	case "YOUNGER":
		since(&c.Since, s.now.Add(-time.Duration(k.Num)*time.Second))
	case "FROM", "TO", "CC", "BCC", "SUBJECT":
		name := k.Key[:1] + strings.ToLower(k.Key[1:])
		c.Header = append(c.Header, mailbox.SearchHeader{Name: name, Value: k.Str})
	case "HEADER":
		c.Header = append(c.Header, mailbox.SearchHeader{Name: k.Field, Value: k.Str})
	case "BODY":
		c.Body = append(c.Body, k.Str)
	case "TEXT":
		c.Text = append(c.Text, k.Str)
	default: // RECENT, NEW, OLD: session state
		return errNoPushdown
	}
	return nil
}

// intersectRanges returns the UIDs in both range lists, as ranges.
func intersectRanges(a, b []mailbox.UIDRange) []mailbox.UIDRange {
	out := []mailbox.UIDRange{}
	for _, x := range a {
		for _, y := range b {
			lo, hi := max(x.Start, y.Start), min(x.Stop, y.Stop)
			if lo <= hi {
				out = append(out, mailbox.UIDRange{Start: lo, Stop: hi})
			}
		}
	}
	return out
}

// storeSearch asks the store's Searcher, when there is one and the key
// tree translates. ok is false when the library must search itself.
func (s *searchCtx) storeSearch(k *SearchKey) (uids []mailbox.UID, ok bool, err error) {
	srch, isSearcher := s.c.mbox.(mailbox.Searcher)
	if !isSearcher {
		return nil, false, nil
	}
	crit, err := s.storeCriteria(k)
	if err != nil {
		return nil, false, nil
	}
	found, err := srch.Search(s.c.ctx, &crit)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v := s.c.view
	slices.Sort(found)
	found = slices.Compact(found)
	for _, u := range found {
		if v.seq(u) != 0 && !v.isExpunged(u) {
			uids = append(uids, u)
		}
	}
	return uids, true, nil
}
