#!/usr/bin/env python3
"""memcheck.py — valgrind memcheck over a representative subset of the real
programs (the optimised build, as shipped): `maillog parse` on the
hand-written fixtures and on generated + hostile lines, `maillog ingest`
into a fresh database and again with new lines, `search` on every tab (JSON
and CSV, paged), `stats`, `settings`, and maillog.cgi answering the routes
of an admin and of a client (tabs, paging, CSV, message trace, stats,
countries, me, log tail, settings GET and PUT, and a few refusals).

Each run: --error-exitcode, --leak-check=full, definite leaks are errors
(--errors-for-leak-kinds=definite); any invalid read/write, use of
uninitialised memory or definite leak fails the test and prints valgrind's
report. The program's own answer must be the expected one too (exit code,
HTTP status), so a run that failed early cannot pass by doing nothing.
"""
import json
import os
import shutil
import tempfile
import subprocess

import world as W

VG = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
      "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
      "--num-callers=30"]
runs = 0


def vg_cli(w, name, args, want_rc=0, stdin=None):
    global runs
    runs += 1
    p = subprocess.run(VG + [w.cli] + args, capture_output=True, timeout=900, input=stdin)
    report = p.stderr.decode(errors="replace")
    W.check(p.returncode == want_rc and "==" not in report,
            "memcheck: maillog %s" % name, "exit %d\n%s" % (p.returncode, report[-3000:]))
    return p


def vg_cgi(w, name, path, query="", who=W.ADMIN, want=200, method="GET", body=None, extra=None):
    global runs
    runs += 1
    r = w.cgi(path, query, who=who, method=method, body=body, extra=extra, wrapper=VG, timeout=900)
    report = r.err.decode(errors="replace")
    W.check(r.status == want and r.rc != 99 and "==" not in report,
            "memcheck: maillog.cgi %s (%d)" % (name, want), "%r\n%s" % (r, report[-3000:]))
    return r


w = W.World("memcheck")
w.append(300)
fixtures = os.path.join(W.ROOT, "tests/fixtures/parse")
for f in sorted(os.listdir(fixtures)):
    if f.endswith(".log"):
        vg_cli(w, "parse %s (jsonl)" % f, ["parse", "--log", os.path.join(fixtures, f),
                                           "--format", "jsonl"])
# Hostile lines for the parser: invalid UTF-8, escapes, NUL, a 1 MB line.
hostile = (b"Nov 24 09:00:01 mx postfix/smtpd[1]: 1A2B: client=x[198.51.100.1]\n"
           b"Nov 24 09:00:01 mx postfix/qmgr[2]: 1A2B: from=<\xff\x1b[2J<script>@e.test>, "
           b"size=1, nrcpt=1 (queue active)\n" + b"\x00junk\n" + b"B" * (1 << 20) + b"\n" +
           b"Nov 24 09:00:02 mx postfix/smtp[3]: 1A2B: to=<a@b.test>, relay=r[192.0.2.1]:25, "
           b"delay=1, dsn=2.0.0, status=sent (250 ok \xc3)\n")
vg_cli(w, "parse of hostile lines from stdin (summary)", ["parse", "--log", "-", "--format",
                                                          "summary"], stdin=hostile)
vg_cli(w, "ingest (fresh database)", ["ingest", "--config", w.config])
w.append(100)
w.append_raw(hostile)
vg_cli(w, "ingest (new lines, hostile lines)", ["ingest", "--config", w.config])
for tab in W.TABS:
    p = vg_cli(w, "search --tab %s (json)" % tab, ["search", "--config", w.config, "--tab", tab,
                                                    "--format", "json", "--limit", "5"])
    if tab in ("access", "sent"):
        vg_cli(w, "search --tab %s (page 2, csv, q)" % tab,
               ["search", "--config", w.config, "--tab", tab, "--format", "csv", "--limit", "5",
                "--q", "example", "--cursor", json.loads(p.stdout)["next_cursor"]])
vg_cli(w, "stats", ["stats", "--config", w.config, "--format", "json"])
# Two runs over mail older than the retention: the second restores a saved
# state naming messages the first one's purge deleted (an uninitialised read
# once, that only valgrind sees).
old_dir = tempfile.mkdtemp(prefix="maillog-memcheck-old-")
with open(os.path.join(old_dir, "old.ini"), "w") as f:
    f.write("[defaults]\nretention_days = 1\n")
with open(os.path.join(old_dir, "old.log"), "w") as f:
    f.write("Jan 10 09:00:01 mx postfix/smtpd[1]: 1A2B: client=x[198.51.100.1]\n"
            "Jan 10 09:00:01 mx postfix/qmgr[2]: 1A2B: from=<a@example.com>, size=1, nrcpt=1 "
            "(queue active)\n")
for n in (1, 2):
    vg_cli(w, "ingest of mail older than the retention (run %d)" % n,
           ["ingest", "--config", os.path.join(old_dir, "old.ini"), "--db",
            os.path.join(old_dir, "old.db"), "--log", os.path.join(old_dir, "old.log"),
            "--geoip", "/nonexistent", "--quiet"])
shutil.rmtree(old_dir, ignore_errors=True)
vg_cli(w, "settings --set", ["settings", "--config", w.config, "--set", "retention_days=3000",
                             "--set", "excluded_ips=10.0.0.0/8,2001:db8::1"])

for who_name, who, dom in (("admin", W.ADMIN, ""), ("client", W.CLI1, "domain=example.com&")):
    tab = "access" if who is W.ADMIN else "received"
    r = vg_cgi(w, "%s /v1/%s" % (who_name, tab), "/v1/" + tab, dom + "limit=30&sort=mailbox", who)
    vg_cgi(w, "%s /v1/%s page 2" % (who_name, tab), "/v1/" + tab, dom +
           "limit=30&sort=mailbox&cursor=" + r.json()["next_cursor"], who)
    r = vg_cgi(w, "%s /v1/sent csv" % who_name, "/v1/sent", dom + "format=csv&q=bob", who)
    mid = w.sql("SELECT min(id) FROM messages WHERE sender LIKE '%@example.com'")
    vg_cgi(w, "%s /v1/messages/%s" % (who_name, mid), "/v1/messages/" + mid, "", who)
    vg_cgi(w, "%s /v1/stats" % who_name, "/v1/stats", dom + "bucket=day", who)
vg_cgi(w, "client /v1/me", "/v1/me", "", W.CLI1)
vg_cgi(w, "admin /v1/countries", "/v1/countries")
vg_cgi(w, "admin /v1/log-tail", "/v1/log-tail", "lines=20")
vg_cgi(w, "admin PUT /v1/settings", "/v1/settings", method="PUT",
       body=b'{"retention_days": 30, "ignore_terms_smtp": ["spam"], "excluded_ips": ["10.0.0.0/8"]}')
vg_cgi(w, "client PUT domain settings", "/v1/domains/example.com/settings", who=W.CLI1,
       method="PUT", body=b'{"usual_countries": ["DE"], "notify": true}')
vg_cgi(w, "client foreign domain", "/v1/received", "domain=example.net", W.CLI1, want=403)
vg_cgi(w, "bad cursor", "/v1/received", "cursor=%ff%00garbage", want=400)
vg_cgi(w, "unknown route", "/v1/nothing", want=404)
vg_cgi(w, "standalone unknown user", "/v1/me", who={"REMOTE_USER": "mallory"}, want=403)
print("     figures: %d program runs under valgrind memcheck" % runs)
w.destroy()
W.finish("memcheck")
