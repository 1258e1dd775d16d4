package smtp

import "strings"

// extension returns the available custom extension handling verb.
func (c *conn) extension(verb string) *Extension {
	for i := range c.srv.Extensions {
		ext := &c.srv.Extensions[i]
		if ext.Command != "" && strings.EqualFold(ext.Command, verb) && ext.Handle != nil &&
			(ext.Available == nil || ext.Available(&c.info)) {
			return ext
		}
	}
	return nil
}

// extParam reports whether an available extension accepts the MAIL (mail)
// or RCPT parameter key.
func (c *conn) extParam(key string, mail bool) bool {
	for i := range c.srv.Extensions {
		ext := &c.srv.Extensions[i]
		if ext.Available != nil && !ext.Available(&c.info) {
			continue
		}
		list := ext.RcptParams
		if mail {
			list = ext.MailParams
		}
		for _, p := range list {
			if strings.EqualFold(p, key) {
				return true
			}
		}
	}
	return false
}

// cmdExtension runs a custom command.
func (c *conn) cmdExtension(ext *Extension, arg string) {
	err := ext.Handle(c.ctx, &c.info, c.sess, arg)
	if err == nil {
		c.replyf(250, EnhancedCode{2, 0, 0}, "OK")
		return
	}
	se := asError(err)
	if se == nil {
		c.replyErr(err, ext.Command)
		return
	}
	if se.Code != 220 {
		c.reply(se)
		return
	}
	// A 220 restarts the conversation with a fresh session.
	c.resetTx()
	c.helo = false
	c.info.Hello, c.info.ESMTP = "", false
	c.closeSession()
	if c.openSession() {
		c.reply(se)
	}
}
