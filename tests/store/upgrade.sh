#!/bin/sh
# upgrade.sh — a database written by an older maillog is upgraded by this one
# with nothing lost. Usage: upgrade.sh [MAILLOG]
#
# Each tests/fixtures/store/*.db.gz was written by an old build. The program
# under test opens a copy (stats first: the read side migrates too) and then:
#
#   version   user_version is the current one (that of a new database); the
#             schema (tables, indexes, triggers, FTS settings) is a new
#             database's: an old migration edited in place shows here
#   rows      every row of every table the fixture has (messages, deliveries,
#             access_events, message_lines, settings, domains, domain_settings,
#             log_state, ...) is still there with the same values and types;
#             columns added since hold what their migration says
#   search    every recipient, sender, Message-ID, queue ID, login user, IP,
#             detail of the database, searched with `maillog search --q`,
#             finds exactly the rows the tables say (through the FTS index),
#             and the tab listings hold every row; stats and settings --get
#             say what the tables hold; integrity_check and the FTS
#             integrity-check are ok
#   ingest    the rest of the log the fixture was cut from, read by this
#             program: the messages the old version left open continue in
#             their rows (same id, log lines appended, closed) and end as a
#             one-run read of the whole log by this program ends them; the new
#             logins are as this program reads them alone; no other old row
#             changes; search, stats and integrity as above
#   newer     a database with a user_version above this program's is refused
#             by stats, search, settings and ingest with a clear error, and
#             left byte-identical
#
# Expectations come from the fixture databases (sqlite3 on their tables) and
# from this program's own reading of the logs, never from pasted output.
#
# The fixtures (TZ=UTC; made from the repository's own fixture logs only: the
# corpus is not copied into the repository, and a database holds its lines):
#   schema-v1-7ae2305.db.gz  maillog at 7ae2305, the last commit at schema v1
#                            (the first schema; the first commit with
#                            `maillog settings`)
#   schema-v9-5e028d3.db.gz  maillog at 5e028d3, the last commit at schema v9
#                            (HEAD before schema v10 was added)
# each made by this recipe in an empty directory, with the old build's maillog
# as $OLD and this repository as $R (relative --log paths: at 7ae2305 an
# absolute one failed with ": No such file or directory"):
#   printf '[defaults]\nretention_days = 3650\n' >keep.ini
#   printf '[{"name":"hosted.test","owner_email":"owner@hosted.test","client":"ann","reseller":"res"},{"name":"uhu-banane.net","owner_email":"owner@uhu-banane.net"},{"name":"uhu-banane.eu"}]\n' >domains.json
#   { sed -n 1,79p $R/tests/fixtures/parse/lifecycle.log
#     sed -n 1,26p $R/tests/fixtures/ingest/split-edges.log; } >mail.log
#   touch -d '2024-12-01 00:00:00 UTC' mail.log
#   $OLD ingest --config keep.ini --db m.db --log mail.log \
#       --geoip /nonexistent --domains domains.json
#   $OLD settings --config keep.ini --db m.db --set ignore_terms_imap=managesieve \
#       --set excluded_ips=192.0.2.0/24 --set hide_from_resellers=1
#   $OLD settings --config keep.ini --db m.db --domain hosted.test \
#       --set usual_countries=DE,AT --set notify=1 --set ip_exceptions=203.0.113.5
#   $OLD settings --config keep.ini --db m.db --domain uhu-banane.net --set notify=1
#       (v1 takes it; v9 refuses notify without a usual country)
#   sqlite3 m.db 'PRAGMA journal_mode=DELETE; VACUUM;' && gzip -9n <m.db >NAME.db.gz
# mail.log stops in the middle of three mails (3C4D5E6F70, 5A1000000A,
# C18000001B: deferred, their expiry comes later); this test reads the rest
# (split-edges.log from line 27, lifecycle.log from line 80).
# The fixtures' mail is from 2023 and 2024 and retention_days is at most 3650:
# from 2033 on, an ingest purges it and the fixtures need newer dates.
set -eu
export TZ=UTC

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M=${1:-$ROOT/build/maillog}
FIX=$ROOT/tests/fixtures
W=$(mktemp -d /tmp/maillog-upgrade-XXXXXX)
fails=0 finished=""
exec 3>&1 # for the last word, wherever stdout points when an error stops the run
finish() {
    rc=$?
    [ -n "${KEEP:-}" ] || rm -rf "$W"
    [ $rc -eq 0 ] || [ -n "$finished" ] ||
        echo "tests/store/upgrade: stopped by an error (status $rc) after $fails failure(s)" >&3
}
trap finish EXIT

pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1"
    fails=$((fails + 1))
}

sq() { sqlite3 -batch "$@"; }

# ---- inputs ---------------------------------------------------------------
printf '[defaults]\nretention_days = 3650\n' >"$W/keep.ini"
{
    sed -n '27,$p' "$FIX/ingest/split-edges.log"
    sed -n '80,$p' "$FIX/parse/lifecycle.log"
} >"$W/tail.log"
{
    sed -n 1,79p "$FIX/parse/lifecycle.log"
    sed -n 1,26p "$FIX/ingest/split-edges.log"
    cat "$W/tail.log"
} >"$W/whole.log"
touch -d '2024-12-01 00:00:00 UTC' "$W/tail.log" "$W/whole.log"

ingest() { # DB LOG: this program's ingest, the domains file of the fixture
    "$M" ingest --config "$W/keep.ini" --db "$1" --log "$2" --geoip /nonexistent \
        --domains "$W/domains.json" --quiet 2>>"$W/stderr"
}

# A new database: the current schema version and schema.
: >"$W/empty.log"
"$M" ingest --config "$W/keep.ini" --db "$W/new.db" --log "$W/empty.log" --geoip /nonexistent \
    --quiet 2>>"$W/stderr"
CUR=$(sq "$W/new.db" 'PRAGMA user_version')
SCHEMA_SQL="SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name;
            SELECT 'dcfg', * FROM deliveries_fts_config ORDER BY k;
            SELECT 'acfg', * FROM access_fts_config ORDER BY k;"
sq "$W/new.db" "$SCHEMA_SQL" >"$W/new.schema"

# ---- helpers on the fixture in $D (old.db: the pristine copy) ---------------

# cols TABLE: the fixture's columns of TABLE, each with its type
cols() {
    sq "$D/old.db" "SELECT group_concat('\"' || name || '\", typeof(\"' || name || '\")', ', ')
                    FROM pragma_table_info('$1')"
}

# lost DB TABLE [WHERE]: old rows of TABLE (WHERE on them) that DB no longer
# has with the same values; prints up to 3
lost() {
    c=$(cols "$2")
    sq "$1" "ATTACH '$D/old.db' AS o; ATTACH '$D/tail.db' AS k;
             SELECT * FROM (SELECT $c FROM o.\"$2\" ${3:+WHERE $3}
                            EXCEPT SELECT $c FROM main.\"$2\") LIMIT 3"
}

# check_search NAME DB: the tab listings hold the rows the tables say, and
# each text of those rows, searched, finds the rows the tables say: a row is
# found when the text is in a column the FTS index holds for it (sender,
# recipient, Message-ID, queue ID, the status text of a failed delivery; a
# login's user, IP, detail, search words), and may be found when it is only
# in the status text of a delivered one (the index leaves that out, the exact
# test does not). One maillog search per text; one jq and one awk for all.
check_search() {
    cs_name=$1 cs_db=$2
    rm -rf "$W/got"
    mkdir "$W/got"
    # L tab id: the listing; T tab text; E tab text must(1)/may(2) id
    sq -separator '	' "$cs_db" "
        CREATE TEMP VIEW mail AS
            SELECT 'received' AS tab, * FROM deliveries
             WHERE is_hop = 0 AND recipient_domain IN (SELECT name FROM domains)
            UNION ALL SELECT 'sent', * FROM deliveries
             WHERE is_hop = 0 AND sent_domain <> '' AND sent_domain IN (SELECT name FROM domains);
        CREATE TEMP TABLE t(tab, x);
        INSERT INTO t SELECT DISTINCT tab, v FROM (
            SELECT tab, recipient AS v FROM mail UNION SELECT tab, sender FROM mail
            UNION SELECT tab, msgid FROM mail
            UNION SELECT tab, CASE instr(queue_id, ' ') WHEN 0 THEN queue_id
                              ELSE substr(queue_id, 1, instr(queue_id, ' ') - 1) END FROM mail
            UNION SELECT 'access', user FROM access_events UNION SELECT 'access', ip FROM access_events
            UNION SELECT 'access', detail FROM access_events
            UNION SELECT 'access', search_extra FROM access_events)
         WHERE length(v) >= 3 AND length(v) <= 200;
        SELECT 'L', tab, id FROM mail UNION ALL SELECT 'L', 'access', id FROM access_events;
        SELECT 'T', tab, x FROM t;
        SELECT 'E', t.tab, t.x, CASE WHEN instr(lower(d.sender), lower(t.x))
                    OR instr(lower(d.recipient), lower(t.x)) OR instr(lower(d.msgid), lower(t.x))
                    OR instr(lower(d.queue_id), lower(t.x))
                    OR (d.status <> 0 AND instr(lower(d.status_text), lower(t.x))) THEN 1 ELSE 2 END,
               d.id
          FROM t JOIN mail d ON d.tab = t.tab AND (instr(lower(d.sender), lower(t.x))
                    OR instr(lower(d.recipient), lower(t.x)) OR instr(lower(d.msgid), lower(t.x))
                    OR instr(lower(d.queue_id), lower(t.x)) OR instr(lower(d.status_text), lower(t.x)));
        SELECT 'E', t.tab, t.x, 1, a.id
          FROM t JOIN access_events a ON t.tab = 'access' AND (instr(lower(a.user), lower(t.x))
                    OR instr(lower(a.ip), lower(t.x)) OR instr(lower(a.detail), lower(t.x))
                    OR instr(lower(a.search_extra), lower(t.x)));" >"$W/expect.tsv"
    for tab in received sent access; do
        "$M" search --config "$W/keep.ini" --db "$cs_db" --tab $tab --limit 500 --format json \
            >"$W/got/L-$tab.json" 2>>"$W/stderr" || :
    done
    cs_n=0
    grep '^T' "$W/expect.tsv" >"$W/texts"
    while IFS='	' read -r _ tab x; do
        cs_n=$((cs_n + 1))
        printf '%s\t%s\t%s\n' "$cs_n" "$tab" "$x"
        "$M" search --config "$W/keep.ini" --db "$cs_db" --tab "$tab" --q "$x" --limit 500 \
            --format json >"$W/got/$cs_n.json" 2>>"$W/stderr" || :
    done <"$W/texts" >"$W/got.idx"
    jq -r '(input_filename | sub(".*/"; "") | sub("[.]json$"; "")) as $n
           | (if .next_cursor != null then "\($n)\tMORE" else empty end), (.rows[] | "\($n)\t\(.id)")' \
        "$W"/got/*.json >"$W/got.tsv"
    awk -F'\t' '
        FILENAME ~ /expect/ {
            if ($1 == "L") { list[$2, $3] = 1; nl[$2]++ }
            else if ($1 == "E") { may[$2, $3, $5] = 1; if ($4 == 1) must[$2, $3, $5] = 1 }
            next
        }
        FILENAME ~ /idx/ { tab[$1] = $2; txt[$1] = $3; n++; next }
        { got[$1, $2] = 1; ng[$1]++ }
        END {
            split("received sent access", tabs, " ")
            for (i = 1; i <= 3; i++) {
                t = tabs[i]; bad = ng["L-" t] != nl[t]
                for (k in list) { split(k, p, SUBSEP); if (p[1] == t && !(("L-" t, p[2]) in got)) bad = 1 }
                printf "%s %s %d %d\n", bad ? "LISTBAD" : "LIST", t, nl[t], ng["L-" t]
            }
            for (k in must) {
                split(k, p, SUBSEP)
                if (!((p[1], p[3]) in list)) continue
                want[p[1], p[2]] = want[p[1], p[2]] " " p[3]
            }
            for (i = 1; i <= n; i++) {
                t = tab[i]; x = txt[i]; bad = 0
                for (k in must) {
                    split(k, p, SUBSEP)
                    if (p[1] == t && p[2] == x && ((t, p[3]) in list) && !((i, p[3]) in got)) bad = 1
                }
                s = ""
                for (k in got) {
                    split(k, p, SUBSEP)
                    if (p[1] != i) continue
                    s = s " " p[2]
                    if (!((t, x, p[2]) in may) || !((t, p[2]) in list)) bad = 1
                }
                if (bad) printf "BAD %s \047%s\047: want%s, got%s\n", t, x, want[t, x], (s == "" ? " none" : s)
            }
            printf "TEXTS %d\n", n
        }' "$W/expect.tsv" "$W/got.idx" "$W/got.tsv" >"$W/verdict"
    grep '^LIST' "$W/verdict" >"$W/lists"
    while read -r v t want got; do
        [ "$v" = LIST ] && [ "$want" -gt 0 ] && pass "$cs_name: the $t tab lists all $want rows" ||
            fail "$cs_name: the $t tab lists $got rows, the tables say $want"
    done <"$W/lists"
    cs_n=$(sed -n 's/^TEXTS //p' "$W/verdict")
    cs_bad=$(grep -c '^BAD' "$W/verdict" || true)
    [ "$cs_bad" = 0 ] && [ "$cs_n" -gt 20 ] &&
        pass "$cs_name: search finds the rows of each of $cs_n texts" ||
        fail "$cs_name: search wrong for $cs_bad of $cs_n texts: $(grep '^BAD' "$W/verdict" | head -3 | tr '\n' ' ')"
}

# check_stats NAME DB: maillog stats == the counts of the tables
check_stats() {
    "$M" stats --config "$W/keep.ini" --db "$2" --format json 2>>"$W/stderr" |
        jq -r '"messages \(.messages)", (.deliveries | to_entries[] | select(.value > 0)
               | "\(.key) \(.value)"), "ok \(.access.ok)", "failed \(.access.failed)",
               "oldest \(.oldest)", "newest \(.newest)"' | sort >"$W/stats.got"
    sq "$2" "SELECT 'messages ' || count(*) FROM messages;
             SELECT CASE status WHEN 0 THEN 'sent' WHEN 1 THEN 'deferred' WHEN 2 THEN 'bounced'
                    WHEN 3 THEN 'expired' WHEN 4 THEN 'rejected' WHEN 5 THEN 'discarded' END
                    || ' ' || count(*) FROM deliveries WHERE is_hop = 0 GROUP BY status;
             SELECT 'ok ' || count(*) FROM access_events WHERE success = 1;
             SELECT 'failed ' || count(*) FROM access_events WHERE success = 0;
             SELECT 'oldest ' || min((SELECT min(time) FROM deliveries),
                                     (SELECT min(time) FROM access_events));
             SELECT 'newest ' || max((SELECT max(time) FROM deliveries),
                                     (SELECT max(time) FROM access_events));" | sort >"$W/stats.want"
    cmp -s "$W/stats.got" "$W/stats.want" &&
        pass "$1: stats say what the tables hold ($(grep -h "^messages" "$W/stats.want"))" ||
        fail "$1: stats: $(diff "$W/stats.want" "$W/stats.got" | grep '^[<>]' | tr '\n' ' ')"
}

# check_integrity NAME DB
check_integrity() {
    r=$(sq "$2" "PRAGMA integrity_check;
                 INSERT INTO deliveries_fts(deliveries_fts) VALUES ('integrity-check');
                 INSERT INTO access_fts(access_fts) VALUES ('integrity-check');" 2>&1)
    [ "$r" = ok ] && pass "$1: integrity_check and FTS integrity-check ok" ||
        fail "$1: integrity: $r"
}

# ---- one fixture ----------------------------------------------------------
t_fixture() {
    name=$(basename "$1" .db.gz)
    D=$W/$name
    mkdir -p "$D"
    gunzip -c "$1" >"$D/old.db" # the pristine copy: sqlite3 reads it, maillog never
    db=$D/db
    cp "$D/old.db" "$db"
    old=$(sq "$D/old.db" 'PRAGMA user_version')
    sq "$D/old.db" "SELECT json_group_array(json_object('name', name, 'owner_email', owner_email,
                    'client', client, 'reseller', reseller)) FROM domains" >"$W/domains.json"
    tables=$(sq "$D/old.db" "SELECT name FROM sqlite_schema WHERE type = 'table'
               AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'
               AND name NOT LIKE '%_fts_%' AND name <> 'fts_pending' ORDER BY name")
    # What this program makes of the same log: the whole of it in one run
    # and the rest alone.
    rm -f "$D/tail.db" "$D/ref.db"
    ingest "$D/tail.db" "$W/tail.log"
    ingest "$D/ref.db" "$W/whole.log"
    if [ "$old" -ge "$CUR" ] || [ "$old" -lt 1 ]; then
        fail "$name: fixture at schema version $old, this program at $CUR: nothing to upgrade"
        return
    fi

    # -- the upgrade, by a read command
    if ! "$M" stats --config "$W/keep.ini" --db "$db" >/dev/null 2>>"$W/stderr"; then
        fail "$name: stats on the v$old database: $(tail -1 "$W/stderr")"
        return
    fi
    v=$(sq "$db" 'PRAGMA user_version')
    [ "$v" = "$CUR" ] && pass "$name: stats upgraded schema v$old to v$CUR" ||
        fail "$name: user_version $v after stats, not $CUR"
    sq "$db" "$SCHEMA_SQL" >"$D/schema"
    cmp -s "$D/schema" "$W/new.schema" && pass "$name: schema == a new database's" ||
        fail "$name: schema differs from a new database's: $(diff "$W/new.schema" "$D/schema" |
            grep '^[<>]' | head -4 | tr '\n' ' ')"

    bad="" total=0
    for t in $tables; do
        l=$(lost "$db" "$t")
        n=$(sq "$db" "ATTACH '$D/old.db' AS o;
                      SELECT (SELECT count(*) FROM o.\"$t\") || ' ' || (SELECT count(*) FROM main.\"$t\")")
        total=$((total + ${n% *}))
        [ -z "$l" ] && [ "${n% *}" = "${n#* }" ] || bad="$bad [$t: $n rows; lost: $l]"
    done
    [ -z "$bad" ] && [ $total -gt 50 ] &&
        pass "$name: all $total rows of $(echo "$tables" | wc -w) tables kept, values and types" ||
        fail "$name: rows changed by the upgrade (old new):$bad"
    # columns added since: the default on old rows, and notify_since as v7 sets it
    # (a migration that fills a new column of old rows adds its rule here; one
    # that rewrites old values must say so in the rows check above)
    bad=""
    for t in $tables; do
        sq "$db" "SELECT name, dflt_value FROM pragma_table_info('$t')
                  WHERE name <> 'notify_since'" >"$W/newcols"
        sq "$D/old.db" "SELECT name FROM pragma_table_info('$t')" >"$W/oldcols"
        while IFS='|' read -r c dflt; do
            grep -qx "$c" "$W/oldcols" && continue
            k=$(sq "$db" "SELECT count(*) FROM \"$t\" WHERE \"$c\" IS NOT ${dflt:-NULL}")
            [ "$k" = 0 ] || bad="$bad [$t.$c: $k rows not $dflt]"
        done <"$W/newcols"
    done
    if sq "$D/old.db" "SELECT 1 FROM pragma_table_info('domain_settings') WHERE name = 'notify_since'" |
        grep -q 1; then
        :
    else
        k=$(sq "$db" "SELECT count(*) FROM domain_settings WHERE (notify_since > 0) IS NOT
                      (notify = 1 AND usual_countries = '')")
        [ "$k" = 0 ] || bad="$bad [notify_since: $k rows]"
    fi
    [ -z "$bad" ] && pass "$name: columns added since v$old hold their migration's values" ||
        fail "$name: new columns:$bad"
    # every old row indexed once: the index mark is the highest id
    k=$(sq "$db" "SELECT (SELECT indexed_max FROM fts_state WHERE tbl = 1)
                         IS coalesce((SELECT max(id) FROM deliveries), 0)
                     AND (SELECT indexed_max FROM fts_state WHERE tbl = 2)
                         IS coalesce((SELECT max(id) FROM access_events), 0)")
    [ "$k" = 1 ] && pass "$name: the FTS index mark covers every old row" ||
        fail "$name: fts_state $(sq "$db" 'SELECT * FROM fts_state' | tr '\n' ' ')"

    check_stats "$name" "$db"
    check_search "$name" "$db"
    # settings --get: what the settings tables hold (lists joined by commas)
    norm='to_entries[] | select(.key != "domain") | "\(.key)=\(.value
          | if type == "array" then join(",") elif type == "boolean" then (if . then 1 else 0 end)
            else . end)"'
    {
        "$M" settings --config "$W/keep.ini" --db "$db" --get | jq -r "$norm"
        for d in $(sq "$db" 'SELECT domain FROM domain_settings ORDER BY 1'); do
            "$M" settings --config "$W/keep.ini" --db "$db" --domain "$d" --get |
                jq -r "$norm" | sed "s/^/$d:/"
        done
    } 2>>"$W/stderr" | sort >"$W/settings.got"
    sq "$D/old.db" "SELECT key || '=' || replace(value, char(10), ',') FROM settings;
        SELECT domain || ':' || k || '=' || replace(v, char(10), ',') FROM (
        SELECT domain, 'usual_countries' AS k, usual_countries AS v FROM domain_settings
        UNION ALL SELECT domain, 'notify', notify FROM domain_settings
        UNION ALL SELECT domain, 'force_password_change', force_password_change FROM domain_settings
        UNION ALL SELECT domain, 'ip_exceptions', ip_exceptions FROM domain_settings)" |
        sort >"$W/settings.want"
    [ -s "$W/settings.want" ] && [ -z "$(comm -23 "$W/settings.want" "$W/settings.got")" ] &&
        pass "$name: settings --get says the $(wc -l <"$W/settings.want") stored settings" ||
        fail "$name: settings --get lacks: $(comm -23 "$W/settings.want" "$W/settings.got" | tr '\n' ' ')"
    check_integrity "$name" "$db"

    # -- the rest of the log, read by this program
    if ! ingest "$db" "$W/tail.log"; then
        fail "$name: ingest on the upgraded database: $(tail -1 "$W/stderr")"
        return
    fi
    # the mails the old version left open that the rest of the log continues
    K="(m.host, m.queue_id) IN (SELECT host, queue_id FROM k.messages)"
    open=$(sq "$db" "ATTACH '$D/old.db' AS o; ATTACH '$D/tail.db' AS k;
                     SELECT count(*) FROM o.messages m WHERE closed = 0 AND $K")
    k=$(sq "$db" "ATTACH '$D/old.db' AS o; ATTACH '$D/tail.db' AS k;
                  SELECT count(*) FROM o.messages om JOIN main.messages m USING (host, queue_id)
                   WHERE om.closed = 0 AND (om.host, om.queue_id) IN (SELECT host, queue_id FROM k.messages)
                     AND (m.id <> om.id OR m.first_seen <> om.first_seen)")
    [ "$open" -gt 0 ] && [ "$k" = 0 ] &&
        pass "$name: $open mails left open by v$old continue in their own rows" ||
        fail "$name: of $open open mails continued, $k have another row"
    k=$(sq "$db" "ATTACH '$D/old.db' AS o; ATTACH '$D/tail.db' AS k;
                  SELECT count(*) FROM o.messages om JOIN o.message_lines ol ON ol.message_id = om.id
                    JOIN main.message_lines l ON l.message_id = om.id
                   WHERE om.closed = 0 AND (om.host, om.queue_id) IN (SELECT host, queue_id FROM k.messages)
                     AND length(l.lines) > length(ol.lines)
                     AND substr(l.lines, 1, length(ol.lines)) = ol.lines")
    [ "$k" = "$open" ] && pass "$name: their log lines are the old ones and the new ones" ||
        fail "$name: log lines of $((open - k)) of $open continued mails are not old + new"
    # those mails and the new ones end as in one run of this program
    FACTS="SELECT 'M', host, queue_id, first_seen, last_seen, closed,
                  coalesce((SELECT p.queue_id FROM messages p WHERE p.id = m.parent_id), ''),
                  coalesce((SELECT o.queue_id FROM messages o WHERE o.id = m.dsn_of), '')
             FROM messages m WHERE $K;
           SELECT 'D', m.host, m.queue_id, d.recipient, d.time, d.status, d.attempts, d.is_hop,
                  d.queue_id
             FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE $K;"
    sq "$db" "ATTACH '$D/tail.db' AS k; $FACTS" | sort >"$W/facts.got"
    sq "$D/ref.db" "ATTACH '$D/tail.db' AS k; $FACTS" | sort >"$W/facts.want"
    [ "$(wc -l <"$W/facts.want")" -gt 10 ] && cmp -s "$W/facts.got" "$W/facts.want" &&
        pass "$name: the $(grep -c '^M' "$W/facts.want") mails of the rest end as in one run (status, attempts, links)" ||
        fail "$name: the mails of the rest differ from one run: $(diff "$W/facts.want" "$W/facts.got" |
            grep '^[<>]' | head -4 | tr '\n' ' ')"
    LOGINS="SELECT time, host, user, user_domain, ip, protocol, success, method, detail, search_extra
              FROM access_events"
    sq "$db" "ATTACH '$D/old.db' AS o; $LOGINS WHERE id > (SELECT max(id) FROM o.access_events)" |
        sort >"$W/logins.got"
    sq "$D/tail.db" "$LOGINS" | sort >"$W/logins.want"
    [ -s "$W/logins.want" ] && cmp -s "$W/logins.got" "$W/logins.want" &&
        pass "$name: the $(wc -l <"$W/logins.want") new logins appended as read alone" ||
        fail "$name: new logins: $(diff "$W/logins.want" "$W/logins.got" | grep '^[<>]' | head -3 | tr '\n' ' ')"
    # no other old row changed (the index mark and the read mark move)
    bad=""
    OPEN_IDS="message_id IN (SELECT id FROM o.messages m WHERE $K)"
    for t in $tables; do
        case $t in
        fts_state | read_mark) continue ;;
        messages) l=$(lost "$db" "$t" "NOT (host, queue_id) IN (SELECT host, queue_id FROM k.messages)") ;;
        deliveries | message_lines) l=$(lost "$db" "$t" "NOT $OPEN_IDS") ;;
        *) l=$(lost "$db" "$t") ;;
        esac
        [ -z "$l" ] || bad="$bad [$t: $l]"
    done
    [ -z "$bad" ] && pass "$name: no other old row changed" || fail "$name: old rows changed:$bad"
    check_stats "$name after ingest" "$db"
    check_search "$name after ingest" "$db"
    check_integrity "$name after ingest" "$db"
}

# ---- a newer database is refused and left alone ----------------------------
# DB: an upgraded database, in WAL mode as this program leaves every database
# it opens; then the same in rollback-journal mode, which a program that
# switched to WAL before reading the version would change (header bytes 18-19).
t_newer() {
    t_newer_mode "$1" wal
    t_newer_mode "$1" delete
}

t_newer_mode() {
    mode=$2
    n=$W/newer.db
    cp "$1" "$n"
    rm -f "$n-wal" "$n-shm"
    sq "$n" "PRAGMA journal_mode = $mode; PRAGMA user_version = $((CUR + 1))" >/dev/null
    cp "$n" "$W/newer.orig"
    bad=""
    for cmd in stats search settings ingest; do
        case $cmd in
        search) set -- --tab received --q bob ;;
        settings) set -- --get ;;
        ingest) set -- --log "$W/tail.log" --geoip /nonexistent --domains "$W/domains.json" ;;
        *) set -- ;;
        esac
        if "$M" $cmd --config "$W/keep.ini" --db "$n" "$@" >"$W/out" 2>"$W/err"; then
            bad="$bad [$cmd exit 0]"
        elif ! grep -q "schema version $((CUR + 1)) is newer than this program ($CUR)" "$W/err"; then
            bad="$bad [$cmd: $(head -1 "$W/err")]"
        fi
    done
    [ -z "$bad" ] && pass "newer ($mode): schema v$((CUR + 1)) refused by stats, search, settings, ingest: $(head -1 "$W/err")" ||
        fail "newer ($mode): not refused clearly:$bad"
    cmp -s "$n" "$W/newer.orig" && [ ! -s "$n-wal" ] && pass "newer ($mode): the database is byte-identical" ||
        fail "newer ($mode): the refused database changed"
}

last=""
for f in "$FIX"/store/*.db.gz; do
    [ -f "$f" ] || continue
    t_fixture "$f"
    last=$W/$(basename "$f" .db.gz)/db
done
if [ -z "$last" ]; then
    fail "no fixtures in $FIX/store"
else
    t_newer "$last"
fi

finished=1
if [ $fails -ne 0 ]; then
    echo "tests/store/upgrade: $fails failed"
    exit 1
fi
echo "tests/store/upgrade: all passed"
