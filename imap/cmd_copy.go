package imap

import (
	"github.com/posthorn/posthorn/mailbox"
)

// COPY (RFC 9051 §6.4.7) and MOVE (RFC 6851), UID forms included, with
// UIDPLUS COPYUID (RFC 4315).
func cmdCopy(c *conn, cmd *command) error {
	d := c.dec
	var set NumSet
	if !d.ExpectSP() || !d.ExpectNumSet(&set) {
		return d.Err()
	}
	dest, nameErr := c.nameArgs(false)
	if isParseError(nameErr) {
		return nameErr
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	if nameErr != nil {
		return errNo(CodeTryCreate, "No such mailbox")
	}
	move := cmd.name == "MOVE"
	if move && c.view.readOnly {
		return errNo(CodeReadOnly, "Mailbox is read-only")
	}
	uids, err := c.resolveSet(set, cmd.uid)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		if _, err := c.acct.Mailbox(c.ctx, dest); isNotExist(err) {
			return errNo(CodeTryCreate, "No such mailbox")
		}
		return nil
	}
	var res mailbox.CopyResult
	if move {
		res, err = mailbox.Move(c.ctx, c.acct, c.mbox, uids, dest)
	} else {
		res, err = mailbox.Copy(c.ctx, c.acct, c.mbox, uids, dest)
	}
	if isNotExist(err) {
		return errNo(CodeTryCreate, "No such mailbox")
	}
	if err != nil {
		return err
	}
	arg := ""
	if len(res.Source) > 0 {
		arg = itoa(uint64(res.UIDValidity)) + " " + uidSet(res.Source) + " " + uidSet(res.Dest)
	}
	if move {
		// RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
		if arg != "" {
			c.w.statusLine("*", StatusOK, CodeCopyUID, arg, "Moved")
		}
		c.view.noteExpunged(res.Source)
		if dest == c.view.name {
			c.view.noteAdded(res.Dest)
		}
		return nil
	}
	if dest == c.view.name {
		c.view.noteAdded(res.Dest)
	}
	if arg != "" {
		cmd.okCode, cmd.okArg = CodeCopyUID, arg
	}
	return nil
}
