// Package smtp implements the Simple Mail Transfer Protocol (RFC 5321): a
// server for the receiver (port 25), submission (587/465) and LMTP roles, a
// client, and the types both share (Error, EnhancedCode, MailOptions,
// RcptOptions).
//
// # Server quick start
//
// A Backend opens a Session per connection; the Session answers MAIL, RCPT
// and the message stream with nil or an *Error:
//
//	srv := &smtp.Server{
//		Addr:      ":25",
//		Hostname:  "mx.example.com",
//		Backend:   &smtp.Receiver{Store: store}, // deliver into a mailbox.Store
//		TLSConfig: tlsConfig,                    // enables STARTTLS
//	}
//	log.Fatal(srv.ListenAndServe())
//
// Every limit has a safe default (see the Default constants); a negative
// value turns a limit off. Shutdown is graceful (421 to idle clients,
// messages in flight finish), Close is immediate.
//
// # Extensions (server side)
//
//	RFC 5321     SMTP: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY (252) HELP; EXPN answered 502
//	RFC 2920     PIPELINING: the replies to a group leave in one write
//	RFC 6152     8BITMIME
//	RFC 6531     SMTPUTF8: UTF-8 addresses only with the SMTPUTF8 parameter (553 5.6.7)
//	RFC 1870     SIZE: 64-bit, checked at MAIL and enforced while reading
//	RFC 2034     ENHANCEDSTATUSCODES on every reply but the greeting and EHLO
//	RFC 3207     STARTTLS: pipelined plaintext discarded, new Session afterwards
//	RFC 8314     implicit TLS (ServeTLS, ListenAndServeTLS)
//	RFC 4954     AUTH, never offered in plaintext unless AllowInsecureAuth; MAIL AUTH= parameter
//	RFC 4616     PLAIN, and LOGIN (PasswordAuthSession)
//	RFC 7677     SCRAM-SHA-256, and CRAM-MD5 of RFC 2195 (SecretAuthSession)
//	RFC 7628     OAUTHBEARER, and XOAUTH2 (TokenAuthSession)
//	RFC 3030     CHUNKING (BDAT) and BINARYMIME, streamed to the Session across chunks
//	RFC 3461     DSN: RET, ENVID, NOTIFY, ORCPT parsed into MailOptions/RcptOptions
//	RFC 8689     REQUIRETLS (advertised and accepted only over TLS)
//	RFC 9422     LIMITS RCPTMAX
//	RFC 2033     LMTP (ModeLMTP): LHLO, one reply per recipient (LMTPSession)
//	RFC 6409     submission (ModeSubmission): AUTH before MAIL
//	custom       Extension: extra EHLO keywords, commands (XCLIENT) and parameters
//
// # Client quick start
//
//	c, err := (&smtp.Dialer{Security: smtp.StartTLSRequired}).Dial(ctx, "smtp.example.com:587")
//	if err != nil { ... }
//	defer c.Close()
//	if err := c.Login(ctx, "bob", "secret"); err != nil { ... } // SCRAM-SHA-256 > PLAIN > LOGIN
//	results, err := c.Send(ctx, "bob@example.com", nil,
//		[]smtp.Recipient{{Address: "jim@example.org"}, {Address: "sara@example.net"}}, message)
//
// The client pipelines MAIL, the RCPTs and DATA (or the first BDAT chunk)
// into one write when the server offers PIPELINING, streams the body
// (dot-stuffed DATA or BDAT chunks, never buffered whole), returns a
// verdict per recipient, refuses to send credentials in plaintext except to
// loopback, and discards bytes buffered before a STARTTLS handshake. Every
// negative reply is an *Error. [Client] lists the extensions it speaks;
// [Dialer] holds the timeouts of RFC 5321 §4.5.3.2 as defaults.
//
// # Security
//
// The message body ends only at CRLF.CRLF. A bare CR or LF in DATA is
// refused with 554 5.6.0 after the real end of the data (or normalised to
// CRLF with NormalizeBareLineEndings), which closes SMTP smuggling. Limits
// are enforced while reading; an oversized or refused DATA or BDAT chunk is
// read to its end so the conversation stays in step. Errors that are not
// *Error are logged and answered 451 4.3.0, so internal text never reaches
// the client. A panic in a Session is recovered, logged and answered 421.
// Wire traces (LevelTrace) never show AUTH payloads or message bodies.
//
// # Concurrency
//
// A Server is safe for concurrent use. Each connection is served by one
// goroutine, which owns its Session: the server never calls a Session
// concurrently. Backends and shared state behind Sessions must be safe for
// concurrent use. An idle connection holds no buffers (about 6 KiB in all,
// see BenchmarkIdleConnMemory).
package smtp
