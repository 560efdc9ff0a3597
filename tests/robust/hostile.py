#!/usr/bin/env python3
"""hostile.py — hostile log content end to end: written to a log, ingested
by the real `maillog ingest`, read back through the real maillog.cgi.

The log holds ordinary generated mail plus mails and logins whose senders,
recipients, HELO names and user names carry HTML/JS (<script>, "><img
onerror=…>), terminal escape sequences, invalid UTF-8 (lone continuation
bytes, overlong forms, surrogates, truncated sequences), NUL bytes, CSV
formula starters (= + - @), and lines of 1 MB (one of them a real delivery
line with a 1 MB status text). Checked, for an admin and for the client of
the domain, on every tab, each message trace, the stats and the log tail:
  - every answer is 200 with strict JSON in strict UTF-8 (Python's json with
    strict=True: no raw control character in a string), and jq agrees;
  - each hostile value that is valid UTF-8 comes back byte for byte (the API
    stores and returns text; escaping for HTML is the UI's job), control
    characters as JSON escapes; invalid bytes come back as U+FFFD with the
    valid parts around them intact; a NUL never cuts the JSON;
  - the client sees none of the hostile rows of other domains;
  - CSV: parsed by Python's csv, every cell that would start with = + - @
    TAB or CR starts with a quote ('), and the rest of the cell is the value;
  - the database passes PRAGMA integrity_check and the ordinary mails are all
    there (hostile lines did not eat their neighbours).
"""
import csv
import io
import subprocess
import sys

import world as W

w = W.World("hostile")
TS = W.stamp(w.t0 - 3600)

# (what, sender/user bytes, domain it belongs to): senders of mails received
# by info@example.com, and logins of mailboxes of example.com.
SENDERS = [
    ("html script", b"<script>alert(1)</script>@evil.test"),
    ("html attribute break", b"\"><img src=x onerror=alert(document.cookie)>@evil.test"),
    ("terminal escapes", b"\x1b[31mred\x1b]0;owned\x07\x1b[2J@evil.test"),
    ("invalid utf-8", b"caf\xe9\xff\xfe@evil.test"),
    ("overlong and surrogate", b"a\xc0\xafb\xed\xa0\x80c@evil.test"),
    ("truncated sequence", b"x\xe2\x82@evil.test"),
    ("formula =", b"=HYPERLINK(\"http://evil.test\",\"x\")@evil.test"),
    ("formula +", b"+cmd|' /C calc'!A0@evil.test"),
    ("formula -", b"-2+3@evil.test"),
    ("formula @", b"@SUM(1+1)@evil.test"),
    ("valid utf-8", "jürgen.ß.日本@evil.test".encode()),
]
LOGIN_USERS = [
    ("login html", b"<img src=x onerror=alert(2)>@example.com"),
    ("login escapes", b"\x1b[1mbold\x1b[0m@example.com"),
    ("login invalid utf-8", b"\xff\xfeuser@example.com"),
]


def received(n, sender, rcpt=b"info@example.com", status_text=b"delivered to maildir",
             helo=None):
    q = b"F%06X" % n
    ts = TS.encode()
    lines = [ts + b" mx postfix/smtpd[77]: " + q + b": client=mail.evil.test[198.51.100.66]"]
    if helo is not None:
        lines = [ts + b" mx postfix/smtpd[77]: NOQUEUE: reject: RCPT from unknown[198.51.100.66]: "
                 b"450 4.7.1 Client host rejected: cannot find your hostname; from=<" + sender +
                 b"> to=<" + rcpt + b"> proto=ESMTP helo=<" + helo + b">"]
        return lines
    lines.append(ts + b" mx postfix/cleanup[78]: " + q + b": message-id=<h%d@evil.test>" % n)
    lines.append(ts + b" mx postfix/qmgr[900]: " + q + b": from=<" + sender +
                 b">, size=1234, nrcpt=1 (queue active)")
    lines.append(ts + b" mx postfix/virtual[79]: " + q + b": to=<" + rcpt +
                 b">, relay=virtual, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (" +
                 status_text + b")")
    lines.append(ts + b" mx postfix/qmgr[900]: " + q + b": removed")
    return lines


def login(user, ok=True):
    ts = TS.encode()
    if ok:
        return [ts + b" mx dovecot: imap-login: Login: user=<" + user +
                b">, method=PLAIN, rip=203.0.113.66, lip=192.0.2.1, mpid=1, TLS, session=<x>"]
    return [ts + b" mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): "
            b"user=<" + user + b">, method=PLAIN, rip=203.0.113.66, lip=192.0.2.1, session=<y>"]


lines = []
for n, (_, s) in enumerate(SENDERS):
    lines += received(n, s)
# HELO names and a NUL byte inside a line, a 1 MB status text, junk lines.
lines += received(50, b"helo@evil.test", rcpt=b"bob@example.com",
                  helo=b"<script>alert('helo')</script>\"><svg onload=alert(3)>")
lines += received(51, b"nul@evil.test", rcpt=b"bob@example.com",
                  status_text=b"250 ok\x00<script>after nul</script>")
BIG = b"250 2.0.0 " + b"<script>x</script>\xff" * (1024 * 1024 // 19)
lines += received(52, b"big@evil.test", rcpt=b"sales.team@example.com", status_text=BIG)
lines.append(b"\x00" * 1000 + b"junk with NULs\x00")
lines.append(b"A" * (1024 * 1024) + b" postfix/smtpd[1]: X: client=y[1.2.3.4]")
lines.append(TS.encode() + b" mx postfix/smtpd[1]: " + b"\xc3" * (1024 * 1024))
for n, (_, u) in enumerate(LOGIN_USERS):
    lines += login(u, ok=n % 2 == 0)
# A hostile mail for another domain: the client of example.com must not see it.
lines += received(60, b"<script>other()</script>@evil.test", rcpt=b"info@example.net")

w.append(300)  # ordinary mail before and after
w.append_raw(b"".join(l + b"\n" for l in lines))
w.append(300)
p = w.ingest(check_rc=False)
W.check(p.returncode == 0, "ingest of the hostile log exits 0", p.stderr[-500:])
W.check(w.sql("PRAGMA integrity_check") == "ok", "database integrity_check ok")

# The ordinary mails around the hostile lines are all there.
want_sent = sum(1 for i in range(600) if W.Mail(i, w.t0).kind == "sent")
got_sent = int(w.sql("SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id "
                     "WHERE m.msgid LIKE 'm%@gen.test' AND d.sent_domain <> ''"))
W.check(got_sent == want_sent, "ordinary mails around hostile lines kept (%d sent)" % want_sent,
        "got %d" % got_sent)


def expect_text(raw):
    """What the API should return for raw bytes: valid UTF-8 as is, every
    byte that starts no well-formed sequence as U+FFFD (per maximal subpart
    is not required; per byte is what the API does, so compare loosely)."""
    return raw.decode("utf-8", errors="replace")


def loose(s):
    """Collapses runs of U+FFFD: per-byte or per-subpart replacement are both fine."""
    out = []
    for ch in s:
        if ch == "\ufffd" and out and out[-1] == "\ufffd":
            continue
        out.append(ch)
    return "".join(out)


def jq_ok(body):
    return subprocess.run(["jq", "-e", "."], input=body, capture_output=True).returncode == 0


def get_json(path, query, who, name):
    r = w.cgi(path, query, who=who)
    try:
        doc = r.json()
    except (ValueError, UnicodeDecodeError) as e:
        W.check(False, name + ": strict JSON", "%s %r" % (e, r))
        return None
    ok = r.status == 200 and r.headers.get("content-type", "").startswith("application/json")
    W.check(ok and jq_ok(r.body), name + ": 200, JSON (python strict, jq)", r)
    return doc


def all_rows(tab, who, extra=""):
    rows, cursor = [], ""
    for _ in range(100):
        q = "limit=500" + extra + ("&cursor=" + cursor if cursor else "")
        r = w.cgi("/v1/" + tab, q, who=who)
        doc = r.json()
        rows += doc["rows"]
        if not doc["next_cursor"]:
            break
        import urllib.parse
        cursor = urllib.parse.quote(doc["next_cursor"], safe="")
    return rows


def strings_of(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from strings_of(v)
    elif isinstance(x, list):
        for v in x:
            yield from strings_of(v)


for who_name, who, dom in (("admin", W.ADMIN, ""), ("client", W.CLI1, "&domain=example.com")):
    for tab in W.TABS:
        doc = get_json("/v1/" + tab, "limit=500" + dom, who, "%s %s" % (who_name, tab))
    rec = all_rows("received", who, dom)
    texts = set(loose(s) for r in rec for s in strings_of(r))
    for what, raw in SENDERS:
        want = loose(expect_text(raw))
        W.check(want in texts, "%s: %s sender comes back as text" % (who_name, what),
                "want %r" % want)
    nul = [r for r in rec if r.get("sender") == "nul@evil.test"]
    W.check(len(nul) == 1 and nul[0]["status_text"] == "250 ok",
            "%s: a NUL byte ends the stored text (nothing after it leaks)" % who_name, nul)
    big = [r for r in rec if r.get("sender") == "big@evil.test"]
    W.check(len(big) == 1 and big[0]["status_text"].startswith("250 2.0.0 <script>x</script>")
            and len(big[0]["status_text"].encode()) <= 4096,
            "%s: the 1 MB status text is one row, cut to <= 4 KiB" % who_name,
            [len(b["status_text"]) for b in big])
    helo_rows = [r for r in rec if r.get("sender") == "helo@evil.test"]
    W.check(len(helo_rows) == 1, "%s: the rejected mail with an HTML HELO is listed" % who_name)
    acc = all_rows("access", who, dom)
    atexts = set(loose(s) for r in acc for s in strings_of(r))
    for what, raw in LOGIN_USERS:
        W.check(loose(expect_text(raw)) in atexts, "%s: %s comes back as text" % (who_name, what))
    other = any("other()" in s for r in rec for s in strings_of(r))
    W.check(other == (who_name == "admin"), "%s: hostile row of example.net %s" % (
        who_name, "seen" if who_name == "admin" else "not seen by the client of example.com"))

    # Every message trace of the hostile mails: raw lines included.
    ids = sorted(set(r["message_id"] for r in rec if r["sender"].endswith("@evil.test") or
                     "evil.test" in r["sender"]))
    bad = []
    for mid in ids:
        r = w.cgi("/v1/messages/%d" % mid, "", who=who)
        try:
            doc = r.json()
            assert r.status == 200 and jq_ok(r.body)
        except Exception as e:  # noqa: BLE001 - any failure is reported
            bad.append((mid, str(e), r.status))
    W.check(ids and not bad, "%s: %d hostile message traces are strict JSON" % (who_name,
                                                                                len(ids)), bad)

    # CSV: formula starters are neutralised, values otherwise intact.
    for tab in ("received", "access"):
        r = w.cgi("/v1/" + tab, "format=csv" + dom, who=who)
        text = r.body.decode("utf-8", errors="strict") if r.status == 200 else ""
        cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
        unsafe = [c for c in cells if c and c[0] in "=+-@\t\r"]
        W.check(r.status == 200 and len(cells) > 100 and not unsafe,
                "%s: %s CSV has no cell starting with = + - @ TAB CR" % (who_name, tab),
                unsafe[:5] or r)
        if tab == "received":
            for what, raw in SENDERS:
                if what.startswith("formula"):
                    v = raw.decode()
                    W.check("'" + v in cells, "%s: CSV %s cell is '%s" % (who_name, what, v[:12]))

# Stats and the log tail (raw lines: the 1 MB lines, NULs, invalid UTF-8).
get_json("/v1/stats", "", W.ADMIN, "admin stats")
get_json("/v1/stats", "domain=example.com", W.CLI1, "client stats")
w.append_raw(b"".join(l + b"\n" for l in lines[-12:]))  # hostile lines at the log's end
tail = get_json("/v1/log-tail", "lines=50", W.ADMIN, "admin log tail of hostile lines")
if tail is not None:
    W.check(len(tail["lines"]) == 50 and all(len(s.encode()) <= 70000 for s in tail["lines"]),
            "log tail: 50 lines, each bounded", [len(s) for s in tail["lines"]][:8])

w.destroy()
W.finish("hostile")
