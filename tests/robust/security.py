#!/usr/bin/env python3
"""security.py — what tests/robust/SECURITY-REVIEW.md claims, checked.

  perms  after a fresh `maillog ingest` run with umask 022 (as from cron),
         the database, its -wal/-shm and the lock file are not readable by
         group or others; maillog.cgi (any umask) creates its CSRF secret and
         a database it had to create 0600; the CGI reads no variable beyond
         its list (MAILLOG_* from a request header arrive as HTTP_MAILLOG_*
         and change nothing); no environment value reaches a shell.
  web    the standalone server (scripts/demo.sh --background, its
         lighttpd.conf) serves only the UI and the CGI: without a login 401;
         with one, path traversal (/../, %2e%2e, encoded slashes, through the
         dist symlink, after the CGI's path), the database, the config, the
         users file, the CSRF secret, lighttpd's own files and .git are
         403/404 and no byte of them comes back.
"""
import base64
import os
import subprocess
import time
import urllib.request

import world as W

SECTIONS = __import__("sys").argv[1:] or ["perms", "web"]


def mode(path):
    return os.stat(path).st_mode & 0o777


def t_perms():
    w = W.World("perms")
    w.append(300)
    p = subprocess.run(["sh", "-c", 'umask 022; exec "$0" ingest --config "$1"', w.cli,
                       w.config], capture_output=True)
    W.check(p.returncode == 0, "perms: ingest with umask 022", p.stderr)
    files = [w.db, w.db + "-wal", w.db + "-shm", w.db + ".lock"]
    bad = ["%s %o" % (os.path.basename(f), mode(f)) for f in files
           if os.path.exists(f) and mode(f) & 0o077]
    W.check(os.path.exists(w.db) and not bad, "perms: database, WAL, SHM and lock are 0600 after "
            "a fresh ingest under umask 022", bad)

    # The CGI: standalone user fetches the CSRF token (creates csrf.secret).
    with open(w.config, "a") as f:
        f.write("[users]\nadmin = admin\n")
    sa = {"REMOTE_USER": "admin"}
    r = w.cgi("/v1/me", "", who=sa, wrapper=["sh", "-c", 'umask 000; exec "$0"'])
    secret = os.path.join(w.dir, "csrf.secret")
    W.check(r.status == 200 and os.path.exists(secret) and mode(secret) == 0o600,
            "perms: maillog.cgi under umask 000 makes csrf.secret 0600",
            (r, oct(mode(secret)) if os.path.exists(secret) else "missing"))
    newdb = os.path.join(w.dir, "fresh.db")
    r = w.cgi("/v1/stats", "", extra={"MAILLOG_DB": newdb}, wrapper=["sh", "-c",
                                                                     'umask 000; exec "$0"'])
    made = [f for f in (newdb, newdb + "-wal", newdb + "-shm") if os.path.exists(f)]
    W.check(all(mode(f) == 0o600 for f in made), "perms: a database the CGI creates is 0600",
            ["%s %o" % (f, mode(f)) for f in made])

    # Request headers cannot pose as the bridge's variables.
    r = w.cgi("/v1/me", "", who={"REMOTE_USER": "mallory", "HTTP_MAILLOG_ROLE": "admin",
                                  "HTTP_MAILLOG_USER": "admin", "HTTP_MAILLOG_CONFIG": "/etc/passwd",
                                  "HTTP_MAILLOG_DB": "/etc/shadow"})
    W.check(r.status == 403, "perms: HTTP_MAILLOG_* headers do not make anyone admin", r)
    # Shell metacharacters in every variable the CGI reads: nothing runs.
    canary = os.path.join(w.dir, "pwned")
    evil = "$(touch %s)`touch %s`;touch %s" % (canary, canary, canary)
    for var in ("PATH_INFO", "QUERY_STRING", "REMOTE_USER", "MAILLOG_USER", "MAILLOG_DOMAINS",
                "HTTP_X_MAILLOG_CSRF", "CONTENT_TYPE"):
        extra = {var: evil}
        who = W.ADMIN if var.startswith("MAILLOG") else sa
        w.cgi("/v1/me" if var != "PATH_INFO" else evil, "", who=who, extra=extra)
        w.cgi("/v1/settings", "", who=who, method="PUT", body=b'{"retention_days": 9}',
              extra=dict(extra, HTTP_X_MAILLOG_CSRF=evil))
    W.check(not os.path.exists(canary), "perms: shell syntax in every CGI variable runs nothing")
    w.destroy()


def fetch(url, auth=None):
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def raw_get(port, path, auth):
    """GET with the path sent exactly as given (urllib would normalise it)."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    cred = base64.b64encode(auth.encode()).decode()
    s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic %s\r\n\r\n" % (
        path, cred)).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), body
    except (IndexError, ValueError):
        return -1, data


def t_web():
    demo = os.path.join(W.ROOT, "build", "robust-demo")
    p = subprocess.run([os.path.join(W.ROOT, "scripts/demo.sh"), "--dir", demo, "--sample",
                        "--background", "--no-build"], capture_output=True, timeout=300)
    if p.returncode != 0:
        W.check(False, "web: scripts/demo.sh --background starts lighttpd", p.stderr[-800:])
        return
    try:
        base = open(os.path.join(demo, "url")).read().strip().rstrip("/")
        port = int(base.rsplit(":", 1)[1])
        st, body = fetch(base + "/cgi-bin/maillog.cgi/v1/me", "admin:admin")
        W.check(st == 200 and b'"role":"admin"' in body, "web: the CGI answers an admin", st)
        st, body = fetch(base + "/", "admin:admin")
        W.check(st == 200 and b"<html" in body.lower(), "web: the UI page is served", st)
        for path in ("/", "/cgi-bin/maillog.cgi/v1/me", "/maillog.db"):
            st, body = fetch(base + path)
            W.check(st == 401, "web: %s without a login is 401" % path, st)
        secrets = {
            "maillog.db": open(os.path.join(demo, "maillog.db"), "rb").read(16),
            "maillog.ini": b"[maillog]",
            "users.txt": b"admin:admin",
            ".git": b"[core]",
        }
        probes = [
            "/maillog.db", "/maillog.ini", "/users.txt", "/csrf.secret", "/lighttpd.conf",
            "/lighttpd-access.log", "/mail.log", "/domains.json",
            "/../maillog.db", "/../maillog.ini", "/../users.txt", "/%2e%2e/maillog.ini",
            "/%2e%2e%2fmaillog.ini", "/..%2fmaillog.db", "/.%2e/.%2e/maillog.ini",
            "/dist/../../maillog.ini", "/dist/..%2f..%2fmaillog.ini", "/dist/../../../.git/config",
            "/dist/%2e%2e/%2e%2e/%2e%2e/.git/config", "/.git/config", "/../../.git/config",
            "/cgi-bin/maillog.cgi/../../maillog.ini", "/cgi-bin/../maillog.db",
            "/cgi-bin/maillog.cgi/../../../../etc/passwd", "/cgi-bin/", "/cgi-bin/maillog.ini",
            "/cgi-bin/other.cgi", "/dist/", "/index.html~", "/x.php",
            demo + "/maillog.db", "/%2f" + demo.lstrip("/") + "/maillog.ini",
            "//" + demo.lstrip("/") + "/maillog.ini",
        ]
        bad = []
        for path in probes:
            st, body = raw_get(port, path, "admin:admin")
            leak = [k for k, v in secrets.items() if v and v in body]
            if st not in (400, 403, 404) or leak:
                bad.append("%s -> %d %s" % (path, st, leak))
        W.check(not bad, "web: %d probes for files outside htdocs/ and the CGI are 400/403/404 "
                "and leak nothing" % len(probes), bad)
    finally:
        subprocess.run([os.path.join(W.ROOT, "scripts/demo.sh"), "--stop", "--dir", demo],
                       capture_output=True)
        time.sleep(0.2)
        subprocess.run(["rm", "-rf", demo])


for s in SECTIONS:
    {"perms": t_perms, "web": t_web}[s]()
W.finish("security")
