package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Copy copies the messages uids of src into the mailbox dest of acct, keeping
// their flags and internal dates, and returns the UID mapping (RFC 4315
// COPYUID). It uses src's Copier when there is one; otherwise it reads each
// message and appends it. UIDs not in src are skipped.
func Copy(ctx context.Context, acct Account, src Mailbox, uids []UID, dest string) (CopyResult, error) {
	if c, ok := src.(Copier); ok {
		return c.CopyTo(ctx, uids, dest)
	}
	return copyGeneric(ctx, acct, src, uids, dest)
}

// Move moves the messages uids of src into the mailbox dest of acct and
// returns the UID mapping. It uses src's Mover when there is one (atomic,
// RFC 6851); otherwise it copies, then expunges the originals that were
// copied.
func Move(ctx context.Context, acct Account, src Mailbox, uids []UID, dest string) (CopyResult, error) {
	if m, ok := src.(Mover); ok {
		return m.MoveTo(ctx, uids, dest)
	}
	res, err := copyGeneric(ctx, acct, src, uids, dest)
	if err != nil {
		return res, err
	}
	if _, err := src.Expunge(ctx, res.Source); err != nil {
		return res, fmt.Errorf("mailbox: move: expunge after copy: %w", err)
	}
	return res, nil
}

func copyGeneric(ctx context.Context, acct Account, src Mailbox, uids []UID, dest string) (CopyResult, error) {
	want := slices.Clone(uids)
	slices.Sort(want)
	want = slices.Compact(want)
	dst, err := acct.Mailbox(ctx, dest)
	if err != nil {
		return CopyResult{}, err
	}
	defer dst.Close()
	st, err := dst.Status(ctx)
	if err != nil {
		return CopyResult{}, err
	}
	res := CopyResult{UIDValidity: st.UIDValidity}
	if len(want) == 0 {
		return res, nil
	}
	// Collect first: appending into src itself must not feed the iteration.
	var infos []MessageInfo
	for info, err := range src.Messages(ctx, want[0]) {
		if err != nil {
			return res, err
		}
		if info.UID > want[len(want)-1] {
			break
		}
		if _, found := slices.BinarySearch(want, info.UID); found {
			infos = append(infos, info)
		}
	}
	for _, info := range infos {
		uid, err := copyOne(ctx, src, dst, info)
		if errors.Is(err, ErrNotExist) {
			continue // expunged meanwhile
		}
		if err != nil {
			return res, err
		}
		res.Source = append(res.Source, info.UID)
		res.Dest = append(res.Dest, uid)
	}
	return res, nil
}

func copyOne(ctx context.Context, src, dst Mailbox, info MessageInfo) (UID, error) {
	r, err := src.Open(ctx, info.UID)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return dst.Append(ctx, r, &AppendOptions{Flags: info.Flags, InternalDate: info.InternalDate})
}

// Section returns a reader of n bytes of a message starting at offset off,
// from a value Mailbox.Open returned. It reads by offset when r implements
// io.ReaderAt and skips forward otherwise. Past the end of the message the
// section is simply shorter, or empty, as IMAP partial FETCH wants
// (RFC 9051 §6.4.5).
func Section(r io.Reader, off, n int64) (io.Reader, error) {
	if ra, ok := r.(io.ReaderAt); ok {
		return io.NewSectionReader(ra, off, n), nil
	}
	if off > 0 {
		if _, err := io.CopyN(io.Discard, r, off); err != nil {
			if err == io.EOF {
				return strings.NewReader(""), nil
			}
			return nil, err
		}
	}
	return io.LimitReader(r, n), nil
}

// Deliver appends the message read from r to the INBOX of user, durably, and
// returns its UID: the step an SMTP or LMTP receiver takes for each
// recipient before it answers 250.
func Deliver(ctx context.Context, store Store, user string, r io.Reader, opts *AppendOptions) (UID, error) {
	acct, err := store.Open(ctx, user)
	if err != nil {
		return 0, err
	}
	defer acct.Close()
	mbox, err := acct.Mailbox(ctx, Inbox)
	if err != nil {
		return 0, err
	}
	defer mbox.Close()
	return mbox.Append(ctx, r, opts)
}
