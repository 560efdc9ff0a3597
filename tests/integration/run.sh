#!/bin/bash
# run.sh — `make check-integration`: the product against real Postfix, Dovecot and rsyslog.
#
# 1. Installs what is missing (scripts/deps.sh servers geoip), enters a
#    private mount namespace (lib.sh) and starts rsyslogd, Postfix, Dovecot
#    and three smtp-sinks on 127.0.0.1 with configs written under a new
#    directory /tmp/maillog-itest.XXXXXX.
# 2. drive.py phase "a": every scenario case once, then bulk traffic over
#    several threads (queue ids interleave); the driver records what it did
#    in expected.jsonl.
# 3. Ingest of both logs (RHEL and Debian formats, one database each): once
#    halfway through the bulk traffic of phase a, once after it.
# 4. drive.py phase "b": more bulk traffic; halfway through, logrotate
#    renames both logs and HUPs rsyslogd while mail keeps flowing.
# 5. Third ingest (it must finish the rotated file and start the new one).
#    Then phases "c" and "d" rotate the Debian log twice before the fourth
#    ingest, so the unread part has moved on to mail.log.2.gz. A fifth
#    ingest with nothing new must change nothing.
# 6. check.py: the raw logs agree with the driver (harness self-check, and
#    every event is in the rotated+current files exactly once), then the
#    product's tabs through `maillog search` and `maillog.cgi` hold exactly
#    the rows the driver's actions imply, per domain, for both formats.
#
# Everything started is stopped by pid on exit, also on failure. The run
# directory (logs, expected.jsonl, databases) is removed after a pass and
# kept after a failure; ITEST_KEEP=1 keeps it always.
#
# Environment: ITEST_TZ (the servers' and the ingest's time zone, default
# UTC-5 as a POSIX TZ string), MAILLOG_BIN (default build/maillog), MAILLOG_CGI (default
# build/maillog.cgi), ITEST_BULK_A / ITEST_BULK_B (bulk message counts,
# default 40 / 60; ITEST_BULK_C for phases c and d, default 30),
# ITEST_THREADS (default 4).
set -euo pipefail

ITEST_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ITEST_SRCDIR
# shellcheck source=tests/integration/lib.sh
. "$ITEST_SRCDIR/tests/integration/lib.sh"

if [ -z "${ITEST_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || itest_die "run as root: it installs and starts Postfix, Dovecot and rsyslog"
    itest_deps
fi
itest_enter_ns "$0" "$@"

here=$ITEST_SRCDIR/tests/integration
py=/usr/bin/python3
export MAILLOG_BIN=${MAILLOG_BIN:-$ITEST_SRCDIR/build/maillog}
export MAILLOG_CGI=${MAILLOG_CGI:-$ITEST_SRCDIR/build/maillog.cgi}

run=$(mktemp -d /tmp/maillog-itest.XXXXXX)
chmod 755 "$run"
mkdir "$run/srv"
export ITEST_RUN=$run
ok=0
finish() {
    itest_stop_all
    if [ "$ok" = 1 ] && [ -z "${ITEST_KEEP:-}" ]; then
        rm -rf --one-file-system "$run"
    else
        itest_log "run directory kept: $run (logs in $run/srv/log)"
    fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# One snapshot of the binaries for every round (a rebuild during the run
# must not mix versions).
mkdir "$run/bin"
cp "$MAILLOG_BIN" "$run/bin/maillog"
cp "$MAILLOG_CGI" "$run/bin/maillog.cgi"
export MAILLOG_BIN=$run/bin/maillog MAILLOG_CGI=$run/bin/maillog.cgi

# The servers log in a time zone that is not UTC (a POSIX TZ string, no
# tzdata needed): rows must still carry the true time. A fixed offset: the
# RHEL format has none in its stamps, so the repeated hour at the end of
# daylight saving time is ambiguous by nature, and a run in it would fail.
export ITEST_TZ=${ITEST_TZ:-EST5}

start=$(date +%s)
itest_init "$run/srv"
itest_start_all
# In the private namespace our Postfix's configuration is the default one,
# so that sendmail run as an unprivileged user (a web site's PHP mail(),
# drive.py send_local) submits to it: such a user may not name another
# configuration directory.
if [ "${ITEST_NS:-}" = 1 ] && [ -d /etc/postfix ]; then
    mount --bind "$ITEST_POSTFIX_DIR" /etc/postfix || itest_die "cannot bind our Postfix configuration"
fi

# The rotation the driver triggers mid-traffic, with this environment.
cat >"$run/rotate" <<EOF
#!/bin/bash
. "$ITEST_SRCDIR/tests/integration/lib.sh"
itest_rotate_logs "\$@"
EOF
chmod 755 "$run/rotate"

"$py" "$here/check.py" prepare --run "$run"
# Phase a: the scenario, then bulk traffic with an ingest in the middle of it
# (messages are cut in half between two runs, as under cron).
"$py" "$here/drive.py" --phase a --out "$run/expected.jsonl" --scenario \
    --bulk "${ITEST_BULK_A:-40}" --threads "${ITEST_THREADS:-4}" --seed 1 \
    --during "$py $here/check.py ingest --run $run --round 1"
itest_wait_queue 60
itest_sync_logs
"$py" "$here/check.py" ingest --run "$run" --round 2

# Phase b: bulk traffic with a logrotate in the middle of it.
"$py" "$here/drive.py" --phase b --out "$run/expected.jsonl" \
    --bulk "${ITEST_BULK_B:-60}" --threads "${ITEST_THREADS:-4}" --seed 2 --during "$run/rotate"
itest_wait_queue 60
itest_sync_logs
"$py" "$here/check.py" ingest --run "$run" --round 3

# Phases c and d: the Debian log is rotated twice before the next ingest,
# each time while mail flows, so the part not yet read is in mail.log.2.gz.
"$py" "$here/drive.py" --phase c --out "$run/expected.jsonl" \
    --bulk "${ITEST_BULK_C:-30}" --threads "${ITEST_THREADS:-4}" --seed 3 --during "$run/rotate debian"
"$py" "$here/drive.py" --phase d --out "$run/expected.jsonl" \
    --bulk "${ITEST_BULK_C:-30}" --threads "${ITEST_THREADS:-4}" --seed 4 --during "$run/rotate debian"
itest_wait_queue 60
itest_sync_logs
"$py" "$here/check.py" ingest --run "$run" --round 4
# Nothing new: a fifth run must add nothing.
itest_sync_logs
"$py" "$here/check.py" ingest --run "$run" --round 5

"$py" "$here/check.py" verify --run "$run"
ok=1
itest_log "passed in $(($(date +%s) - start)) s"
