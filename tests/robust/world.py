"""world.py — the shared fixture of the robustness tests (tests/robust/).

A World is a temp directory holding what a deployment has: an INI config,
a domains file, a tiny GeoIP database (tests/fixtures/geo/make-mmdb.pl), a
mail log written by a generator from a seed, and the database the real
`maillog ingest` makes of it. cgi() runs the real maillog.cgi as a CGI/1.1
program (no web server) with an identity and returns status, headers and
body. Expectations in the tests are computed from what the generator
wrote, never from the programs' output.

Log generator: mail i (0-based, any i >= 0) has a fixed time T0 + 20 s * i
and a fixed shape chosen by i: a received mail to a hosted mailbox, a mail
sent by a hosted mailbox with SMTP AUTH, a rejected RCPT, a successful or
failed IMAP/POP3 login. Every mail is complete (no deferred state that later
changes), so rows written by one ingest are never changed by the next:
rows that exist at one moment exist unchanged later.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("MAILLOG_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ROBUST_BIN") or os.path.join(ROOT, "build")

DOMAINS = ["example.com", "example.org", "example.net"]
BOXES = ["info", "bob", "sales.team"]
TABS = ["access", "received", "sent", "not-received", "not-sent"]

# Plesk identities (the PHP bridge's variables).
ADMIN = {"MAILLOG_ROLE": "admin", "MAILLOG_USER": "admin", "MAILLOG_DOMAINS": ""}
RES1 = {"MAILLOG_ROLE": "reseller", "MAILLOG_USER": "res1",
        "MAILLOG_DOMAINS": "example.com,example.org"}
CLI1 = {"MAILLOG_ROLE": "client", "MAILLOG_USER": "cli1", "MAILLOG_DOMAINS": "example.com"}
CLI2 = {"MAILLOG_ROLE": "client", "MAILLOG_USER": "cli2", "MAILLOG_DOMAINS": "example.net"}

# Fixture GeoIP: two versions, so a replaced file is visible in the rows.
GEO_A = "198.51.100.0/24\tDE\n203.0.113.0/24\tFR\n192.0.2.0/24\tUS\n"
GEO_B = "198.51.100.0/24\tJP\n203.0.113.0/24\tBR\n192.0.2.0/24\tCA\n"


def country(ip, geo=GEO_A):
    for line in geo.splitlines():
        net, cc = line.split("\t")
        if ip.startswith(net.rsplit(".", 1)[0] + "."):
            return cc
    return ""


_fails = []


def check(ok, name, detail=""):
    """Records one assertion; prints ok/FAIL like the other suites."""
    if ok:
        print("ok   " + name, flush=True)
    else:
        print("FAIL " + name + (": " + str(detail)[:600] if detail else ""), flush=True)
        _fails.append(name)
    return ok


def sanitizer_check(what, p):
    """With the ASan+UBSan build (ROBUST_BIN=build/asan) a report fails the test."""
    if b"Sanitizer" in p.stderr or b"runtime error:" in p.stderr:
        check(False, "sanitizer report from " + what, p.stderr.decode(errors="replace")[-2000:])


def finish(suite):
    if _fails:
        print("tests/robust/%s: %d failed: %s" % (suite, len(_fails), ", ".join(_fails)))
        sys.exit(1)
    print("tests/robust/%s: all passed" % suite)


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime(t))


class Mail:
    """What mail i is; the generator and the tests' expectations share it."""

    def __init__(self, i, t0):
        self.i = i
        self.t = t0 + 20 * i
        self.kind = ["received", "sent", "received", "login", "rejected", "login"][i % 6]
        d = DOMAINS[(i // 6) % 3]
        box = BOXES[(i // 18) % 3]
        self.domain = d
        self.qid = "%X%06X" % (0xB0 + i % 6, i)
        self.ip = ["198.51.100.%d", "203.0.113.%d", "192.0.2.%d"][(i // 3) % 3] % (1 + i % 200)
        if self.kind == "received":
            self.sender = "peer%d@remote%d.test" % (i, i % 5)
            self.rcpt = "%s@%s" % (box, d)
            self.status = "sent" if i % 4 else "bounced"
        elif self.kind == "sent":
            self.sender = "%s@%s" % (box, d)
            self.rcpt = "to%d@far%d.test" % (i, i % 3)
            self.status = "sent" if i % 5 else "bounced"
        elif self.kind == "rejected":
            self.sender = "spam%d@bulk.test" % i
            self.rcpt = "nobody%d@%s" % (i, d)
            self.status = "rejected"
        else:
            self.user = "%s@%s" % (box, d)
            self.ok = i % 4 != 1
            self.proto = "imap" if i % 2 else "pop3"

    def lines(self):
        ts, q, i = stamp(self.t), self.qid, self.i
        if self.kind == "login":
            if self.ok:
                return ["%s mx dovecot: %s-login: Login: user=<%s>, method=PLAIN, rip=%s, "
                        "lip=192.0.2.1, mpid=%d, TLS, session=<s%d>" % (
                            ts, self.proto, self.user, self.ip, 7000 + i, i)]
            return ["%s mx dovecot: %s-login: Disconnected (auth failed, 1 attempts in 2 secs): "
                    "user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, TLS, session=<s%d>" % (
                        ts, self.proto, self.user, self.ip, i)]
        if self.kind == "rejected":
            return ["%s mx postfix/smtpd[%d]: NOQUEUE: reject: RCPT from unknown[%s]: 550 5.1.1 "
                    "<%s>: Recipient address rejected: User unknown in virtual mailbox table; "
                    "from=<%s> to=<%s> proto=ESMTP helo=<bulk.test>" % (
                        ts, 3000 + i, self.ip, self.rcpt, self.sender, self.rcpt)]
        out = []
        if self.kind == "received":
            out.append("%s mx postfix/smtpd[%d]: %s: client=mail.remote.test[%s]" % (
                ts, 3000 + i, q, self.ip))
        else:
            out.append("%s mx postfix/submission/smtpd[%d]: %s: client=unknown[%s], "
                       "sasl_method=PLAIN, sasl_username=%s" % (ts, 3000 + i, q, self.ip,
                                                                 self.sender))
        out.append("%s mx postfix/cleanup[%d]: %s: message-id=<m%d.%s@gen.test>" % (
            ts, 4000 + i, q, i, q))
        out.append("%s mx postfix/qmgr[900]: %s: from=<%s>, size=%d, nrcpt=1 (queue active)" % (
            ts, q, self.sender, 1000 + (i * 7919) % 50000))
        if self.kind == "received":
            dsn = "2.0.0" if self.status == "sent" else "5.2.2"
            text = "delivered to maildir" if self.status == "sent" else "mailbox full"
            out.append("%s mx postfix/virtual[%d]: %s: to=<%s>, relay=virtual, delay=0.1, "
                       "delays=0.05/0.01/0/0.04, dsn=%s, status=%s (%s)" % (
                           ts, 5000 + i, q, self.rcpt, dsn, self.status, text))
        else:
            dsn = "2.0.0" if self.status == "sent" else "5.1.1"
            text = "250 2.0.0 Ok: queued" if self.status == "sent" else \
                "host mx.far.test[192.0.2.20] said: 550 5.1.1 User unknown"
            out.append("%s mx postfix/smtp[%d]: %s: to=<%s>, relay=mx.far.test[192.0.2.20]:25, "
                       "delay=1.2, delays=0.1/0/0.5/0.6, dsn=%s, status=%s (%s)" % (
                           ts, 5000 + i, q, self.rcpt, dsn, self.status, text))
        out.append("%s mx postfix/qmgr[900]: %s: removed" % (ts, q))
        return out


def log_text(first, count, t0):
    return "".join(l + "\n" for i in range(first, first + count) for l in Mail(i, t0).lines())


class World:
    def __init__(self, name, geo=GEO_A, retention=3650):
        self.dir = tempfile.mkdtemp(prefix="maillog-robust-%s-" % name)
        self.config = os.path.join(self.dir, "maillog.ini")
        self.db = os.path.join(self.dir, "maillog.db")
        self.log = os.path.join(self.dir, "mail.log")
        self.geoip = os.path.join(self.dir, "country.mmdb")
        self.domains = os.path.join(self.dir, "domains.json")
        self.cli = os.path.join(BIN, "maillog")
        self.cgi_path = os.path.join(BIN, "maillog.cgi")
        self.t0 = int(time.time()) - 3 * 86400
        self.written = 0  # mails in the log so far
        self.make_geo(self.geoip, geo)
        with open(self.domains, "w") as f:
            json.dump([{"name": d, "owner_email": "owner@" + d,
                        "client": {"example.com": "cli1", "example.net": "cli2"}.get(d, "cli3"),
                        "reseller": "res1" if d != "example.net" else ""} for d in DOMAINS], f)
        with open(self.config, "w") as f:
            f.write("# tests/robust\n[maillog]\ndb = %s\nlog = %s\ndomains = %s\ngeoip = %s\n"
                    "max_lines = 50\n[defaults]\nretention_days = %d\n" % (
                        self.db, self.log, self.domains, self.geoip, retention))
        open(self.log, "w").close()
        atexit.register(self.destroy)  # also when a test dies half-way

    def make_geo(self, path, geo):
        tsv = os.path.join(self.dir, "geo.tsv")
        with open(tsv, "w") as f:
            f.write(geo)
        subprocess.run(["perl", os.path.join(ROOT, "tests/fixtures/geo/make-mmdb.pl"), tsv, path],
                       check=True)

    def append(self, count):
        """Appends the next count generated mails to the log."""
        with open(self.log, "a") as f:
            f.write(log_text(self.written, count, self.t0))
        self.written += count

    def append_raw(self, data):
        with open(self.log, "ab") as f:
            f.write(data)

    def ingest(self, *extra, check_rc=True, env=None):
        p = subprocess.run([self.cli, "ingest", "--config", self.config, "--quiet"] + list(extra),
                           capture_output=True, env=env, timeout=600)
        sanitizer_check("maillog ingest", p)
        if check_rc and p.returncode != 0:
            raise RuntimeError("maillog ingest failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
        return p

    def cgi(self, path, query="", who=ADMIN, method="GET", body=None, extra=None, wrapper=None,
            timeout=120):
        env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": method, "PATH_INFO": path,
               "QUERY_STRING": query, "MAILLOG_CONFIG": self.config, "MAILLOG_DB": self.db}
        env.update(who)
        if body is not None:
            env["CONTENT_LENGTH"] = str(len(body))
            env["CONTENT_TYPE"] = "application/json"
        env.update(extra or {})
        argv = (wrapper or []) + [self.cgi_path]
        p = subprocess.run(argv, input=body or b"", capture_output=True, env=env, timeout=timeout)
        sanitizer_check("maillog.cgi %s?%s" % (path, query[:80]), p)
        return Resp(p)

    def sql(self, query):
        p = subprocess.run(["sqlite3", "-readonly", self.db, query], capture_output=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError("sqlite3: " + p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace").strip()

    def canon(self, db=None):
        with open(os.path.join(ROOT, "tests/ingest/canon.sql"), "rb") as f:
            p = subprocess.run(["sqlite3", db or self.db], stdin=f, capture_output=True,
                               timeout=120)
        return p.stdout

    def destroy(self):
        if not os.environ.get("KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Resp:
    def __init__(self, p):
        self.rc = p.returncode
        self.raw = p.stdout
        self.err = p.stderr
        self.status = -1
        self.headers = {}
        self.body = b""
        head, sep, body = p.stdout.partition(b"\r\n\r\n")
        if not sep:
            return
        self.body = body
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(": ")
            self.headers[k.lower()] = v
        try:
            self.status = int(self.headers.get("status", "-1").split()[0])
        except ValueError:
            pass

    def json(self):
        """The body as JSON: strict UTF-8 and strict JSON (no raw controls)."""
        return json.loads(self.body.decode("utf-8"), strict=True)

    def __repr__(self):
        return "<status %d rc %d body %r err %r>" % (self.status, self.rc, self.body[:300],
                                                     self.err[-300:])
