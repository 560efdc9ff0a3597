#!/usr/bin/env python3
"""bench_alerts.py — `make bench-alerts`: how long `maillog alerts` takes.

Builds a database with DOMAINS domains (notify on, usual DE/FR) and EVENTS
access events spread over the last 24 hours (0.2 % from an unusual country),
starts smtp-sink on loopback and times three runs: the first (catch-up over
24 hours for every domain), a rerun in the same hour (nothing due), and the
next hour. Figures go into README.md by hand.

Usage: bench_alerts.py [DOMAINS [EVENTS]]   (defaults 1000 200000)
"""
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alerts_test import MAILLOG, Sink  # noqa: E402

H9 = 1795597200


def main():
    ndom = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    nev = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    d = tempfile.mkdtemp(prefix="maillog-bench-alerts-")
    os.chmod(d, 0o755)
    sink = Sink(d)
    ini = os.path.join(d, "m.ini")
    with open(ini, "w") as f:
        f.write("[maillog]\ndb = %s/m.db\n[smtp]\nurl = smtp://127.0.0.1:%d\n"
                "from = alerts@bench.test\n[password]\ncommand = /bin/true {mailbox}\n"
                % (d, sink.port))
    def run(now):
        if os.path.exists(os.path.join(d, "m.db")):  # the ingest has read the logs up to now
            with sqlite3.connect(os.path.join(d, "m.db")) as mark:
                mark.execute("INSERT OR REPLACE INTO read_mark(id, read_to) VALUES (1, ?)", (now,))
        return subprocess.run([MAILLOG, "alerts", "--config", ini, "--now", str(now)],
                              capture_output=True, text=True, env=dict(os.environ, TZ="UTC"))
    run(1000)  # creates the schema
    db = sqlite3.connect(os.path.join(d, "m.db"))
    rnd = random.Random(1)
    doms = ["d%05d.example" % i for i in range(ndom)]
    db.executemany("INSERT INTO domains(name, owner_email) VALUES (?, ?)",
                   [(x, "owner@" + x) for x in doms])
    db.executemany("INSERT INTO domain_settings(domain, usual_countries, notify,"
                   " force_password_change, ip_exceptions) VALUES (?, 'DE\nFR', 1, 0, '')",
                   [(x,) for x in doms])
    rows = []
    for _ in range(nev):
        dom = rnd.choice(doms)
        cc = "US" if rnd.random() < 0.002 else rnd.choice(["DE", "FR"])
        rows.append((H9 + 3600 - rnd.randrange(24 * 3600), "u%d@%s" % (rnd.randrange(20), dom),
                     dom, "203.0.113.%d" % rnd.randrange(250), cc, 0, int(rnd.random() < 0.9)))
    db.executemany("INSERT INTO access_events(time, user, user_domain, ip, country, protocol,"
                   " success) VALUES (?,?,?,?,?,?,?)", rows)
    db.commit()
    db.close()
    print("bench-alerts: %d domains, %d access events over 24 h" % (ndom, nev))
    for label, now in (("first run (24 h catch-up)", H9 + 3600 + 540),
                       ("rerun, same hour", H9 + 3600 + 600),
                       ("next hour", H9 + 7200 + 540)):
        t0 = time.time()
        r = run(now)
        dt = time.time() - t0
        print("  %-26s %6.2f s  %s" % (label, dt, r.stdout.strip().replace("maillog alerts: ", "")))
        if r.returncode != 0:
            print(r.stderr)
    print("  max RSS of a run: %d KB" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print("  mails accepted by the sink: %d" % len(os.listdir(sink.dir)))
    sink.stop()
    subprocess.run(["rm", "-rf", "--one-file-system", d])


if __name__ == "__main__":
    main()
