// Package wire is the IMAP codec: a [Decoder] that reads IMAP syntax from
// a *bufio.Reader with methods named after the grammar rules of RFC 9051
// §9, an [Encoder] that writes it to a *bufio.Writer, a generic
// s-expression [Value] reader, and the ENVELOPE/BODYSTRUCTURE renderer
// fed by internal/mime. It knows nothing of connections or sessions.
//
// The protocol's value types (NumSet, Flag, Section, SearchKey,
// Envelope, BodyStructure, ...) are declared here, because package imap
// imports this one, and package imap re-exports them as aliases.
//
//	| Specification            | Status                                                    |
//	|--------------------------|-----------------------------------------------------------|
//	| RFC 3501 / RFC 9051 §9   | atoms, strings, literals, lists, flags, sets, dates,      |
//	|                          | sections, fetch atts, search keys, responses              |
//	| RFC 7888 LITERAL+/-      | {n+} parsed; LiteralMinus caps it at 4096 octets          |
//	| RFC 3516 BINARY          | literal8 ~{n}, BINARY[...] sections                       |
//	| RFC 6855 UTF8=ACCEPT     | UTF-8 quoted strings and mailbox names                    |
//	| RFC 3501 §5.1.3          | modified UTF-7 mailbox names when UTF8 is off             |
//	| RFC 4731/5182/5032/8514  | ESEARCH-free search keys: $, OLDER/YOUNGER, SAVED*        |
//	| RFC 7162 CONDSTORE       | MODSEQ search key, CHANGEDSINCE left to the caller        |
//
// # Decoder
//
// The decoder's error is sticky: boolean methods (Atom, SP, ...) report
// whether the rule matched without consuming anything else, Expect
// variants set the error when it did not, and after the first error every
// method fails. A command parses as one && chain followed by
// `return dec.Err()`.
//
// Limits are enforced while reading, before any allocation: MaxLine bytes
// per line (literal contents excluded), MaxLiteral octets per literal
// read into memory, MaxDepth nested parentheses (and NOT/OR nesting in
// search keys). A literal announced as {9999999999} fails at once with a
// *LiteralError and nothing is allocated.
//
// Synchronising literals: before the decoder reads a literal's contents
// it calls OnLiteral, where a server writes "+ go ahead" and flushes, or
// returns an error (such as an *imap.Error) to refuse it; the client then
// never sends the contents. APPEND streams its message with
// [Decoder.LiteralReader].
//
// # ENVELOPE and BODYSTRUCTURE
//
// Encoder.Envelope and Encoder.BodyStructure render from internal/mime's
// parse (cached or fresh) and give what Dovecot 2.3 gives for the same
// message, case of type names aside (TestDovecotBodyStructure): a
// missing Sender/Reply-To is From, absent fields are NIL and empty ones
// "", a missing domain is MISSING_DOMAIN, text parts always carry a
// charset, languages are lists, and RFC 2231 parameters reach IMAP4rev1
// clients as "name*" with continuations joined and UTF-8 clients
// decoded. Decoder.Envelope and Decoder.BodyStructure read them back
// for the client; Envelope gathers an envelope's strings in a reused
// buffer and cuts them from shared strings of at most 1 KiB (see
// [Envelope] on what a kept field keeps alive), and reads an envelope
// already wholly buffered, in the form servers send, in one pass over
// the buffer (FuzzDecodeEnvelope holds it to the general path).
//
// # Encoder
//
// Strings are written as atoms, quoted strings or literals, chosen by
// content (8-bit without UTF8, CR, LF, NUL or long → literal). Nothing is
// sent until Flush.
//
// Neither type is safe for concurrent use.
package wire
