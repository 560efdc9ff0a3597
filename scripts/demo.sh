#!/bin/sh
# demo.sh — `make run`: the product on this machine with an embedded default.
# (Grows with the product: GeoIP database, ingest, lighttpd + UI.)
set -eu
cd "$(dirname "$0")/.."
log=/var/log/mail.log
[ -r /var/log/maillog ] && log=/var/log/maillog
if [ ! -r "$log" ]; then
    log=tests/fixtures/parse/sample.log
fi
echo "demo: parsing $log"
build/maillog parse --log "$log" --format summary
