package imap

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// StoreOp is how STORE changes flags.
type StoreOp int

// Flag operations.
const (
	StoreAdd     StoreOp = iota // +FLAGS
	StoreRemove                 // -FLAGS
	StoreReplace                // FLAGS
)

func (op StoreOp) String() string {
	switch op {
	case StoreAdd:
		return "+FLAGS"
	case StoreRemove:
		return "-FLAGS"
	case StoreReplace:
		return "FLAGS"
	}
	return "StoreOp(" + strconv.Itoa(int(op)) + ")"
}

// StoreOptions are optional STORE parameters.
type StoreOptions struct {
	// UnchangedSince makes the change conditional (RFC 7162 §3.1.3):
	// messages modified after this MODSEQ are left alone and reported in
	// StoreResult.Modified. 0: unconditional.
	UnchangedSince uint64
	// Silent asks the server not to send the new flags (.SILENT).
	Silent bool
}

// StoreResult is what STORE reported.
type StoreResult struct {
	// Messages holds the FETCH responses (new flags, UID, MODSEQ).
	Messages []*FetchMessage
	// Modified holds the messages (sequence numbers, or UIDs for a UID
	// STORE) not changed because of UnchangedSince ([MODIFIED]).
	Modified NumSet
}

// Store changes the flags of the messages in set (sequence numbers).
// opts may be nil.
func (c *Client) Store(ctx context.Context, set NumSet, op StoreOp, flags []Flag, opts *StoreOptions) (*StoreResult, error) {
	return c.store(ctx, false, set, op, flags, opts)
}

// UIDStore is Store with UIDs (UID STORE).
func (c *Client) UIDStore(ctx context.Context, uids NumSet, op StoreOp, flags []Flag, opts *StoreOptions) (*StoreResult, error) {
	return c.store(ctx, true, uids, op, flags, opts)
}

func (c *Client) store(ctx context.Context, uid bool, set NumSet, op StoreOp, flags []Flag, opts *StoreOptions) (res *StoreResult, err error) {
	if opts == nil {
		opts = &StoreOptions{}
	}
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	cmd, w := c.newCommand(uidVerb(uid, "STORE"))
	writeStore(w, set, op, flags, opts)
	res = &StoreResult{}
	cmd.data = collectFetch(&res.Messages)
	err = c.run(cmd, w)
	if cmd.status != nil && cmd.status.Code == CodeModified {
		res.Modified, _ = ParseNumSet(strings.TrimSpace(cmd.status.CodeArg))
	}
	if err != nil {
		return res, err
	}
	return res, nil
}

func writeStore(w *cmdWriter, set NumSet, op StoreOp, flags []Flag, opts *StoreOptions) {
	w.sp().numSet(set).sp()
	if opts.UnchangedSince > 0 {
		w.raw("(UNCHANGEDSINCE ").number64(opts.UnchangedSince).raw(") ")
	}
	if op < StoreAdd || op > StoreReplace {
		w.setErr(fmt.Errorf("imap: invalid %v", op))
		return
	}
	w.raw(op.String())
	if opts.Silent {
		w.raw(".SILENT")
	}
	w.sp().flags(flags)
}

// collectFetch returns a command data hook that keeps FETCH responses.
func collectFetch(dst *[]*FetchMessage) func(u *untagged) bool {
	return func(u *untagged) bool {
		if u.name == "FETCH" {
			*dst = append(*dst, u.fetch)
			return true
		}
		return false
	}
}

// CopyResult is the COPYUID response code (RFC 4315): the UIDs of the
// copies, pairwise with the source UIDs. It is nil when the server does
// not support UIDPLUS.
type CopyResult struct {
	UIDValidity uint32 // of the destination mailbox
	Source      []uint32
	Dest        []uint32
}

// Map returns the source → destination UID map.
func (r *CopyResult) Map() map[uint32]uint32 {
	m := make(map[uint32]uint32, len(r.Source))
	for i, s := range r.Source {
		if i < len(r.Dest) {
			m[s] = r.Dest[i]
		}
	}
	return m
}

// parseCopyUID parses "uidvalidity src-set dst-set".
func parseCopyUID(arg string) *CopyResult {
	f := strings.Fields(arg)
	if len(f) != 3 {
		return nil
	}
	v, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return nil
	}
	src, err1 := ParseNumSet(f[1])
	dst, err2 := ParseNumSet(f[2])
	if err1 != nil || err2 != nil {
		return nil
	}
	res := &CopyResult{UIDValidity: uint32(v)}
	res.Source = expandUIDs(src)
	res.Dest = expandUIDs(dst)
	if len(res.Source) != len(res.Dest) || res.Source == nil {
		return nil
	}
	return res
}

// maxExpand bounds the numbers expandUIDs lists: a hostile server
// cannot make the client allocate for four billion UIDs.
const maxExpand = 1 << 20

// expandUIDs lists the numbers of a uid-set in order; nil if it holds
// "*" or more than maxExpand numbers.
func expandUIDs(s NumSet) []uint32 {
	total := 0
	for _, r := range s.Ranges {
		if r.Start == Star || r.Stop == Star {
			return nil
		}
		lo, hi := min(r.Start, r.Stop), max(r.Start, r.Stop)
		total += int(hi-lo) + 1
		if total > maxExpand {
			return nil
		}
	}
	out := make([]uint32, 0, total)
	for _, r := range s.Ranges {
		for n := min(r.Start, r.Stop); ; n++ {
			out = append(out, n)
			if n == max(r.Start, r.Stop) {
				break
			}
		}
	}
	return out
}

// Copy copies messages (sequence numbers) to mailbox dest.
func (c *Client) Copy(ctx context.Context, set NumSet, dest string) (*CopyResult, error) {
	return c.copyMove(ctx, "COPY", false, set, dest)
}

// UIDCopy copies messages by UID.
func (c *Client) UIDCopy(ctx context.Context, uids NumSet, dest string) (*CopyResult, error) {
	return c.copyMove(ctx, "COPY", true, uids, dest)
}

// Move moves messages (sequence numbers) to dest: MOVE (RFC 6851) when
// the server has it, else COPY, STORE +FLAGS.SILENT \Deleted and
// EXPUNGE (UID EXPUNGE of just those messages with UIDPLUS), pipelined.
// Without MOVE or UIDPLUS the fallback's EXPUNGE removes every message
// marked \Deleted.
func (c *Client) Move(ctx context.Context, set NumSet, dest string) (*CopyResult, error) {
	return c.copyMove(ctx, "MOVE", false, set, dest)
}

// UIDMove moves messages by UID.
func (c *Client) UIDMove(ctx context.Context, uids NumSet, dest string) (*CopyResult, error) {
	return c.copyMove(ctx, "MOVE", true, uids, dest)
}

func (c *Client) copyMove(ctx context.Context, verb string, uid bool, set NumSet, dest string) (res *CopyResult, err error) {
	end, err := c.beginCaps(ctx)
	if err != nil {
		return nil, err
	}
	defer end(&err)
	if verb == "MOVE" && !c.has("MOVE") && !c.has("IMAP4REV2") {
		return c.moveFallback(uid, set, dest)
	}
	cmd, w := c.newCommand(uidVerb(uid, verb))
	w.sp().numSet(set).sp().mailbox(dest)
	c.copyUID = nil
	if err := c.run(cmd, w); err != nil {
		return nil, err
	}
	if cmd.status.Code == CodeCopyUID {
		return parseCopyUID(cmd.status.CodeArg), nil
	}
	res, c.copyUID = c.copyUID, nil // MOVE sends it untagged (RFC 6851 §4.3)
	return res, nil
}

// moveFallback pipelines COPY, STORE \Deleted and EXPUNGE.
func (c *Client) moveFallback(uid bool, set NumSet, dest string) (*CopyResult, error) {
	cp, w := c.newCommand(uidVerb(uid, "COPY"))
	w.sp().numSet(set).sp().mailbox(dest)
	if err := c.run(cp, w); err != nil {
		return nil, err
	}
	var res *CopyResult
	if cp.status.Code == CodeCopyUID {
		res = parseCopyUID(cp.status.CodeArg)
	}
	st, w := c.newCommand(uidVerb(uid, "STORE"))
	writeStore(w, set, StoreAdd, []Flag{FlagDeleted}, &StoreOptions{Silent: true})
	if err := c.send(st, w); err != nil {
		return res, err
	}
	var ex *clientCmd
	if c.has("UIDPLUS") && (uid || res != nil) {
		ex, w = c.newCommand("UID EXPUNGE")
		if uid {
			w.sp().numSet(set)
		} else {
			var s NumSet
			s.AddNum(res.Source...)
			w.sp().numSet(s)
		}
	} else {
		ex, w = c.newCommand("EXPUNGE")
	}
	if err := c.send(ex, w); err != nil {
		return res, err
	}
	errStore := c.wait(st)
	errExp := c.wait(ex)
	if errStore != nil {
		return res, errStore
	}
	return res, errExp
}

// Expunge removes the messages marked \Deleted and returns the sequence
// numbers the server reported (in the order sent; each as numbered at
// the time), or, with QRESYNC enabled, nil and the UIDs in vanished.
func (c *Client) Expunge(ctx context.Context) (seqs []uint32, vanished NumSet, err error) {
	return c.expunge(ctx, nil)
}

// UIDExpunge removes the messages in uids that are marked \Deleted
// (RFC 4315 UIDPLUS, IMAP4rev2).
func (c *Client) UIDExpunge(ctx context.Context, uids NumSet) (seqs []uint32, vanished NumSet, err error) {
	return c.expunge(ctx, &uids)
}

func (c *Client) expunge(ctx context.Context, uids *NumSet) (seqs []uint32, vanished NumSet, err error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, NumSet{}, err
	}
	defer end(&err)
	var cmd *clientCmd
	var w *cmdWriter
	if uids != nil {
		cmd, w = c.newCommand("UID EXPUNGE")
		w.sp().numSet(*uids)
	} else {
		cmd, w = c.newCommand("EXPUNGE")
	}
	cmd.data = func(u *untagged) bool {
		switch u.name {
		case "EXPUNGE":
			seqs = append(seqs, u.num)
			return true
		case "VANISHED":
			vanished.Ranges = append(vanished.Ranges, u.set.Ranges...)
			return true
		}
		return false
	}
	err = c.run(cmd, w)
	return seqs, vanished, err
}
