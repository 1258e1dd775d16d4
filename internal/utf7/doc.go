// Package utf7 implements the modified UTF-7 encoding of IMAP mailbox
// names (RFC 3501 §5.1.3), used with IMAP4rev1 clients that have not
// enabled UTF8=ACCEPT or IMAP4rev2.
//
// | Specification        | Status                                        |
// |----------------------|-----------------------------------------------|
// | RFC 3501 §5.1.3      | Encode, strict Decode (canonical forms only)  |
// | RFC 9051 §5.1.3      | same encoding, for rev1 compatibility         |
// | Maildir++ folders    | EncodeSep/DecodeSep: "." written in BASE64    |
//
// Decode is strict: it rejects every form that Encode would not produce
// (raw 8-bit or control bytes, "&" without "-", base64 runs that encode
// printable ASCII, adjacent runs, non-zero padding bits, unpaired UTF-16
// surrogates). Hence Decode(s) succeeds only if Encode(Decode(s)) == s.
//
// The package is shared by the IMAP codec and the mailbox stores that
// keep folder names on disk in modified UTF-7.
//
// Functions are pure and safe for concurrent use.
package utf7
