#!/bin/sh
# run-asan.sh MAILLOG_ASAN CORPUS — every corpus file through the sanitizer
# build of `maillog parse`, both output formats: any ASan/UBSan report or
# leak makes the process exit non-zero, and this script fail.
set -eu
maillog=$1
corpus=$2
[ -d "$corpus" ] || { echo "run-asan: $corpus not found: SKIPPED"; exit 0; }
domains=$(mktemp)
trap 'rm -f "$domains"' EXIT
echo '[{"name":"hs.ntnu.edu.tw"},{"name":"uhu-banane.net"},{"name":"example.com"}]' > "$domains"
files=0
find "$corpus" -type f ! -name SOURCES.md | sort > "$domains.list"
while IFS= read -r f; do
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 "$maillog" parse --log "$f" --format summary > /dev/null
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 "$maillog" parse --log "$f" --format jsonl \
        --domains "$domains" > /dev/null
    files=$((files + 1))
done < "$domains.list"
rm -f "$domains.list"
echo "run-asan: $files corpus files parsed under ASan+UBSan without a report"
