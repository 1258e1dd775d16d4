package smtp

import (
	"time"
)

var (
	errNeedHelo = &Error{Code: 503, EnhancedCode: EnhancedCode{5, 5, 1}, Message: "Send HELO/EHLO first"}
	errNeedMail = &Error{Code: 503, EnhancedCode: EnhancedCode{5, 5, 1}, Message: "Need MAIL command first"}
	errNeedRcpt = &Error{Code: 503, EnhancedCode: EnhancedCode{5, 5, 1}, Message: "Need RCPT command first"}
	errNeedUTF8 = &Error{Code: 553, EnhancedCode: EnhancedCode{5, 6, 7}, Message: "Non-ASCII address requires SMTPUTF8"}
	errNoArgs   = &Error{Code: 501, EnhancedCode: EnhancedCode{5, 5, 4}, Message: "Syntax error, no parameters allowed"}
)

// cmdMail handles MAIL FROM (RFC 5321 §4.1.1.2).
func (c *conn) cmdMail(arg string) {
	switch {
	case !c.helo:
		c.reply(errNeedHelo)
		return
	case c.tx != nil:
		c.replyf(503, EnhancedCode{5, 5, 1}, "Nested MAIL command")
		return
	case c.srv.Mode == ModeSubmission && c.info.Identity == "":
		c.reply(ErrAuthRequired) // RFC 6409 §4.3, RFC 4954 §6
		return
	}
	from, params, nonASCII, err := parseMailArg(arg)
	if err != nil {
		c.reply(err.(*SyntaxError).reply())
		c.badCommand()
		return
	}
	opts, perr := c.mailParams(params)
	if perr != nil {
		c.reply(perr)
		return
	}
	switch max := c.srv.maxMessageBytes(); {
	case nonASCII && !opts.UTF8:
		c.reply(errNeedUTF8)
		return
	case opts.RequireTLS && c.info.TLS == nil:
		// RFC 8689 §4.1
		c.replyf(530, EnhancedCode{5, 7, 10}, "REQUIRETLS needs a TLS connection")
		return
	case max > 0 && opts.Size > max:
		// RFC 1870 §6.2
		c.replyf(552, EnhancedCode{5, 3, 4}, "Message size exceeds fixed maximum message size")
		return
	}
	if err := c.sess.Mail(c.ctx, from, opts); err != nil {
		c.replyErr(err, "Mail")
		return
	}
	c.tx = &txn{from: from, opts: opts}
	if t := c.srv.txTimeout(); t > 0 {
		c.txDeadline = time.Now().Add(t)
	}
	c.replyf(250, EnhancedCode{2, 1, 0}, "Sender "+quoteAddr(from)+" OK")
}

// mailParams parses MAIL parameters and refuses unknown ones.
func (c *conn) mailParams(params string) (*MailOptions, *Error) {
	if params == "" {
		return &MailOptions{}, nil
	}
	if !c.info.ESMTP {
		return nil, &Error{Code: 555, EnhancedCode: EnhancedCode{5, 5, 4}, Message: "Parameters need EHLO"}
	}
	opts, err := parseMailParams(params)
	if err != nil {
		return nil, err.(*SyntaxError).reply()
	}
	for k := range opts.Extra {
		if !c.extParam(k, true) {
			return nil, &Error{Code: 555, EnhancedCode: EnhancedCode{5, 5, 4}, Message: "Unsupported parameter " + k}
		}
	}
	return opts, nil
}

// cmdRcpt handles RCPT TO (RFC 5321 §4.1.1.3).
func (c *conn) cmdRcpt(arg string) {
	if c.tx == nil {
		c.reply(errNeedMail)
		return
	}
	to, params, nonASCII, err := parseRcptArg(arg)
	if err != nil {
		c.reply(err.(*SyntaxError).reply())
		c.badCommand()
		return
	}
	if nonASCII && !c.tx.opts.UTF8 {
		c.reply(errNeedUTF8)
		return
	}
	if max := c.srv.maxRecipients(); max > 0 && len(c.tx.rcpts) >= max {
		c.reply(ErrTooManyRecipients) // RFC 5321 §4.5.3.1.10
		return
	}
	var opts *RcptOptions
	if params == "" {
		opts = &RcptOptions{}
	} else {
		if !c.info.ESMTP {
			c.replyf(555, EnhancedCode{5, 5, 4}, "Parameters need EHLO")
			return
		}
		o, err := parseRcptParams(params)
		if err != nil {
			c.reply(err.(*SyntaxError).reply())
			return
		}
		for k := range o.Extra {
			if !c.extParam(k, false) {
				c.replyf(555, EnhancedCode{5, 5, 4}, "Unsupported parameter "+k)
				return
			}
		}
		opts = o
	}
	if err := c.sess.Rcpt(c.ctx, to, opts); err != nil {
		c.replyErr(err, "Rcpt")
		return
	}
	c.tx.rcpts = append(c.tx.rcpts, to)
	c.replyf(250, EnhancedCode{2, 1, 5}, "Recipient "+quoteAddr(to)+" OK")
}

// cmdRset handles RSET (RFC 5321 §4.1.1.5).
func (c *conn) cmdRset(arg string) {
	if arg != "" {
		c.reply(errNoArgs)
		return
	}
	c.resetTx()
	c.replyf(250, EnhancedCode{2, 0, 0}, "OK")
}

// cmdVrfy handles VRFY (RFC 5321 §3.5.3): 252, never disclosing users.
func (c *conn) cmdVrfy(arg string) {
	if arg == "" {
		c.replyf(501, EnhancedCode{5, 5, 4}, "Syntax: VRFY address")
		return
	}
	c.replyf(252, EnhancedCode{2, 5, 0}, "Cannot VRFY user, but will accept message and attempt delivery")
}
