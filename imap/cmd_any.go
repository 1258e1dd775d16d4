package imap

import (
	"strings"
)

// CAPABILITY (RFC 9051 §6.1.1).
func cmdCapability(c *conn, cmd *command) error {
	if err := c.expectEOL(); err != nil {
		return err
	}
	c.w.raw("* CAPABILITY ")
	c.w.raw(joinCaps(c.srv.capabilities(c)))
	c.w.crlf()
	return nil
}

// NOOP (RFC 9051 §6.1.2): its effect is the unsolicited updates the
// dispatcher sends before every tagged response.
func cmdNoop(c *conn, cmd *command) error {
	return c.expectEOL()
}

// LOGOUT (RFC 9051 §6.1.3).
func cmdLogout(c *conn, cmd *command) error {
	if err := c.expectEOL(); err != nil {
		return err
	}
	c.w.statusLine("*", StatusBYE, "", "", "Logging out")
	c.w.statusLine(cmd.tag, StatusOK, "", "", "LOGOUT completed")
	c.flush()
	c.state = stateLogout
	return nil
}

// ID (RFC 2971). The client's fields are read and ignored.
func cmdID(c *conn, cmd *command) error {
	d := c.dec
	if !d.ExpectSP() {
		return d.Err()
	}
	if !d.NIL() {
		n := 0
		d.ExpectList(func() bool {
			var s string
			if ok, _ := d.NString(&s); !ok {
				return false
			}
			n++
			return n <= 60 // RFC 2971 §3.3: at most 30 pairs
		})
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	c.w.raw(`* ID ("name" "Posthorn")`)
	c.w.crlf()
	return nil
}

// ENABLE (RFC 5161) with IMAP4rev2 (RFC 9051) and UTF8=ACCEPT (RFC 6855).
func cmdEnable(c *conn, cmd *command) error {
	d := c.dec
	var caps []string
	for d.SP() {
		var a string
		if !d.ExpectAtom(&a) {
			return d.Err()
		}
		caps = append(caps, a)
	}
	if len(caps) == 0 {
		d.Fail("capability")
	}
	if err := c.expectEOL(); err != nil {
		return err
	}
	var enabled []string
	for _, a := range caps {
		switch strings.ToUpper(a) {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2 = true
				enabled = append(enabled, "IMAP4rev2")
			}
			c.setUTF8()
		case "CONDSTORE":
			if !c.condstore {
				enabled = append(enabled, "CONDSTORE")
			}
			if err := c.enableCondStore(); err != nil {
				return err
			}
		case "QRESYNC":
			if !c.qresync {
				enabled = append(enabled, "QRESYNC")
			}
			if err := c.enableQResync(); err != nil {
				return err
			}
		case "UTF8=ACCEPT":
			if !c.utf8 {
				enabled = append(enabled, "UTF8=ACCEPT")
			}
			c.setUTF8()
		}
	}
	c.w.raw("* ENABLED")
	for _, a := range enabled {
		c.w.sp()
		c.w.raw(a)
	}
	c.w.crlf()
	return nil
}

func (c *conn) setUTF8() {
	c.utf8 = true
	c.dec.UTF8 = true
	c.w.utf8 = true
}
