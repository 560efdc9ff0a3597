#!/usr/bin/env python3
"""alerts_test.py — `maillog alerts` against a real SMTP server on loopback.

Each test gets a fresh database (created by the program itself), writes
domains, settings and access events into it directly (known countries, no
GeoIP needed), starts Postfix's smtp-sink on a free 127.0.0.1 port capturing
every accepted mail to files, runs build/maillog alerts with --now, and
checks what arrived: which logins are reported for usual countries, excluded
IPs, domain exceptions and CIDRs; catch-up over missed hours; no duplicate on
rerun; crashes between steps (MAILLOG_TEST_CRASH); an SMTP outage; the
mail's headers, MIME structure and encoding; and the password command
(tests/fixtures/alert/record-passwd.sh) receiving the password only through
PSA_PASSWORD.

Usage: alerts_test.py [-k SUBSTRING]   (run from the repository; as root,
smtp-sink drops to `nobody`). Ends with "alerts: N passed, N failed".
"""
import email
import email.policy
import email.utils
import glob
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SRC = os.environ.get("MAILLOG_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MAILLOG = os.environ.get("MAILLOG_BIN") or os.path.join(SRC, "build", "maillog")
RECORD = os.path.join(SRC, "tests", "fixtures", "alert", "record-passwd.sh")

H9 = 1795597200          # 2026-11-25 09:00:00 UTC
NOW = H9 + 3600 + 540    # 10:09: the hour 9:00-10:00 is complete
IMAP, POP3, SMTP, SUBMISSION, MANAGESIEVE = range(5)
SUBJECT_9 = "Suspicious logins: example.com, 2026-11-25 09:00\u201310:00 UTC"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Sink:
    """smtp-sink capturing accepted mails into files under dir."""

    def __init__(self, root, args=()):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="sink-", dir=root))
        os.chmod(self.dir, 0o777)
        # free_port() can only say the port was free: another socket may take
        # it before smtp-sink binds, and smtp-sink then exits. Another port.
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                ["smtp-sink", "-u", "nobody", *args, "-d", self.dir + "/%Y%m%d%H%M%S.",
                 "127.0.0.1:%d" % self.port, "50"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(1200):  # 60 s at most on a loaded machine
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("smtp-sink did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def open_dumps(self):
        """The dump files smtp-sink still holds open: transactions in
        progress, which it unlinks if the client goes away before the end
        of data. None when /proc does not tell."""
        try:
            fds = os.listdir("/proc/%d/fd" % self.proc.pid)
        except OSError:
            return None
        held = set()
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (self.proc.pid, fd))
            except OSError:
                continue
            if target.startswith(self.dir + "/"):
                held.add(target)
        return held

    def mails(self):
        """The mails accepted so far. A killed client's transaction is a file
        until smtp-sink reads the hang-up, so wait for open dumps to end."""
        deadline = time.monotonic() + 10
        held = self.open_dumps()
        while held and time.monotonic() < deadline:
            time.sleep(0.02)
            held = self.open_dumps()
        out = []
        for path in sorted(glob.glob(self.dir + "/*")):
            if held and path in held:
                continue
            try:
                raw = open(path, "rb").read()
            except FileNotFoundError:
                continue
            out.append(Mail(raw))
        return out


class RefusingSink:
    """A minimal SMTP server that answers the first mail's end of data with
    451 and accepts the later ones (stored like Sink's, with X-Rcpt-Args),
    for what happens when one report of a run is refused."""

    def __init__(self, root):
        self.dir = os.path.join(root, "refusing-sink")
        os.mkdir(self.dir)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.session(conn)

    def session(self, conn):
        f = conn.makefile("rb")
        say = lambda text: conn.sendall(text.encode() + b"\r\n")
        rcpts = []
        say("220 refusing-sink")
        for raw in f:
            cmd = raw.decode(errors="replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip())
                say("250 ok")
            elif verb == "DATA":
                say("354 go on")
                data = b""
                for line in f:
                    if line in (b".\r\n", b".\n"):
                        break
                    data += line[1:] if line.startswith(b"..") else line
                self.count += 1
                if self.count == 1:
                    say("451 4.7.1 try again later")
                else:
                    head = "".join("X-Rcpt-Args: %s\r\n" % r for r in rcpts).encode()
                    with open(os.path.join(self.dir, "%04d" % self.count), "wb") as out:
                        out.write(head + data)
                    say("250 queued")
                rcpts = []
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")

    def stop(self):
        self.sock.close()

    def mails(self):
        return [Mail(open(p, "rb").read()) for p in sorted(glob.glob(self.dir + "/*"))]


class Mail:
    def __init__(self, raw):
        self.raw = raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.rcpts = [a.strip().strip("<>") for a in self.msg.get_all("X-Rcpt-Args", [])]
        self.subject = str(self.msg["Subject"])
        self.text = self.msg.get_body(("plain",)).get_content()
        self.html = self.msg.get_body(("html",)).get_content()

    def passwords(self):
        """mailbox → password, from the text part's password lines."""
        found = {}
        in_section = False
        for line in self.text.splitlines():
            if line.startswith("The passwords of these mailboxes"):
                in_section = True
                continue
            if in_section and line.startswith("  ") and "@" in line:
                box, pw = line.split(None, 1)
                found[box] = None if pw.startswith("(not shown") else pw
            elif in_section and line and not line.startswith(" ") and "(" not in line:
                if found:
                    break
        return found


class Env:
    def __init__(self, sink_args=(), start_sink=True):
        self.dir = tempfile.mkdtemp(prefix="maillog-alerts-")
        os.chmod(self.dir, 0o755)
        self.db = os.path.join(self.dir, "maillog.db")
        self.record = os.path.join(self.dir, "passwd.log")
        self.sink = Sink(self.dir, sink_args) if start_sink else None
        self.port = self.sink.port if self.sink else free_port()
        self.write_config()
        # The program creates its own schema.
        r = self.run(now=H9 - 86400 * 30)
        assert r.returncode == 0, r.stderr
        self.sql = sqlite3.connect(self.db, isolation_level=None, timeout=10)

    def write_config(self, command=None):
        with open(os.path.join(self.dir, "maillog.ini"), "w") as f:
            f.write("[maillog]\ndb = %s\n[smtp]\nurl = smtp://127.0.0.1:%d\n"
                    "from = mail-log@server.test\n[password]\ncommand = %s\n"
                    % (self.db, self.port, command or "%s %s {mailbox}" % (RECORD, self.record)))

    def close(self):
        if self.sink:
            self.sink.stop()
        self.sql.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, now=NOW, crash=None, args=(), read_to=None, tz="UTC"):
        """`maillog alerts --now NOW`. read_to: the read mark set first, as the
        ingest cron leaves it (default NOW: the logs were read to their end just
        now; False: left as it is)."""
        if hasattr(self, "sql") and read_to is not False:
            self.sql.execute("INSERT OR REPLACE INTO read_mark(id, read_to) VALUES (1, ?)",
                             (now if read_to is None else read_to,))
        env = dict(os.environ, TZ=tz)
        env.pop("MAILLOG_TEST_CRASH", None)
        if crash:
            env["MAILLOG_TEST_CRASH"] = crash
        return subprocess.run(
            [MAILLOG, "alerts", "--config", os.path.join(self.dir, "maillog.ini"),
             "--now", str(now), *args],
            env=env, capture_output=True, text=True, timeout=120)

    def settings(self, *sets, domain=None):
        """Changes settings through `maillog settings`, as an admin would."""
        cmd = [MAILLOG, "settings", "--config", os.path.join(self.dir, "maillog.ini")]
        if domain:
            cmd += ["--domain", domain]
        for kv in sets:
            cmd += ["--set", kv]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (cmd, r.stderr)

    def domain(self, name, owner, usual=("DE", "FR"), notify=1, force=0, exceptions=()):
        # The domains table is what the ingest loads from the domains file.
        self.sql.execute("INSERT OR REPLACE INTO domains(name, owner_email) VALUES (?, ?)",
                         (name, owner))
        self.settings("usual_countries=" + ",".join(usual), "notify=%d" % notify,
                      "force_password_change=%d" % force,
                      "ip_exceptions=" + ",".join(exceptions), domain=name)
        # configured long before the test's hours (the settings command
        # stamped notify_since with the real clock, not --now's)
        self.sql.execute("UPDATE domain_settings SET notify_since = ? WHERE domain = ?",
                         (H9 - 30 * 86400 if notify else 0, name))

    def excluded(self, ips):
        self.settings("excluded_ips=" + ",".join(ips))

    def event(self, t, user, ip, country, proto=IMAP, success=1):
        dom = user.rsplit("@", 1)[1].lower() if "@" in user else ""
        self.sql.execute(
            "INSERT INTO access_events(time, user, user_domain, ip, country, protocol, success)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (t, user, dom, ip, country, proto, success))

    def mails(self):
        return self.sink.mails() if self.sink else []

    def commands(self):
        """[(argv list, PSA_PASSWORD)] in call order."""
        if not os.path.exists(self.record):
            return []
        calls, argv = [], None
        for line in open(self.record).read().splitlines():
            tag, _, rest = line.partition("\t")
            if tag == "ARGV":
                argv = rest.split("\t") if rest else []
            elif tag == "PASS":
                calls.append((argv, rest))
        return calls

    def states(self):
        return dict(((d, h), s) for d, h, s in self.sql.execute(
            "SELECT domain, hour_start, state FROM alert_reports WHERE state <> 'none'"))

    def pw_states(self):
        return dict((m, s) for m, s in self.sql.execute(
            "SELECT mailbox, state FROM password_changes"))


def has_ip(text, ip):
    """ip in text as a whole address (203.0.113.9 is not in 203.0.113.99)."""
    return re.search(r"(?<![0-9a-f:.])%s(?![0-9a-f:.]*[0-9a-f])" % re.escape(ip), text) is not None


def reports(mails):
    return [m for m in mails if m.subject.startswith("Suspicious logins")]


def notices(mails):
    return [m for m in mails if m.subject.startswith("Password NOT changed")]


# ---- tests ------------------------------------------------------------------

def test_which_logins_are_reported():
    env = Env()
    try:
        env.domain("example.com", "owner@example.org",
                   exceptions=["198.51.100.7", "2001:db8:1::/48"])
        env.domain("other.test", "boss@other.test", notify=0)
        env.excluded(["192.0.2.0/24", "2001:db8:ffff::1"])
        t = H9 + 60
        reported = {
            "info@example.com": ("203.0.113.5", "US", IMAP),
            "erin@example.com": ("198.51.100.8", "BR", POP3),       # next to an exception
            "gina@example.com": ("2001:db8:2::5", "CN", SUBMISSION),  # outside the /48
            "sieve@example.com": ("203.0.113.77", "US", MANAGESIEVE),
            "smtp@example.com": ("2001:db8:ffff::2", "JP", SMTP),    # next to an excluded /128
        }
        quiet = {
            "bob@example.com": ("203.0.113.6", "DE", IMAP),          # usual country
            "fritz@example.com": ("203.0.113.9", "FR", POP3),        # usual country
            "carol@example.com": ("192.0.2.44", "US", IMAP),         # excluded CIDR
            "xavier@example.com": ("2001:db8:ffff::1", "US", SMTP),  # excluded IPv6
            "dave@example.com": ("198.51.100.7", "BR", IMAP),        # domain exception
            "frank@example.com": ("2001:db8:1::5", "CN", IMAP),      # exception CIDR v6
            "hal@example.com": ("10.0.0.1", "", IMAP),               # local: no country
            "mapped@example.com": ("192.0.2.45", "US", IMAP),        # excluded
        }
        for i, (box, (ip, cc, proto)) in enumerate(sorted(reported.items())):
            env.event(t + i, box, ip, cc, proto)
        for i, (box, (ip, cc, proto)) in enumerate(sorted(quiet.items())):
            env.event(t + 100 + i, box, ip, cc, proto)
        env.event(t, "late@example.com", "203.0.113.5", "US")          # fine, but:
        env.sql.execute("UPDATE access_events SET time = ? WHERE user = 'late@example.com'",
                        (H9 + 3600,))                                  # 10:00 is the next hour
        env.event(H9 - 1, "early@example.com", "203.0.113.5", "US")    # 08:59:59
        env.event(t, "failed@example.com", "203.0.113.5", "US", success=0)
        env.event(t, "ceo@other.test", "203.0.113.5", "US")            # other domain, notify off
        for k in range(6):  # a burst from an unusual country
            env.event(t + k, "info@example.com" if k % 2 else "admin@example.com",
                      "203.0.113.99", "RU", IMAP, success=0)
        for k in range(4):  # below the burst threshold
            env.event(t + k, "info@example.com", "203.0.113.98", "RU", IMAP, success=0)
        for k in range(9):  # many, but from a usual country
            env.event(t + k, "info@example.com", "203.0.113.97", "DE", IMAP, success=0)

        r = env.run()
        assert r.returncode == 0, r.stderr
        mails = env.mails()
        assert len(mails) == 2, [m.subject for m in mails]  # 9:00 and 8:00
        by_subject = {m.subject: m for m in mails}
        m = by_subject[SUBJECT_9]
        assert m.rcpts == ["owner@example.org"], m.rcpts
        assert str(m.msg["To"]) == "<owner@example.org>" or "owner@example.org" in str(m.msg["To"])
        for box, (ip, cc, proto) in reported.items():
            assert box in m.text and has_ip(m.text, ip), (box, m.text)
            assert box in m.html and has_ip(m.html, ip), box
        for box, (ip, _, _) in quiet.items():
            assert box not in m.text and not has_ip(m.text, ip), box
        for box in ("late@example.com", "early@example.com", "failed@example.com",
                    "ceo@other.test"):
            assert box not in m.text, box
        assert "Successful logins from other countries (5)" in m.text, m.text
        burst = [line for line in m.text.splitlines() if "203.0.113.99" in line]
        assert len(burst) == 1 and "6 failed logins" in burst[0], burst
        assert "admin@example.com" in burst[0] and "1 other mailboxes" in burst[0], burst
        assert "203.0.113.98" not in m.text and "203.0.113.97" not in m.text
        m8 = [x for x in mails if x is not m][0]
        assert "08:00\u201309:00" in m8.subject and "early@example.com" in m8.text
        assert env.commands() == [], "no forced change configured"
        assert all(not rc.startswith("info@") for m in mails for rc in m.rcpts)
    finally:
        env.close()


def test_catch_up_and_no_duplicate():
    env = Env()
    try:
        env.domain("example.com", "owner@example.org")
        for hours_back in (1, 4, 6, 24, 25, 30):  # hour starts relative to 10:00
            env.event(H9 + 3600 - hours_back * 3600 + 120, "u%d@example.com" % hours_back,
                      "203.0.113.%d" % hours_back, "US")
        r = env.run()
        assert r.returncode == 0, r.stderr
        subjects = sorted(m.subject for m in env.mails())
        # 24 hours back from 10:00 is 10:00 yesterday: 1, 4, 6 and 24 hours back are in,
        # 25 and 30 are beyond the catch-up window.
        assert len(subjects) == 4, subjects
        texts = " ".join(m.text for m in env.mails())
        for hb in (1, 4, 6, 24):
            assert "u%d@example.com" % hb in texts, hb
        for hb in (25, 30):
            assert "u%d@example.com" % hb not in texts, hb
        assert any("2026-11-24 10:00\u201311:00" in s for s in subjects), subjects
        # Rerun in the same hour and later the same hour: nothing new.
        for now in (NOW, NOW + 1200):
            r = env.run(now=now)
            assert r.returncode == 0, r.stderr
        assert len(env.mails()) == 4
        # Before 10:05 the hour 9-10 is not complete yet (ingest grace).
        env2 = Env()
        try:
            env2.domain("example.com", "owner@example.org")
            env2.event(H9 + 3000, "x@example.com", "203.0.113.1", "US")
            assert env2.run(now=H9 + 3600 + 200).returncode == 0
            assert env2.mails() == []
            assert env2.run(now=H9 + 3600 + 400).returncode == 0
            assert len(env2.mails()) == 1
        finally:
            env2.close()
        # A missed run: the next one, three hours later, catches up on all three hours.
        env.event(H9 + 3600 + 60, "a@example.com", "203.0.113.50", "US")
        env.event(H9 + 2 * 3600 + 60, "b@example.com", "203.0.113.51", "US")
        env.event(H9 + 3 * 3600 + 60, "c@example.com", "203.0.113.52", "US")
        r = env.run(now=NOW + 3 * 3600)
        assert r.returncode == 0, r.stderr
        new = [m for m in env.mails() if m.subject not in subjects]
        assert len(new) == 3, [m.subject for m in new]
        for box in ("a@example.com", "b@example.com", "c@example.com"):
            assert sum(box in m.text for m in new) == 1, box
    finally:
        env.close()


def forced_env(mailboxes=("info@example.com",), **kw):
    env = Env(**kw)
    env.domain("example.com", "owner@example.org", force=1)
    for i, box in enumerate(mailboxes):
        env.event(H9 + 600 + i, box, "203.0.113.%d" % (10 + i), "US")
    return env


def test_forced_change_password_only_in_environment():
    env = forced_env(("info@example.com", "Sales@Example.COM"))
    try:
        env.event(H9 + 650, "sales@example.com", "203.0.113.30", "US")  # same mailbox
        # Not a valid mailbox for a command (option-like): reported, never changed.
        env.event(H9 + 700, "-passwd@example.com", "203.0.113.66", "US")
        r = env.run()
        assert r.returncode == 0, r.stderr
        (m,) = env.mails()
        pw = m.passwords()
        # one change per mailbox, whatever the case it was logged in
        assert sorted(pw) == ["info@example.com", "sales@example.com"], (pw, m.text)
        assert "Sales@Example.COM" in m.text
        calls = env.commands()
        assert sorted(c[0][0] for c in calls) == sorted(pw), calls
        for argv, secret in calls:
            assert argv == [argv[0]], argv              # the mailbox is the only argument
            assert secret == pw[argv[0]], (secret, pw)  # the password of the report
            assert secret not in " ".join(argv)
            assert len(secret) >= 12
        assert "-passwd@example.com" in m.text
        # Never stored, never printed.
        for path in glob.glob(env.db + "*"):
            blob = open(path, "rb").read()
            for secret in pw.values():
                assert secret.encode() not in blob, path
        for secret in pw.values():
            assert secret not in r.stdout and secret not in r.stderr
        assert set(env.pw_states().values()) == {"changed"}
        # Rerun: nothing new, no second change.
        assert env.run(now=NOW + 600).returncode == 0
        assert len(env.mails()) == 1 and len(env.commands()) == 2
    finally:
        env.close()


def test_owner_mailbox_used_from_abroad_gets_no_password_by_mail():
    # The owner's address is one of the mailboxes used from abroad: whoever
    # used it may read the report there. Both passwords are replaced; neither
    # new one is in the mail, nor referred to by the notice when a change fails.
    env = Env()
    try:
        env.domain("example.com", "Boss@Example.com", force=1)
        env.event(H9 + 600, "boss@example.com", "203.0.113.10", "US")
        env.event(H9 + 601, "info@example.com", "203.0.113.11", "US")
        open(env.record + ".fail-info@example.com", "w").close()
        r = env.run()
        (m,) = reports(env.mails())
        assert m.passwords() == {"boss@example.com": None, "info@example.com": None}, m.text
        calls = dict((argv[0], secret) for argv, secret in env.commands())
        assert sorted(calls) == ["boss@example.com", "info@example.com"], calls
        for part in (m.text, m.html):
            for secret in calls.values():
                assert secret not in part
            assert "not shown: this message goes to one of these mailboxes" in part
        assert env.pw_states()["boss@example.com"] == "changed", env.pw_states()
        (n,) = notices(env.mails())
        assert "info@example.com" in n.text and "NOT carried out" in n.text, n.text
        assert "from the report" not in n.text, n.text
        assert r.returncode == 1, r.stderr  # the failed change
        # the history does not send the owner looking for a password in the mail
        st, doc = api_get(env, "/v1/domains/example.com/alerts", "client", "c", "example.com")
        (rep,) = doc["reports"]
        assert st == 200 and rep["passwords_withheld"] is True, doc
        env.sql.execute("UPDATE domains SET owner_email = 'someone@example.org'")
        st, doc = api_get(env, "/v1/domains/example.com/alerts", "client", "c", "example.com")
        assert doc["reports"][0]["passwords_withheld"] is False, doc
    finally:
        env.close()


def test_a_short_retention_keeps_what_the_alert_run_needs():
    # retention_days=1: the purge at the next ingest must not take the alert
    # run's record of an hour it may still look at (24 h back), or it would
    # report the hour again and replace the password a second time.
    now = int(time.time())
    hour = (now - 86400 - 1) // 3600 * 3600  # past the 1-day cutoff of the purge below
    login = hour + 60
    env = Env()
    try:
        env.settings("retention_days=1")
        env.domain("example.com", "owner@example.org", force=1)
        env.sql.execute("UPDATE domain_settings SET notify_since = ?", (hour - 86400,))
        env.event(login, "info@example.com", "203.0.113.5", "US")
        r = env.run(now=hour + 3600 + 540)
        assert r.returncode == 0, r.stderr
        assert len(reports(env.mails())) == 1 and len(env.commands()) == 1
        p = subprocess.run([MAILLOG, "purge", "--config", os.path.join(env.dir, "maillog.ini")],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert env.states() == {("example.com", hour): "sent"}
        r = env.run(now=now)
        assert r.returncode == 0, r.stderr
        assert len(reports(env.mails())) == 1 and len(env.commands()) == 1
    finally:
        env.close()


def test_logins_stored_without_a_country_wait_for_a_geoip_database():
    # The ingest ran without a GeoIP database: logins from public addresses
    # have no country. Without one now either, the hour is not settled as
    # quiet: the run says why and fails; with one, the countries are looked
    # up and the hour reported.
    env = Env()
    try:
        env.domain("example.com", "owner@example.org")
        env.event(H9 + 600, "info@example.com", "203.0.113.5", "")   # public: US below
        env.event(H9 + 601, "hal@example.com", "10.0.0.1", "")       # local: never judged
        env.event(H9 + 602, "bob@example.com", "198.51.100.4", "")   # public: DE, usual
        r = env.run()
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "have no country, and the GeoIP database cannot be read" in r.stderr, r.stderr
        assert env.mails() == [] and env.states() == {}
        assert env.sql.execute("SELECT count(*) FROM alert_reports WHERE hour_start = ?",
                               (H9,)).fetchone()[0] == 0
        tsv = os.path.join(env.dir, "geo.tsv")
        with open(tsv, "w") as f:
            f.write("203.0.113.0/24\tUS\n198.51.100.0/24\tDE\n")
        mmdb = os.path.join(env.dir, "geo.mmdb")
        subprocess.run(["perl", os.path.join(SRC, "tests", "fixtures", "geo", "make-mmdb.pl"),
                        tsv, mmdb], check=True, timeout=60)
        with open(os.path.join(env.dir, "maillog.ini"), "a") as f:
            f.write("[maillog]\ngeoip = %s\n" % mmdb)
        r = env.run(now=NOW + 600)
        assert r.returncode == 0, r.stderr
        (m,) = reports(env.mails())
        assert "info@example.com" in m.text and has_ip(m.text, "203.0.113.5"), m.text
        assert "bob@example.com" not in m.text and "hal@example.com" not in m.text
        assert env.states() == {("example.com", H9): "sent"}
    finally:
        env.close()


def test_waits_for_an_ingest_holding_the_database():
    # An ingest's batch holds the write lock for longer than the default
    # 5 s: the hour's run waits for it instead of failing for every domain.
    env = forced_env()
    try:
        env.sql.execute("INSERT OR REPLACE INTO read_mark(id, read_to) VALUES (1, ?)", (NOW,))
        holder = sqlite3.connect(env.db, isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE settings SET value = value WHERE key = 'retention_days'")
        proc = subprocess.Popen(
            [MAILLOG, "alerts", "--config", os.path.join(env.dir, "maillog.ini"),
             "--now", str(NOW)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(7)
        assert proc.poll() is None, proc.communicate()  # still waiting, not failed
        holder.execute("COMMIT")
        holder.close()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert len(reports(env.mails())) == 1 and len(env.commands()) == 1
    finally:
        env.close()


def test_more_mailboxes_than_one_report_changes_are_said():
    boxes = ["m%03d@example.com" % i for i in range(102)]
    env = forced_env(boxes)
    try:
        r = env.run()
        assert r.returncode == 0, r.stderr
        (m,) = reports(env.mails())
        assert len(m.passwords()) == 100 and len(env.commands()) == 100
        changed = set(c[0][0] for c in env.commands())
        assert changed == set(m.passwords()), changed ^ set(m.passwords())
        for part in (m.text, m.html.replace("\n", " ")):
            assert "than one report changes (100)" in part and "NOT" in part, part[-600:]
    finally:
        env.close()


def test_logins_without_a_country_do_not_hold_back_a_report():
    # No GeoIP database anywhere: a login stored with an unusual country is
    # reported at once; the one without a country is said to be unjudged.
    env = Env()
    try:
        env.domain("example.com", "owner@example.org")
        env.event(H9 + 600, "erin@example.com", "203.0.113.7", "JP")
        env.event(H9 + 601, "info@example.com", "203.0.113.5", "")
        r = env.run()
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "1 login(s) from public addresses have no country" in r.stderr, r.stderr
        (m,) = reports(env.mails())
        assert "erin@example.com" in m.text and "info@example.com" not in m.text, m.text
        assert env.states() == {("example.com", H9): "sent"}
    finally:
        env.close()


def test_command_failure_sends_a_notice():
    env = forced_env()
    try:
        open(env.record + ".fail", "w").close()
        r = env.run()
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "simulated failure" in r.stderr
        mails = env.mails()
        assert len(reports(mails)) == 1 and len(notices(mails)) == 1, [m.subject for m in mails]
        n = notices(mails)[0]
        assert n.rcpts == ["owner@example.org"]
        assert "info@example.com" in n.text and "old password is still valid" in n.text
        assert reports(mails)[0].passwords()["info@example.com"] not in n.text
        assert env.pw_states() == {"info@example.com": "failed_notified"}
        os.unlink(env.record + ".fail")
        assert env.run(now=NOW + 600).returncode == 0
        assert len(env.mails()) == 2 and len(env.commands()) == 1
    finally:
        env.close()


def test_a_command_killed_before_it_exits_may_have_changed_it():
    # The command sets the password, then dies of a signal (or hangs and is
    # killed at the timeout): the notice must not claim the old password
    # still works.
    env = forced_env()
    try:
        script = os.path.join(env.dir, "dies.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\n%s %s "$1"\nkill -KILL $$\n' % (RECORD, env.record))
        os.chmod(script, 0o755)
        env.write_config(command="%s {mailbox}" % script)
        r = env.run()
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "killed by signal 9" in r.stderr, r.stderr
        assert len(env.commands()) == 1
        (n,) = notices(env.mails())
        assert "may or may not have happened" in n.text, n.text
        assert env.pw_states()["info@example.com"].startswith("unsure"), env.pw_states()
    finally:
        env.close()


def test_notice_retried_until_delivered_then_given_up():
    for give_up in (False, True):
        env = forced_env()
        try:
            open(env.record + ".fail", "w").close()
            with open(env.record + ".kill", "w") as f:  # the command stops the SMTP server
                f.write(str(env.sink.proc.pid))
            r = env.run()
            assert r.returncode == 1, r.stderr
            assert len(reports(env.mails())) == 1 and notices(env.mails()) == []
            assert env.pw_states() == {"info@example.com": "failed"}
            first = env.sink
            env.sink = Sink(env.dir)
            env.port = env.sink.port
            env.write_config()
            later = NOW + (8 * 86400 if give_up else 3600)
            r = env.run(now=later)
            if give_up:  # a week later the notice is given up, not sent
                assert env.mails() == [], [m.subject for m in env.mails()]
                assert env.pw_states() == {"info@example.com": "failed_unnotified"}
            else:
                assert r.returncode == 0, r.stderr
                (n,) = notices(env.mails())
                assert "info@example.com" in n.text
                assert env.pw_states() == {"info@example.com": "failed_notified"}
            assert len(env.commands()) == 1
            first.stop()
        finally:
            env.close()


def test_no_reply_after_the_data_is_not_acceptance():
    # This smtp-sink stores the mail and exits before answering the end of data.
    env = forced_env(sink_args=["-M", "1"])
    try:
        r = env.run()
        assert r.returncode == 1, r.stderr
        (lost,) = env.mails()
        assert env.commands() == [] and env.pw_states() == {}
        assert env.states() == {("example.com", H9): "pending"}
        first = env.sink
        env.sink = Sink(env.dir)
        env.port = env.sink.port
        env.write_config()
        assert env.run(now=NOW + 3600).returncode == 0
        (m,) = env.mails()
        (call,) = env.commands()
        # The password set is the one of the report the server confirmed.
        assert call[1] == m.passwords()["info@example.com"]
        assert call[1] != lost.passwords()["info@example.com"]
        first.stop()
    finally:
        env.close()


def test_smtp_down_is_retried_and_changes_nothing():
    env = forced_env(start_sink=False)  # nothing listens on the configured port
    try:
        r = env.run()
        assert r.returncode == 1, r.stderr
        assert env.commands() == []
        assert env.states() == {("example.com", H9): "pending"}
        assert env.pw_states() == {}
        attempts = env.sql.execute("SELECT attempts, last_error FROM alert_reports"
                                   " WHERE state = 'pending'").fetchone()
        assert attempts[0] == 1 and attempts[1], attempts
        # A server that refuses the message at end of data does not count either.
        bad = Sink(env.dir, ["-f", "."])
        env.port = bad.port
        env.write_config()
        r = env.run(now=NOW + 300)
        bad.stop()
        assert r.returncode == 1 and env.commands() == [], r.stderr
        assert env.states() == {("example.com", H9): "pending"}
        # The server is back: the report goes out once, and only then the password changes.
        env.sink = Sink(env.dir)
        env.port = env.sink.port
        env.write_config()
        r = env.run(now=NOW + 3600)
        assert r.returncode == 0, r.stderr
        (m,) = reports(env.mails())
        assert m.subject == SUBJECT_9
        (call,) = env.commands()
        assert call[1] == m.passwords()["info@example.com"]
        assert env.states()[("example.com", H9)] == "sent"
        assert env.run(now=NOW + 7200).returncode == 0
        assert len(env.mails()) == 1
    finally:
        env.close()


def crash_run(env, point):
    r = env.run(crash=point)
    assert r.returncode == -signal.SIGKILL, (point, r.returncode, r.stderr)


def test_crash_before_send_and_before_end_resend_once():
    for point in ("before-send", "before-end"):
        env = forced_env()
        try:
            crash_run(env, point)
            assert env.mails() == [] and env.commands() == [], point
            r = env.run(now=NOW + 60)
            assert r.returncode == 0, r.stderr
            (m,) = env.mails()
            (call,) = env.commands()
            assert call[1] == m.passwords()["info@example.com"], point
            assert env.pw_states() == {"info@example.com": "changed"}
        finally:
            env.close()


def test_crash_after_accept_no_duplicate_no_change():
    env = forced_env()
    try:
        crash_run(env, "after-accept")
        (m,) = env.mails()  # the server has it
        assert env.commands() == []
        r = env.run(now=NOW + 60)
        assert r.returncode == 0, r.stderr
        mails = env.mails()
        assert len(reports(mails)) == 1, [x.subject for x in mails]  # not sent again
        (n,) = notices(mails)  # the owner learns the announced password is not in force
        assert "info@example.com" in n.text and "old password is still valid" in n.text
        assert env.commands() == []  # the lost password is never set
        assert env.states()[("example.com", H9)] == "sent"
        assert env.run(now=NOW + 120).returncode == 0
        assert len(env.mails()) == 2 and env.commands() == []
    finally:
        env.close()


def test_crash_after_sent_and_after_command():
    env = forced_env()
    try:
        crash_run(env, "after-sent")
        assert len(env.mails()) == 1 and env.commands() == []
        assert env.run(now=NOW + 60).returncode == 0
        assert len(notices(env.mails())) == 1 and env.commands() == []
    finally:
        env.close()
    env = forced_env(("a@example.com", "b@example.com"))
    try:
        crash_run(env, "after-command")
        (m,) = env.mails()
        (call,) = env.commands()  # the first change ran, the run died before recording it
        assert env.run(now=NOW + 60).returncode == 0
        (n,) = notices(env.mails())
        states = env.pw_states()
        first = call[0][0]
        second = ({"a@example.com", "b@example.com"} - {first}).pop()
        assert states == {first: "unsure_notified", second: "abandoned_notified"}, states
        lines = {ln.split(":")[0].strip(): ln for ln in n.text.splitlines() if "@" in ln}
        assert "may or may not" in lines[first], lines
        assert "NOT set" in lines[second], lines
        assert len(env.commands()) == 1
    finally:
        env.close()


def test_mail_format_and_untrusted_text():
    env = Env()
    try:
        env.domain("example.com", "owner@example.org")
        nasty = "<script>alert(1)</script>\x1b[31m\u202egnp.exe@example.com"
        env.event(H9 + 61, nasty, "203.0.113.5", "US")
        env.sql.execute("INSERT INTO access_events(time, user, user_domain, ip, country,"
                        " protocol, success) VALUES (?, CAST(? AS TEXT), 'example.com',"
                        " '203.0.113.6', 'BR', 0, 1)", (H9 + 62, b"bad\xff\xfeutf8@example.com"))
        r = env.run()
        assert r.returncode == 0, r.stderr
        (m,) = env.mails()
        msg = m.msg
        assert m.subject == SUBJECT_9, m.subject
        assert msg["MIME-Version"] == "1.0"
        assert email.utils.parsedate_to_datetime(msg["Date"]).timestamp() == NOW
        mid = msg["Message-ID"]
        assert mid.startswith("<") and mid.endswith("@server.test>"), mid
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"], parts
        for p in msg.iter_parts():
            assert p.get_content_charset() == "utf-8"
            assert p["Content-Transfer-Encoding"] == "quoted-printable"
        assert "From: Mail log <mail-log@server.test>" in m.raw.decode()
        # the raw message: 7-bit, CRLF-free dump lines of at most 78 characters
        head_end = m.raw.index(b"\nFrom: ")
        for line in m.raw[head_end + 1:].split(b"\n"):
            assert len(line.rstrip(b"\r")) <= 78, line
            assert all(b < 128 for b in line), line
        assert "=?UTF-8?B?" in m.raw.decode()
        # untrusted mailbox names: escaped in HTML, no control or bidi characters anywhere
        assert "<script>" not in m.html and "&lt;script&gt;" in m.html
        for part in (m.text, m.html):
            assert "\x1b" not in part and "\u202e" not in part and "\ufffd" not in part
            assert "bad??utf8@example.com" in part
        assert "<script>alert(1)</script>" in m.text  # plain text shows it as text
        # a second report gets a different Message-ID
        env.event(H9 + 3600 + 5, "z@example.com", "203.0.113.7", "US")
        assert env.run(now=NOW + 3600).returncode == 0
        ids = {x.msg["Message-ID"] for x in env.mails()}
        assert len(ids) == 2
    finally:
        env.close()


def test_failure_burst_alone_and_settings_that_silence():
    env = Env()
    try:
        env.domain("example.com", "owner@example.org", force=1)
        # nothing usual: refused by the settings now, but an older version saved it
        env.domain("quiet.test", "owner@quiet.test", usual=(), notify=0)
        env.sql.execute("UPDATE domain_settings SET notify = 1 WHERE domain = 'quiet.test'")
        env.domain("off.test", "owner@off.test", notify=0)
        env.domain("noowner.test", "", force=1)
        for k in range(ALERT_BURST_MIN):
            env.event(H9 + k, "info@example.com", "203.0.113.99", "RU", success=0)
        for dom in ("quiet.test", "off.test", "noowner.test"):
            env.event(H9 + 5, "x@" + dom, "203.0.113.5", "US")
        r = env.run()
        assert r.returncode == 1, r.stderr  # noowner.test cannot be told
        assert "noowner.test" in r.stderr
        (m,) = env.mails()
        assert m.rcpts == ["owner@example.org"]
        assert "203.0.113.99" in m.text and "%d failed logins" % ALERT_BURST_MIN in m.text
        assert m.passwords() == {} and env.commands() == []  # failures change nothing
        assert env.states()[("noowner.test", H9)] == "pending"
        assert env.commands() == []
    finally:
        env.close()


ALERT_BURST_MIN = 5


def test_hours_wait_until_the_ingest_has_read_them():
    env = Env()
    try:
        env.domain("example.com", "owner@example.org")
        env.event(H9 + 1800, "info@example.com", "203.0.113.5", "US")
        # 10:09, but the last ingest that read the logs to the end started at
        # 9:58 (cron_enabled off, or a slow run): 9:00-10:00 is not judged yet,
        # and not settled as quiet either.
        r = env.run(read_to=H9 + 3480)
        assert r.returncode == 0, r.stderr
        assert env.mails() == [] and "last read to their end" in r.stderr, r.stderr
        assert env.sql.execute("SELECT count(*) FROM alert_reports WHERE hour_start = ?",
                               (H9,)).fetchone()[0] == 0
        # a database no ingest has finished on yet: nothing is judged
        env.sql.execute("DELETE FROM read_mark")
        r = env.run(read_to=False)
        assert r.returncode == 0 and env.mails() == [], r.stderr
        assert "no `maillog ingest` run has read the logs" in r.stderr, r.stderr
        # an ingest that started at 10:00:30 may have missed a 9:59 line that
        # reached the file late: the hour still waits
        r = env.run(now=H9 + 3600 + 600, read_to=H9 + 3600 + 30)
        assert r.returncode == 0 and env.mails() == [], r.stderr
        # the ingest of 10:15 read everything: the 10:20 run reports the hour
        r = env.run(now=H9 + 3600 + 1200, read_to=H9 + 3600 + 900)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        (m,) = env.mails()
        assert m.subject == SUBJECT_9 and "info@example.com" in m.text, m.subject
    finally:
        env.close()


def test_one_new_password_per_mailbox_in_a_run():
    env = Env()
    try:
        env.domain("example.com", "owner@example.org", force=1)
        # anna logs in from the US in three hours a missed run leaves behind,
        # bert only in the oldest one
        for hours_back in (1, 2, 3):
            env.event(H9 + 3600 - hours_back * 3600 + 300, "anna@example.com",
                      "203.0.113.7", "US")
        env.event(H9 - 2 * 3600 + 400, "bert@example.com", "203.0.113.8", "US")
        r = env.run()
        assert r.returncode == 0, r.stderr
        mails = env.mails()
        assert len(mails) == 3, [m.subject for m in mails]
        # the newest report carries anna's one new password, the oldest bert's
        with_anna = [m for m in mails if "anna@example.com" in m.passwords()]
        assert len(with_anna) == 1 and "09:00\u201310:00" in with_anna[0].subject, \
            [(m.subject, m.passwords()) for m in mails]
        calls = env.commands()
        assert sorted(a[-1] for a, _ in calls) == ["anna@example.com", "bert@example.com"], calls
        anna_pw = [pw for a, pw in calls if a[-1] == "anna@example.com"][0]
        assert with_anna[0].passwords()["anna@example.com"] == anna_pw
        # every report still lists anna's login of its hour
        assert all("anna@example.com" in m.text for m in mails)
    finally:
        env.close()


def test_a_refused_newest_report_leaves_the_password_to_an_older_one():
    env = Env(start_sink=False)
    env.sink = RefusingSink(env.dir)
    env.port = env.sink.port
    env.write_config()
    try:
        env.domain("example.com", "owner@example.org", force=1)
        for hours_back in (1, 2):  # anna at 9:05 and 8:05
            env.event(H9 + 3600 - hours_back * 3600 + 300, "anna@example.com",
                      "203.0.113.7", "US")
        r = env.run()
        assert r.returncode == 1, r.stderr  # the 9:00 report was refused: retried
        (m,) = env.mails()
        assert "08:00\u201309:00" in m.subject, m.subject
        # the accepted 8:00 report changes anna's password, and says so
        (call,) = env.commands()
        assert call[0][-1] == "anna@example.com"
        assert m.passwords() == {"anna@example.com": call[1]}
        assert env.states()[("example.com", H9)] == "pending"
    finally:
        env.close()


def test_a_pending_report_survives_notify_off_and_on():
    env = forced_env(start_sink=False)  # SMTP down at 10:09: the 9:00 report is pending
    try:
        assert env.run().returncode == 1
        assert env.states() == {("example.com", H9): "pending"}
        # notify off and on again at 10:30 (as `maillog settings` stamps it)
        env.sql.execute("UPDATE domain_settings SET notify_since = ?", (H9 + 3600 + 1800,))
        env.sink = Sink(env.dir)
        env.port = env.sink.port
        env.write_config()
        r = env.run(now=NOW + 3600)
        assert r.returncode == 0, r.stderr
        (m,) = reports(env.mails())
        assert m.subject == SUBJECT_9, m.subject
        assert env.states() == {("example.com", H9): "sent"}
    finally:
        env.close()


def test_a_pending_report_of_a_domain_turned_off_is_given_up_after_the_retry_period():
    # Not retried while notifications are off, yet not "pending" for good:
    # the admin's overview would count it as failing until the purge.
    env = forced_env(start_sink=False)
    try:
        assert env.run().returncode == 1
        assert env.states() == {("example.com", H9): "pending"}
        env.settings("notify=0", "force_password_change=0", domain="example.com")
        assert env.run(now=NOW + 6 * 86400).returncode == 0
        assert env.states() == {("example.com", H9): "pending"}  # within the 7 days
        assert env.run(now=H9 + 7 * 86400 + 60).returncode == 0
        (state, error), = env.sql.execute("SELECT state, last_error FROM alert_reports"
                                         " WHERE domain = 'example.com' AND hour_start = ?", (H9,))
        assert state == "failed" and error.startswith(
            "not accepted by the SMTP server within the retry period: "), (state, error)
        assert env.commands() == [] and env.pw_states() == {}
    finally:
        env.close()


def test_upgrade_counts_notify_without_countries_as_off():
    env = Env()
    try:
        # the database as version 6 left it: notify on for a domain without a
        # usual country (nothing was ever reported for it), and for one with
        db = env.sql
        # undo what versions 7 to 13 add (their triggers become placeholders they drop)
        db.execute("DROP INDEX domains_uid")
        db.execute("DROP INDEX alert_reports_real")
        db.execute("ALTER TABLE domains DROP COLUMN sysuser_uid")
        db.execute("ALTER TABLE domains DROP COLUMN is_main")
        db.execute("ALTER TABLE messages DROP COLUMN local_domain")
        db.execute("ALTER TABLE messages DROP COLUMN local_uid")
        db.execute("DROP INDEX alert_reports_failing")
        db.execute("DROP TABLE track_state")
        db.execute("DROP TRIGGER deliveries_ad")
        db.execute("DROP TRIGGER deliveries_au")
        db.execute("DROP TRIGGER access_ad")
        db.execute("ALTER TABLE deliveries DROP COLUMN queue_id")
        db.execute("ALTER TABLE access_events DROP COLUMN search_extra")
        db.execute("CREATE TRIGGER access_ad AFTER DELETE ON access_events BEGIN SELECT 1; END")
        db.execute("CREATE TRIGGER deliveries_ad AFTER DELETE ON deliveries BEGIN SELECT 1; END")
        db.execute("CREATE TRIGGER deliveries_au AFTER UPDATE ON deliveries BEGIN SELECT 1; END")
        db.execute("DROP TABLE read_mark")
        db.execute("ALTER TABLE domain_settings DROP COLUMN notify_since")
        db.execute("INSERT INTO domain_settings(domain, usual_countries, notify) VALUES"
                   " ('bare.test', '', 1), ('set.test', 'DE', 1)")
        db.execute("PRAGMA user_version = 6")
        t0 = int(time.time())
        env.settings("retention_days=7")  # any command brings the schema to the current version
        since = dict(db.execute("SELECT domain, notify_since FROM domain_settings"))
        assert since["set.test"] == 0, since  # on since before the column existed
        assert t0 <= since["bare.test"] <= int(time.time()), since
        # and a row saved without a country by the settings before the upgrade
        db.execute("UPDATE domain_settings SET notify_since = 0 WHERE domain = 'bare.test'")
        env.settings("usual_countries=DE", "notify=1", domain="bare.test")
        since = dict(db.execute("SELECT domain, notify_since FROM domain_settings"))
        assert t0 <= since["bare.test"] <= int(time.time()), since
    finally:
        env.close()


def test_hours_are_the_servers_clock_hours():
    # India: UTC+5:30 (a POSIX TZ string, no tzdata needed). H9 is 14:30 there.
    env = Env()
    try:
        env.domain("example.com", "owner@example.org")
        env.event(H9 - 600, "early@example.com", "203.0.113.5", "US")  # 14:20
        env.event(H9 + 1500, "late@example.com", "203.0.113.6", "US")  # 14:55
        env.event(H9 + 1900, "next@example.com", "203.0.113.7", "US")  # 15:01
        r = env.run(now=H9 + 1800 + 540, tz="IST-5:30")  # 15:09
        assert r.returncode == 0, r.stderr
        (m,) = env.mails()
        assert m.subject == "Suspicious logins: example.com, 2026-11-25 14:00\u201315:00 IST", \
            m.subject
        assert "early@example.com" in m.text and "late@example.com" in m.text
        assert "next@example.com" not in m.text
        assert env.states() == {("example.com", H9 - 1800): "sent"}
    finally:
        env.close()


def test_half_hour_zone_after_upgrade_reports_nothing_twice():
    # An older version examined UTC hours; this one takes the server's clock
    # hours, which on a +5:30 server overlap those.
    env = Env()
    try:
        env.domain("example.com", "owner@example.org")
        env.event(H9 - 3000, "seen@example.com", "203.0.113.5", "US")  # 08:10 UTC
        r = env.run(now=H9 + 540)  # the old alignment, as UTC: 8:00-9:00 reported
        assert r.returncode == 0 and len(env.mails()) == 1, r.stderr
        (old,) = env.mails()
        # upgraded; the server is at +5:30 and it is 16:09 there (10:39 UTC)
        env.event(H9 + 3000, "new@example.com", "203.0.113.6", "US")  # 09:50 UTC, 15:20 IST
        r = env.run(now=H9 + 3600 + 1800 + 540, tz="IST-5:30")
        assert r.returncode == 0, r.stderr
        new = [m for m in env.mails() if m.raw != old.raw]  # file order is not send order
        assert len(new) == 1, [m.subject for m in new]
        assert "15:00\u201316:00 IST" in new[0].subject, new[0].subject
        assert "new@example.com" in new[0].text and "seen@example.com" not in new[0].text
    finally:
        env.close()


def test_notify_switched_on_reports_from_that_hour():
    env = Env()
    try:
        env.domain("example.com", "owner@example.org", force=1)
        for hours_back in (1, 2, 5):  # logins at 9:10, 8:10 and 5:10
            env.event(H9 + 3600 - hours_back * 3600 + 600, "u%d@example.com" % hours_back,
                      "203.0.113.%d" % hours_back, "US")
        # notify switched on at 8:40: the hour 8:00-9:00 and later are reported,
        # not the day before it (and no mailbox gets a password for an old login)
        env.sql.execute("UPDATE domain_settings SET notify_since = ?", (H9 - 1200,))
        r = env.run()
        assert r.returncode == 0, r.stderr
        texts = " ".join(m.text for m in env.mails())
        assert len(env.mails()) == 2, [m.subject for m in env.mails()]
        assert "u1@example.com" in texts and "u2@example.com" in texts, texts
        assert "u5@example.com" not in texts
        assert sorted(a[-1] for a, _ in env.commands()) == ["u1@example.com", "u2@example.com"]
        # what `maillog settings` stores: the time notify went on, kept while it
        # stays on, cleared when it goes off
        def since():
            return env.sql.execute("SELECT notify_since FROM domain_settings"
                                   " WHERE domain = 'other.test'").fetchone()[0]
        t0 = int(time.time())
        env.settings("usual_countries=DE", "notify=1", domain="other.test")
        first = since()
        assert t0 <= first <= int(time.time()), (t0, first)
        env.sql.execute("UPDATE domain_settings SET notify_since = 1000"
                        " WHERE domain = 'other.test'")
        env.settings("usual_countries=DE,FR", "notify=1", domain="other.test")
        assert since() == 1000
        env.settings("notify=0", domain="other.test")
        assert since() == 0
        # notify without a usual country would report nothing: refused
        r = subprocess.run([MAILLOG, "settings", "--config",
                            os.path.join(env.dir, "maillog.ini"), "--domain", "none.test",
                            "--set", "notify=1"], capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "at least one" in r.stderr, (r.returncode, r.stderr)
    finally:
        env.close()


CGI = os.path.join(os.path.dirname(MAILLOG), "maillog.cgi")


def api_get(env, path, role, user, domains):
    """GET path from the real maillog.cgi as a CGI program, with the identity
    the Plesk bridge would give it. Returns (status, JSON document)."""
    cgi_env = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "PATH_INFO": path,
               "QUERY_STRING": "", "MAILLOG_CONFIG": os.path.join(env.dir, "maillog.ini"),
               "MAILLOG_ROLE": role, "MAILLOG_USER": user, "MAILLOG_DOMAINS": domains,
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    r = subprocess.run([CGI], env=cgi_env, capture_output=True, timeout=60)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    m = re.match(rb"Status: (\d+)", head)
    return (int(m.group(1)) if m else 200), json.loads(body)


def test_history_shows_each_report_and_password_change():
    # What the alert run did, as the owner and the admin see it through the
    # API: an unsent report and why, then the same report sent with a
    # password change that failed; another domain's report stuck on a missing
    # owner address; quiet hours not listed; scope and the admin's
    # "config tab visibility" enforced.
    env = forced_env(start_sink=False)  # SMTP down
    try:
        env.domain("example.net", "", force=0)  # no owner address
        env.event(H9 + 900, "bob@example.net", "198.51.100.7", "US")
        env.event(H9 - 3600 + 900, "bob@example.net", "198.51.100.7", "US")
        admin = ("admin", "admin", "")
        client = ("client", "cli1", "example.com")
        other = ("client", "cli2", "example.net")
        st, doc = api_get(env, "/v1/domains/example.com/alerts", *client)
        assert st == 200 and doc == {"domain": "example.com", "reports": []}, (st, doc)
        st, doc = api_get(env, "/v1/stats", *admin)
        assert st == 200 and doc["alert_problems"] is None, doc

        assert env.run().returncode == 1
        st, doc = api_get(env, "/v1/domains/example.com/alerts", *client)
        assert st == 200, doc
        (rep,) = doc["reports"]
        assert (rep["hour_start"], rep["hour_end"]) == (H9, H9 + 3600), rep
        assert rep["state"] == "pending" and rep["attempts"] == 1, rep
        assert rep["error"] and "127.0.0.1" in rep["error"], rep
        assert rep["passwords"] == [] and rep["passwords_total"] == 0, rep
        st, doc = api_get(env, "/v1/domains/example.net/alerts", *other)
        assert [r["hour_start"] for r in doc["reports"]] == [H9, H9 - 3600], doc  # newest first
        for rep in doc["reports"]:
            assert rep["state"] == "pending" and "no usable owner address" in rep["error"], rep
        st, doc = api_get(env, "/v1/stats", *admin)
        probs = doc["alert_problems"]
        assert probs["failing_domains"] == 2 and probs["passwords_not_set"] == 0, probs
        assert probs["newest"]["domain"] in ("example.com", "example.net"), probs
        assert probs["newest"]["hour_start"] == H9 and probs["newest"]["error"], probs
        # nobody else's history, and only for who may see the configuration
        st, doc = api_get(env, "/v1/domains/example.com/alerts", *other)
        assert st == 403, (st, doc)
        st, doc = api_get(env, "/v1/stats", *client)
        assert st == 200 and "alert_problems" not in doc, doc

        # The server is back, the password command fails: sent, password not set.
        env.sink = Sink(env.dir)
        env.port = env.sink.port
        env.write_config()
        open(env.record + ".fail", "w").close()
        assert env.run(now=NOW + 3600).returncode == 1
        assert env.pw_states() == {"info@example.com": "failed_notified"}
        st, doc = api_get(env, "/v1/domains/example.com/alerts", *client)
        (rep,) = doc["reports"]  # the quiet hour 10:00-11:00 is not listed
        assert rep["hour_start"] == H9 and rep["state"] == "sent", rep
        assert rep["attempts"] == 2 and rep["error"] is None, rep
        assert rep["passwords"] == [{"mailbox": "info@example.com", "state": "failed_notified"}]
        assert rep["passwords_total"] == 1, rep
        # (the run did examine that hour and kept a row for it)
        assert env.sql.execute("SELECT state FROM alert_reports WHERE domain = 'example.com'"
                               " AND hour_start = ?", (H9 + 3600,)).fetchone() == ("none",)
        st, doc = api_get(env, "/v1/stats", *admin)
        probs = doc["alert_problems"]
        assert probs["failing_domains"] == 1 and probs["passwords_not_set"] == 1, probs
        assert probs["newest"]["domain"] == "example.net", probs

        # The same rows on the admin's terminal (times in the server's zone: UTC here).
        r = env.run(args=["--history", "--domain", "Example.COM"])
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith("suspicious-login reports of Example.COM, newest first"), lines
        assert re.match(r"2026-11-25 09:00-10:00  sent +attempts 2, last change ", lines[1]), lines
        assert lines[2:] == ["    password of info@example.com: failed_notified"], lines
        r = env.run(args=["--history"])
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("1 domains with a report the SMTP server has not accepted;"
                                   " 1 new passwords not surely set\nlatest: example.net,"
                                   " hour of 2026-11-25 09:00, pending: example.net: no usable"
                                   " owner address"), r.stdout
        # log data and server answers cannot drive the terminal
        env.sql.execute("UPDATE alert_reports SET last_error = 'evil \x1b]0;x\x07 text"
                        " \u009b[31m caf\u00e9' WHERE domain = 'example.net'")
        r = env.run(args=["--history", "--domain", "example.net"])
        assert "\x1b" not in r.stdout and "\u009b" not in r.stdout, r.stdout
        assert "    evil ?]0;x? text ?[31m caf\u00e9" in r.stdout, r.stdout  # C0, C1 out; UTF-8 kept
        r = env.run(args=["--domain", "example.net"])
        assert r.returncode == 2, r.stderr

        env.settings("client_config_visibility=hidden")
        st, doc = api_get(env, "/v1/domains/example.com/alerts", *client)
        assert st == 403, (st, doc)
        st, doc = api_get(env, "/v1/domains/example.com/alerts", *admin)
        assert st == 200 and len(doc["reports"]) == 1, doc
    finally:
        env.close()


def test_test_report():
    env = Env()
    try:
        r = env.run(args=["--test-report", "--to", "admin@example.net"])
        assert r.returncode == 0, r.stderr
        (m,) = env.mails()
        assert m.rcpts == ["admin@example.net"]
        assert m.subject.startswith("[TEST] Suspicious logins"), m.subject
        assert "TEST REPORT" in m.text and "TEST REPORT" in m.html
        assert env.commands() == []
        r = env.run(args=["--test-report", "--to", "bad\naddress"])
        assert r.returncode == 1
        r = env.run(args=["--test-report"])
        assert r.returncode == 2
    finally:
        env.close()


def main():
    only = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "-k" else None
    if not os.access(MAILLOG, os.X_OK):
        print("alerts: %s is missing (make first)" % MAILLOG)
        return 1
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    passed = failed = 0
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("ok   %s (%.1fs)" % (name, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
    print("alerts: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
