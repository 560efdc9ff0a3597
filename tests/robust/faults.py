#!/usr/bin/env python3
"""faults.py — `maillog ingest` and maillog.cgi when the machine misbehaves.

Each case checks the exit code, that the message names the cause, and the
database afterwards: PRAGMA integrity_check = ok and its content
(tests/ingest/canon.sql) equal to what the generated log says it must be —
unchanged after a refused run, complete after a rerun.

  readonly-fs    database on a tmpfs remounted read-only: ingest fails with
                 a read-only message, nothing changes; the CGI still answers
                 (or fails cleanly with a JSON 500); writable again, a rerun
                 completes the database
  readonly-file  database file not writable by the user running ingest
                 (nobody; root ignores file modes), and then a database it
                 owns in a directory it cannot write: clear message, unchanged
  log-deleted    the log unlinked while ingest reads it: the run ends cleanly
                 with every line of the open file; the next run says the log
                 is missing (exit 1) and changes nothing; a new log is read
                 from its start
  geoip-swap     the GeoIP file replaced (rename) between runs: older rows
                 keep the old countries, newer rows get the new ones; renamed
                 over while a run reads: the run completes, each row has the
                 old or the new country; the CGI answers meanwhile
  geoip-inplace  the file truncated and rewritten in place while a run looks
                 up 120,000 distinct addresses: the run completes (it maps a
                 private copy; before, SIGBUS killed it)
  signals        SIGTERM or SIGKILL at a random moment of a run (SIGNAL_TRIALS
                 trials): the process ends, the database is intact, and a
                 rerun gives the same database as one uninterrupted run
"""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import world as W

SIGNAL_TRIALS = int(os.environ.get("SIGNAL_TRIALS", "6"))
SECTIONS = sys.argv[1:] or ["readonly-fs", "readonly-file", "log-deleted", "geoip-swap",
                            "geoip-inplace", "signals"]
BIG = int(os.environ.get("FAULT_MAILS", "20000"))  # ingest of this takes about a second


def ingest_db(w, db, *extra):
    return subprocess.run([w.cli, "ingest", "--config", w.config, "--db", db, "--quiet"] +
                          list(extra), capture_output=True, timeout=600)


def msg(p):
    return (p.stderr + p.stdout).decode(errors="replace").strip()


def integrity(db):
    p = subprocess.run(["sqlite3", db, "PRAGMA integrity_check"], capture_output=True)
    return p.stdout.decode().strip()


def reference(w, name="ref.db"):
    ref = os.path.join(w.dir, name)
    ingest_db(w, ref)
    return w.canon(ref)


def t_readonly_fs():
    w = W.World("rofs")
    mnt = os.path.join(w.dir, "mnt")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt]).returncode:
        print("skip readonly-fs: cannot mount a tmpfs")
        return
    try:
        db = os.path.join(mnt, "maillog.db")
        w.append(600)
        ingest_db(w, db)
        before = w.canon(db)
        w.append(600)
        want = reference(w)
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        p = ingest_db(w, db)
        W.check(p.returncode == 1 and "read-only" in msg(p).lower() or "readonly" in msg(p).lower(),
                "readonly-fs: ingest exits 1 naming the read-only database", (p.returncode, msg(p)))
        r = w.cgi("/v1/received", "limit=5", extra={"MAILLOG_DB": db})
        try:
            doc = r.json()
        except ValueError:
            doc = None
        W.check(doc is not None and (r.status == 200 and len(doc["rows"]) == 5 or
                                     r.status == 500 and "error" in doc),
                "readonly-fs: the CGI answers (%d) with JSON" % r.status, r)
        subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)
        W.check(integrity(db) == "ok" and w.canon(db) == before,
                "readonly-fs: database intact and unchanged")
        p = ingest_db(w, db)
        W.check(p.returncode == 0 and w.canon(db) == want,
                "readonly-fs: writable again, a rerun completes the database", msg(p))
    finally:
        subprocess.run(["umount", mnt])
        w.destroy()


def t_readonly_file():
    w = W.World("rofile")
    w.append(600)
    db = w.db
    w.ingest()
    before = w.canon()
    w.append(300)
    os.chmod(w.dir, 0o755)
    for f in os.listdir(w.dir):
        os.chmod(os.path.join(w.dir, f), 0o644)
    # nobody may create files here (the lock), but not write the database.
    os.chown(w.dir, 65534, 65534)
    os.chown(db + ".lock", 65534, 65534)
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", w.cli, "ingest",
            "--config", w.config, "--db", db]
    p = subprocess.run(argv, capture_output=True, timeout=120)
    W.check(p.returncode == 1 and "readonly" in msg(p).lower().replace("read-only", "readonly"),
            "readonly-file: ingest as a user who cannot write the database exits 1 with a "
            "clear message", (p.returncode, msg(p)))
    W.check(integrity(db) == "ok" and w.canon() == before, "readonly-file: database unchanged")
    # Read-only directory: the database and lock are nobody's, the directory
    # is root's 0755, so SQLite cannot create its journal/WAL files there.
    os.chown(w.dir, 0, 0)
    for f in os.listdir(w.dir):
        if f.startswith("maillog.db"):
            os.chown(os.path.join(w.dir, f), 65534, 65534)
    for f in ("-wal", "-shm", "-journal"):
        if os.path.exists(db + f):
            os.unlink(db + f)
    p = subprocess.run(argv, capture_output=True, timeout=120)
    W.check(p.returncode == 1 and ("unable to open" in msg(p) or "readonly" in msg(p) or
                                   "Permission denied" in msg(p)),
            "readonly-dir: ingest in a directory it cannot write exits 1 with a clear message",
            (p.returncode, msg(p)))
    W.check(integrity(db) == "ok" and w.canon() == before, "readonly-dir: database unchanged")
    w.destroy()


def wait_first_checkpoint(w, p, table="log_state"):
    """Waits until the running ingest p has committed its first checkpoint
    (rows in `table`): it is then mid-file on any machine, where a fixed sleep
    lets a fast one finish first. Returns whether p still runs."""
    for _ in range(6000):
        if p.poll() is not None:
            break
        try:
            if os.path.exists(w.db) and w.sql("SELECT count(*) FROM %s" % table) != "0":
                break
        except RuntimeError:
            pass  # the schema is not there yet
        time.sleep(0.01)
    return p.poll() is None


def t_log_deleted():
    w = W.World("logdel")
    w.append(BIG)
    want = reference(w)
    p = subprocess.Popen([w.cli, "ingest", "--config", w.config, "--checkpoint-lines", "5000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    running = wait_first_checkpoint(w, p)
    os.unlink(w.log)
    out, err = p.communicate(timeout=600)
    W.check(running, "log-deleted: the log was unlinked while ingest ran")
    W.check(p.returncode == 0 and integrity(w.db) == "ok" and w.canon() == want,
            "log-deleted: the run ends cleanly with every line of the open file",
            (p.returncode, (out + err)[-300:]))
    p2 = w.ingest(check_rc=False)
    W.check(p2.returncode == 1 and w.log in msg(p2) and "No such file" in msg(p2) and
            w.canon() == want, "log-deleted: next run: exit 1 naming the missing log, no change",
            (p2.returncode, msg(p2)))
    # A new log (new inode) with the mails that follow: read from its start.
    first = w.written
    with open(w.log, "w") as f:
        f.write(W.log_text(first, 300, w.t0))
    w.written += 300
    p3 = w.ingest(check_rc=False)
    n = int(w.sql("SELECT count(*) FROM messages WHERE msgid LIKE 'm%@gen.test'"))
    want_n = sum(1 for i in range(w.written) if W.Mail(i, w.t0).kind in ("received", "sent"))
    W.check(p3.returncode == 0 and n == want_n, "log-deleted: a new log is read from its start",
            "%d messages, want %d; %s" % (n, want_n, msg(p3)))
    w.destroy()


def countries(w, db=None):
    """(ip, country) of every login, and of every message's client."""
    return [tuple(r.split("|")) for r in w.sql(
        "SELECT ip, country FROM access_events UNION ALL "
        "SELECT client_ip, client_country FROM messages WHERE client_ip <> ''").splitlines()]


def swap_geo(w, geo, how):
    new = w.geoip + ".new"
    w.make_geo(new, geo)
    if how == "rename":
        os.rename(new, w.geoip)
    else:  # in place: truncated, a pause, then written (like cp or PHP copy())
        with open(new, "rb") as f:
            data = f.read()
        os.unlink(new)
        with open(w.geoip, "r+b") as f:
            f.truncate(0)
            f.flush()
            time.sleep(0.3)
            f.write(data)


def t_geoip_swap():
    w = W.World("geo")
    w.append(600)
    w.ingest()
    swap_geo(w, W.GEO_B, "rename")
    w.append(600)
    w.ingest()
    split = w.t0 + 20 * 600
    rows = w.sql("SELECT time < %d, ip, country FROM access_events" % split).splitlines()
    bad = [r for r in rows if r.split("|")[2] != W.country(r.split("|")[1], W.GEO_A if
                                                            r[0] == "1" else W.GEO_B)]
    W.check(len(rows) > 300 and not bad, "geoip-swap: between runs: %d logins have the country "
            "of the file in place when they were read" % len(rows), bad[:3])

    # Replaced while ingest reads, with the CGI answering at the same time.
    for how in ("rename",):
        w2 = W.World("geo-" + how)
        w2.append(BIG)
        want_rows = None
        p = subprocess.Popen([w2.cli, "ingest", "--config", w2.config, "--checkpoint-lines",
                              "3000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        running = wait_first_checkpoint(w2, p)
        cgi_ok = True
        swap_geo(w2, W.GEO_B, how)
        for _ in range(5):
            r = w2.cgi("/v1/access", "limit=20")
            cgi_ok &= r.status == 200
        out, err = p.communicate(timeout=600)
        rc = p.returncode
        W.check(running and cgi_ok, "geoip-swap (%s, mid-run): swapped while ingest ran; the CGI "
                "answers 200 meanwhile" % how, (running, cgi_ok))
        W.check(integrity(w2.db) == "ok", "geoip-swap (%s, mid-run): database intact (ingest "
                "exit %d%s)" % (how, rc, ", %s" % signal.Signals(-rc).name if rc < 0 else ""))
        if rc != 0:
            print("     ingest ended by %s: %s" % (rc, (out + err)[-200:]))
            rc = w2.ingest(check_rc=False).returncode
        rows = countries(w2)
        bad = [r for r in rows if r[1] not in (W.country(r[0], W.GEO_A), W.country(r[0],
                                                                                  W.GEO_B))]
        # a login each, a sent mail's SMTP AUTH login too, every message's client
        want_rows = sum({"login": 1, "sent": 2}.get(W.Mail(i, w2.t0).kind, 1)
                        for i in range(w2.written))
        W.check(rc == 0 and len(rows) == want_rows and not bad,
                "geoip-swap (%s, mid-run): all %d rows, each with the old or the new country" % (
                    how, want_rows), (rc, len(rows), bad[:3]))
        w2.destroy()
    w.destroy()


def t_geoip_inplace():
    """The GeoIP file truncated and rewritten in place (cp, PHP copy()) while
    ingest looks up 120,000 distinct addresses (no cache hits): libmaxminddb
    maps the file, so without a private copy the next lookup dies of SIGBUS."""
    wide_a, wide_b = "198.18.0.0/15\tDE\n", "198.18.0.0/15\tJP\n"
    w = W.World("geo-inplace", geo=wide_a)
    n = 120000
    with open(w.log, "w") as f:
        for i in range(n):
            f.write("%s mx dovecot: imap-login: Login: user=<info@example.com>, method=PLAIN, "
                    "rip=198.%d.%d.%d, lip=192.0.2.1, mpid=1, TLS, session=<x>\n" % (
                        W.stamp(w.t0 + i), 18 + (i >> 16) % 2, (i >> 8) & 255, i & 255))
    new = w.geoip + ".new"
    w.make_geo(new, wide_b)
    data = open(new, "rb").read()
    p = subprocess.Popen([w.cli, "ingest", "--config", w.config, "--checkpoint-lines", "5000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    running = wait_first_checkpoint(w, p, "access_events")  # the run has opened the file
    with open(w.geoip, "r+b") as f:
        f.truncate(0)
        f.flush()
        time.sleep(1.0)
        f.write(data)
    out, err = p.communicate(timeout=600)
    rows = w.sql("SELECT country, count(*) FROM access_events GROUP BY 1").splitlines()
    W.check(running and p.returncode == 0 and integrity(w.db) == "ok" and
            sum(int(r.split("|")[1]) for r in rows) == n and
            all(r.split("|")[0] in ("DE", "JP") for r in rows),
            "geoip-inplace: file truncated and rewritten in place mid-run: ingest completes, "
            "all %d logins with a country" % n, (running, p.returncode, err[-200:], rows))
    w.destroy()


def committed_offset(db):
    """The log offset the database has committed so far (0 before any)."""
    if not os.path.exists(db):
        return 0
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        try:
            return con.execute("SELECT coalesce(max(offset), 0) FROM log_state").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # the schema is not there yet


def t_signals():
    """Each run is signalled once it has committed a random share of the log
    (by the database, not by time: a loaded or a fast machine moves the
    moment, not the point in the log)."""
    w = W.World("sig")
    w.append(BIG)
    want = reference(w)
    size = os.path.getsize(w.log)
    seed = int(os.environ.get("SIGNAL_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    bad, signalled, killed = [], 0, 0
    for trial in range(SIGNAL_TRIALS):
        sig = signal.SIGTERM if trial % 2 == 0 else signal.SIGKILL
        db = os.path.join(w.dir, "s%d.db" % trial)
        for _ in range(2):  # two interruptions per trial, then a rerun
            start = committed_offset(db)
            target = start + int((size - start) * rng.uniform(0.05, 0.7))
            p = subprocess.Popen([w.cli, "ingest", "--config", w.config, "--db", db,
                                  "--checkpoint-lines", "3000", "--quiet"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            while p.poll() is None and committed_offset(db) < target:
                time.sleep(0.005)
            if p.poll() is None:
                signalled += 1
                p.send_signal(sig)
            p.communicate(timeout=600)
            killed += p.returncode == -sig
            if integrity(db) != "ok":
                bad.append("trial %d: integrity after %s" % (trial, sig.name))
        ingest_db(w, db)
        if w.canon(db) != want:
            bad.append("trial %d (%s): rerun differs" % (trial, sig.name))
    # most runs are signalled mid-file; one may finish between two polls
    W.check(signalled >= SIGNAL_TRIALS and killed >= SIGNAL_TRIALS and not bad,
            "signals: %d trials of SIGTERM/SIGKILL mid-run (%d runs signalled, %d ended by "
            "the signal): database intact, rerun == uninterrupted run"
            % (SIGNAL_TRIALS, signalled, killed), (bad, "SIGNAL_SEED=%d" % seed))
    w.destroy()


for s in SECTIONS:
    {"readonly-fs": t_readonly_fs, "readonly-file": t_readonly_file,
     "log-deleted": t_log_deleted, "geoip-swap": t_geoip_swap,
     "geoip-inplace": t_geoip_inplace, "signals": t_signals}[s]()
W.finish("faults")
