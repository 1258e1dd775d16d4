// Package smtptest runs an in-process SMTP server on 127.0.0.1 for the
// tests of SMTP clients: it records every transaction (envelope and bytes)
// and can be scripted to fail (a 4xx/5xx reply at a command or recipient,
// a dropped connection in the middle of DATA, a delay).
//
//	func TestSend(t *testing.T) {
//		srv := smtptest.NewServer(t, nil)
//		srv.Fail(smtptest.Fault{At: smtptest.AtRcpt, Address: "full@example.com",
//			Reply: &smtp.Error{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}})
//		sendWithMyClient(srv.Addr(), ...)
//		msgs := srv.Messages()
//		...
//	}
//
// It uses plain testing only, so importing it adds no dependency. The
// server stops when the test ends.
//
// What it offers, by extension: everything smtp.Server offers (PIPELINING,
// 8BITMIME, SMTPUTF8, SIZE, CHUNKING, DSN, ENHANCEDSTATUSCODES), STARTTLS or
// implicit TLS with Options.TLS / Options.ImplicitTLS, AUTH PLAIN and LOGIN
// with Options.Users, and LMTP with Options.Mode.
package smtptest
