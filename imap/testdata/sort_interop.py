#!/usr/bin/env python3
"""SORT and THREAD (RFC 5256) with Python's imaplib.

Usage: sort_interop.py host port user password
Prints "sort interop OK" on success.
"""
import imaplib
import sys

host, port, user, password = sys.argv[1:5]
m = imaplib.IMAP4(host, int(port))
m.login(user, password)
assert "SORT" in m.capabilities and "THREAD=ORDEREDSUBJECT" in m.capabilities, m.capabilities
m.select("INBOX")
typ, data = m.sort("(REVERSE DATE)", "UTF-8", "ALL")
assert typ == "OK" and data == [b"3 2 1"], data
typ, data = m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL")
assert typ == "OK" and data == [b"2 1 3"], data
typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
assert typ == "OK" and data == [b"(1 3)(2)"], data
m.logout()
print("sort interop OK")
