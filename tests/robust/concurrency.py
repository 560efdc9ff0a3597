#!/usr/bin/env python3
"""concurrency.py — ingest under load, and two ingests at once.

load: the real `maillog ingest` runs every INGEST_INTERVAL seconds (new mail
appended to the log before each run) while CLIENTS parallel clients exec the
real maillog.cgi for LOAD_SECONDS, paging through all five tabs with random
roles (admin, reseller, two clients), sort columns, orders, page sizes and
filters, and asking for stats, /v1/me, message traces and the log tail in
between. Checked:
  - every answer is 200 with JSON (no "database is locked", no 5xx, nothing
    on the CGI's stderr);
  - no torn page: within one paging the same row never comes twice, and the
    rows that existed when the paging started (id <= the table's max id read
    just before the first page; generated mail is never changed once
    written) are exactly, and in the same order, those a quiet re-listing
    with the same query gives afterwards;
  - every ingest exits 0, and the database ends with every generated mail.
two: two `maillog ingest` started at the same moment on a fresh database
(TWO_TRIALS times): both exit 0, at most one reads the log (the other
waits for the lock or says another ingest is running), and the database is
identical (tests/ingest/canon.sql) to one made by a single ingest.
"""
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

import world as W

LOAD_SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("CLIENTS", "20"))
INGEST_INTERVAL = float(os.environ.get("INGEST_INTERVAL", "2"))
TWO_TRIALS = int(os.environ.get("TWO_TRIALS", "3"))
SECTIONS = sys.argv[1:] or ["load", "two"]

SORTS = {
    "access": ["date", "mailbox", "ip", "country", "protocol", "result"],
    "received": ["date", "sender", "mailbox", "size", "status", "msgid"],
    "sent": ["date", "mailbox", "recipient", "size", "status", "msgid"],
}
SORTS["not-received"] = SORTS["received"]
SORTS["not-sent"] = SORTS["sent"]
IDENTITIES = [
    ("admin", W.ADMIN, [None, "example.com", "example.org", "example.net"]),
    ("res1", W.RES1, ["example.com", "example.org"]),
    ("cli1", W.CLI1, ["example.com"]),
    ("cli2", W.CLI2, ["example.net"]),
]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.pagings = 0
        self.rows = 0
        self.errors = []
        self.torn = []
        self.lat = []
        self.records = []  # (who, query, maxid, seen ids)

    def error(self, what):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(what)


def max_id(db, tab):
    table = "access_events" if tab == "access" else "deliveries"
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return con.execute("SELECT coalesce(max(id), 0) FROM " + table).fetchone()[0]
    finally:
        con.close()


def call(w, st, path, query, who):
    t = time.monotonic()
    r = w.cgi(path, query, who=who)
    dt = time.monotonic() - t
    with st.lock:
        st.requests += 1
        st.lat.append(dt)
    try:
        doc = r.json() if r.status == 200 else None
    except ValueError:
        doc = None
    if doc is None or r.err:
        st.error("%s?%s -> %r" % (path, query, r))
    return doc


def random_query(rng, tab):
    name, who, doms = rng.choice(IDENTITIES)
    parts = []
    dom = rng.choice(doms)
    if dom:
        parts.append("domain=" + dom)
    parts.append("sort=" + rng.choice(SORTS[tab]))
    parts.append("order=" + rng.choice(["asc", "desc"]))
    parts.append("limit=%d" % rng.choice([7, 25, 50, 100]))
    if rng.random() < 0.2:
        parts.append("status=" + ("failed" if tab == "access" else "bounced" if
                                  tab.startswith("not-") else rng.choice(["sent", "bounced"])))
    if rng.random() < 0.15:
        parts.append("q=" + rng.choice(["bob", "info", "example", "198.51"]))
    return name, who, "&".join(parts)


def page_all(w, st, who, tab, query, stop_at=None):
    """All pages of a query: the ids in order, or None after an error."""
    ids, cursor = [], ""
    for _ in range(10000):
        q = query + ("&cursor=" + urllib.parse.quote(cursor, safe="") if cursor else "")
        doc = call(w, st, "/v1/" + tab, q, who)
        if doc is None:
            return None
        ids += [r["id"] for r in doc["rows"]]
        cursor = doc.get("next_cursor") or ""
        if not cursor:
            return ids
        if stop_at and time.monotonic() > stop_at:
            return None
    return None


def client(w, st, seed, deadline):
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        tab = rng.choice(W.TABS)
        name, who, query = random_query(rng, tab)
        mid = max_id(w.db, tab)
        ids = page_all(w, st, who, tab, query, stop_at=deadline + 30)
        if ids is None:
            continue
        dup = len(ids) - len(set(ids))
        with st.lock:
            st.pagings += 1
            st.rows += len(ids)
            if dup:
                st.torn.append("%s %s %s: %d rows twice" % (name, tab, query, dup))
            st.records.append((name, who, tab, query, mid, ids))
        # Something else between pagings.
        extra = rng.random()
        if extra < 0.25:
            call(w, st, "/v1/stats", "bucket=" + rng.choice(["hour", "day"]), who)
        elif extra < 0.4:
            call(w, st, "/v1/me", "", who)
        elif extra < 0.6 and ids and tab != "access":
            call(w, st, "/v1/messages/%d" % message_of(w, ids[0]), "", who)
        elif extra < 0.7:
            call(w, st, "/v1/log-tail", "lines=20", W.ADMIN)


def message_of(w, delivery_id):
    con = sqlite3.connect("file:%s?mode=ro" % w.db, uri=True, timeout=30)
    try:
        return con.execute("SELECT message_id FROM deliveries WHERE id = ?",
                           (delivery_id,)).fetchone()[0]
    finally:
        con.close()


def ingester(w, stop, runs):
    while not stop.is_set():
        w.append(40)
        t = time.monotonic()
        p = w.ingest(check_rc=False)
        runs.append((p.returncode, p.stderr.decode(errors="replace")[-300:],
                     time.monotonic() - t))
        stop.wait(INGEST_INTERVAL)


def t_load():
    w = W.World("load")
    w.append(3000)
    w.ingest()
    st = Stats()
    stop = threading.Event()
    runs = []
    ing = threading.Thread(target=ingester, args=(w, stop, runs))
    ing.start()
    deadline = time.monotonic() + LOAD_SECONDS
    threads = [threading.Thread(target=client, args=(w, st, 1000 + k, deadline))
               for k in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    stop.set()
    ing.join()
    bad_runs = [r for r in runs if r[0] != 0]
    W.check(len(runs) >= 3 and not bad_runs, "load: %d ingests during the load, all exit 0" %
            len(runs), bad_runs[:3])
    W.check(not st.errors, "load: %d requests, all 200 JSON, no stderr" % st.requests,
            st.errors[:3])
    W.check(st.pagings >= CLIENTS and not st.torn, "load: %d complete pagings (%d rows), no row "
            "twice" % (st.pagings, st.rows), st.torn[:3])
    # Quiet re-listing: the rows that existed when each paging started.
    quiet = Stats()
    cache = {}
    torn = []
    for name, who, tab, query, mid, ids in st.records:
        key = (name, tab, query)
        if key not in cache:
            q = "&".join(p for p in query.split("&") if not p.startswith("limit=")) + "&limit=500"
            cache[key] = page_all(w, quiet, who, tab, q)
        full = cache[key]
        if full is None:
            torn.append("%s %s %s: re-listing failed" % (name, tab, query))
            continue
        want = [i for i in full if i <= mid]
        got = [i for i in ids if i <= mid]
        if want != got:
            missing = sorted(set(want) - set(got))[:5]
            torn.append("%s %s %s (max id %d): %d rows, want %d; missing %s" % (
                name, tab, query, mid, len(got), len(want), missing))
    W.check(not torn and not quiet.errors, "load: every paging saw exactly the rows that existed "
            "when it began, in order (%d queries re-listed)" % len(cache), torn[:3] or
            quiet.errors[:3])
    kinds = [W.Mail(i, w.t0).kind for i in range(w.written)]
    msgs = int(w.sql("SELECT count(*) FROM messages"))
    acc = int(w.sql("SELECT count(*) FROM access_events"))
    want_msgs = len([k for k in kinds if k != "login"])
    want_acc = kinds.count("login") + kinds.count("sent")  # SMTP AUTH of sent mail counts
    W.check(msgs == want_msgs and acc == want_acc,
            "load: the database holds all %d generated mails and logins" % w.written,
            "%d messages, %d logins; want %d, %d" % (msgs, acc, want_msgs, want_acc))
    lat = sorted(st.lat)
    print("     figures: %d clients, %.0f s, %d CGI requests (%.0f/s), %d pagings, %d rows, "
          "%d ingests (max %.2f s), latency p50 %.0f ms p99 %.0f ms max %.0f ms" % (
              CLIENTS, elapsed, st.requests, st.requests / elapsed, st.pagings, st.rows,
              len(runs), max(r[2] for r in runs) if runs else 0,
              1000 * lat[len(lat) // 2], 1000 * lat[int(len(lat) * 0.99)], 1000 * lat[-1]))
    w.destroy()


def t_two():
    w = W.World("two")
    w.append(40000)
    ref = os.path.join(w.dir, "ref.db")
    t = time.monotonic()
    w.ingest("--db", ref)
    single = time.monotonic() - t
    want = w.canon(ref)
    same = waited = 0
    for trial in range(TWO_TRIALS):
        db = os.path.join(w.dir, "t%d.db" % trial)
        argv = [w.cli, "ingest", "--config", w.config, "--db", db, "--checkpoint-lines", "5000"]
        ps = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
              for _ in range(2)]
        outs = [p.communicate(timeout=600) for p in ps]
        rcs = [p.returncode for p in ps]
        text = [(o + e).decode(errors="replace") for o, e in outs]
        # A run that read the log says so in its summary line ("N lines").
        busy = [x for x in text if "another ingest" in x]
        waited += len(busy)
        ok = rcs == [0, 0] and w.canon(db) == want
        same += ok
        if not ok:
            print("     trial %d: exit %s; %s" % (trial, rcs, [x[-200:] for x in text]))
    W.check(same == TWO_TRIALS, "two: two ingests at once, %d trials: both exit 0, database == "
            "a single ingest (%.1f s alone; %d runs found the lock busy)" % (
                TWO_TRIALS, single, waited))
    w.destroy()


for s in SECTIONS:
    {"load": t_load, "two": t_two}[s]()
W.finish("concurrency")
