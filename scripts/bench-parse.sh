#!/bin/sh
# bench-parse.sh MAILLOG CORPUS [COPIES] — parser throughput against Debian's
# pflogsumm on the same file, in the same run. The file is the pixelpark log
# (the corpus's largest continuous log) repeated COPIES times (default 30,
# about 2.1 million lines), written to build/bench/. Reports lines/s of
# `maillog parse --format summary` (best of 3, user+system CPU seconds of the
# single-threaded process, and wall clock) and the ratio to pflogsumm.
set -eu
maillog=$1
corpus=$2
copies=${3:-30}
src="$corpus/pixelpark-postfix-logsums/mail.log"
[ -r "$src" ] || { echo "bench-parse: $src not found: SKIPPED"; exit 0; }
mkdir -p build/bench
big=build/bench/pixelpark-x$copies.log
if [ ! -s "$big" ]; then
    i=0
    : > "$big.tmp"
    while [ $i -lt "$copies" ]; do cat "$src" >> "$big.tmp"; i=$((i + 1)); done
    mv "$big.tmp" "$big"
fi
lines=$(wc -l < "$big")

# cpu_and_wall CMD... → "cpu_seconds wall_seconds" of one run
cpu_and_wall() {
    /usr/bin/env time -f '%U %S %e' -o build/bench/time.out "$@" > /dev/null 2>&1
    awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' build/bench/time.out
}
best_cpu=999999; best_wall=999999
for run in 1 2 3; do
    set -- $(cpu_and_wall "$maillog" parse --log "$big" --format summary)
    best_cpu=$(echo "$1 $best_cpu" | awk '{ print ($1 < $2) ? $1 : $2 }')
    best_wall=$(echo "$2 $best_wall" | awk '{ print ($1 < $2) ? $1 : $2 }')
done
set -- $(cpu_and_wall pflogsumm "$big")
pf_cpu=$1; pf_wall=$2
awk -v n="$lines" -v c="$best_cpu" -v w="$best_wall" -v pc="$pf_cpu" -v pw="$pf_wall" 'BEGIN {
    printf "parse: %d lines\n", n
    printf "  maillog parse: %.2f M lines/s (CPU %.3f s), %.2f M lines/s wall (%.3f s)\n", n / c / 1e6, c, n / w / 1e6, w
    printf "  pflogsumm:     %.3f M lines/s (CPU %.2f s, wall %.2f s)\n", n / pc / 1e6, pc, pw
    printf "  ratio: %.1fx pflogsumm (CPU), %.1fx (wall)\n", pc / c, pw / w
}'
