// Package relay is outbound mail delivery for Posthorn: a durable queue that
// accepts messages from the submission port (or any program) and delivers
// each recipient to its domain's mail exchangers, with retries, TLS policy
// and delivery status notifications. It is the "relay" of a mail server,
// as a package any Go program can embed.
//
// # Pieces
//
//   - [Queue] delivers what a [Spool] holds. [DirSpool], on disk, is the
//     default: a message is accepted only once its bytes and envelope are
//     fsynced, and each recipient's state is recorded durably before the
//     queue moves on, so a process killed at any moment loses no accepted
//     message (see TestCrashRecovery). Its fsyncs are group commits:
//     concurrent submissions share fsync rounds, so accepted messages per
//     second grow with the number of concurrent submitters, and a failed
//     round fails each of its messages with a temporary error (451).
//   - [SMTPTransport] delivers to remote domains: MX lookup with
//     [github.com/posthorn/posthorn/mx] (RFC 5321 §5), each host and
//     address in order, one transaction per domain with pipelining, BDAT
//     and SMTPUTF8 as the receiver offers them.
//   - [MailboxTransport] delivers local domains into a mailbox store.
//   - [Submission] is an smtp.Backend for the submission port (RFC 6409):
//     AUTH required, senders limited to the addresses a user owns,
//     accepted mail queued. It is never an open relay.
//
// # Quick start
//
//	q := &relay.Queue{
//		Spool:     &relay.DirSpool{Dir: "/var/spool/posthorn"},
//		Transport: &relay.SMTPTransport{Resolver: &mx.Resolver{}},
//		Local:     &relay.MailboxTransport{Store: store, Recipients: store},
//		IsLocal:   func(d string) bool { return d == "example.org" },
//		Hostname:  "mail.example.org",
//	}
//	if err := q.Start(ctx); err != nil { ... }
//	defer q.Shutdown(ctx)
//	srv := &smtp.Server{Mode: smtp.ModeSubmission, TLSConfig: tlsConfig,
//		Backend: &relay.Submission{Queue: q, Auth: store, Recipients: store, IsLocal: q.IsLocal}}
//	srv.ListenAndServe()
//
// # Behaviour
//
//	Retries           DefaultSchedule: 5 min, doubling to every 4 h; give up after 5 days (RFC 5321 §4.5.4.1)
//	4xx, no answer    next MX host now, then later by the schedule
//	5xx               permanent for that recipient; one DSN per message
//	DSN               RFC 3464 multipart/report; message/global-delivery-status for SMTPUTF8 (RFC 6533);
//	                  NOTIFY=NEVER/SUCCESS/FAILURE/DELAY, RET=HDRS/FULL, ENVID, ORCPT honoured (RFC 3461);
//	                  "delayed" notice after DelayNotice (4 h); never a DSN for a DSN (null sender)
//	Loops             more than MaxHops (50) Received: fields is refused 554 5.4.6; the
//	                  "we are an MX" rule comes from mx.Resolver.LocalNames/LocalAddrs
//	TLS               opportunistic by default (RFC 7435); per-domain TLSRequired or TLSVerified;
//	                  REQUIRETLS messages (RFC 8689) only over verified TLS to servers that offer it
//	Concurrency       Workers (16) overall, PerDomain (4) per destination domain
//	Durability        250 only after the message and envelope are fsynced (DirSpool: group commit,
//	                  one round of file and directory fsyncs shared by concurrent submissions)
//	Shutdown          in-flight deliveries finish or stay queued; Start resumes
//
// # Guarantees and limits
//
// Delivery is at least once: a receiver's 250 is recorded durably before
// the queue moves on, but a crash between the 250 and that record makes the
// message go out again after restart (the window every MTA has). One
// process at a time may use a DirSpool directory.
//
// Queue, DirSpool and the transports are safe for concurrent use.
package relay
