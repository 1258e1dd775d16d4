// Package mailboxtest is the conformance kit of package mailbox: it checks
// that a [mailbox.Store] implementation behaves as the contract documents,
// the way testing/fstest checks an fs.FS.
//
// A store's author calls [Run] from a test with a function that makes a fresh
// store per case:
//
//	func TestConformance(t *testing.T) {
//		mailboxtest.Run(t, func(t *testing.T) mailboxtest.Fixture {
//			s := mystore.New(t.TempDir())
//			s.AddUser("kit", "password")
//			return mailboxtest.Fixture{Store: s, User: "kit", Password: "password"}
//		}, nil)
//	}
//
// Each case is a subtest named after the area it checks (Account/…, Names/…,
// Message/…, UID/…, Flags/…, ModSeq/…, Expunge/…, Events/…, Copy/…, Move/…,
// Maildrop/…, Close/…, Handle/…, Context/…, Auth/…, Recipient/…, Reopen/…,
// and the optional interfaces). A case reports every departure it finds
// with t.Errorf, followed by the rule of the contract it broke; it stops
// early only when a step it depends on fails. Cases that need an optional
// interface the store lacks, or a fixture field left empty, are skipped with
// the reason. Run them alone with go test -run 'Conformance/Flags/'.
//
// The kit uses only package testing: importing it adds no dependency.
//
// What the kit covers: UIDs strictly increasing and unique under concurrent
// appenders, never reused (also across reopen); UIDVALIDITY stable and never
// reused for a name; byte-exact round trips (8-bit, NULs, bare CR/LF, empty,
// a 20 MiB message streamed without being buffered by the kit); exact sizes;
// flags and keywords with canonicalisation and validation; returned slices
// not aliased; MODSEQ and HIGHESTMODSEQ, no-op changes, UNCHANGEDSINCE,
// expunge tombstones; copy and move through the store's fast paths and the
// generic helpers, which must agree; the mailbox tree (INBOX rules, parents,
// children, rename, delete to \Noselect, special use, subscriptions, invalid
// names); change events seen by a second handle before the change returns;
// the POP3 maildrop lock; closed handles; cancelled contexts; authentication
// and recipient lookup; durability across a reopen.
package mailboxtest
