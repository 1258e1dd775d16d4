// Package imap implements IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051):
// a [Server] on any mailbox.Store, a [Client], and what both share: the
// value types of the protocol (sequence and UID sets, flags, envelopes,
// body structures, section specs, search keys, response codes) and the
// [Error] type that carries a tagged NO, BAD or BYE.
//
// # Server quick start
//
//	srv := &imap.Server{Store: store, TLSConfig: tlsConfig} // store: a mailbox.Store, e.g. maildir
//	log.Fatal(srv.ListenAndServe(":143"))
//
// The server, not the store, owns sequence numbers, each session's view of
// its selected mailbox and the unsolicited EXISTS/EXPUNGE/FETCH responses:
// a change made by any session or protocol reaches every selected session,
// and IDLE sessions hear it at once. A session that sent NOTIFY (RFC 5465)
// hears, even between commands, of the changes it asked for: STATUS for
// other mailboxes, LIST for created, renamed, deleted and (un)subscribed
// ones, EXISTS/EXPUNGE/FETCH for the selected one; a bounded queue per
// session ends in "* OK [NOTIFICATIONOVERFLOW]" rather than holding up the
// store. [Server] lists the RFCs and extensions it implements;
// capabilities are derived from them, the configuration and the store's
// optional interfaces. Package imap/imaptest runs one in a test.
//
// # Client quick start
//
//	c, err := imap.DialStartTLS(ctx, "imap.example.com:143", nil)
//	if err != nil { ... }
//	defer c.Close()
//	if err := c.Login(ctx, "sara", "secret"); err != nil { ... }
//	if _, err := c.Select(ctx, "INBOX", nil); err != nil { ... }
//	all, _ := imap.ParseNumSet("1:*")
//	for msg, err := range c.UIDFetch(ctx, all, &imap.FetchOptions{Envelope: true, Flags: true}) { ... }
//
// [Client] lists what it supports. A Client is synchronous and not safe
// for concurrent use; every call takes a context.
//
// The wire codec lives in imap/internal/wire, modified UTF-7 in
// internal/utf7 and the MIME parser in internal/mime. The value
// types are declared beside the codec (which cannot import this package)
// and appear here as aliases: imap.NumSet and the codec's NumSet are one
// type.
//
// # Value types
//
//	| Specification            | Status                                          |
//	|--------------------------|-------------------------------------------------|
//	| RFC 3501 IMAP4rev1       | sequence sets, flags, ENVELOPE, BODYSTRUCTURE    |
//	| RFC 9051 IMAP4rev2       | same, plus rev2 response codes                   |
//	| RFC 5530 response codes  | all codes as ResponseCode constants              |
//	| RFC 5182 SEARCHRES       | "$" in NumSet (NumSet.SearchRes)                 |
//	| RFC 6154 SPECIAL-USE     | mailbox attribute constants                      |
//	| RFC 4315 UIDPLUS         | APPENDUID, COPYUID, UIDNOTSTICKY codes           |
//	| RFC 7162 CONDSTORE       | HIGHESTMODSEQ, NOMODSEQ, MODIFIED codes          |
//	| RFC 5267 CONTEXT         | NOUPDATE code (CodeNoUpdate)                     |
//	| RFC 5465 NOTIFY          | NOTIFICATIONOVERFLOW, BADEVENT codes             |
//
// # What SEARCH costs
//
// The server evaluates SEARCH over the store's message list, unless a
// mailbox.Searcher answers. Keys on flags, dates, sizes and UIDs cost
// nothing per message beyond the list. Keys on contents (header fields,
// BODY, TEXT, SENT*) read each message once: up to 1 MiB it is read whole
// (in one call when the store implements mailbox.MessageReader, as the
// Maildir store does with one openat(2), one pread(2) and a close(2)) into
// a buffer reused from message to message, else its header is read and its
// text parts streamed. BODY and TEXT first look for the string in the
// message's own octets, lower-cased eight at a time (with quoted-printable
// soft line breaks taken out); the text parts are decoded (transfer
// encoding, charset, through the MIME structure kept in a
// mailbox.MetadataCache) only when the string may be there or the text
// cannot be judged from the octets: base64, a charset other than UTF-8
// and US-ASCII, 8-bit octets, or quoted-printable the decoder could refuse
// or whose escapes give a character of the string. A miss in such a plain
// message costs the read and a few passes over its octets, and allocates
// nothing.
//
// On a mailbox of 256 messages or more, content keys are evaluated by up
// to GOMAXPROCS workers (at most 8), each with its own buffers, on chunks
// of 64 messages listed by the connection's goroutine, which merges the
// results in UID order: the answer, and the error of a failing message
// (the first in UID order), are those of a serial search. A search holds
// per worker one message, its lower-cased copy and its decoded text, and
// at most two chunks per worker; messages larger than 1 MiB, whose
// decoded text may reach 16 MiB, are evaluated one at a time. The workers
// stop after an error or when the connection's context is cancelled
// (Server.Close, Shutdown), and are gone before the command answers.
//
// # What FETCH costs
//
// FETCH reads only what the items need: FLAGS, UID, sizes and dates come
// from the store's message list; ENVELOPE and BODYSTRUCTURE from the
// mailbox.MetadataCache when the store keeps one; header sections read
// the header alone. A whole message (BODY[], RFC822) is opened once and
// streamed into a 64 KiB write buffer shared by the responses, so a
// mailbox of small messages goes out in few write(2) calls; one of 256
// KiB or more goes from the store's file to the socket with sendfile(2)
// (Linux, plain TCP) when the reader Open returns exposes its descriptor
// (Fd() uintptr), as the Maildir store's does. On the Maildir store a
// message then costs an openat(2), one preadv(2) and a close(2). Other
// sections up to 1 MiB are read whole once and served from memory.
//
// A FETCH of message data from 32 messages or more times the first 8 and
// then overlaps the store's work with the writing, in one of two ways.
// The output is that of a plain loop, a message expunged meanwhile
// included; helpers stop, and every handle they opened is closed, when
// the FETCH ends for any reason or the connection's context is cancelled.
//
//   - When each took 50 µs or more (a store that waits on a network or a
//     disk rather than on the CPU), 4 workers fetch the next messages
//     ahead, at most 8 messages, 8 open handles and 1 MiB of message data
//     in flight, while the connection's goroutine writes them in order.
//   - When each took 2 µs or more (the Maildir store: three system calls
//     per message) and a CPU is to spare (at most GOMAXPROCS/2 FETCHes
//     do this at once), one helper shares the work: it takes the newest of up to 32 queued messages (reading those
//     up to 32 KiB, opening the larger ones), while the connection's
//     goroutine fetches the oldest itself unless the helper already has.
//     Neither waits for the other, so the FETCH takes about a third less
//     time for up to 15 % more CPU (often none): 10,000 Maildir messages
//     of 4 KiB in 32 to 43 ms instead of 52 to 57 on 2 CPUs
//     (BenchmarkFetchShared).
//
// A store answering from memory in about a microsecond starts neither.
//
// # Sequence sets and hostile input
//
// A [NumSet] is kept as the ranges the peer sent. Nothing expands a range
// into memory: [NumSet.Contains] tests membership, [NumSet.Normalize]
// resolves "*" against the mailbox size, sorts and merges, and
// [NumSet.All] iterates numbers bounded by the mailbox size, so
// "1:4294967295,1:*" repeated a thousand times costs what the mailbox
// holds, not four billion steps.
//
// All types are plain values; they are safe for concurrent reads.
package imap
