"""Interop client for the posthorn SMTP server, driven by interop_test.go.

Usage: smtplib_client.py HOST PORT CAFILE USER PASSWORD

Runs, with Python's smtplib: EHLO, STARTTLS (verifying the server against
CAFILE), EHLO again, AUTH PLAIN, a message to several recipients, RSET,
AUTH LOGIN on a second connection, and an SMTPUTF8 message. Prints one line
per step; exits non-zero on the first failure.
"""
import smtplib
import ssl
import sys
from email.message import EmailMessage

host, port, cafile, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=cafile)


def connect():
    s = smtplib.SMTP(host, port, local_hostname="python.test", timeout=20)
    code, _ = s.ehlo()
    assert code == 250, code
    assert s.has_extn("starttls"), s.esmtp_features
    assert not s.has_extn("auth"), "AUTH offered before TLS"
    s.starttls(context=ctx)
    code, _ = s.ehlo()
    assert code == 250, code
    assert s.has_extn("auth"), s.esmtp_features
    return s


s = connect()
s.user, s.password = user, password
code, resp = s.auth("PLAIN", s.auth_plain)
assert code == 235, (code, resp)
print("auth plain ok")
refused = s.sendmail("alice@example.org", ["jim@example.com", "sara@example.com"],
                     b"Subject: from python\r\n\r\nHello from smtplib\r\n")
assert refused == {}, refused
print("multi-recipient ok")
code, _ = s.rset()
assert code == 250, code
s.quit()

s = connect()
s.user, s.password = user, password
code, resp = s.auth("LOGIN", s.auth_login)
assert code == 235, (code, resp)
print("auth login ok")
assert s.has_extn("smtputf8")
msg = EmailMessage()
msg["From"] = "jörg@example.org"
msg["To"] = "jim@example.com"
msg["Subject"] = "Grüße"
msg.set_content("Schöne Grüße\n")
# send_message adds SMTPUTF8 (twice, with mail_options: the server allows an
# exact repeat).
s.send_message(msg, from_addr="jörg@example.org", to_addrs=["jim@example.com"], mail_options=["SMTPUTF8"])
print("smtputf8 ok")
s.quit()

# A wrong password is refused with 535.
s = connect()
s.user, s.password = user, "wrong"
try:
    s.auth("PLAIN", s.auth_plain)
    raise SystemExit("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535, e
print("bad password refused")
s.close()
