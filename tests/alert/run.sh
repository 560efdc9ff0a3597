#!/bin/bash
# run.sh — `make check-alerts`: suspicious-login reports and forced password
# changes against real servers on loopback.
#
# 1. alerts_test.py: `maillog alerts` against Postfix's smtp-sink (which
#    logins are reported, catch-up, reruns, crashes between steps, SMTP
#    outage, mail format, the password only in the command's environment).
# 2. End to end, with tests/integration/lib.sh (real rsyslog, Postfix and
#    Dovecot with a passwd-file, in a private mount namespace): an IMAP login
#    from an unusual country (fixture GeoIP database), `maillog ingest`,
#    `maillog alerts` mailing the owner through the real Postfix into the
#    owner's Dovecot mailbox, the password changed by
#    tests/fixtures/alert/dovecot-passwd.sh; then IMAP with the new password
#    succeeds and with the old one fails. The report goes over STARTTLS with
#    certificate verification and SMTP AUTH (Postfix submission, a test CA
#    bind-mounted into the namespace's CA bundle); before the CA is trusted
#    the run must fail and change nothing.
#
# Needs root (installs scripts/deps.sh groups servers, geoip and alerts when
# missing). About half a minute. Ends with "alerts: N passed, N failed".
# Environment: MAILLOG_BIN (default build/maillog), ALERTS_KEEP=1 keeps the
# run directory.
set -euo pipefail

ITEST_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ITEST_SRCDIR
# shellcheck source=tests/integration/lib.sh
. "$ITEST_SRCDIR/tests/integration/lib.sh"

if [ -z "${ITEST_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || itest_die "run as root: it installs and starts Postfix and Dovecot"
    itest_deps
    "$ITEST_SRCDIR/scripts/deps.sh" geoip alerts
fi
itest_enter_ns "$0" "$@"

here=$ITEST_SRCDIR/tests/alert
py=/usr/bin/python3
maillog=${MAILLOG_BIN:-$ITEST_SRCDIR/build/maillog}
export MAILLOG_BIN=$maillog MAILLOG_SRCDIR=$ITEST_SRCDIR TZ=UTC
passed=0
failed=0

# ---- 1. against smtp-sink ------------------------------------------------
out=$(mktemp)
if "$py" "$here/alerts_test.py" | tee "$out"; then :; fi
counts=$(tail -1 "$out")
rm -f "$out"
if [[ $counts =~ ^alerts:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
else
    echo "alerts_test.py did not finish: $counts"
    failed=$((failed + 1))
fi

# ---- 2. end to end with Dovecot ---------------------------------------------
run=$(mktemp -d /tmp/maillog-alerts.XXXXXX)
chmod 755 "$run"
mkdir "$run/srv"
e2e_ok=0
finish() {
    itest_stop_all
    if [ "$e2e_ok" = 1 ] && [ -z "${ALERTS_KEEP:-}" ]; then
        rm -rf --one-file-system "$run"
    else
        itest_log "run directory kept: $run"
    fi
}
trap finish EXIT
trap 'exit 130' INT TERM

e2e_fail() {
    echo "FAIL e2e_dovecot_password_change: $*"
}

# tls_setup — a test CA and a certificate for "localhost"; Postfix offers
# STARTTLS with it and notes TLS and the SASL sender in Received headers.
tls_setup() {
    local t=$run/tls
    mkdir -p "$t"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=maillog alert test CA" -keyout "$t/ca.key" -out "$t/ca.crt" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
        -keyout "$t/srv.key" -out "$t/srv.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' >"$t/ext"
    openssl x509 -req -in "$t/srv.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
        -days 2 -extfile "$t/ext" -out "$t/srv.crt" 2>/dev/null
    chmod 600 "$t/srv.key"
    postconf -c "$ITEST_POSTFIX_DIR" -e "smtpd_tls_cert_file = $t/srv.crt" \
        "smtpd_tls_key_file = $t/srv.key" "smtpd_tls_security_level = may" \
        "smtpd_tls_received_header = yes" "smtpd_sasl_authenticated_header = yes"
    postconf -c "$ITEST_POSTFIX_DIR" -M "tlsmgr/unix=tlsmgr unix - - n 1000? 1 tlsmgr"
}

# tls_trust — inside our mount namespace only: the system CA bundle plus the
# test CA, bind-mounted over the bundle libcurl reads.
tls_trust() {
    cat /etc/ssl/certs/ca-certificates.crt "$run/tls/ca.crt" >"$run/tls/bundle.crt"
    mount --bind "$run/tls/bundle.crt" /etc/ssl/certs/ca-certificates.crt
}

e2e() {
    itest_init "$run/srv"
    local tls=0
    if [ "${ITEST_NS:-}" = 1 ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        tls=1
        tls_setup
    else
        itest_log "no private mount namespace: the report goes over plain SMTP"
    fi
    itest_start_all

    printf '203.0.113.0/24\tUS\n198.51.100.0/24\tDE\n' >"$run/geo.tsv"
    perl "$ITEST_SRCDIR/tests/fixtures/geo/make-mmdb.pl" "$run/geo.tsv" "$run/geo.mmdb"
    cat >"$run/domains.json" <<JSON
[{"name": "hosted-a.example", "owner_email": "dave@hosted-b.example", "client": "c1", "reseller": ""},
 {"name": "hosted-b.example", "owner_email": "bob@hosted-a.example", "client": "c2", "reseller": ""}]
JSON
    cat >"$run/maillog.ini" <<INI
[maillog]
db = $run/maillog.db
log = $ITEST_LOG_RHEL
domains = $run/domains.json
geoip = $run/geo.mmdb
$(if [ "$tls" = 1 ]; then
        # STARTTLS with certificate verification and SMTP AUTH, on submission.
        printf '[smtp]\nurl = smtp://localhost:%s\ntls = starttls\n' "$ITEST_SUBMISSION_PORT"
        printf 'user = bob@hosted-a.example\npassword = Bob-pw2\n'
    else
        printf '[smtp]\nurl = smtp://127.0.0.1:%s\n' "$ITEST_SMTP_PORT"
    fi)
from = mail-log@server.example
[password]
command = $ITEST_SRCDIR/tests/fixtures/alert/dovecot-passwd.sh $ITEST_USERS_FILE {mailbox}
INI

    local helper="$py $here/e2e_helper.py" imap=$ITEST_IMAP_PORT t t0 now pw mark
    # The owners switch notifications on (logins from before are not reported).
    for dom in hosted-a.example hosted-b.example; do
        "$maillog" settings --config "$run/maillog.ini" --domain "$dom" --set usual_countries=DE \
            --set notify=1 --set force_password_change=1 >/dev/null || { e2e_fail "settings"; return; }
    done
    # alice logs in from the US (unusual), carol from Germany (usual).
    $helper login "$imap" alice@hosted-a.example Alice-pw1 203.0.113.7 || { e2e_fail "alice's first login"; return; }
    $helper login "$imap" carol@hosted-b.example Carol-pw3 198.51.100.5 || { e2e_fail "carol's login"; return; }
    t=$(date +%s)
    itest_sync_logs
    itest_wait_log 'Login: user=<alice@hosted-a.example>.*rip=203\.0\.113\.7'
    itest_wait_log 'Login: user=<carol@hosted-b.example>.*rip=198\.51\.100\.5'
    t0=$(date +%s)
    "$maillog" ingest --config "$run/maillog.ini" || { e2e_fail "ingest"; return; }
    # The ingest read the log to its end: its start time is the read mark.
    mark=$(sqlite3 "$run/maillog.db" "SELECT read_to FROM read_mark")
    [ -n "$mark" ] && [ "$mark" -ge "$t0" ] && [ "$mark" -le "$(date +%s)" ] ||
        { e2e_fail "ingest left the read mark at '$mark', not its start time ($t0)"; return; }
    # The hour of the logins is complete five minutes after its end: the alert
    # run acts as if it were 9 minutes past, after the ingest cron of 5 past
    # (this ingest read everything logged, so its mark moves there).
    now=$(((t / 3600 + 1) * 3600 + 540))
    sqlite3 "$run/maillog.db" "UPDATE read_mark SET read_to = $((now - 240))"
    if [ "$tls" = 1 ]; then
        # The server's certificate is not trusted yet: nothing may be sent or changed.
        if "$maillog" alerts --config "$run/maillog.ini" --now "$now" 2>"$run/alerts.err"; then
            e2e_fail "alerts succeeded with an untrusted certificate"; return
        fi
        grep -qi "certificate" "$run/alerts.err" || { e2e_fail "$(cat "$run/alerts.err")"; return; }
        $helper login "$imap" alice@hosted-a.example Alice-pw1 198.51.100.9 ||
            { e2e_fail "a password changed although the report was not sent"; return; }
        tls_trust
    fi
    "$maillog" alerts --config "$run/maillog.ini" --now "$now" || { e2e_fail "alerts"; return; }
    itest_passwd_settle
    itest_wait_queue 60
    if [ "$tls" = 1 ]; then
        local got
        got=$(grep -l "^Subject: =?UTF-8" "$ITEST_DIR/mail/hosted-b.example/dave/Maildir/new/"* | head -1)
        if ! grep -q "using TLS" "$got" || ! grep -q "Authenticated sender: bob@hosted-a.example" "$got"; then
            e2e_fail "the report did not come over STARTTLS with SMTP AUTH"
            return
        fi
    fi

    # alice's domain belongs to dave: the report is in dave's mailbox.
    pw=$($helper report "$ITEST_DIR/mail/hosted-b.example/dave/Maildir" alice@hosted-a.example) ||
        { e2e_fail "no report with a new password in the owner's mailbox"; return; }
    if ls "$ITEST_DIR/mail/hosted-a.example/alice/Maildir/new/"* >/dev/null 2>&1 &&
        grep -l "Suspicious" "$ITEST_DIR/mail/hosted-a.example/alice/Maildir/new/"* >/dev/null 2>&1; then
        e2e_fail "the report went to the affected mailbox"; return
    fi
    [ ! -d "$ITEST_DIR/mail/hosted-a.example/bob/Maildir/new" ] ||
        ! grep -lq "Suspicious" "$ITEST_DIR/mail/hosted-a.example/bob/Maildir/new/"* 2>/dev/null ||
        { e2e_fail "carol's usual-country login was reported"; return; }
    $helper login "$imap" alice@hosted-a.example "$pw" 198.51.100.9 ||
        { e2e_fail "the new password from the report does not work"; return; }
    if $helper login "$imap" alice@hosted-a.example Alice-pw1 198.51.100.9; then
        e2e_fail "the old password still works"; return
    fi
    $helper login "$imap" carol@hosted-b.example Carol-pw3 198.51.100.9 ||
        { e2e_fail "carol's password changed"; return; }
    echo "ok   e2e_dovecot_password_change"
    e2e_ok=1
}

if ! "$maillog" ingest --help >/dev/null 2>&1; then
    echo "FAIL e2e_dovecot_password_change: maillog ingest is not available"
    failed=$((failed + 1))
else
    e2e
    if [ "$e2e_ok" = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

echo "alerts: $passed passed, $failed failed"
[ "$failed" = 0 ]
