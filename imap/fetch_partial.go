package imap

import (
	"github.com/posthorn/posthorn/imap/internal/wire"
	"github.com/posthorn/posthorn/mailbox"
)

// The PARTIAL fetch modifier (RFC 9394 §4): FETCH and UID FETCH of a
// window of the messages the set (and CHANGEDSINCE) selects, counted in
// ascending order from the first or, for "-1:-30", from the last:
//
//	C: A1 UID FETCH 1:* (FLAGS) (PARTIAL -1:-30)

// fetchPartialModifier reads "PARTIAL" SP partial-range after the
// keyword PARTIAL of a fetch modifier list.
func fetchPartialModifier(d *wire.Decoder, p **partialRange) bool {
	if *p != nil {
		return d.Fail("one PARTIAL")
	}
	if !d.ExpectSP() {
		return false
	}
	r, ok := parsePartialRange(d)
	if ok {
		*p = &r
	}
	return ok
}

// fetchPartial returns the window p of uids (ascending, as resolved from
// the set), after dropping the messages CHANGEDSINCE leaves out.
func (c *conn) fetchPartial(uids []mailbox.UID, p *partialRange, since mailbox.ModSeq) ([]mailbox.UID, error) {
	if since != 0 {
		var kept []mailbox.UID
		err := c.eachMessage(uids, func(m *mailbox.MessageInfo) error {
			if m.ModSeq > since {
				kept = append(kept, m.UID)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		uids = kept
	}
	from, to := p.window(len(uids))
	return uids[from:to], nil
}
