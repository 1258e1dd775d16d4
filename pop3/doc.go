// Package pop3 implements a POP3 server over a [mailbox.Store] and a POP3
// client.
//
// # Server
//
// [Server] serves each user's INBOX. It looks like net/http's Server:
// exported fields with safe defaults, ListenAndServe/Serve/ServeTLS,
// graceful [Server.Shutdown] and [Server.Close]. A session takes the store's
// POP3 maildrop lock at login (a second login gets -ERR [IN-USE]; IMAP and
// delivery keep working), snapshots the message list so message numbers are
// fixed for the session, and expunges the messages marked with DELE only at
// QUIT. A connection that drops, times out or is shut down deletes nothing;
// IMAP sessions see a QUIT's deletions as expunges. The messages RETR sent
// get \Seen for IMAP at QUIT, in one change, unless KeepUnseen is set.
//
// Sizes in STAT and LIST are MessageInfo.Size: the exact octets RETR sends
// when the stored message uses CRLF line endings, as the mailbox contract
// asks. UIDLs are UIDVALIDITY "." UID unless the mailbox implements
// [mailbox.UIDLer], so they are stable across sessions; a UIDLer that also
// has a method UIDLs(ctx, []mailbox.UID) ([]string, error), as the Maildir
// store does, is asked once for a whole UIDL listing.
//
// RETR streams the message file to the connection, dot-stuffed in large
// runs, and pipelined commands (RFC 2449) get their replies in shared
// writes: nothing is flushed until no command is waiting.
//
// "Leave a copy on the server" is the client's choice: a client that never
// sends DELE keeps everything on the server, and uses UIDL to know what it
// already downloaded ([Client.FetchNew] does exactly that).
//
// # Client
//
// [Dialer.Dial] connects with implicit TLS, STLS or in plaintext, reads the
// greeting and the capabilities, and returns a [Client] whose methods all
// take a context. RETR and TOP stream the message through an io.Reader with
// exact dot-unstuffing; lines may have any length.
//
// # Support
//
//	| Feature                                   | Reference      | Server | Client |
//	|-------------------------------------------|----------------|--------|--------|
//	| USER/PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT | RFC 1939 | yes | yes |
//	| TOP, UIDL                                 | RFC 1939 §7    | yes    | yes    |
//	| APOP                                      | RFC 1939 §7    | yes, when the authenticator is a mailbox.SecretAuthenticator | yes |
//	| CAPA, RESP-CODES, PIPELINING, EXPIRE, LOGIN-DELAY, IMPLEMENTATION | RFC 2449 | yes | yes (pipelined UIDL/LIST/RETR) |
//	| [IN-USE], [LOGIN-DELAY] codes             | RFC 2449 §8    | yes    | parsed |
//	| [SYS/TEMP], [SYS/PERM], [AUTH], AUTH-RESP-CODE | RFC 3206  | yes    | parsed |
//	| STLS                                      | RFC 2595       | yes    | yes    |
//	| Implicit TLS (port 995)                   | RFC 8314       | yes    | yes    |
//	| AUTH (SASL) with initial response, "*" cancel | RFC 5034   | yes    | yes    |
//	| PLAIN, LOGIN                              | RFC 4616       | yes    | yes    |
//	| CRAM-MD5, SCRAM-SHA-256                   | RFC 2195, RFC 7677 | with a SecretAuthenticator | yes |
//	| XOAUTH2, OAUTHBEARER                      | RFC 7628       | with a TokenAuthenticator | yes |
//	| UTF8 command and capability               | RFC 6856       | yes (no downgrading of messages) | yes |
//	| LANG                                      | RFC 6856 §3    | no     | no     |
//	| SCRAM-SHA-256-PLUS (channel binding)      | RFC 5802       | no     | no     |
//
// # Limits and security
//
// Commands are limited to 255 octets (RFC 2449 §4) and SASL lines to
// 12288; the autologout timer is 10 minutes (RFC 1939 §3). After too many
// bad commands or failed logins the server closes the connection, and it
// waits AuthFailureDelay before each -ERR [AUTH]. Credentials are refused
// on plaintext connections unless AllowInsecureAuth is set. Bytes pipelined
// after STLS are discarded, never read as commands. Passwords and SASL
// exchanges never reach the logs; wire transcripts are logged at
// [LevelTrace] with them replaced by "***".
//
// # Concurrency
//
// A Server is safe for concurrent use; each connection is served by its own
// goroutine, which owns all of that session's state. A Client is not safe
// for concurrent use.
package pop3
