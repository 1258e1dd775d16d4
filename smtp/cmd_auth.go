package smtp

// authAllowed reports whether AUTH may be used on this connection now.
func (c *conn) authAllowed() bool {
	return c.info.TLS != nil || c.srv.AllowInsecureAuth
}

// authMechanisms lists the SASL mechanisms the session supports.
func (c *conn) authMechanisms() []string {
	return nil
}

func (c *conn) cmdAuth(arg string) {
	c.unknownCommand()
}
