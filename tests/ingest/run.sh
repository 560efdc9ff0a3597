#!/bin/sh
# run.sh — end-to-end tests of `maillog ingest` on real logs from
# ../shared/corpus (read in place, never copied into the repository):
#
#   split     one run == many runs with appends between them, including a
#             partial last line completed later
#   edges     a fixture and corpus windows cut after every line: two runs ==
#             one run, and the facts the fixture's lines state
#   corpus    every corpus log of 20 lines or more read in CORPUS_RUNS runs
#             (default 37) == one run
#   kill      kill -9 at random points + a rerun == one uninterrupted run
#   term      SIGTERM mid-run: says what it kept, dies of SIGTERM, keeps the
#             last checkpoint; a rerun == one uninterrupted run
#   rotate    rename + new file, copytruncate, rotated file gzipped, several
#             rotations between two runs: nothing lost, nothing twice
#   backfill  first run with --backfill reads the rotated .gz files too
#   errors    missing/corrupt GeoIP (warning, exit 0), unreadable log, missing
#             log, busy lock, locked database, full disk (tmpfs), bad config
#   geoip     countries stored for logins and clients == mmdblookup's answer
#   cli       search/stats/settings/purge basics, ignore terms, cron_enabled off
#
# Databases are compared by tests/ingest/canon.sql (user-visible rows in a
# canonical order, no row ids). Usage: run.sh [MAILLOG] [TEST...]
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M=${1:-$ROOT/build/maillog}
[ $# -gt 0 ] && shift
TESTS=${*:-split edges corpus kill term rotate backfill errors geoip cli}
CORPUS=${MAILLOG_CORPUS:-$ROOT/../shared/corpus}
KILL_TRIALS=${KILL_TRIALS:-30}
CORPUS_RUNS=${CORPUS_RUNS:-37}
CANON=$ROOT/tests/ingest/canon.sql
W=$(mktemp -d /tmp/maillog-ingest-XXXXXX)
MNT=""
cleanup() {
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null || true
    rm -rf "$W"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT

fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

LOG1=$CORPUS/pixelpark-postfix-logsums/mail.log
LOG2=$CORPUS/louisitvn-pflgviewer/mail.log
if [ ! -r "$LOG1" ] || [ ! -r "$LOG2" ]; then
    echo "skip: corpus not found at $CORPUS"
    exit 0
fi

# Keep everything: the corpus is years old.
printf '[defaults]\nretention_days = 3650\n' >"$W/keep.ini"

ingest() { # DB LOG [args]: quiet ingest, no GeoIP file
    db=$1 log=$2
    shift 2
    "$M" ingest --config "$W/keep.ini" --db "$db" --log "$log" --geoip /nonexistent \
        --domains "$W/domains.json" --quiet "$@" 2>>"$W/stderr"
}

canon() { sqlite3 "$1" <"$CANON"; }

# wait_checkpoint DB PID — until the ingest PID has committed its first
# checkpoint into DB (a fixed sleep is before it on a loaded machine and
# after the last line on a fast one); returns 1 if PID ended first.
wait_checkpoint() {
    local _
    for _ in $(seq 1 2000); do
        kill -0 "$2" 2>/dev/null || return 1
        if [ -f "$1" ] && [ "$(sqlite3 -readonly "$1" \
            "SELECT coalesce(max(offset), 0) > 0 FROM log_state" 2>/dev/null)" = 1 ]; then
            return 0
        fi
        sleep 0.01
    done
    return 1
}

same_db() { # NAME DB_EXPECTED DB_GOT
    canon "$2" >"$W/a.txt"
    canon "$3" >"$W/b.txt"
    if [ "$(wc -l <"$W/a.txt")" -lt 100 ]; then
        fail "$1 (reference database nearly empty)"
    elif cmp -s "$W/a.txt" "$W/b.txt"; then
        pass "$1"
    else
        fail "$1"
        diff "$W/a.txt" "$W/b.txt" | head -20
    fi
}

fts_ok() { # DB: the FTS indexes agree with their tables
    sqlite3 "$1" "INSERT INTO deliveries_fts(deliveries_fts) VALUES('integrity-check');
                  INSERT INTO access_fts(access_fts) VALUES('integrity-check');" 2>&1
}

printf '[{"name":"uhu-banane.net","owner_email":"owner@uhu-banane.net"},{"name":"uhu-banane.eu"}]\n' \
    >"$W/domains.json"

# A test log: the two corpus logs, the mtime fixed so the year guess is stable.
cat "$LOG1" "$LOG2" >"$W/mix.log"
touch -d '2023-03-20 00:00:00' "$W/mix.log"
MTIME=$(stat -c %Y "$W/mix.log")
ingest "$W/ref.db" "$W/mix.log"

# ---- split: one run == many runs with appends (cuts inside lines too) ----
t_split() {
    size=$(stat -c %s "$W/mix.log")
    : >"$W/grow.log"
    off=0
    for cut in 1 7 1000 77777 500001 2000000 3333333 5000000 7000001 9999999 $size; do
        [ "$cut" -gt "$size" ] && cut=$size
        [ "$cut" -le "$off" ] && continue
        # append bytes [off, cut): the last line is usually cut in the middle
        tail -c +$((off + 1)) "$W/mix.log" | head -c $((cut - off)) >>"$W/grow.log"
        touch -d "@$MTIME" "$W/grow.log"
        ingest "$W/split.db" "$W/grow.log"
        off=$cut
    done
    cmp -s "$W/grow.log" "$W/mix.log" || fail "split: test log rebuilt wrongly"
    same_db "split: many runs with appends == one run" "$W/ref.db" "$W/split.db"
    offset=$(sqlite3 "$W/split.db" "SELECT offset FROM log_state")
    [ "$offset" = "$size" ] && pass "split: saved offset is the file size" ||
        fail "split: saved offset $offset != $size"
}

# ---- edges: a log cut at every line boundary, read in two runs == one run ----
# Mail whose lines straddle two runs: a deferral read by one run and the
# expiry by the next (mail expires days after it was deferred, so on a real
# server always so), a filter's re-injected copy stored before its parent's
# "queued as" line or named by it before its own first line, a pipe filter's
# copy coming back after the hand-over, two mails of one SMTP AUTH
# connection. On a fixture and on windows of the corpus logs.
t_edges() {
    E=$W/edges
    LM=$CORPUS/lightmeter-ControlCenter/individual_files
    mkdir -p "$E"
    printf '[{"name":"hosted.test"}]\n' >"$E/domains.json"
    for src in fixture louisitvn pixelpark dmlinarr shenchris lm-retry lm-expired; do
        case $src in
        fixture) cp "$ROOT/tests/fixtures/ingest/split-edges.log" "$E/$src.log" ;;
        louisitvn) head -150 "$LOG2" >"$E/$src.log" ;;   # expiries at lines 98 and 140
        pixelpark) sed -n 57790,57830p "$LOG1" >"$E/$src.log" ;; # amavis copy at 57800/57805
        # the amavis copy 3D03660673 is delivered and removed before the
        # parent's "queued as 3D03660673" line
        dmlinarr) sed -n 84,101p "$CORPUS/dmlinarr-SecurePostfix/mail.log" >"$E/$src.log" ;;
        # bogofilter run three times for 16 recipients (see "pipe" below)
        shenchris) sed -n 64,110p "$CORPUS/shenchris-gci/maillog" >"$E/$src.log" ;;
        # "queued as 4E8FF30001C8" comes before 4E8FF30001C8's first line
        lm-retry) cp "$LM/6_deferred_message_retry.log" "$E/$src.log" ;;
        # the next hop's "queued as 23EBE3D5C0" is a copy on another host of
        # this cluster, linked by its client address
        lm-expired) cp "$LM/18_expired.log" "$E/$src.log" ;;
        esac
        lines=$(wc -l <"$E/$src.log")
        rm -f "$E/ref.db"*
        edge_ingest "$E/ref.db" "$E/$src.log" "$E/$src.log"
        canon "$E/ref.db" >"$E/ref.txt"
        bad=""
        for k in $(seq 1 $((lines - 1))); do
            rm -f "$E/s.db"* "$E/s.log"
            head -n "$k" "$E/$src.log" >"$E/s.log"
            edge_ingest "$E/s.db" "$E/s.log" "$E/$src.log"
            tail -n +$((k + 1)) "$E/$src.log" >>"$E/s.log"
            edge_ingest "$E/s.db" "$E/s.log" "$E/$src.log"
            canon "$E/s.db" >"$E/s.txt"
            if ! cmp -s "$E/ref.txt" "$E/s.txt"; then
                [ -z "$bad" ] && diff "$E/ref.txt" "$E/s.txt" | head -6
                bad="$bad $k"
            fi
        done
        [ -z "$bad" ] && [ "$(grep -c '^D' "$E/ref.txt")" -gt 0 ] &&
            pass "edges: $src cut after each of its $lines lines == one run" ||
            fail "edges: $src cut after line(s)$bad differs from one run"
    done
    # What the fixture's lines say, in the one-run database.
    F=$E/fixture.db
    rm -f "$F"*
    edge_ingest "$F" "$E/fixture.log" "$E/fixture.log"
    q() { sqlite3 "$F" "$1"; }
    [ "$(q "SELECT client_ip || ' ' || origin || ' ' || (SELECT queue_id FROM messages p
            WHERE p.id = m.parent_id) FROM messages m WHERE queue_id = '7C3000000C'")" = \
        "198.51.100.7 1 6B2000000B" ] &&
        [ "$(q "SELECT sent_domain FROM deliveries WHERE queue_id LIKE '7C3000000C%'")" = hosted.test ] &&
        pass "edges: a filtered SMTP AUTH mail is sent by its mailbox, from its client" ||
        fail "edges: the re-injected copy of an SMTP AUTH mail lost its client"
    [ "$(q "SELECT client_ip || ' ' || origin FROM messages WHERE queue_id = '9E5000000E'")" = \
        "203.0.113.5 0" ] &&
        [ "$(q "SELECT sent_domain FROM deliveries WHERE queue_id LIKE '9E5000000E%'")" = "" ] &&
        pass "edges: a filtered mail from the internet is not sent by the domain it claims" ||
        fail "edges: a filtered mail from the internet counts as sent from the claimed sender"
    [ "$(q "SELECT sender || ' ' || (SELECT group_concat(status) FROM deliveries d
            WHERE d.message_id = m.id) FROM messages m WHERE queue_id = '5A1000000A'")" = \
        "ann@hosted.test 3" ] &&
        pass "edges: a deferred mail expires, with the sender of the expiry line" ||
        fail "edges: the expiry of a deferred mail was not recorded"
    [ "$(q "SELECT group_concat(status || ':' || attempts) FROM deliveries d JOIN messages m
            ON m.id = d.message_id WHERE m.queue_id = 'C18000001B'")" = "3:3,3:3,3:3" ] &&
        pass "edges: every recipient of a mail deferred twice expires (3 attempts each)" ||
        fail "edges: some recipients of an expired mail stay deferred"
    [ "$(q "SELECT client_ip || ' ' || origin || ' ' || (SELECT queue_id FROM messages p
            WHERE p.id = m.parent_id) FROM messages m WHERE queue_id = 'E3A000002D'")" = \
        "198.51.100.8 1 D29000002C" ] &&
        [ "$(q "SELECT sent_domain || ' ' || is_hop FROM deliveries
            WHERE queue_id LIKE 'E3A000002D%'")" = "hosted.test 0" ] &&
        pass "edges: a copy named by its filter's \"queued as\" before its own first line" ||
        fail "edges: a copy named before its first line is not linked to its parent"
    [ "$(q "SELECT count(*) || ' ' || min(ip) FROM access_events
            WHERE user = 'eve@hosted.test'")" = "1 198.51.100.9" ] &&
        pass "edges: two mails of one SMTP AUTH connection are one login" ||
        fail "edges: one SMTP AUTH connection is counted as more than one login"
    # The copy of a filter run read by the next run: that run's report takes
    # back only what it counted itself (it printed 2^64 - 1 deliveries).
    rm -f "$E/c.db"*
    head -n 17 "$E/shenchris.log" >"$E/c.log"
    edge_ingest "$E/c.db" "$E/c.log" "$E/shenchris.log"
    tail -n +18 "$E/shenchris.log" >>"$E/c.log"
    touch -r "$E/shenchris.log" "$E/c.log"
    report=$("$M" ingest --config "$W/keep.ini" --db "$E/c.db" --log "$E/c.log" \
        --geoip /nonexistent --domains "$E/domains.json" 2>&1)
    if echo "$report" | grep -q 'delivery attempts' &&
        ! echo "$report" | grep -Eq '[0-9]{10,}'; then
        pass "edges: a run's report counts only its own deliveries"
    else
        fail "edges: a run's report: $(echo "$report" | grep -E '[0-9]{10,}|delivery' | head -2)"
    fi
    # A pipe filter (bogofilter) run three times for 16 recipients: each run's
    # copy comes back through pickup after the run's lines (shenchris lines
    # 64-110: 109E11D1C0D's copies 300721D1C19, 4228B1D1C0E, 47FC71D1C0D).
    P=$E/pipe.db
    cp "$E/shenchris.log" "$E/pipe.log"
    rm -f "$P"*
    edge_ingest "$P" "$E/pipe.log" "$E/pipe.log"
    [ "$(sqlite3 "$P" "SELECT count(*) || ' ' || sum(is_hop) FROM deliveries d JOIN messages m
            ON m.id = d.message_id WHERE m.queue_id = '109E11D1C0D' AND d.relay = 'bogofilter'")" = "16 16" ] &&
        [ "$(sqlite3 "$P" "SELECT group_concat(q, ' ') FROM (SELECT c.queue_id q FROM messages c JOIN messages p
            ON p.id = c.parent_id WHERE p.queue_id = '109E11D1C0D' ORDER BY c.queue_id)")" = \
            "300721D1C19 4228B1D1C0E 47FC71D1C0D" ] &&
        pass "edges: a pipe filter's 16 hand-overs are hops, its 3 copies its children" ||
        fail "edges: a pipe filter's hand-overs are listed as deliveries"
    # The same with the second run in the first run's process (pipe(8)
    # processes are reused): its lines differ in delay only.
    sed -n 64,110p "$CORPUS/shenchris-gci/maillog" | sed 's/pipe\[68976\]/pipe[68959]/' >"$E/pipe2.log"
    rm -f "$P"*
    edge_ingest "$P" "$E/pipe2.log" "$E/pipe2.log"
    [ "$(sqlite3 "$P" "SELECT group_concat(q, ' ') FROM (SELECT c.queue_id q FROM messages c JOIN messages p
            ON p.id = c.parent_id WHERE p.queue_id = '109E11D1C0D' ORDER BY c.queue_id)")" = \
            "300721D1C19 4228B1D1C0E 47FC71D1C0D" ] &&
        pass "edges: two filter runs in one pipe process are two runs (3 copies)" ||
        fail "edges: a reused pipe process left a filter copy unlinked"
}

# ---- corpus: every corpus log read in many runs == one run ----
# Each log is appended to in CORPUS_RUNS equal parts, each read by its own
# run; the database must be the one a single run makes. (Run boundaries
# fall where they fall: on 2026-11-30 this found a filter's copy named
# before its first line, a pipe filter's copy after its hand-over and a
# relayed copy on another host all losing their parent across the boundary.)
t_corpus() {
    E=$W/corpus
    mkdir -p "$E"
    printf '[{"name":"hosted.test"}]\n' >"$E/domains.json"
    logs=0
    bad=""
    for f in $(find "$CORPUS" -type f ! -name '*.md' | sort); do
        n=$(wc -l <"$f")
        [ "$n" -ge 20 ] || continue
        logs=$((logs + 1))
        rm -f "$E/one.db"* "$E/many.db"*
        cp "$f" "$E/one.log"
        edge_ingest "$E/one.db" "$E/one.log" "$f"
        step=$(((n + CORPUS_RUNS - 1) / CORPUS_RUNS))
        : >"$E/many.log"
        k=0
        while [ $k -lt "$n" ]; do
            sed -n "$((k + 1)),$((k + step))p" "$f" >>"$E/many.log"
            edge_ingest "$E/many.db" "$E/many.log" "$f"
            k=$((k + step))
        done
        canon "$E/one.db" >"$E/one.txt"
        canon "$E/many.db" >"$E/many.txt"
        if ! cmp -s "$E/one.txt" "$E/many.txt"; then
            [ -z "$bad" ] && diff "$E/one.txt" "$E/many.txt" | cut -c1-200 | head -6
            bad="$bad ${f#"$CORPUS"/}"
        fi
    done
    [ "$logs" -ge 40 ] && [ -z "$bad" ] &&
        pass "corpus: each of $logs logs read in $CORPUS_RUNS runs == one run" ||
        fail "corpus: read in $CORPUS_RUNS runs differs from one run:$bad (of $logs logs)"
}

edge_ingest() { # DB LOG MTIME_FROM: ingest with the domains of the edge logs
    touch -r "$3" "$2"
    "$M" ingest --config "$W/keep.ini" --db "$1" --log "$2" --geoip /nonexistent \
        --domains "$E/domains.json" --quiet 2>>"$W/stderr"
}

# ---- kill: kill -9 at random points, then rerun ----
t_kill() {
    cp "$W/mix.log" "$W/k.log"
    touch -d "@$MTIME" "$W/k.log"
    bad=0
    killed=0
    i=0
    while [ $i -lt "$KILL_TRIALS" ]; do
        i=$((i + 1))
        rm -f "$W/k.db" "$W/k.db-wal" "$W/k.db-shm"
        # several kills per trial, at random times (0..0.4 s)
        for _ in 1 2 3; do
            "$M" ingest --config "$W/keep.ini" --db "$W/k.db" --log "$W/k.log" \
                --geoip /nonexistent --domains "$W/domains.json" --quiet \
                --checkpoint-lines 3000 2>/dev/null &
            pid=$!
            sleep "0.$(shuf -i 0-400 -n 1 | xargs printf '%03d')"
            if kill -9 $pid 2>/dev/null; then killed=$((killed + 1)); fi
            wait $pid 2>/dev/null || true
        done
        ingest "$W/k.db" "$W/k.log" --checkpoint-lines 3000
        canon "$W/k.db" >"$W/k.txt"
        canon "$W/ref.db" >"$W/r.txt"
        if ! cmp -s "$W/k.txt" "$W/r.txt"; then
            bad=$((bad + 1))
            diff "$W/r.txt" "$W/k.txt" | head -5
        fi
    done
    echo "     ($KILL_TRIALS trials, $killed processes killed mid-run)"
    [ $bad -eq 0 ] && [ $killed -gt 0 ] && pass "kill: kill -9 + rerun == uninterrupted run" ||
        fail "kill: $bad of $KILL_TRIALS trials differ (killed $killed)"
    [ -z "$(fts_ok "$W/k.db")" ] && pass "kill: FTS index consistent" || fail "kill: FTS index"
}

# ---- term: SIGTERM mid-run ----
t_term() {
    for _ in 1 2 3 4 5 6 7 8 9 10; do cat "$LOG2"; done >"$W/t.log"
    touch -d "@$MTIME" "$W/t.log"
    size=$(stat -c %s "$W/t.log")
    rm -f "$W/tref.db"*
    ingest "$W/tref.db" "$W/t.log"
    set +e
    "$M" ingest --config "$W/keep.ini" --db "$W/t.db" --log "$W/t.log" --geoip /nonexistent \
        --domains "$W/domains.json" --quiet --checkpoint-lines 3000 2>"$W/term.err" &
    pid=$!
    wait_checkpoint "$W/t.db" $pid || fail "signals: the ingest ended before its first checkpoint"
    kill -TERM $pid
    wait $pid
    status=$?
    set -e
    offset=$(sqlite3 "$W/t.db" "SELECT coalesce(max(offset), 0) FROM log_state")
    if [ $status -eq 143 ] && grep -q "stopped by Terminated; the database keeps" "$W/term.err" &&
        [ "$offset" -gt 0 ] && [ "$offset" -lt "$size" ]; then
        pass "term: SIGTERM mid-run says so, dies of SIGTERM, keeps a checkpoint ($offset of $size bytes)"
    else
        fail "term: status $status, offset $offset of $size: $(cat "$W/term.err")"
    fi
    # the read mark (alerts judge only hours before it) moves only when a run
    # has read every configured log to its end: to that run's start
    marks=$(sqlite3 "$W/t.db" "SELECT count(*) FROM read_mark")
    [ "$marks" = 0 ] && pass "term: a stopped run sets no read mark" ||
        fail "term: a stopped run set the read mark"
    printf '[maillog]\nlog = %s\n[defaults]\nretention_days = 3650\n' "$W/t.log" >"$W/term.ini"
    t0=$(date +%s)
    "$M" ingest --config "$W/term.ini" --db "$W/t.db" --geoip /nonexistent \
        --domains "$W/domains.json" --quiet 2>>"$W/stderr"
    same_db "term: rerun after SIGTERM == uninterrupted run" "$W/tref.db" "$W/t.db"
    mark=$(sqlite3 "$W/t.db" "SELECT read_to FROM read_mark")
    [ -n "$mark" ] && [ "$mark" -ge "$t0" ] && [ "$mark" -le "$(date +%s)" ] &&
        pass "term: the complete rerun moved the read mark to its start" ||
        fail "term: read mark '$mark' after a complete run started at $t0"
    # A one-off import of another log says nothing about the configured one,
    # and leaves the configured log's tracker state as it was.
    head -50 "$LOG1" >"$W/other.log"
    state=$(sqlite3 "$W/t.db" "SELECT hex(data) FROM track_state WHERE logs = '$W/t.log'")
    "$M" ingest --config "$W/term.ini" --db "$W/t.db" --log "$W/other.log" \
        --geoip /nonexistent --domains "$W/domains.json" 2>"$W/other.err"
    [ "$(sqlite3 "$W/t.db" "SELECT read_to FROM read_mark")" = "$mark" ] &&
        grep -q "alert run is not told" "$W/other.err" &&
        pass "term: a run of --log other.log leaves the read mark, and says so" ||
        fail "term: a one-off --log run moved the read mark: $(cat "$W/other.err")"
    [ -n "$state" ] &&
        [ "$(sqlite3 "$W/t.db" "SELECT hex(data) FROM track_state WHERE logs = '$W/t.log'")" = "$state" ] &&
        [ "$(sqlite3 "$W/t.db" "SELECT count(*) FROM track_state WHERE logs = '$W/other.log'")" = 1 ] &&
        pass "term: a run of --log other.log keeps its own tracker state, not the configured log's" ||
        fail "term: a one-off --log run replaced the tracker state"
    # The configured log named again by --log is the configured log.
    sleep 1
    "$M" ingest --config "$W/term.ini" --db "$W/t.db" --log "$W/t.log" \
        --geoip /nonexistent --domains "$W/domains.json" --quiet 2>>"$W/stderr"
    [ "$(sqlite3 "$W/t.db" "SELECT read_to FROM read_mark")" -gt "$mark" ] &&
        pass "term: --log naming the configured log moves the read mark" ||
        fail "term: --log naming the configured log left the read mark"

    # a SIGHUP the caller ignores (nohup) stays ignored
    rm -f "$W/t.db"*
    set +e
    (
        trap '' HUP
        exec "$M" ingest --config "$W/keep.ini" --db "$W/t.db" --log "$W/t.log" \
            --geoip /nonexistent --domains "$W/domains.json" --quiet --checkpoint-lines 3000
    ) 2>"$W/hup.err" &
    pid=$!
    wait_checkpoint "$W/t.db" $pid || fail "signals: the ingest ended before its first checkpoint"
    kill -HUP $pid
    wait $pid
    status=$?
    set -e
    offset=$(sqlite3 "$W/t.db" "SELECT coalesce(max(offset), 0) FROM log_state")
    [ $status -eq 0 ] && [ "$offset" = "$size" ] &&
        pass "term: an ignored SIGHUP (nohup) does not stop the run" ||
        fail "term: ignored SIGHUP: status $status, offset $offset of $size: $(cat "$W/hup.err")"
}

# Writes lines [from, to) of mix.log (1-based) to FILE.
lines() { sed -n "${2},$((${3} - 1))p" "$W/mix.log" >>"$1"; }

# ---- rotate: rename + new, copytruncate, gzip, several rotations at once ----
t_rotate() {
    n=$(wc -l <"$W/mix.log")
    a=$((n / 5)) b=$((2 * n / 5)) c=$((3 * n / 5)) d=$((4 * n / 5))
    for mode in rename copytruncate gzip multi; do
        R=$W/rot-$mode
        mkdir -p "$R"
        : >"$R/maillog"
        lines "$R/maillog" 1 $a
        touch -d "@$MTIME" "$R/maillog"
        ingest "$R/db" "$R/maillog"
        lines "$R/maillog" $a $b # written after the last run, before rotation
        case $mode in
        rename)
            mv "$R/maillog" "$R/maillog.1"
            lines "$R/maillog" $b $((n + 1))
            ;;
        copytruncate)
            cp -p "$R/maillog" "$R/maillog-20230320"
            : >"$R/maillog" # truncated in place: same inode
            lines "$R/maillog" $b $((n + 1))
            ;;
        gzip)
            mv "$R/maillog" "$R/maillog.1"
            gzip "$R/maillog.1"
            lines "$R/maillog" $b $((n + 1))
            ;;
        multi) # two rotations between runs; the older one compressed
            mv "$R/maillog" "$R/maillog.1"
            lines "$R/maillog" $b $c
            touch -d "@$((MTIME - 10))" "$R/maillog.1"
            mv "$R/maillog.1" "$R/maillog.2" && gzip "$R/maillog.2"
            mv "$R/maillog" "$R/maillog.1"
            touch -d "@$((MTIME - 5))" "$R/maillog.1"
            lines "$R/maillog" $c $d
            touch -d "@$MTIME" "$R/maillog"
            ingest "$R/db" "$R/maillog"
            lines "$R/maillog" $d $((n + 1))
            ;;
        esac
        touch -d "@$MTIME" "$R/maillog"
        ingest "$R/db" "$R/maillog"
        ingest "$R/db" "$R/maillog" # a rerun changes nothing
        same_db "rotate ($mode): nothing lost or twice" "$W/ref.db" "$R/db"
    done
}

# ---- backfill: a first run reads the rotated files inside retention ----
t_backfill() {
    n=$(wc -l <"$W/mix.log")
    h=$((n / 2))
    R=$W/backfill
    mkdir -p "$R"
    lines "$R/maillog.1" 1 $h
    gzip "$R/maillog.1"
    touch -d "@$((MTIME - 60))" "$R/maillog.1.gz"
    lines "$R/maillog" $h $((n + 1))
    touch -d "@$MTIME" "$R/maillog"
    ingest "$R/db" "$R/maillog" --backfill
    same_db "backfill: rotated .gz + live log == the whole log" "$W/ref.db" "$R/db"
}

expect() { # NAME EXPECTED_RC REGEX CMD...: exit code and a message on stderr
    name=$1 want=$2 re=$3
    shift 3
    set +e
    "$@" >"$W/out" 2>"$W/err"
    rc=$?
    set -e
    if [ $rc -eq "$want" ] && grep -Eq "$re" "$W/err" "$W/out"; then
        pass "$name"
    else
        fail "$name (exit $rc, want $want; stderr: $(head -c 300 "$W/err"))"
    fi
}

t_errors() {
    E=$W/err-db
    mkdir -p "$E"
    cp "$W/mix.log" "$E/log"
    base="$M ingest --config $W/keep.ini --domains $W/domains.json"
    expect "errors: missing GeoIP file is a warning" 0 "warning: GeoIP.*countries stay empty" \
        $base --db "$E/g.db" --log "$E/log" --geoip "$E/none.mmdb"
    printf 'not a maxmind database' >"$E/bad.mmdb"
    expect "errors: corrupt GeoIP file is a warning" 0 "warning: GeoIP" \
        $base --db "$E/g2.db" --log "$E/log" --geoip "$E/bad.mmdb"
    [ "$(sqlite3 "$E/g2.db" "SELECT count(*) FROM access_events WHERE country <> ''")" = 0 ] &&
        pass "errors: no GeoIP, empty countries" || fail "errors: countries without GeoIP"
    expect "errors: missing log" 1 "$E/nolog: No such file" \
        $base --db "$E/m.db" --log "$E/nolog" --geoip /nonexistent
    expect "errors: a directory as log" 1 "not a regular file" \
        $base --db "$E/m.db" --log "$E" --geoip /nonexistent
    if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
        chmod 600 "$E/log"
        mkdir -p "$E/nb" && chown nobody "$E/nb"
        expect "errors: unreadable log" 1 "Permission denied" \
            setpriv --reuid=nobody --regid=nogroup --clear-groups $base --db "$E/nb/u.db" \
            --log "$E/log" --geoip /nonexistent
        chmod 644 "$E/log"
    fi
    # another ingest holds the lock: exit 0 with a message, database untouched
    ingest "$E/l.db" "$E/log"
    before=$(canon "$E/l.db" | md5sum)
    # the holders keep their lock until the test is done with it (at most 60 s)
    hold="for _ in \$(seq 1 1200); do [ -e '$E/release' ] && break; sleep 0.05; done"
    rm -f "$E/release"
    flock "$E/l.db.lock" sh -c "$hold" &
    lockpid=$!
    for _ in $(seq 1 3000); do # until flock holds it (at most 30 s)
        flock -n "$E/l.db.lock" true || break
        sleep 0.01
    done
    flock -n "$E/l.db.lock" true && fail "errors: the test's lock holder never took the lock"
    expect "errors: busy lock: exit 0 with a message" 0 "another ingest" \
        $base --db "$E/l.db" --log "$E/log" --geoip /nonexistent
    touch "$E/release"
    wait $lockpid
    rm -f "$E/release"
    # a writer holds the database itself (not our lock): clear message, exit 1
    (
        echo ".timeout 5000"
        echo "BEGIN EXCLUSIVE; INSERT INTO settings VALUES('x','y');"
        sh -c "$hold"
        echo "ROLLBACK;"
    ) | sqlite3 "$E/l.db" &
    dbpid=$!
    # until sqlite3 holds the write lock
    for _ in $(seq 1 3000); do # (at most 30 s)
        sqlite3 "$E/l.db" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null || break
        sleep 0.01
    done
    sqlite3 "$E/l.db" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null &&
        fail "errors: the test's writer never took the database's write lock"
    echo "more" >>"$E/log"
    expect "errors: locked database: clear message" 1 "database is locked" \
        $base --db "$E/l.db" --log "$E/log" --geoip /nonexistent
    touch "$E/release"
    wait $dbpid
    [ "$(canon "$E/l.db" | md5sum)" = "$before" ] && pass "errors: locked: database unchanged" ||
        fail "errors: locked: database changed"
    printf '[maillog]\nbogus = 1\n' >"$E/bad.ini"
    expect "errors: bad config key" 1 "bad.ini:2: bogus: unknown key" \
        "$M" ingest --config "$E/bad.ini" --db "$E/c.db" --log "$E/log"
    expect "errors: bad flag" 2 "usage" "$M" ingest --nope

    # full disk: a 2 MiB tmpfs holds the database
    if [ "$(id -u)" = 0 ]; then
        MNT=$W/full
        mkdir -p "$MNT"
        if mount -t tmpfs -o size=2m tmpfs "$MNT" 2>/dev/null; then
            expect "errors: full disk: clear message" 1 "disk is full|database or disk is full" \
                $base --db "$MNT/f.db" --log "$W/mix.log" --geoip /nonexistent \
                --checkpoint-lines 5000
            [ "$(sqlite3 "$MNT/f.db" 'PRAGMA integrity_check' 2>&1)" = ok ] &&
                pass "errors: full disk: database not corrupted" ||
                fail "errors: full disk: integrity_check"
            mount -o remount,size=200m "$MNT"
            ingest "$MNT/f.db" "$W/mix.log"
            same_db "errors: full disk: a rerun with space completes the database" \
                "$W/ref.db" "$MNT/f.db"
            umount "$MNT" && MNT=""
        else
            echo "skip full disk: cannot mount tmpfs"
        fi
    fi
}

# ---- geoip: countries of access events and clients match mmdblookup ----
t_geoip() {
    G=${GEOIP_DB:-$ROOT/build/geoip/country.mmdb}
    if [ ! -r "$G" ] || ! command -v mmdblookup >/dev/null; then
        echo "skip geoip: no $G or no mmdblookup"
        return 0
    fi
    "$M" ingest --config "$W/keep.ini" --db "$W/geo.db" --log "$W/mix.log" --geoip "$G" \
        --domains "$W/domains.json" --quiet
    bad=0 checked=0
    for row in $(sqlite3 -separator , "$W/geo.db" "SELECT DISTINCT ip, country FROM access_events
            WHERE ip <> '' UNION SELECT DISTINCT client_ip, client_country FROM messages
            WHERE client_ip <> '' ORDER BY 1 LIMIT 60"); do
        ip=${row%,*} got=${row#*,}
        want=$(mmdblookup --file "$G" --ip "$ip" country iso_code 2>/dev/null |
            sed -n 's/.*"\(..\)" <utf8_string>.*/\1/p')
        [ -z "$want" ] && want=$(mmdblookup --file "$G" --ip "$ip" registered_country iso_code \
            2>/dev/null | sed -n 's/.*"\(..\)" <utf8_string>.*/\1/p')
        case $ip in 127.* | 10.* | 192.168.* | ::1 | fe80:*) want="" ;; esac
        checked=$((checked + 1))
        [ "$got" = "$want" ] || { bad=$((bad + 1)); echo "     $ip: got '$got' want '$want'"; }
    done
    nonempty=$(sqlite3 "$W/geo.db" "SELECT count(*) FROM access_events WHERE country <> ''")
    [ $bad -eq 0 ] && [ "$checked" -gt 10 ] && [ "$nonempty" -gt 0 ] &&
        pass "geoip: $checked addresses' countries agree with mmdblookup" ||
        fail "geoip: $bad of $checked addresses disagree (countries set: $nonempty)"
    # the Access tab's search finds logins by the country and protocol names it
    # shows: every login from Italy (by its stored code), every submission login
    # (or text that contains the word)
    want=$(sqlite3 "$W/geo.db" "SELECT count(*) FROM access_events WHERE country = 'IT'")
    got=$("$M" search --db "$W/geo.db" --tab access --q italy --total --format json --limit 1 |
        jq '.total')
    [ "$want" -gt 0 ] && [ "$got" = "$want" ] &&
        pass "geoip: searching 'italy' finds the $want logins from IT" ||
        fail "geoip: searching 'italy' found $got, $want logins are from IT"
    want=$(sqlite3 "$W/geo.db" "SELECT count(*) FROM access_events WHERE protocol = 3
        OR instr(lower(user || ' ' || ip || ' ' || detail), 'submission') > 0")
    got=$("$M" search --db "$W/geo.db" --tab access --q Submission --total --format json \
        --limit 1 | jq '.total')
    [ "$want" -gt 0 ] && [ "$got" = "$want" ] &&
        pass "geoip: searching 'Submission' finds the $want submission logins" ||
        fail "geoip: searching 'Submission' found $got, want $want"
}

t_cli() {
    C=$W/cli
    mkdir -p "$C"
    db=$W/ref.db
    # received tab for a domain, every page: the rows are exactly the SQL truth
    want=$(sqlite3 "$db" "SELECT count(*) FROM deliveries WHERE is_hop = 0 AND
        recipient_domain = 'uhu-banane.net'")
    got=0 cursor="" pages=0
    while :; do
        "$M" search --db "$db" --tab received --domain uhu-banane.net --limit 100 \
            --format json ${cursor:+--cursor "$cursor"} >"$C/page.json"
        n=$(jq '.rows | length' "$C/page.json")
        got=$((got + n))
        pages=$((pages + 1))
        cursor=$(jq -r '.next_cursor // empty' "$C/page.json")
        [ -z "$cursor" ] && break
        [ $pages -gt 1000 ] && break
    done
    [ "$got" = "$want" ] && [ "$want" -gt 100 ] && pass "cli: paging the received tab gives all $want rows" ||
        fail "cli: paging gave $got of $want rows"
    "$M" search --db "$db" --tab received --domain uhu-banane.net --format csv --limit 5 >"$C/p.csv"
    [ "$(wc -l <"$C/p.csv")" = 6 ] && head -1 "$C/p.csv" | grep -q '^date,sender,mailbox' &&
        pass "cli: csv" || fail "cli: csv"
    expect "cli: bad sort is a usage error" 2 "sort: not a column" \
        "$M" search --db "$db" --tab access --sort size
    expect "cli: unknown domain" 2 "domain: unknown domain" \
        "$M" search --db "$db" --tab received --domain nowhere.example
    # search: exactly the rows holding the text (any case) in a searched column
    for q in "$(sqlite3 "$db" "SELECT upper(substr(sender, 2, 7)) FROM deliveries WHERE
            is_hop = 0 AND recipient_domain = 'uhu-banane.net' AND length(sender) > 9 LIMIT 1")" \
            "$(sqlite3 "$db" "SELECT substr(status_text, 5, 12) FROM deliveries WHERE is_hop = 0
            AND status <> 0 AND recipient_domain = 'uhu-banane.net' LIMIT 1")" ab; do
        lq=$(printf '%s' "$q" | tr 'A-Z' 'a-z' | sed "s/'/''/g")
        want=$(sqlite3 "$db" "SELECT count(*) FROM deliveries WHERE is_hop = 0 AND
            recipient_domain IN (SELECT name FROM domains) AND (instr(lower(sender), '$lq') OR
            instr(lower(recipient), '$lq') OR instr(lower(msgid), '$lq') OR
            instr(lower(status_text), '$lq'))")
        got=$("$M" search --db "$db" --tab received --q "$q" --total --format json --limit 1 |
            jq .total)
        [ "$got" = "$want" ] && [ "$want" -gt 0 ] && pass "cli: search '$q' finds its $want rows" ||
            fail "cli: search '$q' found $got, want $want"
    done
    # stats: counts are the tables'
    "$M" stats --db "$db" >"$C/stats.json"
    [ "$(jq .messages "$C/stats.json")" = "$(sqlite3 "$db" 'SELECT count(*) FROM messages')" ] &&
        [ "$(jq .db_bytes "$C/stats.json")" -gt 0 ] && pass "cli: stats" || fail "cli: stats"
    # ignore terms hide and unhide existing rows
    cp "$db" "$C/i.db"
    term=$(sqlite3 "$C/i.db" "SELECT status_text FROM deliveries WHERE recipient_domain =
        'uhu-banane.net' AND is_hop = 0 AND status_text <> '' LIMIT 1" | cut -c1-12)
    echo "     (ignore term: $term)"
    all=$("$M" search --db "$C/i.db" --tab received --total --format json --limit 1 | jq .total)
    "$M" settings --db "$C/i.db" --set "ignore_terms_smtp=$term" >/dev/null
    hid=$("$M" search --db "$C/i.db" --tab received --total --format json --limit 1 | jq .total)
    "$M" settings --db "$C/i.db" --set "ignore_terms_smtp=" >/dev/null
    back=$("$M" search --db "$C/i.db" --tab received --total --format json --limit 1 | jq .total)
    [ "$hid" -lt "$all" ] && [ "$back" = "$all" ] && pass "cli: ignore terms hide ($all -> $hid) and unhide" ||
        fail "cli: ignore terms $all $hid $back"
    # cron disabled: ingest exits 0 quickly and reads nothing
    "$M" settings --db "$C/i.db" --set cron_enabled=off >/dev/null
    echo "Mar 20 00:00:00 x postfix/qmgr[1]: ABCDEF: removed" >>"$C/extra.log"
    expect "cli: cron disabled" 0 "disabled" \
        "$M" ingest --db "$C/i.db" --log "$C/extra.log" --geoip /nonexistent
    [ -z "$(sqlite3 "$C/i.db" "SELECT 1 FROM log_state WHERE path = '$C/extra.log'")" ] &&
        pass "cli: cron disabled reads nothing" || fail "cli: cron disabled read the log"
    # ... but keeps the retention: records past it go (all of these are years old)
    cp "$C/i.db" "$C/off.db"
    "$M" settings --db "$C/off.db" --set retention_days=7 >/dev/null
    expect "cli: cron disabled purges" 0 "past the retention deleted" \
        "$M" ingest --db "$C/off.db" --log "$C/extra.log" --geoip /nonexistent
    [ "$(sqlite3 "$C/off.db" 'SELECT count(*) FROM deliveries')" = 0 ] &&
        [ "$(sqlite3 "$C/i.db" 'SELECT count(*) FROM deliveries')" -gt 0 ] &&
        pass "cli: cron disabled still applies the retention" ||
        fail "cli: cron disabled kept records past the retention"
    # purge with the default retention removes the (years old) records
    "$M" settings --db "$C/i.db" --set retention_days=7 >/dev/null
    expect "cli: purge" 0 "rows deleted" "$M" purge --db "$C/i.db"
    [ "$(sqlite3 "$C/i.db" 'SELECT count(*) FROM deliveries')" = 0 ] && pass "cli: purge emptied" ||
        fail "cli: purge left rows"
    expect "cli: settings --get" 0 '"hide_from_clients": false' "$M" settings --db "$db" --get
    expect "cli: help" 0 "usage: maillog ingest" "$M" ingest --help
}

for t in $TESTS; do
    "t_$t"
done
if [ $fails -ne 0 ]; then
    echo "tests/ingest: $fails failed"
    exit 1
fi
echo "tests/ingest: all passed"
