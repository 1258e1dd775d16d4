#!/usr/bin/env python3
"""Submit one message through Posthorn's submission backend with Python's
smtplib: EHLO, STARTTLS (certificate checked against the CA file), AUTH,
then a message to two recipients. Prints the refused recipients (none
expected) and exits 0 on success.

usage: submit.py HOST PORT CAFILE USER PASSWORD FROM TO[,TO...]
"""
import smtplib
import ssl
import sys
from email.message import EmailMessage

host, port, cafile, user, password, sender, to = sys.argv[1:8]
rcpts = to.split(",")
ctx = ssl.create_default_context(cafile=cafile)
msg = EmailMessage()
msg["From"] = sender
msg["To"] = ", ".join(rcpts)
msg["Subject"] = "via smtplib"
msg.set_content("Hello from Python's smtplib.\n")
with smtplib.SMTP(host, int(port), local_hostname="python.client", timeout=20) as s:
    s.ehlo()
    if not s.has_extn("starttls"):
        sys.exit("no STARTTLS offered")
    if s.has_extn("auth"):
        sys.exit("AUTH offered before TLS")
    s.starttls(context=ctx)
    s.ehlo()
    s.login(user, password)
    refused = s.send_message(msg, from_addr=sender, to_addrs=rcpts)
    print("refused:", refused)
    # Another user's address must be refused as sender.
    try:
        s.sendmail("alice@bob.example", rcpts, "Subject: x\r\n\r\nx\r\n")
        sys.exit("sender of another user accepted")
    except smtplib.SMTPSenderRefused as e:
        print("other sender refused:", e.smtp_code)
print("ok")
