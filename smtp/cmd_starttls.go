package smtp

// cmdStartTLS handles STARTTLS (RFC 3207).
func (c *conn) cmdStartTLS(arg string) {
	switch {
	case c.srv.tlsConf() == nil:
		c.unknownCommand()
		return
	case arg != "":
		c.reply(errNoArgs)
		return
	case c.info.TLS != nil:
		c.replyf(503, EnhancedCode{5, 5, 1}, "TLS already active")
		return
	case c.info.Identity != "":
		c.replyf(503, EnhancedCode{5, 5, 1}, "Already authenticated")
		return
	case !c.helo:
		c.reply(errNeedHelo)
		return
	}
	// CVE-2011-0411: whatever the client pipelined after STARTTLS arrived
	// in plaintext and is thrown away, never executed.
	if n := c.br.Buffered(); n > 0 {
		c.br.Discard(n)
	}
	c.cr.pending = nil
	c.replyf(220, EnhancedCode{2, 0, 0}, "Ready to start TLS")
	if c.flush() != nil {
		return
	}
	// RFC 3207 §4.2: forget everything learnt before TLS; the plaintext
	// session ends here and a new one starts once TLS is up.
	c.resetTx()
	c.closeSession()
	c.helo = false
	c.info.Hello, c.info.ESMTP = "", false
	c.info.Identity, c.info.Mechanism = "", ""
	if !c.handshake() {
		return
	}
	c.openSession()
}
