#!/usr/bin/env python3
"""Interop check of the Posthorn IMAP server's NOTIFY (RFC 5465) with
Python's imaplib, which does not know the command: it is sent raw.

Usage: notify_interop.py HOST PORT USER PASSWORD
The account must hold a mailbox "news" with one message.
Session A asks for NOTIFY SET STATUS, gets the STATUS of "news" before
its OK, then, with no command in progress, an unsolicited STATUS when
session B appends to "news". Exits non-zero at the first difference.
"""
import imaplib
import sys


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))

a = imaplib.IMAP4(host, port)
check("NOTIFY" in a.capabilities, "capabilities %r" % (a.capabilities,))
a.login(user, password)
typ, data = a._simple_command("NOTIFY", "SET", "STATUS", "(personal (MessageNew MessageExpunge))")
check(typ == "OK", "NOTIFY SET: %s %r" % (typ, data))
typ, data = a._untagged_response(typ, data, "STATUS")
check(any(d.startswith(b"news (MESSAGES 1 UIDNEXT 2 ") for d in data), "STATUS before OK %r" % (data,))

b = imaplib.IMAP4(host, port)
b.login(user, password)
typ, data = b.append("news", None, None, b"Subject: pushed\r\n\r\nhello\r\n")
check(typ == "OK", "APPEND: %s %r" % (typ, data))

# A sends nothing: the STATUS must come by itself.
a.sock.settimeout(10)
line = a.readline()
check(line.startswith(b"* STATUS news (MESSAGES 2 UIDNEXT 3 "), "unsolicited %r" % (line,))

b.logout()
typ, data = a._simple_command("NOTIFY", "NONE")
check(typ == "OK", "NOTIFY NONE: %s %r" % (typ, data))
a.logout()
print("notify interop OK")
