// Package maildir is the durable mail store of Posthorn: one Maildir++ tree
// per user on the local file system, shared with other Maildir tools (mutt,
// mbsync, Dovecot, procmail-style MDAs), with an index per folder for UIDs,
// MODSEQs, keywords and tombstones. It implements mailbox.Store.
//
// # Quick start
//
//	users := new(maildir.Users)
//	users.Add("jim", "secret", "jim@example.org")
//	store := &maildir.Store{Root: "/var/mail/posthorn", Users: users}
//	uid, err := mailbox.Deliver(ctx, store, "jim", msg, nil)
//
// Store.Users can be any [Directory]; [ReadPasswdFile] loads a Dovecot-style
// passwd-file ({PLAIN}, {BLF-CRYPT} and {SHA512-CRYPT}).
//
// # Layout on disk
//
//	Root/<user>/                  INBOX: cur/ new/ tmp/
//	Root/<user>/.Work.Reports/    folder "Work/Reports" (Maildir++), with a maildirfolder marker
//	Root/<user>/posthorn-long/<hash>/  folders whose directory name would pass 255 bytes
//	<folder>/posthorn-index       the index: an append-only log with a CRC per record
//	<folder>/posthorn-meta        cached parsed metadata (mailbox.MetadataCache)
//	<folder>/posthorn-lock        flock(2) around index writes and scans
//	<folder>/posthorn-specialuse  the RFC 6154 attribute of the folder, if any
//	Root/<user>/posthorn-uidvalidity, posthorn-subscriptions, *.lock
//
// Folder names are UTF-8 in the API and modified UTF-7 (RFC 3501 §5.1.3) on
// disk, "/" becoming the Maildir++ separator ".". A "." inside a level is
// written "&AC4-", the modified UTF-7 encoding of U+002E, so it round-trips
// and other tools decode it to ".". Directories whose names are not modified
// UTF-7 (raw UTF-8 from some tools) are not listed: no name could address
// them without aliasing another. Message files are named
// "<time>.M<usec>P<pid>Q<n>R<rand>.<host>,S=<size>[:2,<flags>]". The info
// letters are D (\Draft), F (\Flagged), P ($Forwarded), R (\Answered), S
// (\Seen) and T (\Deleted), kept in ASCII order; letters we do not know
// (Dovecot's keyword letters) survive our renames. Other keywords live only
// in the index. A message without flags stays in new/; any flag change moves
// it to cur/.
//
// # Durability and crashes
//
// Append writes the message into tmp/, fsyncs it, renames it into new/ (or
// cur/), fsyncs that directory, appends the index record and fsyncs the
// index before it returns the UID. Appends that arrive together share the
// directory and index fsyncs (group commit). A crash before the index record
// leaves a file without a UID, which the next scan adopts with a fresh UID;
// a crash inside the record leaves a torn last record, cut off at the next
// load. The index is an append-only log (see index.go for the record
// format), compacted by writing a snapshot to a new file, fsyncing it and
// renaming it over the old one, so it loads after a crash at any instant. A
// checksum failure anywhere but the last record, a missing index or a
// contradiction (a UID going backwards) makes the folder rebuild its index
// from the files with a new UIDVALIDITY: UIDs are never reused wrongly.
//
// # Flag changes are written behind
//
// SetFlags changes the flags in memory, appends one index record saying
// what each message's flags now are (with their MODSEQ and keywords),
// publishes the FlagsChanged event and returns: it renames no file. A
// per-folder flusher goroutine then renames the message files to carry
// their flags (":2,<letters>", moving files out of new/), in batches of 64
// renames under the folder's lock, letting waiting operations in between
// batches, and appends one record saying which files now carry their
// flags. It starts when a change leaves files to rename and ends when none
// are left, so an idle folder holds no goroutine. It begins renaming once
// the folder has had no flag change for 50 ms, and at the latest a second
// after it started: a burst of changes is renamed after it rather than
// competing with it; while changes keep coming, it pauses after each batch
// as long as the batch took. Several changes of a message before its turn cost
// one rename; a change undone before its turn (+FLAGS then -FLAGS, a
// message marked read and then unread) costs none. Open, ReadMessage, copies, moves
// and expunges always use the name the file has on disk (the flusher
// changes it under the lock); a copy or move first renames its waiting
// sources. In another process sharing the tree, an Open that misses a file
// the flusher just renamed catches up with the index and opens it again,
// holding the lock file so that it cannot be renamed once more meanwhile.
//
// The record of a change of system flags is not fsynced (as Dovecot does
// by default; a change of keywords, which only the index keeps, is). The
// index always says both the name we last gave each file and the flags it
// should carry, so after a crash at any instant the next load finds every
// change that SetFlags acknowledged (but, after a power loss, the last
// seconds of them) and reconciles each waiting message with its file: a
// file still under the recorded name is renamed again (our change wins); a
// file carrying exactly the wanted flags was renamed by us just before the
// crash (recorded, no event); a file under any other name was renamed by
// another program after our last rename of it, and that program's flags
// win, as for any outside change (a FlagsChanged event, a new MODSEQ). The
// same holds while we run: a file another program renames while our change
// of it waits keeps that program's flags. An index rebuilt from the files
// (a corrupt index) loses the changes still waiting, as it loses keywords.
// The records of write-behind changes (W and K in index.go) are newer than
// the index format of Posthorn versions before them, which take them for
// corruption and rebuild the index: processes sharing a tree must all know
// them.
//
// Write-behind is the default, and the only mode: an IMAP client waits for
// the index record only, not for one renameat(2) per message (about 10 µs
// each, serialised by the kernel within a directory, so "STORE 1:*
// +FLAGS (\Seen)" on 10,000 messages took over 0.1 s), and the renames
// are fewer. Every operation of this package sees the new flags at once;
// what waits is only what other Maildir programs read from the names:
// about 50 ms after the last change, at most about a second while changes
// go on, plus the renames themselves. A program that hands the directory
// to another tool while it keeps the folders open (a backup, mbsync, a
// migration) calls Store.Flush, or Flush on a Mailbox (see Flusher); the
// close of the last handle on a folder flushes it too.
//
// A flush costs one renameat(2) per message whose file name changes, and
// nothing else per message: new/ and cur/ are held open, the new name is
// built in a reused buffer, and the record is one per batch.
//
// Reading a message costs, on Linux, one openat(2) (through new/ or cur/,
// held open; with O_NOATIME where allowed, so reads write no inode), one
// pread(2) per read (one for a message read whole, as FETCH BODY[] and
// RETR do) and one close(2), and allocates one small reader. Open trusts
// the size in the index rather than fstat(2)ing the file (it does for
// files of 64 KiB and more): the read that reaches the end asks for one
// octet more (into the room the caller's buffer has past the end, else
// with preadv(2) into a second buffer), so a file another program made
// shorter or longer fails that read with a "changed on disk" error rather
// than giving other octets than MessageInfo.Size announced. The
// reader exposes its descriptor (Fd), which the IMAP server hands to
// sendfile(2) for large messages. ReadMessage (mailbox.MessageReader, what
// IMAP SEARCH reads messages with) makes the same three calls into the
// caller's buffer and allocates nothing; a file not where the index says,
// or not of the indexed size, goes through Open.
//
// UIDVALIDITY values come from a per-user counter that is at least the
// current Unix time, so they are never reused for a name, even after delete
// and create or a lost counter.
//
// # Outside changes
//
// Files dropped into new/ or cur/, renamed with other flags, or deleted by
// other programs are noticed from the mtimes of new/ and cur/: every
// operation but Open stats the index and both directories (three stat calls)
// and rescans when something changed, giving new files UIDs and publishing
// MessagesAdded, FlagsChanged and MessagesExpunged events. Open trusts the
// index, and catches up only when the UID is unknown or its file is not
// where the index says. A file whose flag change waits for the flusher is
// told from one renamed by another program by the name the index recorded
// (see "Flag changes are written behind"). Because an mtime has a coarse
// tick, a directory whose mtime is less than two seconds older than the
// scan that read it is
// rescanned until it has settled, at most once a second and at most a tenth
// of the time (a rescan of an unchanged 100,000-message folder reads 100,000
// names: about 0.1 s). While an account is watched (IMAP IDLE), the folders
// open in the process and INBOX are polled every Store.PollInterval (2 s by
// default). So an outside delivery is announced within PollInterval to a
// watcher, or at the next access otherwise. Keywords cannot be set by
// outside programs (Maildir has no place for them) and are lost when an
// index is rebuilt.
//
// # Line endings
//
// Every message is kept in CRLF form, as IMAP and POP3 send it, so that
// MessageInfo.Size is exactly what Open returns (POP3 STAT and LIST, IMAP
// RFC822.SIZE and literals agree) and Open stays a plain read of the file.
// Append stores what it is given. A file another program drops into the tree
// (procmail and fetchmail MDAs write bare LF) is read once when a scan
// adopts it (rebuilding the index of 100,000 1 KiB messages takes about a
// second, half of it reading them). If it holds a bare LF or a bare CR, it
// is rewritten with CRLF line endings before it gets a UID: written to tmp/,
// fsynced, renamed into the same directory under its name with ",S=<new
// size>" set (added, or its value fixed; the flags after ":2," kept), the
// original removed, the directory fsynced, then indexed. The new name is a
// function of the old one and the contents, so a crash between the rename
// and the removal leaves a duplicate that the next scan recognises and
// removes. We chose this over keeping the file and a virtual CRLF size
// (Dovecot's ",W=") because Open then needs no conversion on every read and
// io.ReaderAt offsets stay file offsets. The costs: the POP3 UIDL of such a
// message (its base name) changes with the ",S=" field, and other tools see
// CRLF files, as they already do for messages appended over IMAP. A file
// that cannot be converted (unreadable, or renamed meanwhile) is left for
// the next scan; one whose name has no room for the ",S=" field (255
// bytes at most) is adopted as it is.
//
// # Concurrency
//
// Every Store, Account and Mailbox is safe for concurrent use. All handles
// of one tree in a process share one in-memory index per folder, through a
// process-wide registry keyed by path; events reach the Bus of every Store
// that has the tree open. Several processes may share a tree: index writes,
// installs of new files and scans hold the folder's flock, and each process
// catches up with the others' index records before it changes or reads
// anything, publishing their changes to its own watchers (so sessions in
// another process see them at their next access, or within PollInterval
// while watching). Account changes (create, delete, rename, subscriptions)
// hold a per-user flock; a rename moves one folder directory at a time, so a
// crash in the middle of renaming a folder with children leaves some of them
// under the old name (no message is lost). The POP3 maildrop lock is a
// non-blocking flock, so it excludes other processes too. Not supported:
// network file systems without working flock(2), and sharing a tree between
// processes on systems other than Unix (the package builds there, for one
// process).
//
// # Limits
//
// Store.QuotaStorage and Store.QuotaMessages cap each user's mail over all
// mailboxes (mailbox.ErrOverQuota for appends and copies; moves take no
// room); every Account is a mailbox.Quotaer.
//
// Store.MaxMessageSize (64 MiB by default) caps Append with
// mailbox.ErrTooLarge while the message is read; user names are at most
// MaxUserLength bytes; mailbox names of up to mailbox.MaxNameLength bytes
// work (past 255 bytes of directory name they live in posthorn-long/);
// cached metadata is at most 16 MiB per message; the last UID of a mailbox
// is 2³²-2, after which Append fails (rename the mailbox and create it again
// for a new UIDVALIDITY).
//
// # Safety
//
// Mailbox names go through mailbox.ValidName and are encoded, so no name
// holds "/" or a ".." component on disk; user names may not hold "/", "\",
// control characters or start with ".". Every file access inside a user's
// tree goes through an os.Root, so a symbolic link planted in the tree
// cannot lead outside it; folder directories, cur/ and new/ that are
// symbolic links are not used, message files are opened with O_NOFOLLOW, and
// only regular files are taken as messages.
//
// # Parsed metadata
//
// Every Mailbox is a mailbox.MetadataCache: the IMAP server keeps each
// message's parsed MIME structure there after the first FETCH that needs it,
// in posthorn-meta (offsets in memory, data read through a read-ahead
// window: all 100,000 entries of a folder in about 0.1 s). With
// Store.ParseOnDelivery, Append parses and caches it at once. Copies and
// moves carry it; expunges drop it.
//
// # Memory
//
// A message costs 48 bytes in memory plus its file name in one arena per
// folder (about 110 bytes in all, 128 once the metadata cache is in use);
// keywords are interned sets. The list of files waiting for the flusher
// holds at most two 4-byte UIDs per message. Opening a folder another handle holds costs
// three stat calls; a cold open reads the index (and scans the directories
// only when their mtimes say so).
//
// # Standards
//
//	Maildir (D. J. Bernstein), Maildir++ (Courier)     folders, tmp/new/cur, info flags
//	RFC 3501 §5.1.3 modified UTF-7                     folder names on disk
//	RFC 9051 §2.3.1.1 UIDs, UIDVALIDITY                 index
//	RFC 7162 CONDSTORE/QRESYNC                          MODSEQ per change, tombstones (the last 65,536)
//	RFC 6154 special-use                                stored per folder
//	RFC 6851 MOVE                                       Mover: rename into the destination, then expunge
//	RFC 4315 UIDPLUS                                    Copier (hard links) and Mover return UID maps
//	RFC 8514 SAVEDATE                                   kept per message
//	RFC 9208 QUOTA                                      Quotaer: Store.QuotaStorage, Store.QuotaMessages per user
//	RFC 1939 §7 UIDL                                    UIDLer: the Maildir base name, stable across index rebuilds
package maildir
