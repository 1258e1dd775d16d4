#!/usr/bin/env python3
"""COMPRESS=DEFLATE (RFC 4978) against a server, with Python's zlib.

Usage: compress_interop.py host port user password mode
mode: "sync"    - Z_SYNC_FLUSH after every command
      "full"    - Z_FULL_FLUSH after every command
      "partial" - Z_PARTIAL_FLUSH after every command
      "dribble" - Z_SYNC_FLUSH, the compressed bytes sent one at a time
Prints "compress interop OK" on success.
"""
import socket
import sys
import time
import zlib

host, port, user, password, mode = sys.argv[1:6]
sock = socket.create_connection((host, int(port)), timeout=10)
buf = b""


def read_plain_line():
    global buf
    while b"\r\n" not in buf:
        data = sock.recv(4096)
        if not data:
            raise SystemExit("connection closed")
        buf += data
    line, buf = buf.split(b"\r\n", 1)
    return line


def plain(tag, cmd):
    sock.sendall(tag + b" " + cmd + b"\r\n")
    while True:
        line = read_plain_line()
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                raise SystemExit("failed: %r" % line)
            return


read_plain_line()  # greeting
plain(b"a1", b"LOGIN " + user.encode() + b" " + password.encode())
sock.sendall(b"a2 COMPRESS DEFLATE\r\n")
line = read_plain_line()
if not line.startswith(b"a2 OK"):
    raise SystemExit("COMPRESS refused: %r" % line)

comp = zlib.compressobj(6, zlib.DEFLATED, -15)
decomp = zlib.decompressobj(-15)
flush = {"full": zlib.Z_FULL_FLUSH, "partial": zlib.Z_PARTIAL_FLUSH}.get(mode, zlib.Z_SYNC_FLUSH)
inflated = decomp.decompress(buf)  # anything after the OK is compressed
buf = b""


def send(data):
    z = comp.compress(data) + comp.flush(flush)
    if mode == "dribble":
        for i in range(len(z)):
            sock.sendall(z[i:i + 1])
            time.sleep(0.001)
    else:
        sock.sendall(z)


def command(tag, cmd, want=b"OK"):
    """Sends a command and returns the response lines up to the tagged one."""
    send(tag + b" " + cmd + b"\r\n")
    return responses(tag, want)


def responses(tag, want=b"OK"):
    global inflated
    lines = []
    while True:
        while b"\r\n" not in inflated:
            data = sock.recv(65536)
            if not data:
                raise SystemExit("connection closed after %r" % lines)
            inflated += decomp.decompress(data)
        line, inflated = inflated.split(b"\r\n", 1)
        lines.append(line)
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" " + want):
                raise SystemExit("%r: %r" % (tag, lines))
            return lines


out = command(b"b1", b"SELECT INBOX")
assert any(l.endswith(b" EXISTS") for l in out), out
out = command(b"b2", b"FETCH 1:* (UID FLAGS RFC822.SIZE)")
assert sum(1 for l in out if l.startswith(b"* ") and b" FETCH (" in l) == 2, out
out = command(b"b3", b"UID SEARCH SUBJECT second")
assert out[0] == b"* SEARCH 2", out
body = b"Subject: zipped\r\n\r\n" + b"again and again\r\n" * 200
send(b"b4 APPEND INBOX {%d}\r\n" % len(body))
while b"\r\n" not in inflated:
    inflated += decomp.decompress(sock.recv(4096))
line, inflated = inflated.split(b"\r\n", 1)
assert line.startswith(b"+"), line
send(body + b"\r\n")
out = responses(b"b4")
assert any(l == b"* 3 EXISTS" for l in out), out
out = command(b"b6", b"FETCH 3 BODY.PEEK[TEXT]")
assert out[0].endswith(b"{3400}") and len(out) == 203, out[:2]
out = command(b"b7", b"COMPRESS DEFLATE", b"NO [COMPRESSIONACTIVE]")
# In dribble mode LOGOUT is dribbled too: the server has the line before
# the flush bytes that follow it, and must not answer them with a reset
# (it half-closes and reads on: internal/serve.Linger).
command(b"b8", b"LOGOUT")
print("compress interop OK")
