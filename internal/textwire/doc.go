// Package textwire holds the line and dot codecs shared by the SMTP and POP3
// packages.
//
// It exists because net/textproto's DotReader is unfit for a mail server: it
// rewrites CRLF to LF and accepts a bare LF as a line end, so "\n.\n" ends a
// message (the SMTP smuggling family of bugs) and a DKIM signature over the
// body no longer verifies. The codecs here keep bytes exact.
//
// # Support
//
//	| Feature                                      | Reference            | Status |
//	|----------------------------------------------|----------------------|--------|
//	| Command lines ending in CRLF, length limit   | RFC 5321 §4.5.3.1.4  | yes    |
//	| Bare LF command line end (reported)         | RFC 5321 §2.3.8      | yes    |
//	| Dot-stuffed bodies, CRLF "." CRLF terminator | RFC 5321 §4.5.2      | yes    |
//	| Multi-line POP3 responses                    | RFC 1939 §3          | yes    |
//	| Bare CR/LF in bodies rejected or normalized  | RFC 5321 §2.3.8      | yes    |
//	| Text line and message size limits            | RFC 5321 §4.5.3.1.6  | yes    |
//
// # Security
//
// [DotReader] accepts only CRLF "." CRLF as the end of data, rejects bare CR
// and bare LF unless normalization is asked for, and enforces its size and
// line limits while reading, never after. When a limit is crossed it still
// consumes the input up to the real terminator before it reports the error, so
// the server can answer and the session stays in step. [DotWriter] never emits
// a bare CR or bare LF, so it cannot be used to smuggle a terminator.
//
// # Concurrency
//
// Readers and writers are not safe for concurrent use; they belong to the
// goroutine that owns the connection.
package textwire
