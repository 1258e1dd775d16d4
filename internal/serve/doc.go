// Package serve is the connection lifecycle shared by the protocol servers
// (smtp, pop3, imap): listener tracking, the accept loop with back-off on
// temporary errors, BaseContext/ConnContext, connection tracking with
// total and per-IP limits, graceful Shutdown, immediate Close and the
// ErrServerClosed rule, all as net/http does them.
//
// What differs between protocols stays in each protocol's package: the
// greeting, what a client over a limit is told, how an idle connection is
// told to go (Conn.Wake), how it is torn down (Conn.Abort), connection
// states and the goodbye after a panic.
//
// | Behaviour                 | As in net/http                               |
// |---------------------------|----------------------------------------------|
// | Accept back-off           | timeouts, Temporary(), EMFILE, ENFILE: 5 ms doubling to 1 s |
// | Shutdown                  | stop accepting, wake idle conns, wait or ctx  |
// | Close                     | close listeners and every connection         |
// | Serve after Shutdown/Close| closes the listener, returns ErrClosed       |
// | Panic in a connection     | recovered and logged with its stack          |
//
// A Server is safe for concurrent use.
package serve
