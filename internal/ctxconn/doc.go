// Package ctxconn ties network connections to contexts and holds the small
// net.Conn helpers the protocol packages share.
//
//   - [Bind] makes the I/O of one client operation obey a context.Context.
//   - [PrefixConn] is a net.Conn that first returns bytes already read from the
//     underlying connection.
//   - [DiscardBuffered] throws away bytes a peer pipelined after STARTTLS/STLS.
//
// # Support
//
//	| Feature                                      | Reference            | Status |
//	|----------------------------------------------|----------------------|--------|
//	| Plaintext pipelined after STARTTLS discarded | RFC 3207 §4.2, CVE-2011-0411 | yes |
//
// # STARTTLS and pipelined bytes
//
// Bytes that a client sent after STARTTLS (or POP3 STLS) but before the TLS
// handshake were sent in plaintext and may have been injected by an attacker
// in the path. Our servers throw them away with [DiscardBuffered] and start
// the handshake on the raw connection; they are never read as commands and
// never fed to the handshake.
//
// # Concurrency
//
// A [PrefixConn] is safe for concurrent use, as a net.Conn must be. The done
// function returned by [Bind] must be called once, by the goroutine that
// called Bind.
package ctxconn
