package imap

import (
	"errors"
	"slices"

	"github.com/posthorn/posthorn/mailbox"
)

// Pushing SORT down to a store that implements mailbox.Sorter. The store
// orders the UIDs the search found; one answering errors.ErrUnsupported
// (or a server needing the sort keys, for an UPDATE context) keeps the
// sort in the library, which reads the headers of the messages found.

// sortedInfos returns the messages of uids in the order of crit. With
// pushDown the store's Sorter is asked first; its answer carries only the
// UIDs of the entries.
func (c *conn) sortedInfos(uids []mailbox.UID, crit []sortCriterion, pushDown bool) ([]sortInfo, error) {
	if pushDown {
		if infos, ok, err := c.storeSort(uids, crit); ok || err != nil {
			return infos, err
		}
	}
	infos, err := c.sortInfos(uids, func(k string) bool {
		return slices.ContainsFunc(crit, func(sc sortCriterion) bool { return sc.key == k })
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(infos, func(a, b sortInfo) int { return compareSort(crit, &a, &b) })
	return infos, nil
}

// errBadStoreSort reports a Sorter whose answer is not a permutation of
// the UIDs it was given.
var errBadStoreSort = errors.New("imap: mailbox.Sorter returned other UIDs than it was given")

// storeSort asks the store's Sorter; ok is false when the library must
// sort itself.
func (c *conn) storeSort(uids []mailbox.UID, crit []sortCriterion) (infos []sortInfo, ok bool, err error) {
	srt, isSorter := c.mbox.(mailbox.Sorter)
	if !isSorter || len(uids) == 0 {
		return nil, false, nil
	}
	mc := make([]mailbox.SortCriterion, len(crit))
	for i, sc := range crit {
		mc[i] = mailbox.SortCriterion{Key: mailbox.SortKey(sc.key), Reverse: sc.reverse}
	}
	out, err := srt.Sort(c.ctx, mc, slices.Clone(uids))
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(out) != len(uids) {
		return nil, false, errBadStoreSort
	}
	infos = make([]sortInfo, len(out))
	for i, u := range out {
		if _, found := slices.BinarySearch(uids, u); !found {
			return nil, false, errBadStoreSort
		}
		infos[i].uid = u
	}
	seen := slices.Clone(out)
	slices.Sort(seen)
	if len(slices.Compact(seen)) != len(uids) {
		return nil, false, errBadStoreSort
	}
	return infos, true, nil
}
