package imap

import (
	"time"

	"github.com/posthorn/posthorn/mailbox"
)

// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), UIDPLUS
// APPENDUID (RFC 4315) and APPENDLIMIT (RFC 7889). Each literal streams
// into Mailbox.Append; nothing holds a whole message in memory.
func cmdAppend(c *conn, cmd *command) error {
	name, nameErr := c.nameArgs(false)
	if isParseError(nameErr) {
		return nameErr
	}
	var mb mailbox.Mailbox
	var refuse error // refuses the first literal when the mailbox is unusable
	if nameErr != nil {
		refuse = errNo(CodeTryCreate, "No such mailbox")
	} else {
		var err error
		mb, err = c.acct.Mailbox(c.ctx, name)
		switch {
		case isNotExist(err):
			refuse = errNo(CodeTryCreate, "No such mailbox")
		case err != nil:
			refuse = c.mapError(err)
		}
	}
	if mb != nil {
		defer mb.Close()
	}
	d := c.dec
	var uids []mailbox.UID
	rollback := func() {
		if len(uids) > 0 {
			mb.Expunge(c.ctx, uids) // MULTIAPPEND is all or nothing (RFC 3502 §6.3.11)
		}
	}
	for first := true; first || d.SP(); first = false {
		if first && !d.ExpectSP() {
			break
		}
		var flags []Flag
		if d.FlagList(&flags) && !d.ExpectSP() {
			break
		}
		var date time.Time
		if d.DateTime(&date) && !d.ExpectSP() {
			break
		}
		if d.Err() != nil {
			break
		}
		opts := &mailbox.AppendOptions{InternalDate: date}
		if refuse == nil {
			var err error
			if opts.Flags, err = storeFlags(flags); err != nil {
				refuse = errBad("Invalid flag")
			}
		}
		if refuse != nil {
			err := refuse
			c.dec.OnLiteral = func(int64, bool) error { return err }
		}
		// RFC 6855 §4: UTF8 (literal8) carries a message with UTF-8 headers.
		utf8Ext := c.utf8 && acceptWord(d, "UTF8")
		if utf8Ext && (!d.ExpectSP() || !d.ExpectSpecial('(')) {
			break
		}
		c.streaming = true
		r, _, ok := d.LiteralReader(c.srv.appendLimit())
		c.streaming = false
		c.dec.OnLiteral = c.onLiteral
		if !ok {
			if d.Err() == nil {
				d.Fail("literal")
			}
			break
		}
		uid, err := mb.Append(c.ctx, r, opts)
		if err != nil {
			rollback()
			if derr := d.DiscardLine(); derr != nil {
				c.state = stateLogout
			}
			return err
		}
		uids = append(uids, uid)
		if utf8Ext && !d.ExpectSpecial(')') {
			break
		}
	}
	if err := c.expectEOL(); err != nil {
		rollback()
		return err
	}
	st, err := mb.Status(c.ctx)
	if err != nil {
		return err
	}
	if c.view != nil && c.view.name == name {
		c.view.noteAdded(uids)
	}
	cmd.okCode = CodeAppendUID
	cmd.okArg = itoa(uint64(st.UIDValidity)) + " " + uidSet(uids)
	return nil
}

// storeFlags converts client flags for the store: \Recent is dropped (it
// is session state), the rest validated and made canonical.
func storeFlags(flags []Flag) ([]mailbox.Flag, error) {
	out := make([]mailbox.Flag, 0, len(flags))
	for _, f := range flags {
		if f.Equal(FlagRecent) {
			continue
		}
		out = append(out, mailbox.Flag(f))
	}
	return mailbox.CanonicalFlags(out)
}
