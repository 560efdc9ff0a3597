#!/bin/sh
# check-build-geoip.sh DB.mmdb — checks a database made by scripts/build-geoip
# against the data it was made from.
#
# Takes the tor-geoipdb package the database was built from (kept in
# GEOIP_DEB_DIR by make; else apt-get download), unpacks it in a temp
# directory, takes every Nth range of its geoip and geoip6 files, and asks
# mmdblookup for the first and last address of each: an ISO 3166-1 code must
# come back as itself ("UK" as "GB"), any other code ("??", "EU", …) as no
# entry. Then checks the metadata, and that a second build is byte-identical
# (idempotence). Ranges inside 2002::/16 are skipped: the database aliases
# 6to4 space to IPv4, like GeoLite2.
set -eu
db=$1
script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
iso_json=/usr/share/iso-codes/json/iso_3166-1.json

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 755 "$tmp"
chown _apt "$tmp" 2>/dev/null || true
# the package the database was built from when kept (GEOIP_DEB_DIR), else
# the current one
kept=$(ls "${GEOIP_DEB_DIR:-/nonexistent}"/tor-geoipdb_*.deb 2>/dev/null | tail -1)
if [ -n "$kept" ]; then
    cp "$kept" "$tmp/"
else
    (cd "$tmp" && apt-get download -qq tor-geoipdb >/dev/null)
fi
dpkg-deb -x "$tmp"/tor-geoipdb_*.deb "$tmp/root"
data=$tmp/root/usr/share/tor

# The ISO codes, one per line.
perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); print "$_->{alpha_2}\n" for @{$j->{"3166-1"}}' \
    < "$iso_json" > "$tmp/iso"

# "address expected" pairs: first and last address of every 997th range.
awk -F, '!/^#/ && NR % 997 == 0 {
    for (k = 1; k <= 2; k++) { n = $k; a = int(n / 16777216); n -= a * 16777216;
        b = int(n / 65536); n -= b * 65536; c = int(n / 256); d = n - c * 256;
        print a "." b "." c "." d, $3 } }' "$data/geoip" > "$tmp/pairs"
awk -F, '!/^#/ && NR % 997 == 0 && $1 !~ /^2002:/ { print $1, $3; print $2, $3 }' \
    "$data/geoip6" >> "$tmp/pairs"

checked=0
failed=0
while read -r ip cc; do
    [ "$cc" = UK ] && cc=GB
    got=$(mmdblookup -f "$db" -i "$ip" country iso_code 2>/dev/null |
        sed -n 's/.*"\([A-Z][A-Z]\)" <utf8_string>.*/\1/p')
    if grep -qx "$cc" "$tmp/iso"; then want=$cc; else want=""; fi
    if [ "$got" != "$want" ]; then
        echo "check-build-geoip: $ip: expected '${want:-no country}' ($cc in the data), got '${got:-no country}'" >&2
        failed=$((failed + 1))
    fi
    checked=$((checked + 1))
done < "$tmp/pairs"
[ "$checked" -gt 1000 ] || { echo "check-build-geoip: only $checked addresses sampled" >&2; exit 1; }

meta=$(mmdblookup -f "$db" -v -i 192.0.2.1 2>&1 || true)
echo "$meta" | grep -q "Type: *GeoLite2-Country" || { echo "check-build-geoip: wrong database type" >&2; failed=$((failed + 1)); }
echo "$meta" | grep -q "IP version: *IPv6" || { echo "check-build-geoip: not an IPv6 database" >&2; failed=$((failed + 1)); }

# English names come from iso-codes (the common name where there is one).
set -- $(head -1 "$tmp/pairs")
code=$(mmdblookup -f "$db" -i "$1" country iso_code 2>/dev/null | sed -n 's/.*"\(.*\)" <utf8_string>.*/\1/p')
name=$(mmdblookup -f "$db" -i "$1" country names en 2>/dev/null | sed -n 's/.*"\(.*\)" <utf8_string>.*/\1/p')
want=$(perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); binmode STDOUT, ":utf8";
    print map { $_->{common_name} // $_->{name} } grep { $_->{alpha_2} eq $ARGV[0] } @{$j->{"3166-1"}}' \
    "$code" < "$iso_json")
[ -n "$name" ] && [ "$name" = "$want" ] ||
    { echo "check-build-geoip: $1 ($code) is named '$name', iso-codes says '$want'" >&2; failed=$((failed + 1)); }

"$repo/scripts/build-geoip" "$tmp/again.mmdb" >/dev/null
cmp -s "$db" "$tmp/again.mmdb" || { echo "check-build-geoip: a second build differs" >&2; failed=$((failed + 1)); }

if [ "$failed" -ne 0 ]; then
    echo "check-build-geoip: $failed of $checked checks failed" >&2
    exit 1
fi
echo "check-build-geoip: $checked sampled addresses resolve as in the source data; rebuild is identical"
