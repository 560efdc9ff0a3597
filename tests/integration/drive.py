#!/usr/bin/python3
"""drive.py — real traffic against the servers of lib.sh, recording what it did.

Usage: drive.py --phase NAME --out EXPECTED.jsonl [--bulk N] [--threads T]
                [--scenario] [--during CMD]

Talks SMTP (smtplib), IMAP (imaplib) and POP3 (poplib) to the Postfix and
Dovecot started by lib.sh (ports and users from the ITEST_* environment).
Client addresses are public documentation addresses set with Postfix
XCLIENT, IMAP ID ("x-originating-ip" ...) and Dovecot POP3 XCLIENT; nothing is
ever sent to them. Mail for remote domains goes to local smtp-sink instances
(transport_maps), see lib.sh.

Every action appends one JSON object to EXPECTED.jsonl saying what the
servers were asked to do and what the product must therefore show — never
what the product printed:

  {"kind": "mail", "phase", "msgid", "sender", "rcpt", "client_ip", "origin":
   "remote|sasl|local", "sasl_user", "port": "smtp|submission", "expect":
   "sent|bounced|deferred|rejected", "bytes", "time", "filtered"}
      one row per recipient the driver gave in RCPT TO (rejected ones too);
      "msgid" is null when no queue file exists (NOQUEUE rejection);
      "filtered": the message went through the content-filter hop (two queue ids).
  {"kind": "dsn", "phase", "to", "of_msgid", "why": "bounce|success"}
      a notification (null sender) Postfix must send for that message; to a
      hosted mailbox it is a received row of that domain.
  {"kind": "access", "phase", "user", "ip", "protocol": "imap|pop3|smtp|
   "submission", "ok": bool}
      one login attempt (IMAP/POP3 login, or SMTP AUTH). A successful SMTP
      AUTH is followed by exactly one message in the same session.

--scenario runs the fixed list of cases (every kind once or more); --bulk N
adds N messages of mixed kinds over T threads at once, so that queue ids
interleave in the log; --during CMD runs CMD (e.g. a log rotation) when half
of the bulk messages have been sent, while the rest keep flowing.
"""

import argparse
import imaplib
import ipaddress
import json
import os
import poplib
import random
import smtplib
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
DOM_A = "hosted-a.example"
DOM_B = "hosted-b.example"

# Client addresses by "country" of the fixture GeoIP database (run.sh writes
# the same networks into it): documentation networks only.
IPS = [
    "192.0.2.10", "192.0.2.11", "198.51.100.20", "198.51.100.21",
    "203.0.113.30", "203.0.113.31", "2001:db8:1::40", "2001:db8:2::50",
]


def env_port(name):
    return int(os.environ[name])


def users():
    out = {}
    for pair in os.environ["ITEST_USERS"].split():
        user, password = pair.split(":", 1)
        out[user] = password
    return out


class Recorder:
    """Appends expectation records to the output file, thread-safe."""

    def __init__(self, path, phase):
        self.f = open(path, "a", encoding="utf-8")
        self.phase = phase
        self.lock = threading.Lock()
        self.serial = 0
        self.fails = 0

    def fail_ip(self):
        """A fresh address for a failing login: Dovecot's auth penalty delays
        every later attempt from an address that failed (2 s, 4 s, … 15 s)."""
        with self.lock:
            self.fails += 1
            k = self.fails
        return ["198.51.100.%d", "203.0.113.%d", "2001:db8:3::%x", "192.0.2.%d"][k % 4] % (100 + k // 4)

    def next_msgid(self):
        with self.lock:
            self.serial += 1
            return "itest-%s-%d.%d@driver.example" % (self.phase, self.serial, os.getpid())

    def add(self, rec):
        rec["phase"] = self.phase
        rec.setdefault("time", time.time())
        with self.lock:
            self.f.write(json.dumps(rec, sort_keys=True) + "\n")
            self.f.flush()


def body(msgid, sender, rcpts, subject):
    text = (
        "From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"
        "Date: %s\r\n\r\nThis is an integration test message.\r\n%s"
        % (sender or "MAILER-DAEMON", ", ".join("<%s>" % r for r in rcpts), subject, msgid,
           time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
           ("x" * 70 + "\r\n") * random.randint(1, 30))
    )
    return text.encode()


def xclient_arg(ip, name=None):
    addr = "IPV6:" + ip if ":" in ip else ip
    return "ADDR=%s NAME=%s" % (addr, name or "[UNAVAILABLE]")


def smtp_session(port_name, ip, helo="client.example", name=None):
    """An SMTP session on loopback whose logged client is ip (None: loopback)."""
    port = env_port("ITEST_SUBMISSION_PORT" if port_name == "submission" else "ITEST_SMTP_PORT")
    s = smtplib.SMTP(HOST, port, local_hostname=helo, timeout=30)
    s.ehlo(helo)
    if ip is not None:
        code, msg = s.docmd("XCLIENT", xclient_arg(ip, name))
        if code != 220:
            raise RuntimeError("XCLIENT refused: %d %s" % (code, msg))
        s.ehlo_resp = None
        s.esmtp_features = {}
        s.ehlo(helo)
    return s


def smtp_auth(s, user, password):
    """One AUTH PLAIN attempt (smtplib.login would retry other mechanisms)."""
    s.user, s.password = user, password
    try:
        s.auth("PLAIN", s.auth_plain)
        return True
    except smtplib.SMTPAuthenticationError:
        return False


def filtered(ip):
    """Whether Postfix routes this client's mail through the content filter hop (lib.sh)."""
    net = ipaddress.ip_network(os.environ["ITEST_FILTERED_NET"])
    return ip is not None and ipaddress.ip_address(ip) in net


def is_hosted(addr):
    return addr.rsplit("@", 1)[-1] in (DOM_A, DOM_B)


def known_users():
    return set(users())


def rcpt_expect(rcpt, origin):
    """What Postfix will do with this recipient (the configuration in lib.sh)."""
    dom = rcpt.rsplit("@", 1)[-1]
    if is_hosted(rcpt):
        if rcpt in known_users():
            return "sent"
        if rcpt == os.environ["ITEST_GHOST"]:
            return "bounced"  # Postfix accepts it, Dovecot's LMTP does not know it
        return "rejected"  # not in virtual_mailbox_maps: 550 at RCPT
    if origin == "remote":
        return "rejected"  # relay access denied
    return {
        "accept.example": "sent",
        "reject.example": "bounced",
        "tempfail.example": "deferred",
        "closed.example": "deferred",
    }[dom]


def send_mail(rec, sender, rcpts, ip=None, port="smtp", auth=None, name=None,
              notify_success=False):
    """Sends one message in one session and records one row per recipient.

    auth = (user, password) authenticates first (and records the login).
    The origin is what the product must infer: sasl when authenticated,
    local when the client is loopback (no XCLIENT), remote otherwise."""
    origin = "sasl" if auth else ("local" if ip is None else "remote")
    msgid = rec.next_msgid()
    data = body(msgid, sender, rcpts, "test %s" % msgid.split("@")[0])
    # A refused recipient is logged at RCPT, before DATA is written to disk:
    # its row may be dated from here, seconds before `when` on a slow disk.
    started = time.time()
    s = smtp_session(port, ip, name=name)
    try:
        if auth:
            ok = smtp_auth(s, auth[0], auth[1])
            rec.add({"kind": "access", "user": auth[0], "ip": ip or "127.0.0.1",
                     "protocol": port, "ok": ok})
            if not ok:
                raise RuntimeError("SMTP AUTH failed for %s" % auth[0])
        code, msg = s.mail(sender or "")
        if code != 250:
            raise RuntimeError("MAIL FROM refused: %d %s" % (code, msg))
        accepted = []
        rows = []
        for r in rcpts:
            opts = ["NOTIFY=SUCCESS,FAILURE"] if notify_success else []
            code, msg = s.rcpt(r, opts)
            expect = rcpt_expect(r, origin)
            if (code == 250) != (expect != "rejected"):
                raise RuntimeError("RCPT %s: got %d %s, expected %s" % (r, code, msg, expect))
            if code == 250:
                accepted.append(r)
            rows.append((r, expect))
        queued = False
        if accepted:
            code, msg = s.data(data)
            if code != 250:
                raise RuntimeError("DATA refused: %d %s" % (code, msg))
            queued = True
        when = time.time()
        s.quit()
    except Exception:
        s.close()
        raise
    for r, expect in rows:
        rec.add({"kind": "mail", "msgid": msgid if queued else None, "sender": sender or "",
                 "rcpt": r, "client_ip": ip or "127.0.0.1", "origin": origin,
                 "sasl_user": auth[0] if auth else None, "port": port, "expect": expect,
                 "bytes": len(data), "time": when, "started": started,
                 "filtered": queued and filtered(ip)})
    # Hard bounces: one non-delivery notification per message, to the sender
    # (a hosted mailbox, or a remote sender whose server is the accept sink).
    if sender and any(expect == "bounced" for _, expect in rows):
        rec.add({"kind": "dsn", "to": sender, "of_msgid": msgid, "why": "bounce", "time": when})
    if notify_success and sender in known_users() and any(expect == "sent" for _, expect in rows):
        rec.add({"kind": "dsn", "to": sender, "of_msgid": msgid, "why": "success", "time": when})
    return msgid


# The webspace user of hosted-a.example's subscription in the domains file
# (check.py writes it): a web site's PHP mail() submits as that uid.
SITE_UID = 10042


def local_as_user_possible():
    """Whether sendmail can be run as another user against our Postfix: only
    in the private mount namespace, where /etc/postfix can be ours (an
    unprivileged sendmail reads the default configuration directory)."""
    return os.environ.get("ITEST_NS") == "1"


def send_local(rec, sender, rcpts, uid=0):
    """Submits one message through Postfix's sendmail, as root or as uid (a
    web site's PHP mail()): pickup logs the uid, which is all the log says
    of who sent it. Records one row per recipient (origin local)."""
    msgid = rec.next_msgid()
    data = body(msgid, sender, rcpts, "web form %s" % msgid.split("@")[0])
    cmd = ["/usr/sbin/sendmail", "-i", "-f", sender, "--"] + rcpts
    if uid == 0:
        cmd[1:1] = ["-C", os.environ["ITEST_POSTFIX_DIR"]]
    else:
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + cmd
    started = time.time()
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("sendmail as uid %d: %s" % (uid, r.stderr.decode(errors="replace")))
    when = time.time()
    for rcpt in rcpts:
        rec.add({"kind": "mail", "msgid": msgid, "sender": sender, "rcpt": rcpt,
                 "client_ip": "", "origin": "local", "uid": uid, "sasl_user": None,
                 "port": "pickup", "expect": rcpt_expect(rcpt, "local"), "bytes": len(data),
                 "time": when, "started": started, "filtered": False})


def smtp_auth_fail(rec, user, password, ip, port="smtp"):
    s = smtp_session(port, ip)
    try:
        ok = smtp_auth(s, user, password)
        assert not ok, "AUTH with a wrong password succeeded"
        rec.add({"kind": "access", "user": user, "ip": ip, "protocol": port, "ok": False})
        s.quit()
    finally:
        s.close()


imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def imap_login(rec, user, password, ip, hangup=False):
    """One IMAP login; hangup drops the connection instead of LOGOUT (Dovecot
    then logs "Disconnected (auth failed …)" rather than "Aborted login")."""
    m = imaplib.IMAP4(HOST, env_port("ITEST_IMAP_PORT"))
    try:
        typ, _ = m._simple_command("ID", '("name" "itest" "x-originating-ip" "%s")' % ip)
        if typ != "OK":
            raise RuntimeError("IMAP ID refused")
        try:
            m.login(user, password)
            ok = True
        except imaplib.IMAP4.error:
            ok = False
        rec.add({"kind": "access", "user": user, "ip": ip, "protocol": "imap", "ok": ok})
        if ok:
            m.select("INBOX")
        if not hangup:
            m.logout()
    finally:
        try:
            m.shutdown()
        except OSError:
            pass
    return ok


def pop3_login(rec, user, password, ip, hangup=False):
    p = poplib.POP3(HOST, env_port("ITEST_POP3_PORT"), timeout=30)
    try:
        resp = p._shortcmd("XCLIENT ADDR=%s" % ip)
        if not resp.startswith(b"+OK"):
            raise RuntimeError("POP3 XCLIENT refused: %r" % resp)
        try:
            p.user(user)
            p.pass_(password)
            ok = True
        except poplib.error_proto:
            ok = False
        rec.add({"kind": "access", "user": user, "ip": ip, "protocol": "pop3", "ok": ok})
        if ok:
            p.stat()
        if not hangup:
            p.quit()
    finally:
        p.close()
    return ok


def scenario(rec):
    """Every case once: the fixed part of the test."""
    u = users()
    alice, bob = "alice@" + DOM_A, "bob@" + DOM_A
    carol, dave = "carol@" + DOM_B, "dave@" + DOM_B
    ghost = os.environ["ITEST_GHOST"]
    ext = "someone@accept.example"

    # Inbound from remote clients (XCLIENT), IPv4 and IPv6, with and without a name.
    send_mail(rec, ext, [alice], ip="203.0.113.30", name="mail.accept.example")
    send_mail(rec, "news@accept.example", [carol, dave], ip="2001:db8:1::40")
    # Unknown user: rejected at RCPT before any queue file (NOQUEUE) ...
    send_mail(rec, ext, ["nobody@" + DOM_A, bob], ip="198.51.100.20")
    # ... and after one (logged with the queue id).
    send_mail(rec, ext, [carol, "nobody@" + DOM_B], ip="192.0.2.10")
    # Accepted by Postfix, unknown to Dovecot: LMTP bounces, DSN to the remote sender.
    send_mail(rec, ext, [ghost], ip="203.0.113.31")
    # A remote client claiming a hosted sender is not "sent" by that domain.
    send_mail(rec, alice, [bob], ip="198.51.100.21")
    # Relay attempt by a remote client: nothing for the hosted domains.
    send_mail(rec, "spam@accept.example", ["victim@accept.example"], ip="192.0.2.11")

    # Outbound by SASL users: accepted, hard-bounced (DSN back), deferred twice.
    send_mail(rec, alice, ["friend@accept.example"], ip="198.51.100.20", auth=(alice, u[alice]))
    send_mail(rec, alice, ["nobody@reject.example"], ip="198.51.100.20", auth=(alice, u[alice]),
              port="submission")
    send_mail(rec, bob, ["later@closed.example"], ip="2001:db8:2::50", auth=(bob, u[bob]))
    send_mail(rec, carol, ["busy@tempfail.example"], ip="203.0.113.30", auth=(carol, u[carol]),
              port="submission")
    # Internal mail between the hosted domains, and a success DSN requested.
    send_mail(rec, dave, [alice, bob], ip="192.0.2.11", auth=(dave, u[dave]), port="submission")
    send_mail(rec, bob, [carol], ip="198.51.100.21", auth=(bob, u[bob]), notify_success=True)
    # Mixed message: hosted, remote and bounced recipients in one queue id.
    send_mail(rec, carol, [alice, "x@accept.example", "y@reject.example"], ip="2001:db8:1::40",
              auth=(carol, u[carol]))
    # A mailbox of one customer sending as another customer's address: the
    # login's domain sent it, not the claimed one.
    send_mail(rec, alice, ["partner@accept.example", carol], ip="203.0.113.44",
              auth=(dave, u[dave]), port="submission")
    # Local submission from loopback (no XCLIENT, no AUTH): mynetworks relays.
    send_mail(rec, bob, ["local@accept.example"], ip=None)
    # sendmail as root (a cron job): filed by its envelope sender
    send_local(rec, carol, ["cron@accept.example"])
    # sendmail as hosted-a.example's web site, claiming a hosted-b.example
    # sender: hosted-a.example's mail, whatever the script claims
    if local_as_user_possible():
        send_local(rec, carol, ["form@accept.example", alice], uid=SITE_UID)

    # Failed SMTP AUTH on both smtpd instances.
    smtp_auth_fail(rec, alice, "wrong-password", rec.fail_ip())
    smtp_auth_fail(rec, dave, "wrong-password", rec.fail_ip(), port="submission")

    # Mailbox logins: IMAP and POP3, ok and failed, IPv4 and IPv6, unknown user.
    imap_login(rec, alice, u[alice], "198.51.100.20")
    imap_login(rec, alice, "wrong", rec.fail_ip())
    imap_login(rec, carol, u[carol], "2001:db8:1::40")
    imap_login(rec, "nobody@" + DOM_B, "whatever", rec.fail_ip(), hangup=True)
    pop3_login(rec, bob, u[bob], "192.0.2.11")
    pop3_login(rec, dave, "wrong", rec.fail_ip())
    pop3_login(rec, carol, "wrong", rec.fail_ip(), hangup=True)
    pop3_login(rec, dave, u[dave], "203.0.113.31")


def bulk_one(rec, rnd):
    """One message of a random kind (deterministic per rnd)."""
    u = users()
    hosted = sorted(u)
    ip = rnd.choice(IPS)
    kind = rnd.randrange(6)
    if kind == 0:  # inbound, sometimes to an unknown user
        rcpts = [rnd.choice(hosted)]
        if rnd.random() < 0.3:
            rcpts.append("nobody%d@%s" % (rnd.randrange(5), rnd.choice([DOM_A, DOM_B])))
        send_mail(rec, "bulk%d@accept.example" % rnd.randrange(100), rcpts, ip=ip)
    elif kind == 1:  # outbound accepted
        who = rnd.choice(hosted)
        send_mail(rec, who, ["r%d@accept.example" % rnd.randrange(100)], ip=ip,
                  auth=(who, u[who]), port=rnd.choice(["smtp", "submission"]))
    elif kind == 2:  # outbound hard bounce
        who = rnd.choice(hosted)
        send_mail(rec, who, ["r%d@reject.example" % rnd.randrange(100)], ip=ip,
                  auth=(who, u[who]), port="submission")
    elif kind == 3:  # internal
        who = rnd.choice(hosted)
        to = rnd.choice([h for h in hosted if h != who])
        send_mail(rec, who, [to], ip=ip, auth=(who, u[who]), port="submission")
    elif kind == 4:  # deferred
        who = rnd.choice(hosted)
        send_mail(rec, who, ["r%d@%s" % (rnd.randrange(100), rnd.choice(["closed.example", "tempfail.example"]))],
                  ip=ip, auth=(who, u[who]))
    else:  # mailbox logins
        who = rnd.choice(hosted)
        good = rnd.random() < 0.7
        if not good:
            ip = rec.fail_ip()
        hangup = rnd.random() < 0.3
        if rnd.random() < 0.5:
            imap_login(rec, who, u[who] if good else "bad", ip, hangup)
        else:
            pop3_login(rec, who, u[who] if good else "bad", ip, hangup)


def bulk(rec, n, threads, seed, during):
    counter = {"sent": 0}
    lock = threading.Lock()
    half = threading.Event()
    errors = []

    def worker(k):
        rnd = random.Random(seed * 1000 + k)
        while True:
            with lock:
                if counter["sent"] >= n:
                    return
                counter["sent"] += 1
                if counter["sent"] >= n // 2:
                    half.set()
            try:
                bulk_one(rec, rnd)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
                return

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    if during:
        half.wait()
        subprocess.run(during, shell=True, check=True)
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError("bulk traffic failed: " + "; ".join(errors))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenario", action="store_true")
    ap.add_argument("--bulk", type=int, default=0)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--during")
    a = ap.parse_args()
    random.seed(a.seed)
    rec = Recorder(a.out, a.phase)
    if a.scenario:
        scenario(rec)
    if a.bulk:
        bulk(rec, a.bulk, a.threads, a.seed, a.during)
    elif a.during:
        subprocess.run(a.during, shell=True, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
