#!/bin/sh
# demo.sh — `make run`: Mail log on this machine, standalone, in a browser.
#
# Builds everything (C programs and the UI bundle), makes the GeoIP country
# database (build/geoip/country.mmdb; without it the demo runs without
# countries), ingests a mail log into a fresh database, writes a config and a
# lighttpd configuration under the demo directory, and starts lighttpd on
# 127.0.0.1 serving the UI and maillog.cgi behind HTTP basic auth with three
# demo users (admin, reseller, client). Prints the URL and the logins, then
# stays in the foreground until Ctrl-C.
#
# The log: this machine's /var/log/maillog or /var/log/mail.log when readable
# and not empty, else a generated sample (scripts/demo-log.mjs: three hosted
# domains, peers from many countries, every kind of outcome).
#
# Options:
#   --dir DIR       demo directory (default build/demo; replaced on each run)
#   --port N        port (default: the first free one from 8080)
#   --sample        use the generated sample even when a system log exists
#   --log FILE      ingest FILE instead of the system's mail log
#   --seed N, --end EPOCH   passed to the sample generator (reproducible logs)
#   --max-lines N   the config's max_lines (log tail; 0 disables it)
#   --background    start lighttpd in the background and return (tests);
#                   stop it with: demo.sh --stop [--dir DIR]
#   --no-build      do not run make (the caller has built everything)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

dir=build/demo
log=""
port=""
sample=0
seed=1
end=""
max_lines=10000
background=0
build=1
stop=0
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir=$2; shift ;;
    --port) port=$2; shift ;;
    --sample) sample=1 ;;
    --log) log=$2; shift ;;
    --seed) seed=$2; shift ;;
    --end) end=$2; shift ;;
    --max-lines) max_lines=$2; shift ;;
    --background) background=1 ;;
    --no-build) build=0 ;;
    --stop) stop=1 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//; /^set -eu/d'; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$dir" in /*) ;; *) dir=$top/$dir ;; esac

stop_server() {
    if [ -f "$dir/lighttpd.pid" ]; then
        pid=$(cat "$dir/lighttpd.pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        rm -f "$dir/lighttpd.pid"
    fi
}
if [ $stop = 1 ]; then
    stop_server
    exit 0
fi

say() { printf 'demo: %s\n' "$*"; }

scripts/deps.sh web ui
if [ $build = 1 ]; then
    say "building (make all)"
    make --no-print-directory -s all
fi
[ -x build/maillog ] && [ -x build/maillog.cgi ] && [ -f htdocs/dist/main.js ] ||
    { echo "demo.sh: build/maillog, build/maillog.cgi or htdocs/dist missing (run make)" >&2; exit 1; }

geoip=$top/build/geoip/country.mmdb
if [ ! -s "$geoip" ] && [ $build = 1 ]; then
    say "making the GeoIP country database (make geoip)"
    make --no-print-directory -s geoip || say "no GeoIP database: countries will be empty"
fi
[ -s "$geoip" ] || geoip=""

# A previous demo in the same directory: stop its server, start afresh.
stop_server
rm -rf "$dir"
mkdir -p "$dir/www"

# The log and the hosted domains.
case "$log" in "" | /*) ;; *) log=$top/$log ;; esac
if [ $sample = 0 ] && [ -z "$log" ]; then
    for f in /var/log/maillog /var/log/mail.log; do
        if [ -r "$f" ] && [ -s "$f" ]; then log=$f; break; fi
    done
fi
if [ $sample = 0 ] && [ -n "$log" ]; then
    say "using the mail log $log"
    # Hosted domains: Postfix's own list when there is one, else the
    # domains delivered to locally (LMTP, local, virtual, Plesk) in the log.
    doms=$( (postconf -xh virtual_mailbox_domains mydestination 2>/dev/null || true) |
        tr ', ' '\n\n' | grep -E '^[A-Za-z0-9.-]+\.[A-Za-z]+$' | grep -v '^localhost' | sort -u | head -50)
    [ -n "$doms" ] || doms=$(grep -E 'status=sent' "$log" 2>/dev/null |
        grep -E 'relay=([^,]*lmtp|local|virtual|plesk_virtual|dovecot)' |
        grep -oE 'to=<[^@>]+@[A-Za-z0-9.-]+>' | sed -E 's/^to=<[^@]+@([^>]+)>/\1/' | tr 'A-Z' 'a-z' |
        sort | uniq -c | sort -rn | awk '{print $2}' | head -10)
    [ -n "$doms" ] || doms=example.com
    printf '%s\n' $doms | awk 'BEGIN{printf "["} {printf "%s{\"name\":\"%s\",\"owner_email\":\"postmaster@%s\",\"client\":\"%s\",\"reseller\":\"res1\"}", (NR>1?",":""), $1, $1, (NR==1?"cli1":"client" NR)} END{print "]"}' >"$dir/domains.json"
    first=$(printf '%s\n' $doms | head -1)
    resdoms=$(printf '%s\n' $doms | head -2 | paste -sd, -)
else
    say "generating a sample mail log (scripts/demo-log.mjs)"
    node scripts/demo-log.mjs --out "$dir" --seed "$seed" ${end:+--end "$end"} >/dev/null
    log=$dir/mail.log
    first=example.com
    resdoms=example.com,example.net
fi

cat >"$dir/maillog.ini" <<INI
# Written by scripts/demo.sh — the standalone demo's deployment config.
[maillog]
db = $dir/maillog.db
log = $log
domains = $dir/domains.json
geoip = $geoip
max_lines = $max_lines

[smtp]
url = smtp://127.0.0.1:25
from = mail-log@localhost

[users]
admin = admin
res1 = reseller:$resdoms
cli1 = client:$first
INI
# HTTP auth users (lighttpd "plain" backend: user:password).
printf 'admin:admin\nres1:res1\ncli1:cli1\n' >"$dir/users.txt"
chmod 600 "$dir/users.txt"

say "ingesting $log"
build/maillog ingest --config "$dir/maillog.ini"

# The document root holds only the UI: the standalone page and the bundle.
ln -s "$top/htdocs/standalone.html" "$dir/www/index.html"
ln -s "$top/htdocs/dist" "$dir/www/dist"

if [ -z "$port" ]; then
    # The first port from 8080 nobody listens on.
    port=$(node -e '
        const net = require("net");
        const tryPort = (p) => { const s = net.createServer();
            s.once("error", () => tryPort(p + 1));
            s.listen(p, "127.0.0.1", () => { console.log(p); s.close(); }); };
        tryPort(8080);')
fi
sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" -e "s|@WWW@|$dir/www|g" \
    -e "s|@CGI@|$top/build/maillog.cgi|g" -e "s|@CONFIG@|$dir/maillog.ini|g" \
    scripts/lighttpd.conf.in >"$dir/lighttpd.conf"
lighttpd -tt -f "$dir/lighttpd.conf" >/dev/null

url="http://127.0.0.1:$port/"
cat <<MSG
demo: Mail log is at $url
demo: logins (HTTP auth):  admin / admin      — administrator: every domain, Settings page
demo:                      res1  / res1       — reseller: $resdoms
demo:                      cli1  / cli1       — client: $first
MSG
if [ $background = 1 ]; then
    lighttpd -f "$dir/lighttpd.conf"
    node -e '
        const http = require("http"); let n = 0;
        const poll = () => http.get(process.argv[1], (r) => { r.resume(); process.exit(0); })
            .on("error", () => (++n < 300 ? setTimeout(poll, 100) : process.exit(1)));
        poll();' "$url" || { echo "demo.sh: lighttpd did not answer on $url" >&2; exit 1; }
    echo "$url" >"$dir/url"
    say "running in the background (stop: scripts/demo.sh --stop --dir $dir)"
else
    say "press Ctrl-C to stop"
    exec lighttpd -D -f "$dir/lighttpd.conf"
fi
