// Package sasl implements the server and client sides of the SASL
// mechanisms the mail protocols use (RFC 4422), for SMTP AUTH (RFC 4954),
// POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC 9051).
//
// A [Server] is one exchange: the protocol layer decodes each client
// response from base64 and passes it to [Server.Next], then encodes the
// returned challenge. A [Client] is the mirror image. Mechanisms never see
// base64 or the "*" cancel line; the protocol layer handles both
// ([ErrCanceled]).
//
// # Support
//
//	| Mechanism      | Reference          | Server | Client | Notes                                      |
//	|----------------|--------------------|--------|--------|--------------------------------------------|
//	| PLAIN          | RFC 4616           | yes    | yes    | authzid supported                          |
//	| LOGIN          | draft-murchison-sasl-login | yes | yes | username as initial response accepted |
//	| CRAM-MD5       | RFC 2195           | yes    | yes    | plaintext-equivalent secret                |
//	| SCRAM-SHA-256  | RFC 5802, RFC 7677 | yes    | yes    | no channel binding (gs2 "n" and "y"); secret or stored keys; SASLprep via PRECIS OpaqueString (RFC 8265) |
//	| SCRAM-SHA-256-PLUS | RFC 5802 §6    | no     | no     | channel binding not implemented            |
//	| XOAUTH2        | Google/Microsoft   | yes    | yes    | error status as a challenge                |
//	| OAUTHBEARER    | RFC 7628           | yes    | yes    | error JSON, then "\x01" from the client    |
//
// # Errors
//
// Bad credentials give [ErrAuthFailed] (or whatever the application's
// callback returned, unchanged). A malformed message gives an [*Error], which
// matches [ErrMalformed] with errors.Is. The protocol layer maps them to its
// replies; neither is ever panicked on hostile input.
//
// # Security
//
// Secrets and proofs are compared in constant time. The SCRAM server hides
// whether a user exists: when the secret lookup fails with [ErrAuthFailed],
// it continues with a made-up salt and fails at the proof. PLAIN and LOGIN
// send the password in the clear and belong behind TLS; deciding that is
// the protocol layer's job.
//
// # Concurrency
//
// A Server or Client value is one exchange and is not safe for concurrent
// use. The constructors may be called concurrently.
package sasl
