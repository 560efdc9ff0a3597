#!/usr/bin/python3
"""check.py — ingest the logs rsyslog wrote and check the product against the driver.

  check.py prepare --run DIR            GeoIP fixture, domains file, one config per format
  check.py ingest --run DIR --round N   one `maillog ingest` per log format
  check.py verify --run DIR             all checks below; exit 1 on any failure

DIR is the run directory of run.sh: expected.jsonl (written by drive.py), the
servers' directory srv/ (lib.sh: srv/log/maillog* RHEL format, srv/log/
mail.log* Debian format, rotated files beside them).

verify checks, for each log format:
 1. the raw log agrees with the driver: every recorded action left exactly one
    matching line in the rotated + current files together (so the harness
    itself, and rotation under traffic, lost or duplicated nothing);
 2. the product, through `maillog search --format json` and `maillog.cgi`
    (CGI/1.1 environment, role admin, then a client scoped to one domain):
    per hosted domain and tab (access, received, sent, not-received,
    not-sent) exactly the rows implied by the driver's actions — sender,
    mailbox, recipient, status, Message-ID, size bound, IP, country (from the
    fixture GeoIP database written here), protocol and result.
A failing expectation prints the row and the log lines concerned.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import time

DOMAINS = ["hosted-a.example", "hosted-b.example"]
FORMATS = {"rhel": "ITEST_LOG_RHEL", "debian": "ITEST_LOG_DEBIAN"}
# Fixture GeoIP: documentation networks given countries (make-mmdb.pl keeps
# reserved networks). drive.py only uses addresses inside these.
GEO = [
    ("192.0.2.0/24", "DE"),
    ("198.51.100.0/24", "FR"),
    ("203.0.113.0/24", "BR"),
    ("2001:db8:1::/48", "JP"),
    ("2001:db8:2::/48", "US"),
    ("2001:db8:3::/48", "AU"),
]
TABS = ["access", "received", "sent", "not-received", "not-sent"]
MAX_REPORTED = 25
CGI_PAGE = 50  # the API's default page size
# The webspace users of the domains file: a web site's mail (pickup uid=)
# is its subscription's (drive.py SITE_UID).
SITE_UIDS = {10042: "hosted-a.example"}
TIME_BEFORE, TIME_AFTER = 3, 30  # seconds a row's date may be before / after the driver's action
CLI_PAGE = 37


def earliest(w):
    """The earliest date a row of the driver's action w may carry: whole
    seconds (the RHEL format) before the session began."""
    return int(w.get("started", w["time"])) - TIME_BEFORE


def country_of(ip):
    import ipaddress
    if not ip:
        return ""  # mail submitted by sendmail has no client
    addr = ipaddress.ip_address(ip)
    for net, cc in GEO:
        if addr in ipaddress.ip_network(net):
            return cc
    return ""


def domain_of(addr):
    return addr.rsplit("@", 1)[-1].lower() if "@" in addr else ""


def load_expected(run):
    with open(os.path.join(run, "expected.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --- the logs -------------------------------------------------------------

def log_files(current):
    """Rotated files of one log (oldest first), then the current one."""
    rotated = [p for p in glob.glob(current + "[-.]*") if p != current]
    rotated.sort(key=lambda p: os.stat(p).st_mtime_ns)
    return rotated + [current]


def read_lines(current):
    import gzip
    lines = []
    for p in log_files(current):
        opener = gzip.open if p.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8", errors="replace") as f:
            lines.extend(line.rstrip("\n") for line in f)
    return lines


class LogIndex:
    """Just enough of the raw log to locate lines by Message-ID, queue id, address."""

    QID_RE = re.compile(r" postfix/[\w/-]+\[\d+\]: ([0-9A-F]{6,}): ")

    def __init__(self, lines):
        self.lines = lines
        self.by_qid = collections.defaultdict(list)
        self.qids_of_msgid = collections.defaultdict(list)
        for line in lines:
            m = self.QID_RE.search(line)
            if not m:
                continue
            qid = m.group(1)
            self.by_qid[qid].append(line)
            mm = re.search(r": message-id=<([^>]*)>", line)
            if mm:
                self.qids_of_msgid[mm.group(1)].append(qid)

    def grep(self, *needles):
        return [l for l in self.lines if all(n in l for n in needles)]

    def lines_of_msgid(self, msgid):
        out = []
        for qid in self.qids_of_msgid.get(msgid, []):
            out.extend(self.by_qid[qid])
            # the notification queue ids this one produced
            for l in self.by_qid[qid]:
                m = re.search(r"notification: ([0-9A-Za-z]+)$", l)
                if m:
                    out.extend(self.by_qid[m.group(1)])
        return out


def access_needles(a):
    ip = a["ip"]
    if a["protocol"] in ("imap", "pop3"):
        if a["ok"]:
            return ["dovecot: %s-login: Login: user=<%s>," % (a["protocol"], a["user"]), "rip=%s," % ip]
        return ["dovecot: %s-login: " % a["protocol"], "(auth failed,", "user=<%s>," % a["user"], "rip=%s," % ip]
    prog = "postfix/submission/smtpd[" if a["protocol"] == "submission" else "postfix/smtpd["
    if a["ok"]:
        return [prog, "client=", "[%s], sasl_method=PLAIN, sasl_username=%s" % (ip, a["user"])]
    return [prog, "[%s]: SASL PLAIN authentication failed" % ip, "sasl_username=%s" % a["user"]]


def interleaved_qids(idx):
    """Queue ids whose lines are interrupted by another queue id's lines."""
    last, seen, split = None, set(), set()
    for line in idx.lines:
        m = LogIndex.QID_RE.search(line)
        if not m:
            continue
        q = m.group(1)
        if q != last and q in seen:
            split.add(q)
        seen.add(q)
        last = q
    return split


def self_check(fmt, idx, expected, problems):
    """The servers logged what the driver says it did, exactly once."""
    n = len(interleaved_qids(idx))
    if n < 10:
        problems.append(("%s log: only %d queue ids interleave with others; the test needs concurrency" % (fmt, n), []))
    for r in expected:
        if r["kind"] == "mail":
            if r["expect"] == "rejected":
                found = idx.grep("reject: RCPT from ", "[%s]:" % r["client_ip"],
                                 "from=<%s> to=<%s>" % (r["sender"], r["rcpt"]))
                want = sum(1 for x in expected if x["kind"] == "mail" and x["expect"] == "rejected"
                           and (x["client_ip"], x["sender"], x["rcpt"]) == (r["client_ip"], r["sender"], r["rcpt"]))
                if len(found) != want:
                    problems.append(("%s log: %d rejection lines for %s -> %s from %s, driver made %d"
                                     % (fmt, len(found), r["sender"], r["rcpt"], r["client_ip"], want), found))
                continue
            qids = idx.qids_of_msgid.get(r["msgid"], [])
            want = 2 if r.get("filtered") else 1  # the filter hop re-queues the mail
            if len(qids) != want:
                problems.append(("%s log: Message-ID %s has %d cleanup lines, expected %d"
                                 % (fmt, r["msgid"], len(qids), want), idx.grep(r["msgid"])))
                continue
            hop = "[127.0.0.1]:%s," % os.environ["ITEST_REINJECT_PORT"]
            lines = [l for q in qids for l in idx.by_qid[q]]
            if r.get("port") == "pickup" and not any(
                    "postfix/pickup[" in l and " uid=%d from=<" % r["uid"] in l for l in lines):
                problems.append(("%s log: no pickup line with uid=%d for %s" % (fmt, r["uid"], r["msgid"]),
                                 lines))
            hits = [l for l in lines if ": to=<%s>," % r["rcpt"] in l and hop not in l
                    and "status=%s " % r["expect"] in l]
            hops = [l for l in lines if ": to=<%s>," % r["rcpt"] in l and hop in l]
            if not hits or len(hops) != want - 1:
                problems.append(("%s log: no status=%s for %s in %s, or %d filter hops"
                                 % (fmt, r["expect"], r["rcpt"], qids, len(hops)), lines))
        elif r["kind"] == "dsn":
            qids = idx.qids_of_msgid.get(r["of_msgid"], [])
            what = "sender non-delivery notification" if r["why"] == "bounce" else "sender delivery status notification"
            dsn = [re.search(r"notification: (\S+)$", l).group(1)
                   for q in qids for l in idx.by_qid[q] if what in l]
            ok = [d for d in dsn for l in idx.by_qid[d] if ": to=<%s>," % r["to"] in l and "status=sent " in l]
            if len(ok) != 1:
                problems.append(("%s log: %s for %s to %s not delivered once" % (fmt, what, r["of_msgid"], r["to"]),
                                 idx.lines_of_msgid(r["of_msgid"])))
        elif r["kind"] == "access":
            hits = idx.grep(*access_needles(r))
            want = sum(1 for x in expected if x["kind"] == "access" and access_needles(x) == access_needles(r))
            if len(hits) != want:
                problems.append(("%s log: %d lines for %s login of %s from %s (ok=%s), driver made %d"
                                 % (fmt, len(hits), r["protocol"], r["user"], r["ip"], r["ok"], want), hits))


# --- what the product must show ------------------------------------------

def status_text_expect(r):
    """What the "status error" text must contain, from how lib.sh set the servers up."""
    dom = domain_of(r["rcpt"])
    if r["expect"] == "rejected":
        return "Relay access denied" if dom not in DOMAINS else "User unknown in virtual mailbox table"
    if r["expect"] == "bounced":
        # Dovecot's LMTP does not know the ghost; smtp-sink -f RCPT answers 5xx.
        return "User doesn't exist" if dom in DOMAINS else "said: 5"
    if r["expect"] == "deferred":
        return "Connection refused" if dom == "closed.example" else "said: 4"
    return None


def expected_rows(expected, tab, domain):
    """Rows of one tab for one domain (None: the admin's view of all domains)."""
    def mine(addr):
        d = domain_of(addr)
        return d in DOMAINS if domain is None else d == domain

    rows = []
    if tab == "access":
        for r in expected:
            if r["kind"] == "access" and (domain is None or domain_of(r["user"]) == domain):
                rows.append({"mailbox": r["user"], "ip": r["ip"], "protocol": r["protocol"],
                             "result": "ok" if r["ok"] else "failed", "country": country_of(r["ip"]),
                             "time": r["time"]})
        return rows
    received = tab in ("received", "not-received")
    for r in expected:
        if r["kind"] == "mail":
            # A recipient rejected at RCPT has no queue file of its own: its row
            # may or may not carry the Message-ID of the session's other recipients.
            queued = r["msgid"] and r["expect"] != "rejected"
            msgid = r["msgid"] if queued else None
            size = r["bytes"] if queued else None
            text = status_text_expect(r)
            if received and mine(r["rcpt"]):
                rows.append({"sender": r["sender"], "mailbox": r["rcpt"], "status": r["expect"],
                             "msgid": msgid, "min_size": size, "text": text, "time": r["time"]})
            # Sent by: the SMTP AUTH login's domain (the envelope sender is a
            # claim); for local mail the web site's subscription when its
            # system user submitted it, else the sender's.
            if r["origin"] == "sasl":
                sent_by = r["sasl_user"]
            elif r.get("uid") in SITE_UIDS:
                sent_by = "site@" + SITE_UIDS[r["uid"]]
            else:
                sent_by = r["sender"]
            if not received and r["origin"] in ("sasl", "local") and mine(sent_by):
                rows.append({"mailbox": r["sender"], "recipient": r["rcpt"], "status": r["expect"],
                             "msgid": msgid, "min_size": size, "text": text, "time": r["time"]})
        elif r["kind"] == "dsn" and received and mine(r["to"]):
            rows.append({"sender": "", "mailbox": r["to"], "status": "sent", "msgid": None, "min_size": 1,
                         "time": r["time"]})
    if tab.startswith("not-"):
        rows = [x for x in rows if x["status"] != "sent"]
    return rows


def row_key(tab, row):
    if tab == "access":
        return (row.get("mailbox"), row.get("ip"), row.get("protocol"), row.get("result"), row.get("country"))
    if tab in ("received", "not-received"):
        return (row.get("sender"), row.get("mailbox"), row.get("status"))
    return (row.get("mailbox"), row.get("recipient"), row.get("status"))


def norm_msgid(v):
    v = v or ""
    return v[1:-1] if v.startswith("<") and v.endswith(">") else v


def compare(tab, want, got):
    """Multiset comparison: (missing expected rows, unexpected product rows)."""
    got = list(got)
    missing = []
    # Rows with a known Message-ID first, so wildcard rows cannot steal them.
    # Among equal candidates, in the order of the driver's actions, the
    # earliest row not too early for the action: nearest-first can take a
    # later action's row when equal rows are a second apart (a login logged
    # at :17 paired with the action of :17.6 because :18 was nearer, leaving
    # :17 for the action of :20). Without such a row, the nearest, to report.
    for w in sorted(want, key=lambda x: (x.get("msgid") is None, x["time"])):
        k = row_key(tab, w)
        match, best, fit = None, None, None
        for i, g in enumerate(got):
            if row_key(tab, g) != k:
                continue
            if tab != "access" and w.get("msgid") and norm_msgid(g.get("msgid")) != w["msgid"]:
                continue
            date = g.get("date") or 0
            if date >= earliest(w) and (fit is None or date < fit):
                match, fit = i, date
            dist = abs(date - w["time"])
            if fit is None and (best is None or dist < best):
                match, best = i, dist
        if match is None:
            missing.append(w)
            continue
        g = got.pop(match)
        # The time of the row is when the server logged it: within seconds of
        # what the driver did (a wrong year, time zone or offset is hours off).
        if not (isinstance(g.get("date"), int) and earliest(w) <= g["date"] <= w["time"] + TIME_AFTER):
            missing.append(dict(w, problem="date %r, driver acted at %d" % (g.get("date"), w["time"])))
        if tab != "access" and w.get("min_size") and not (isinstance(g.get("size"), int) and g["size"] >= w["min_size"]):
            missing.append(dict(w, problem="size %r < %d bytes sent" % (g.get("size"), w["min_size"])))
        if tab != "access" and w.get("text") and w["text"] not in (g.get("status_text") or ""):
            missing.append(dict(w, problem="status_text %r lacks %r" % (g.get("status_text"), w["text"])))
    return missing, got


def lines_for_row(idx, row):
    if row.get("msgid"):
        lines = idx.lines_of_msgid(norm_msgid(row["msgid"]))
        if lines:
            return lines
    if "ip" in row and row.get("ip"):
        return idx.grep(row["ip"])[:20]
    addr = row.get("recipient") or row.get("mailbox") or ""
    return idx.grep("<%s>" % addr)[:20]


# --- running the product --------------------------------------------------

def cfg_path(run, fmt):
    return os.path.join(run, fmt + ".ini")


def prepare(run):
    """The GeoIP fixture, the domains file and one config per log format."""
    src = os.environ["ITEST_SRCDIR"]
    tsv = os.path.join(run, "geo.tsv")
    with open(tsv, "w") as f:
        f.write("# integration test: documentation networks -> countries\n")
        for net, cc in GEO:
            f.write("%s\t%s\n" % (net, cc))
    subprocess.run(["perl", os.path.join(src, "tests/fixtures/geo/make-mmdb.pl"), tsv,
                    os.path.join(run, "geo.mmdb")], check=True)
    uid_of = {d: uid for uid, d in SITE_UIDS.items()}
    with open(os.path.join(run, "domains.json"), "w") as f:
        json.dump([{"name": d, "owner_email": "owner@" + d, "client": "client-" + d[7],
                    "reseller": "", "sysuser_uid": uid_of.get(d), "main": True}
                   for d in DOMAINS], f)
    for fmt, var in FORMATS.items():
        with open(cfg_path(run, fmt), "w") as f:
            f.write("[maillog]\ndb = %s\nlog = %s\ndomains = %s\ngeoip = %s\nmax_lines = 100\n"
                    % (os.path.join(run, fmt + ".db"), os.environ[var],
                       os.path.join(run, "domains.json"), os.path.join(run, "geo.mmdb")))


def product_ready():
    """False while `maillog ingest` is still the placeholder of the skeleton."""
    p = subprocess.run([os.environ["MAILLOG_BIN"], "ingest", "--help"], capture_output=True, text=True)
    return "not built yet" not in (p.stdout + p.stderr)


def cmd_ingest(a):
    run = a.run
    if not product_ready():
        print("check.py: maillog ingest is not built yet: product checks skipped", file=sys.stderr)
        return 0
    for fmt in FORMATS:
        t0 = time.monotonic()
        # The product reads "Nov 25 14:38:27" as local time: the servers' TZ.
        env = dict(os.environ)
        if os.environ.get("ITEST_TZ"):
            env["TZ"] = os.environ["ITEST_TZ"]
        p = subprocess.run([os.environ["MAILLOG_BIN"], "ingest", "--config", cfg_path(run, fmt)],
                           capture_output=True, text=True, env=env)
        dt = time.monotonic() - t0
        with open(os.path.join(run, "ingest-%s-%d.out" % (fmt, a.round)), "w") as f:
            f.write(p.stdout + p.stderr)
        if p.returncode != 0:
            print("check.py: ingest round %d of the %s log failed (%d):\n%s%s"
                  % (a.round, fmt, p.returncode, p.stdout, p.stderr), file=sys.stderr)
            return 1
        print("check.py: ingest round %d, %s log: %.2f s" % (a.round, fmt, dt), file=sys.stderr)
    return 0


def cgi_rows(run, fmt, tab, domain, role="admin", scope=None):
    """All rows of a tab through maillog.cgi (following next_cursor)."""
    rows, cursor, total = [], None, None
    for _ in range(1000):
        qs = "limit=%d" % CGI_PAGE
        if domain:
            qs += "&domain=" + domain
        if cursor:
            from urllib.parse import quote
            qs += "&cursor=" + quote(cursor, safe="")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "PATH_INFO": "/v1/" + tab,
            "QUERY_STRING": qs, "SERVER_PROTOCOL": "HTTP/1.1", "MAILLOG_ROLE": role,
            "MAILLOG_USER": role, "MAILLOG_CONFIG": cfg_path(run, fmt),
        }
        if scope is not None:
            env["MAILLOG_DOMAINS"] = scope
        p = subprocess.run([os.environ["MAILLOG_CGI"]], env=env, capture_output=True)
        status, body = parse_cgi(p.stdout)
        if status != 200:
            return status, body, None
        data = json.loads(body)
        rows.extend(data["rows"])
        total = data.get("total")
        cursor = data.get("next_cursor")
        if not cursor:
            break
    return 200, rows, total


def parse_cgi(out):
    head, _, body = out.partition(b"\r\n\r\n")
    if not _:
        head, _, body = out.partition(b"\n\n")
    status = 200
    for line in head.decode("latin-1").splitlines():
        if line.lower().startswith("status:"):
            status = int(line.split()[1])
    return status, body.decode("utf-8", "replace")


def cli_rows(run, fmt, tab, domain):
    """All rows of a tab through `maillog search`, in pages of CLI_PAGE rows
    (many rows share one second: keyset pagination must neither skip nor
    repeat any)."""
    rows, cursor = [], None
    for _ in range(1000):
        args = [os.environ["MAILLOG_BIN"], "search", "--config", cfg_path(run, fmt), "--tab", tab,
                "--format", "json", "--limit", str(CLI_PAGE)]
        if domain:
            args += ["--domain", domain]
        if cursor:
            args += ["--cursor", cursor]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("maillog search %s failed (%d): %s" % (" ".join(args[2:]), p.returncode, p.stderr))
        data = json.loads(p.stdout)
        rows.extend(data["rows"])
        cursor = data.get("next_cursor")
        if not cursor:
            return rows
    raise RuntimeError("maillog search %s: more than 1000 pages" % tab)


def report(problems, title):
    print("FAIL %s" % title, file=sys.stderr)
    for what, lines in problems[:MAX_REPORTED]:
        print("  - %s" % what, file=sys.stderr)
        for line in lines[:20]:
            print("      | %s" % line, file=sys.stderr)
    if len(problems) > MAX_REPORTED:
        print("  … and %d more" % (len(problems) - MAX_REPORTED), file=sys.stderr)


def check_tab(fmt, idx, expected, tab, domain, got, via, problems, total=None):
    want = expected_rows(expected, tab, domain)
    missing, extra = compare(tab, want, got)
    where = "%s %s %s domain=%s" % (fmt, via, tab, domain or "(all)")
    for m in missing:
        problems.append(("%s: missing %s" % (where, json.dumps(m, sort_keys=True)), lines_for_row(idx, m)))
    for x in extra:
        problems.append(("%s: unexpected %s" % (where, json.dumps(x, sort_keys=True)), lines_for_row(idx, x)))
    if total is not None and total != len(got):
        problems.append(("%s: total %r but %d rows" % (where, total, len(got)), []))
    return len(want)


def cgi_get(run, fmt, path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GATEWAY_INTERFACE": "CGI/1.1",
           "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
           "MAILLOG_ROLE": "admin", "MAILLOG_USER": "admin", "MAILLOG_CONFIG": cfg_path(run, fmt)}
    p = subprocess.run([os.environ["MAILLOG_CGI"]], env=env, capture_output=True)
    status, body = parse_cgi(p.stdout)
    return status, (json.loads(body) if status == 200 else body)


def check_traces(run, fmt, idx, expected, message_ids, problems):
    """/v1/messages/{id} of every queued message: who sent it from where, what
    happened to each recipient, the DSN link, the raw lines."""
    by_msgid = collections.defaultdict(list)
    for r in expected:
        if r["kind"] == "mail" and r["msgid"]:
            by_msgid[r["msgid"]].append(r)
    dsn_of = collections.Counter(r["of_msgid"] for r in expected if r["kind"] == "dsn")
    checked = 0
    for msgid, recs in sorted(by_msgid.items()):
        where = "%s trace of %s" % (fmt, msgid)
        if msgid not in message_ids:
            problems.append(("%s: no tab row leads to it" % where, idx.lines_of_msgid(msgid)))
            continue
        status, t = cgi_get(run, fmt, "/v1/messages/%d" % message_ids[msgid])
        if status != 200:
            problems.append(("%s: HTTP %s %s" % (where, status, t), idx.lines_of_msgid(msgid)))
            continue
        checked += 1
        r0 = recs[0]
        # Filtered mail is two messages linked parent -> child: the client,
        # country and SASL user are the parent's; the origin is the same on both.
        traces = [t]
        linked = [c for c in t.get("chain", []) if c.get("relation") in ("parent", "child")]
        if bool(linked) != bool(r0.get("filtered")) or len(linked) > 1:
            problems.append(("%s: chain %s, expected %s" % (where, t.get("chain"),
                             "one parent or child link (content filter hop)" if r0.get("filtered") else "no hop link"),
                             idx.lines_of_msgid(msgid)))
        for c in linked[:1]:
            status, other = cgi_get(run, fmt, "/v1/messages/%d" % c["id"])
            if status != 200:
                problems.append(("%s: linked message %s: HTTP %s" % (where, c, status), idx.lines_of_msgid(msgid)))
            else:
                traces.append(other)
        root = traces[0] if len(traces) == 1 or linked[0]["relation"] == "child" else traces[1]
        want = {"msgid": msgid, "sender": r0["sender"], "client_ip": r0["client_ip"],
                "country": country_of(r0["client_ip"]), "sasl_username": r0["sasl_user"] or "",
                "origin": r0["origin"]}
        for tr in traces:
            m = tr.get("message", {})
            for k, v in want.items():
                if tr is not root and k not in ("msgid", "sender", "origin"):
                    continue
                if norm_msgid(m.get(k)) != v if k == "msgid" else m.get(k) != v:
                    problems.append(("%s: message %s .%s = %r, expected %r" % (where, m.get("queue_id"), k, m.get(k), v),
                                     idx.lines_of_msgid(msgid)))
        dels = collections.defaultdict(list)
        for tr in traces:
            for d in tr.get("deliveries", []):
                if not d.get("is_hop"):
                    dels[d.get("recipient")].append(d.get("status"))
        for r in recs:
            got = dels.get(r["rcpt"], [])
            if r["expect"] == "rejected":
                ok = all(s == "rejected" for s in got)  # may or may not be attached
            else:
                ok = got == [r["expect"]]
            if not ok:
                problems.append(("%s: deliveries to %s are %s, expected %s" % (where, r["rcpt"], got, r["expect"]),
                                 idx.lines_of_msgid(msgid)))
        rels = [c.get("relation") for tr in traces for c in tr.get("chain", [])]
        if rels.count("dsn") != dsn_of.get(msgid, 0):
            problems.append(("%s: chain %s, expected %d dsn link(s)" % (where, t.get("chain"), dsn_of.get(msgid, 0)),
                             idx.lines_of_msgid(msgid)))
        if not all(any("message-id=<%s>" % msgid in l for l in tr.get("lines", [])) for tr in traces):
            problems.append(("%s: raw lines lack the message-id line" % where, idx.lines_of_msgid(msgid)))
    return checked


def cmd_verify(a):
    run = a.run
    expected = load_expected(run)
    problems = []
    counts = collections.Counter(r["kind"] + ":" + str(r.get("expect", r.get("ok", r.get("why")))) for r in expected)
    print("check.py: driver records: %s" % dict(sorted(counts.items())), file=sys.stderr)
    indexes = {}
    for fmt, var in FORMATS.items():
        files = log_files(os.environ[var])
        if len(files) < 2:
            problems.append(("%s log: not rotated (files: %s)" % (fmt, files), []))
        indexes[fmt] = LogIndex(read_lines(os.environ[var]))
        if not a.product_only:
            self_check(fmt, indexes[fmt], expected, problems)
    if problems:
        report(problems, "the servers' logs do not match what the driver did (harness problem)")
        return 1
    if not a.product_only:
        print("check.py: both logs match the driver's %d records" % len(expected), file=sys.stderr)
    if not product_ready():
        print("check.py: SKIP product checks (maillog ingest not built yet)", file=sys.stderr)
        return 0
    checked = traces = 0
    for fmt in FORMATS:
        idx = indexes[fmt]
        message_ids = {}
        for tab in TABS:
            for domain in DOMAINS + [None]:
                status, rows, total = cgi_rows(run, fmt, tab, domain)
                if status != 200:
                    problems.append(("%s cgi %s domain=%s: HTTP %s %s" % (fmt, tab, domain, status, rows), []))
                else:
                    checked += check_tab(fmt, idx, expected, tab, domain, rows, "cgi", problems, total)
                    for row in rows:
                        if row.get("msgid") and row.get("message_id"):
                            message_ids.setdefault(norm_msgid(row["msgid"]), row["message_id"])
                try:
                    rows = cli_rows(run, fmt, tab, domain)
                    checked += check_tab(fmt, idx, expected, tab, domain, rows, "search", problems)
                except RuntimeError as exc:
                    problems.append((str(exc), []))
            # A client of one domain sees that domain, and is refused the other.
            status, rows, _ = cgi_rows(run, fmt, tab, DOMAINS[0], role="client", scope=DOMAINS[0])
            if status != 200:
                problems.append(("%s cgi client %s: HTTP %s %s" % (fmt, tab, status, rows), []))
            else:
                checked += check_tab(fmt, idx, expected, tab, DOMAINS[0], rows, "cgi(client)", problems)
            status, rows, _ = cgi_rows(run, fmt, tab, DOMAINS[1], role="client", scope=DOMAINS[0])
            if status not in (403, 404):
                problems.append(("%s cgi: client of %s asking for %s %s got HTTP %s"
                                 % (fmt, DOMAINS[0], DOMAINS[1], tab, status), []))
        traces += check_traces(run, fmt, idx, expected, message_ids, problems)
    if problems:
        report(problems, "the product's tabs do not match what the driver did")
        return 1
    print("check.py: %d expected rows found in the tabs (2 log formats, CLI and CGI), %d message traces right"
          % (checked, traces), file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["prepare", "ingest", "verify"])
    ap.add_argument("--run", required=True)
    ap.add_argument("--round", type=int, default=1)
    ap.add_argument("--product-only", action="store_true",
                    help="verify: skip the raw-log self-check (to see the product's answers alone)")
    a = ap.parse_args()
    if a.what == "prepare":
        prepare(a.run)
        return 0
    return cmd_ingest(a) if a.what == "ingest" else cmd_verify(a)


if __name__ == "__main__":
    sys.exit(main())
