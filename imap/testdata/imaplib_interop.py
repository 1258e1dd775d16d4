#!/usr/bin/env python3
"""Interop check of the Posthorn IMAP server with Python's imaplib.

Usage: imaplib_interop.py HOST PORT USER PASSWORD
The account must hold INBOX with the two messages the Go test appends.
Exits non-zero (with a message) at the first difference.
"""
import imaplib
import sys


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


def ok(res, what):
    typ, data = res
    check(typ == "OK", "%s: %s %r" % (what, typ, data))
    return data


host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
M = imaplib.IMAP4(host, port)
check("IMAP4REV1" in M.capabilities, "capabilities %r" % (M.capabilities,))
ok(M.login(user, password), "login")

# LIST and CREATE
ok(M.create("Archive"), "create")
data = ok(M.list(), "list")
names = [d.decode() for d in data]
check(any(n.endswith('"/" INBOX') for n in names), "list INBOX %r" % names)
check(any(n.endswith('"/" Archive') for n in names), "list Archive %r" % names)

# SELECT and FETCH
data = ok(M.select("INBOX"), "select")
check(data == [b"2"], "select count %r" % data)
data = ok(M.fetch("1:2", "(UID FLAGS RFC822.SIZE)"), "fetch")
check(len(data) == 2 and b"UID 1" in data[0], "fetch uid %r" % data)
data = ok(M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "fetch header")
check(data[0][1].strip() == b"Subject: first", "header fields %r" % data)
data = ok(M.fetch("2", "(BODY.PEEK[]<0.4>)"), "fetch partial")
check(data[0][1] == b"From", "partial %r" % data)
data = ok(M.uid("FETCH", "2", "(RFC822)"), "uid fetch rfc822")
check(data[0][1].endswith(b"second body\r\n"), "rfc822 %r" % data)

# SEARCH
data = ok(M.search(None, "SUBJECT", "second"), "search")
check(data == [b"2"], "search %r" % data)
data = ok(M.uid("SEARCH", "UNSEEN"), "uid search unseen")
check(data == [b"1"], "uid search unseen %r" % data)  # 2 was seen by the RFC822 fetch

# STORE, COPY, MOVE, EXPUNGE
data = ok(M.store("1", "+FLAGS", "(\\Flagged)"), "store")
check(b"\\Flagged" in data[0], "store response %r" % data)
ok(M.copy("1", "Archive"), "copy")
typ, data = M._simple_command("MOVE", "2", "Archive")
check(typ == "OK", "move %r" % data)
ok(M.store("1", "+FLAGS", "(\\Deleted)"), "store deleted")
ok(M.expunge(), "expunge")
data = ok(M.status("Archive", "(MESSAGES)"), "status")
check(b"MESSAGES 2" in data[0], "status %r" % data)
data = ok(M.select("INBOX"), "reselect")
check(data == [b"0"], "inbox empty %r" % data)

# APPEND
msg = b"From: py@example.org\r\nSubject: appended\r\n\r\nfrom python\r\n"
data = ok(M.append("INBOX", "(\\Seen)", None, msg), "append")
check(b"APPENDUID" in data[0], "appenduid %r" % data)
ok(M.noop(), "noop")

# IDLE (imaplib has no idle() before 3.14: speak it directly)
tag = M._new_tag()
M.send(tag + b" IDLE\r\n")
line = M.readline()
check(line.startswith(b"+"), "idle continuation %r" % line)
M.send(b"DONE\r\n")
line = M.readline()
check(line.startswith(tag + b" OK"), "idle done %r" % line)

ok(M.close(), "close")
M.logout()
print("imaplib interop OK")
