#!/usr/bin/env python3
"""Interop peer for mailbox/maildir: Python's mailbox.Maildir reads the tree
the Go store wrote, and writes into it as another mail program would.

  maildir_interop.py read DIR    print JSON: folders, and per message its
                                 subject, flags, subdir and SHA-256
  maildir_interop.py write DIR   deliver "py-new" into new/, "py-seen" into
                                 cur/ with flags RS, set F on "go-0"
                                 (a rename), delete "go-2", add folder "Py"
                                 with one message
"""
import email
import hashlib
import json
import mailbox
import sys


def subject(msg):
    return msg["Subject"] or ""


def read(path):
    md = mailbox.Maildir(path, factory=None, create=False)
    out = {"folders": sorted(md.list_folders()), "messages": []}
    for key in md.keys():
        msg = md.get_message(key)
        out["messages"].append({
            "subject": subject(msg),
            "flags": msg.get_flags(),
            "subdir": msg.get_subdir(),
            "sha256": hashlib.sha256(md.get_bytes(key)).hexdigest(),
        })
    out["messages"].sort(key=lambda m: m["subject"])
    json.dump(out, sys.stdout)


def write(path):
    md = mailbox.Maildir(path, factory=None, create=False)
    fresh = mailbox.MaildirMessage(b"Subject: py-new\r\n\r\nfrom python\r\n")
    md.add(fresh)
    seen = mailbox.MaildirMessage(b"Subject: py-seen\r\n\r\nread already\r\n")
    seen.set_subdir("cur")
    seen.set_flags("RS")
    md.add(seen)
    for key in list(md.keys()):
        msg = md.get_message(key)
        if subject(msg) == "go-0":
            msg.add_flag("F")
            md[key] = msg
        elif subject(msg) == "go-2":
            md.remove(key)
    folder = md.add_folder("Py")
    folder.add(mailbox.MaildirMessage(b"Subject: in-py-folder\r\n\r\nx\r\n"))


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
