// Package mime is a streaming MIME parser for the protocol servers. It
// reads a message once from an io.Reader and returns a [Part] tree that
// records, for every part, where its header and body lie in the message
// (offsets and sizes), its line count and its MIME fields, plus the
// envelope of the message and of every message/rfc822 part. Sections
// are then served by offset from the stored message, never re-parsed.
//
//	| Specification       | Status                                                   |
//	|---------------------|----------------------------------------------------------|
//	| RFC 5322            | header fields, folding, addresses with groups, dates      |
//	| RFC 2045            | Content-Type, -Transfer-Encoding, -ID, -Description, MD5 |
//	| RFC 2046            | multipart boundaries (nested), preamble/epilogue,         |
//	|                     | multipart/digest default type, message/rfc822             |
//	| RFC 2047            | encoded words (B and Q) in unstructured text and phrases  |
//	| RFC 2183            | Content-Disposition with parameters                       |
//	| RFC 2231            | parameter continuations, charsets and languages           |
//	| RFC 3066 / 2557     | Content-Language, Content-Location                        |
//	| RFC 6532            | UTF-8 header values kept as is                            |
//	| charsets            | everything golang.org/x/text knows (htmlindex, ianaindex) |
//
// # Limits and memory
//
// The parser keeps only a bufio buffer and the header fields it
// interprets: a 20 MiB attachment costs no more than a buffer. Nesting
// deeper than [Options.MaxDepth] (default 100) or parts beyond
// [Options.MaxParts] (default 10,000) are not parsed further: the rest
// becomes the body of an opaque part (Part.Opaque). A header block longer
// than [Options.MaxHeaderBytes] (default 256 KiB) is still measured to
// its end so offsets stay exact, but fields past the limit are ignored.
// Malformed input never fails a parse; only read errors do.
//
// # Counting like Dovecot
//
// Where the RFCs leave room, the parser counts as Dovecot 2.3 does, and
// an interop test in imap/internal/wire compares sizes, line counts,
// sections and BODYSTRUCTURE with Dovecot's on hand-written and
// generated messages: a delimiter is recognised by its prefix
// (RFC 2046 §5.1.1), the CRLF before it belongs to it, except after
// another delimiter line; line counts are LF counts; header values are
// unfolded to single spaces; x.1 of a leaf part is the part itself.
//
// # Caching
//
// [Marshal] encodes a parsed message compactly (versioned) so that a
// store can keep it in its index; [Unmarshal] restores it.
//
// All functions are safe for concurrent use; a Part is a plain value.
package mime
