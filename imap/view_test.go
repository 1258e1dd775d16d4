package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/mailbox"
)

func testView(uids ...mailbox.UID) *view {
	modseq := make([]mailbox.ModSeq, len(uids))
	for i, u := range uids {
		modseq[i] = mailbox.ModSeq(u)
	}
	return newView("INBOX", false, 7, slices.Clone(uids), modseq, 0)
}

// flushed renders the updates of a flush as wire lines.
func flushed(v *view, allowExpunge, rev1 bool) string {
	var b strings.Builder
	v.flush(allowExpunge, rev1, func(u update) {
		switch u.kind {
		case updateExpunge:
			fmt.Fprintf(&b, "%d EXPUNGE;", u.num)
		case updateExists:
			fmt.Fprintf(&b, "%d EXISTS;", u.num)
		case updateRecent:
			fmt.Fprintf(&b, "%d RECENT;", u.num)
		case updateFlags:
			fmt.Fprintf(&b, "FLAGS %v;", v.keywords)
		case updateFetch:
			fmt.Fprintf(&b, "%d FETCH uid=%d %v recent=%v;", u.num, u.uid, u.flags, u.recent)
		}
	})
	return b.String()
}

func ev(kind mailbox.EventKind, uids ...mailbox.UID) mailbox.Event {
	return mailbox.Event{Kind: kind, Mailbox: "INBOX", UIDValidity: 7, UIDs: uids}
}

func flagEv(uid mailbox.UID, modseq mailbox.ModSeq, flags ...mailbox.Flag) mailbox.Event {
	return mailbox.Event{Kind: mailbox.EventFlagsChanged, Mailbox: "INBOX", UIDValidity: 7,
		Flags: []mailbox.FlagChange{{UID: uid, Flags: flags, ModSeq: modseq}}}
}

func TestViewSeqUID(t *testing.T) {
	v := testView(3, 5, 9)
	assert.Equal(t, uint32(3), v.count())
	assert.Equal(t, mailbox.UID(5), v.uid(2))
	assert.Equal(t, mailbox.UID(0), v.uid(0))
	assert.Equal(t, mailbox.UID(0), v.uid(4))
	assert.Equal(t, uint32(3), v.seq(9))
	assert.Equal(t, uint32(0), v.seq(4))
	assert.Equal(t, mailbox.UID(9), v.maxUID())
	assert.Equal(t, mailbox.UID(0), testView().maxUID())
}

func TestViewExpungeDescending(t *testing.T) {
	v := testView(1, 2, 3, 4, 5, 6)
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesExpunged, 2, 5), ev(mailbox.EventMessagesExpunged, 3)})
	require.True(t, v.hasPending())
	// RFC 9051 §7.5.1: each EXPUNGE decrements the numbers above it;
	// descending order keeps every number valid as sent.
	assert.Equal(t, "5 EXPUNGE;3 EXPUNGE;2 EXPUNGE;", flushed(v, true, false))
	assert.Equal(t, []mailbox.UID{1, 4, 6}, v.uids)
	assert.Equal(t, []mailbox.ModSeq{1, 4, 6}, v.modseq)
	assert.False(t, v.hasPending())
}

func TestViewNoExpungeDuringFetch(t *testing.T) {
	v := testView(1, 2, 3)
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesExpunged, 2), ev(mailbox.EventMessagesAdded, 4)})
	// During FETCH/STORE/SEARCH: the EXISTS may go, the EXPUNGE may not,
	// and sequence numbers stay as the client knows them.
	assert.Equal(t, "4 EXISTS;", flushed(v, false, false))
	assert.Equal(t, mailbox.UID(2), v.uid(2))
	assert.True(t, v.isExpunged(2))
	assert.Equal(t, "2 EXPUNGE;", flushed(v, true, false))
	assert.Equal(t, []mailbox.UID{1, 3, 4}, v.uids)
}

func TestViewExpungeThenExists(t *testing.T) {
	v := testView(1, 2)
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesAdded, 3), ev(mailbox.EventMessagesExpunged, 1)})
	assert.Equal(t, "1 EXPUNGE;2 EXISTS;", flushed(v, true, false))
}

func TestViewAddedThenExpungedBeforeFlush(t *testing.T) {
	v := testView(1)
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesAdded, 2, 3), ev(mailbox.EventMessagesExpunged, 2)})
	assert.Equal(t, "2 EXISTS;", flushed(v, true, false))
	assert.Equal(t, []mailbox.UID{1, 3}, v.uids)
}

func TestViewDuplicateAddIgnored(t *testing.T) {
	v := testView(1, 2)
	v.noteAdded([]mailbox.UID{3}) // the session's own APPEND
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesAdded, 3), ev(mailbox.EventMessagesAdded, 2)})
	assert.Equal(t, "3 EXISTS;", flushed(v, true, false))
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesAdded, 3)})
	assert.False(t, v.hasPending())
}

func TestViewDuplicateExpungeIgnored(t *testing.T) {
	v := testView(1, 2)
	v.noteExpunged([]mailbox.UID{2, 9})
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesExpunged, 2)})
	assert.Equal(t, "2 EXPUNGE;", flushed(v, true, false))
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesExpunged, 2)})
	assert.False(t, v.hasPending())
}

func TestViewFlags(t *testing.T) {
	v := testView(10, 20, 30)
	v.apply([]mailbox.Event{flagEv(20, 40, mailbox.FlagSeen), flagEv(10, 41, mailbox.FlagDeleted), flagEv(20, 42, mailbox.FlagFlagged)})
	// Latest state per message, in sequence order.
	assert.Equal(t, "1 FETCH uid=10 [\\Deleted] recent=false;2 FETCH uid=20 [\\Flagged] recent=false;", flushed(v, false, false))
	assert.Equal(t, mailbox.ModSeq(42), v.modseq[1])
	// An older event arriving late is not news.
	v.apply([]mailbox.Event{flagEv(20, 40, mailbox.FlagSeen)})
	assert.False(t, v.hasPending())
}

func TestViewOwnStoreDeduplicated(t *testing.T) {
	v := testView(1, 2)
	// The session's STORE reported uid 2 at MODSEQ 5 itself; the store's
	// event for the same change must not produce a second FETCH.
	v.reported(2, 5)
	v.apply([]mailbox.Event{flagEv(2, 5, mailbox.FlagSeen)})
	assert.Equal(t, "", flushed(v, true, false))
	// A later change by someone else is news.
	v.apply([]mailbox.Event{flagEv(2, 6, mailbox.FlagSeen, mailbox.FlagFlagged)})
	assert.Equal(t, "2 FETCH uid=2 [\\Seen \\Flagged] recent=false;", flushed(v, true, false))
}

func TestViewReportedDropsOlderPending(t *testing.T) {
	v := testView(1, 2)
	v.apply([]mailbox.Event{flagEv(2, 4, mailbox.FlagSeen)}) // queued before our STORE
	v.reported(2, 5)
	assert.Equal(t, "", flushed(v, true, false))
}

func TestViewFlagsOfExpungedDropped(t *testing.T) {
	v := testView(1, 2)
	v.apply([]mailbox.Event{flagEv(2, 4, mailbox.FlagSeen), ev(mailbox.EventMessagesExpunged, 2), flagEv(2, 5, mailbox.FlagDeleted)})
	assert.Equal(t, "", flushed(v, false, false))
	assert.Equal(t, "2 EXPUNGE;", flushed(v, true, false))
}

func TestViewFlagsOfNewMessage(t *testing.T) {
	v := testView(1)
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesAdded, 2), flagEv(2, 9, mailbox.FlagSeen)})
	assert.Equal(t, "2 EXISTS;1 RECENT;2 FETCH uid=2 [\\Seen] recent=true;", flushed(v, true, true))
}

func TestViewRecentRev1(t *testing.T) {
	v := testView(1, 2)
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesAdded, 3, 4)})
	assert.Equal(t, "4 EXISTS;2 RECENT;", flushed(v, true, true))
	assert.True(t, v.isRecent(3))
	assert.False(t, v.isRecent(2))
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesExpunged, 3)})
	assert.Equal(t, "3 EXPUNGE;", flushed(v, true, true))
	assert.Equal(t, 1, v.recent)
	v.apply([]mailbox.Event{ev(mailbox.EventMessagesAdded, 5)})
	assert.Equal(t, "4 EXISTS;2 RECENT;", flushed(v, true, true))
}

func TestViewIgnoresOtherMailboxesAndEpochs(t *testing.T) {
	v := testView(1)
	other := ev(mailbox.EventMessagesAdded, 5)
	other.Mailbox = "Sent"
	stale := ev(mailbox.EventMessagesAdded, 6)
	stale.UIDValidity = 8
	v.apply([]mailbox.Event{other, stale})
	assert.False(t, v.hasPending())
}

func TestViewRenameAndDelete(t *testing.T) {
	v := testView(1)
	v.apply([]mailbox.Event{{Kind: mailbox.EventMailboxRenamed, OldName: "INBOX", Mailbox: "Old"}})
	assert.Equal(t, "Old", v.name)
	v.apply([]mailbox.Event{{Kind: mailbox.EventMailboxDeleted, Mailbox: "Old"}})
	assert.True(t, v.deleted)
}

func TestEventQueue(t *testing.T) {
	q := newEventQueue()
	q.push(ev(mailbox.EventMessagesAdded, 1)) // nothing selected: dropped
	select {
	case <-q.signal:
		t.Fatal("signal without a selected mailbox")
	default:
	}
	q.selectMailbox("INBOX")
	q.push(ev(mailbox.EventMessagesAdded, 2))
	q.push(ev(mailbox.EventMessagesAdded, 3))
	other := ev(mailbox.EventMessagesAdded, 4)
	other.Mailbox = "Sent"
	q.push(other)
	<-q.signal
	evs, overflow := q.take()
	assert.False(t, overflow)
	assert.Len(t, evs, 2)
	q.push(mailbox.Event{Kind: mailbox.EventMailboxRenamed, OldName: "INBOX", Mailbox: "X"})
	q.push(mailbox.Event{Kind: mailbox.EventMessagesAdded, Mailbox: "X", UIDs: []mailbox.UID{9}})
	evs, _ = q.take()
	assert.Len(t, evs, 2)
}

func TestEventQueueOverflow(t *testing.T) {
	q := newEventQueue()
	q.selectMailbox("INBOX")
	for i := 0; i <= maxQueuedEvents; i++ {
		q.push(ev(mailbox.EventMessagesAdded, mailbox.UID(i+1)))
	}
	evs, overflow := q.take()
	assert.True(t, overflow)
	assert.Empty(t, evs)
}

func BenchmarkViewFlush(b *testing.B) {
	uids := make([]mailbox.UID, 10000)
	for i := range uids {
		uids[i] = mailbox.UID(i + 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		v := testView(uids...)
		for u := mailbox.UID(1); u <= 10000; u += 10 {
			v.noteExpunged([]mailbox.UID{u})
		}
		v.flush(true, false, func(update) {})
	}
}

func TestViewNewKeywordResendsFlags(t *testing.T) {
	v := testView(1)
	v.keywords = []string{"$Work"}
	v.apply([]mailbox.Event{flagEv(1, 5, "$Work")})
	assert.Equal(t, "1 FETCH uid=1 [$Work] recent=false;", flushed(v, true, false))
	v.apply([]mailbox.Event{flagEv(1, 6, "$Home")})
	assert.Equal(t, "FLAGS [$Work $Home];1 FETCH uid=1 [$Home] recent=false;", flushed(v, true, false))
}
