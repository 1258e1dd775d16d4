#!/usr/bin/env python3
"""CONTEXT=SEARCH (RFC 5267) and PARTIAL (RFC 9394) with Python's imaplib:
one connection keeps a SEARCH RETURN (UPDATE), another changes the
mailbox, and the first hears ESEARCH ADDTO/REMOVEFROM on NOOP.

Usage: context_interop.py host port user password
Prints "context interop OK" on success.
"""
import imaplib
import re
import sys

host, port, user, password = sys.argv[1:5]
a = imaplib.IMAP4(host, int(port))
a.login(user, password)
for cap in ("CONTEXT=SEARCH", "CONTEXT=SORT", "PARTIAL", "ESEARCH"):
    assert cap in a.capabilities, a.capabilities
a.select("INBOX")
b = imaplib.IMAP4(host, int(port))
b.login(user, password)
b.select("INBOX")


def esearch(conn, typ, data):
    assert typ == "OK", (typ, data)
    typ, lines = conn._untagged_response(typ, data, "ESEARCH")
    return [l.decode() for l in lines if l]


lines = esearch(a, *a._simple_command("UID", "SEARCH", "RETURN", "(UPDATE)", "UNSEEN"))
assert len(lines) == 1 and lines[0].endswith("UID ALL 1:3"), lines
tag = re.match(r'\(TAG "([^"]+)"\)', lines[0]).group(1)

lines = esearch(a, *a._simple_command("SEARCH", "RETURN", "(PARTIAL", "-1:-2)", "ALL"))
assert lines and lines[0].endswith("PARTIAL (-1:-2 2:3)"), lines

typ, _ = b.store("2", "+FLAGS", r"(\Seen)")
assert typ == "OK"
lines = esearch(a, *a.noop())
assert lines == ['(TAG "%s") UID REMOVEFROM (0 2)' % tag], lines

typ, _ = b.append("INBOX", None, None, b"Subject: new\r\n\r\nhello\r\n")
assert typ == "OK"
lines = esearch(a, *a.noop())
assert lines == ['(TAG "%s") UID ADDTO (0 4)' % tag], lines

typ, _ = a.xatom("CANCELUPDATE", '"%s"' % tag)
assert typ == "OK"
typ, _ = b.store("1", "+FLAGS", r"(\Seen)")
assert typ == "OK"
typ, data = a.noop()
assert typ == "OK" and "ESEARCH" not in a.untagged_responses, a.untagged_responses
b.logout()
a.logout()
print("context interop OK")
