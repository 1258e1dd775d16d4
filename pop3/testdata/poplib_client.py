#!/usr/bin/env python3
"""Drive a POP3 server with Python's poplib and print what it saw as JSON.

usage: poplib_client.py HOST PORT USER PASSWORD MODE CAFILE
MODE: user (USER/PASS), apop, stls (STLS then USER/PASS), ssl (implicit TLS).
Then: CAPA, STAT, LIST, UIDL, TOP 1 0, RETR of every message, DELE 1, QUIT.
"""
import json
import poplib
import ssl
import sys

host, port, user, password, mode, cafile = sys.argv[1:7]
port = int(port)
ctx = ssl.create_default_context(cafile=cafile)

if mode == "ssl":
    p = poplib.POP3_SSL(host, port, context=ctx, timeout=20)
else:
    p = poplib.POP3(host, port, timeout=20)
out = {"welcome": p.getwelcome().decode()}
if mode == "stls":
    p.stls(context=ctx)
out["capa"] = sorted(p.capa().keys())
if mode == "apop":
    p.apop(user, password)
else:
    p.user(user)
    p.pass_(password)
count, size = p.stat()
out["stat"] = [count, size]
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["top"] = [l.decode() for l in p.top(1, 0)[1]]
out["retr"] = []
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    out["retr"].append({"body": "\r\n".join(l.decode() for l in lines) + "\r\n", "octets": octets})
p.dele(1)
out["quit"] = p.quit().decode()
print(json.dumps(out))
