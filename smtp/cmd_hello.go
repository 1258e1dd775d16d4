package smtp

import (
	"strconv"
	"strings"
)

// cmdHello handles EHLO, HELO and LHLO (RFC 5321 §4.1.1.1, RFC 2033 §4.1).
func (c *conn) cmdHello(verb, arg string) {
	name := strings.TrimRight(arg, " ")
	if name == "" {
		c.replyf(501, EnhancedCode{5, 5, 4}, "Syntax: "+verb+" hostname")
		c.badCommand()
		return
	}
	// The name goes into Received headers: keep one printable token.
	if i := strings.IndexByte(name, ' '); i >= 0 {
		name = name[:i]
	}
	if c.tx != nil {
		c.resetTx() // RFC 5321 §4.1.4: EHLO resets like RSET
	}
	c.helo = true
	c.info.Hello = name
	c.info.ESMTP = verb != "HELO"
	if verb == "HELO" {
		c.replyf(250, NoEnhancedCode, c.srv.host())
		return
	}
	lines := []string{c.srv.host() + " greets " + name, "PIPELINING", "8BITMIME", "SMTPUTF8"}
	if m := c.srv.maxMessageBytes(); m > 0 {
		lines = append(lines, "SIZE "+strconv.FormatInt(m, 10))
	} else {
		lines = append(lines, "SIZE")
	}
	lines = append(lines, "ENHANCEDSTATUSCODES", "CHUNKING", "BINARYMIME", "DSN")
	if c.srv.tlsConf() != nil && c.info.TLS == nil {
		lines = append(lines, "STARTTLS")
	}
	if c.info.TLS != nil {
		lines = append(lines, "REQUIRETLS")
	}
	if c.authAllowed() {
		if mechs := c.authMechanisms(); len(mechs) > 0 {
			lines = append(lines, "AUTH "+strings.Join(mechs, " "))
		}
	}
	if m := c.srv.maxRecipients(); m > 0 {
		lines = append(lines, "LIMITS RCPTMAX="+strconv.Itoa(m))
	}
	for i := range c.srv.Extensions {
		ext := &c.srv.Extensions[i]
		if ext.Keyword != "" && (ext.Available == nil || ext.Available(&c.info)) {
			lines = append(lines, ext.Keyword)
		}
	}
	c.replyf(250, NoEnhancedCode, strings.Join(lines, "\n"))
}
