#!/bin/sh
# bench.sh BUILD — ingest throughput and memory against Debian's pflogsumm on
# the same files in the same run, then query latencies (bench_query) on a
# generated database of 10M deliveries + 5M logins, cached in BUILD/bench/store/.
#
# Inputs (made once under BUILD/bench/store/ from ../shared/corpus, read in place):
#   mix.log    the pixelpark log repeated 30 times (~2.1M lines, mostly
#              deliveries and rejects of a small server)
#   dense.log  the louisitvn log repeated 50 times (1M lines, delivery-dense:
#              a message, a delivery or a login every 2 lines)
#   dense-days.log  the same, each copy one day after the one before
# Times are wall-clock on this (shared, 2-core) machine; CPU seconds beside.
set -eu

B=${1:?usage: bench.sh BUILD [ingest|query]}
PART=${2:-all}
CORPUS=${MAILLOG_CORPUS:-$(dirname "$0")/../../../shared/corpus}
D=$B/bench/store
mkdir -p "$D"

make_input() { # NAME SOURCE TIMES
    [ -s "$D/$1" ] && return 0
    i=0
    while [ $i -lt "$3" ]; do
        cat "$2"
        i=$((i + 1))
    done >"$D/$1.tmp"
    mv "$D/$1.tmp" "$D/$1"
}
# make_days_input NAME SOURCE TIMES: SOURCE (under a day of log) TIMES
# times, copy k moved k days later, so time only moves forward as in a real
# log. (In the plain repeat every copy goes back to the first copy's times:
# each insert lands in the middle of the time indexes.) The mtime is the
# last copy's day so the year-less stamps all read as one year.
make_days_input() {
    [ -s "$D/$1" ] && return 0
    perl -MTime::Local=timegm -MPOSIX=strftime -e '
        my ($src, $times) = @ARGV;
        my %mon; @mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = 0 .. 11;
        open my $in, "<", $src or die "$src: $!";
        my @lines = <$in>;
        for my $k (0 .. $times - 1) {
            my $shift = ($k - $times + 1) * 86400;
            for (@lines) {
                my $l = $_;
                if ($l =~ /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d)/ && exists $mon{$1}) {
                    my $t = timegm($5, $4, $3, $2, $mon{$1}, 2025) + $shift;
                    substr($l, 0, length $&) = strftime("%b %e %H:%M:%S", gmtime $t);
                }
                print $l;
            }
        }' "$2" "$3" >"$D/$1.tmp"
    touch -d "$(tail -n 1 "$D/$1.tmp" | cut -c1-15) 2025 UTC" "$D/$1.tmp"
    mv "$D/$1.tmp" "$D/$1"
}
make_input mix.log "$CORPUS/pixelpark-postfix-logsums/mail.log" 30
make_input dense.log "$CORPUS/louisitvn-pflgviewer/mail.log" 50
make_days_input dense-days.log "$CORPUS/louisitvn-pflgviewer/mail.log" 50
printf '[defaults]\nretention_days = 3650\n' >"$D/keep.ini"

# prints "elapsed user sys maxrss_kb" of a command (its output discarded)
measure() {
    /usr/bin/time -f "%e %U %S %M" -o "$D/time.out" "$@" >/dev/null 2>"$D/cmd.err" ||
        { cat "$D/cmd.err" >&2; exit 1; }
    cat "$D/time.out"
}

[ "$PART" = query ] || echo "ingest throughput (lines/s = lines / wall-clock seconds):"
[ "$PART" = query ] || for f in mix.log dense.log dense-days.log; do
    lines=$(wc -l <"$D/$f")
    rm -f "$D/ingest.db" "$D/ingest.db-wal" "$D/ingest.db-shm"
    set -- $(measure "$B/maillog" ingest --config "$D/keep.ini" --db "$D/ingest.db" \
        --log "$D/$f" --geoip /nonexistent --quiet)
    m_e=$1 m_u=$2 m_s=$3 m_rss=$4
    set -- $(measure pflogsumm "$D/$f")
    p_e=$1 p_u=$2 p_s=$3
    awk -v f="$f" -v n="$lines" -v me="$m_e" -v mu="$m_u" -v ms="$m_s" -v rss="$m_rss" \
        -v pe="$p_e" -v pu="$p_u" -v ps="$p_s" 'BEGIN {
        printf "  %-14s %8d lines: maillog ingest %6.2f s (cpu %5.2f) = %8.0f lines/s, peak RSS %.1f MiB\n",
            f, n, me, mu + ms, n / me, rss / 1024
        printf "  %-14s %8s        pflogsumm      %6.2f s (cpu %5.2f) = %8.0f lines/s; ingest is %.1fx pflogsumm (cpu %.1fx)\n",
            "", "", pe, pu + ps, n / pe, pe / me, (pu + ps) / (mu + ms)
    }'
    # what the run stored: rows of the three record tables and the file
    rows=$(sqlite3 "$D/ingest.db" "SELECT (SELECT count(*) FROM messages) +
        (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM access_events)")
    awk -v n="$rows" -v me="$m_e" -v mu="$m_u" -v ms="$m_s" -v b="$(stat -c %s "$D/ingest.db")" \
        'BEGIN { printf "  %-14s %8d rows stored (messages, deliveries, logins) = %.0f rows/s, %.1f us CPU a row; database %.0f MB\n",
            "", n, n / me, (mu + ms) * 1e6 / n, b / 1e6 }'
done

[ "$PART" = ingest ] && exit 0
echo
if [ ! -s "$D/query.db" ]; then
    echo "generating $D/query.db (10M deliveries, 5M logins; once, several minutes)..."
fi
"$B/bench_query" "$D/query.db"
