#!/usr/bin/env python3
"""Smoke test of examples/mailserver with Python's own clients.

usage: smoke.py CAFILE USER PASSWORD SUBMISSION SUBMISSIONS IMAP IMAPS POP3 POP3S

Each address is host:port. It sends one message over submission (STARTTLS +
AUTH) and one over submissions (implicit TLS + AUTH) to USER, then reads
both back with imaplib (STARTTLS, and IMAPS) and poplib (STLS), and deletes
them over POP3S. It prints one line per step and exits non-zero on failure.
"""
import imaplib
import poplib
import smtplib
import ssl
import sys
import time
from email.message import EmailMessage


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def message(user, subject):
    m = EmailMessage()
    m["From"] = user
    m["To"] = user
    m["Subject"] = subject
    m.set_content("Hello from Python's smtplib.\n")
    return m


def main():
    cafile, user, password = sys.argv[1:4]
    sub, subs, imap, imaps, pop, pops = (hostport(a) for a in sys.argv[4:10])
    ctx = ssl.create_default_context(cafile=cafile)
    subjects = ["smoke over submission", "smoke over submissions"]

    with smtplib.SMTP(*sub, timeout=10) as s:
        s.starttls(context=ctx)
        s.login(user, password)
        refused = s.send_message(message(user, subjects[0]))
        assert not refused, refused
    print("smtplib: sent over submission with STARTTLS and AUTH")
    with smtplib.SMTP_SSL(*subs, context=ctx, timeout=10) as s:
        s.login(user, password)
        s.send_message(message(user, subjects[1]))
    print("smtplib: sent over submissions with implicit TLS and AUTH")

    # Delivery to a local user goes through the relay queue: wait for it.
    found = []
    for _ in range(100):
        with imaplib.IMAP4(*imap, timeout=10) as m:
            m.starttls(ssl_context=ctx)
            m.login(user, password)
            m.select("INBOX", readonly=True)
            typ, data = m.search(None, "ALL")
            assert typ == "OK", (typ, data)
            found = []
            for num in data[0].split():
                typ, data = m.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                assert typ == "OK", (typ, data)
                found.append(data[0][1].decode().strip())
            m.logout()
        if len(found) >= 2:
            break
        time.sleep(0.1)
    want = sorted("Subject: " + s for s in subjects)
    assert sorted(found) == want, (found, want)
    print("imaplib: STARTTLS, LOGIN, both messages in INBOX")

    with imaplib.IMAP4_SSL(*imaps, ssl_context=ctx, timeout=10) as m:
        m.login(user, password)
        typ, data = m.select("INBOX")
        assert typ == "OK" and data[0] == b"2", (typ, data)
        m.logout()
    print("imaplib: IMAPS sees 2 messages")

    p = poplib.POP3(*pop, timeout=10)
    p.stls(context=ctx)
    p.user(user)
    p.pass_(password)
    count, _ = p.stat()
    assert count == 2, count
    resp, lines, _ = p.retr(1)
    assert any(line.startswith(b"Subject: smoke over submission") for line in lines), lines
    p.quit()
    print("poplib: STLS, USER/PASS, RETR")

    p = poplib.POP3_SSL(*pops, context=ctx, timeout=10)
    p.user(user)
    p.pass_(password)
    for i in range(1, count + 1):
        p.dele(i)
    p.quit()
    p = poplib.POP3_SSL(*pops, context=ctx, timeout=10)
    p.user(user)
    p.pass_(password)
    assert p.stat()[0] == 0
    p.quit()
    print("poplib: POP3S, DELE and QUIT removed both")


if __name__ == "__main__":
    main()
