#!/usr/bin/env python3
"""e2e_helper.py — small steps of the Dovecot end-to-end alert test (run.sh).

  e2e_helper.py login PORT USER PASSWORD IP   IMAP LOGIN on 127.0.0.1:PORT with
        ID x-originating-ip IP (Dovecot trusts loopback, so it logs rip=IP);
        exit 0 when the login succeeded, 1 when it was refused.
  e2e_helper.py report MAILDIR MAILBOX        the one report in MAILDIR/new
        (exactly one suspicious-login report must be there); prints the new
        password it announces for MAILBOX, exit 1 if there is none.
"""
import email
import email.policy
import glob
import imaplib
import sys

imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def login(port, user, password, ip):
    m = imaplib.IMAP4("127.0.0.1", int(port))
    try:
        typ, _ = m._simple_command("ID", '("name" "alert-e2e" "x-originating-ip" "%s")' % ip)
        if typ != "OK":
            raise RuntimeError("IMAP ID refused")
        try:
            m.login(user, password)
        except imaplib.IMAP4.error:
            return 1
        m.logout()
        return 0
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


def report(maildir, mailbox):
    found = []
    for path in glob.glob(maildir + "/new/*"):
        msg = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
        if str(msg["Subject"]).startswith("Suspicious logins"):
            found.append(msg)
    if len(found) != 1:
        print("expected one report in %s, found %d" % (maildir, len(found)), file=sys.stderr)
        return 1
    text = found[0].get_body(("plain",)).get_content()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == mailbox and line.startswith("  "):
            print(parts[1])
            return 0
    print("no new password for %s in:\n%s" % (mailbox, text), file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "login" and len(sys.argv) == 6:
        sys.exit(login(*sys.argv[2:]))
    if sys.argv[1] == "report" and len(sys.argv) == 4:
        sys.exit(report(*sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
