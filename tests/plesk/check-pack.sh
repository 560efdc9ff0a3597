#!/bin/sh
# check-pack.sh ZIP DIR — checks the Plesk extension zip (unpacked in DIR):
#  - layout: meta.xml at the root and only the allowed top-level entries;
#    the required files; plib/ identical to the repository's; htdocs/ holds
#    only index.php, dist/ and icons/; no tests, node_modules, objects,
#    archives, source maps, VCS or editor leftovers;
#  - modes: sbin programs 0755, other files 0644, directories 0755;
#  - meta.xml: well-formed, the required elements, version = VERSION file,
#    numeric release, plesk_min_version >= 18.0.55 (callSbin's $stdin), os unix;
#  - icons: PNGs of 32x32, 64x64, 128x128;
#  - the binaries run here: maillog --version prints VERSION; maillog.cgi
#    answers a CGI request (GET /v1/me as admin: 200 with that version);
#  - libraries: none; the binaries are static (scripts/build-musl.sh), so
#    they run on every Plesk platform whatever its glibc.
# Optional parts (UI bundle, screenshots, the real CGI) that are missing are
# reported as MISSING without failing, so the rest is still checked.
set -eu

zip=${1:?usage: check-pack.sh ZIP DIR}
dir=${2:?usage: check-pack.sh ZIP DIR}
version=$(cat VERSION)
fail=0
bad() { echo "FAIL check-pack: $*" >&2; fail=1; }
missing() { echo "MISSING check-pack: $*" >&2; }

# ---- layout and modes ------------------------------------------------------
zipinfo "$zip" | awk 'NF >= 9 && $1 ~ /^[-d]/ { print $1, $NF }' >"$dir.list"
[ -s "$dir.list" ] || bad "cannot list $zip"
while read -r mode path; do
    case $path in
    meta.xml | DESCRIPTION.md | CHANGES.md | _meta/* | htdocs/* | plib/* | sbin/* | \
    _meta/ | htdocs/ | plib/ | sbin/) ;;
    *) bad "unexpected top-level entry: $path" ;;
    esac
    case $path in
    *node_modules* | tests/* | */tests/* | *.o | *.a | *.d | *.map | *.orig | *.rej | *~ | *.swp | \
    *.tmp | *.log | .* | */.* | *package.json | *package-lock.json | _meta/*.svg)
        bad "leftover in the zip: $path" ;;
    esac
    case $path in
    htdocs/ | htdocs/index.php | htdocs/dist/* | htdocs/icons/*) ;;
    htdocs/*) bad "htdocs/ holds something else than index.php, dist/, icons/: $path" ;;
    esac
    case $path in
    */) want=drwxr-xr-x ;;
    sbin/?*) want=-rwxr-xr-x ;;
    *) want=-rw-r--r-- ;;
    esac
    [ "$mode" = "$want" ] || bad "mode of $path is $mode, want $want"
done <"$dir.list"
rm -f "$dir.list"

for f in meta.xml DESCRIPTION.md CHANGES.md htdocs/index.php \
    plib/controllers/IndexController.php plib/controllers/ApiController.php \
    plib/views/scripts/index/index.phtml plib/hooks/CustomButtons.php plib/hooks/ConfigDefaults.php \
    plib/scripts/post-install.php plib/scripts/pre-uninstall.php plib/scripts/ingest.php \
    plib/scripts/alerts.php plib/library/Bridge.php plib/library/Api.php \
    sbin/maillog sbin/maillog.cgi; do
    [ -f "$dir/$f" ] || bad "missing $f"
done
diff -r -x resources plib "$dir/plib" >/dev/null || bad "plib/ in the zip differs from the repository's"
for f in $(cd "$dir/plib" && find resources -type f 2>/dev/null); do
    [ "$f" = resources/country.mmdb ] || bad "unexpected plib/$f"
done
if [ -f "$dir/plib/resources/country.mmdb" ]; then
    grep -q 'MaxMind.com' "$dir/plib/resources/country.mmdb" ||
        bad "plib/resources/country.mmdb is not a MaxMind DB"
    cmp -s build/geoip/country.mmdb "$dir/plib/resources/country.mmdb" ||
        bad "plib/resources/country.mmdb differs from build/geoip/country.mmdb"
else
    missing "plib/resources/country.mmdb: no country database (make geoip)"
fi
cmp -s htdocs/index.php "$dir/htdocs/index.php" || bad "htdocs/index.php differs"
if [ -f "$dir/htdocs/dist/main.js" ] && [ -f "$dir/htdocs/dist/main.css" ]; then
    cmp -s htdocs/dist/main.js "$dir/htdocs/dist/main.js" || bad "htdocs/dist/main.js differs from the build's"
else
    missing "htdocs/dist/main.js or main.css: the UI bundle was not built"
fi
ls "$dir"/_meta/screenshots/*.png >/dev/null 2>&1 ||
    missing "_meta/screenshots: no screenshots (the browser tests make them)"

# ---- meta.xml -------------------------------------------------------------
meta=$dir/meta.xml
if xmllint --noout "$meta" 2>/dev/null; then
    x() { xmllint --xpath "string(/module/$1)" "$meta"; }
    [ "$(x id)" = mail-log ] || bad "meta.xml id is '$(x id)'"
    [ "$(x name)" = "Mail log" ] || bad "meta.xml name is '$(x name)'"
    for e in description category vendor; do
        [ -n "$(x $e)" ] || bad "meta.xml has no $e"
    done
    [ "$(x version)" = "$version" ] || bad "meta.xml version '$(x version)' is not VERSION's '$version'"
    echo "$(x release)" | grep -Eq '^[0-9]+$' || bad "meta.xml release '$(x release)' is not a number"
    [ "$(x os)" = unix ] || bad "meta.xml os is '$(x os)'"
    min=$(x plesk_min_version)
    [ "$(printf '%s\n%s\n' 18.0.55 "$min" | sort -V | head -n 1)" = 18.0.55 ] ||
        bad "meta.xml plesk_min_version '$min' is older than 18.0.55"
    grep -q '{{' "$meta" && bad "meta.xml keeps a {{placeholder}}"
else
    bad "meta.xml is not well-formed XML"
fi

# ---- icons ----------------------------------------------------------------
for n in 32 64 128; do
    f=$dir/_meta/icons/${n}x${n}.png
    file "$f" 2>/dev/null | grep -q "PNG image data, $n x $n" || bad "_meta/icons/${n}x${n}.png is not a $n x $n PNG"
done
file "$dir/htdocs/icons/32x32.png" 2>/dev/null | grep -q 'PNG image data, 32 x 32' || bad "htdocs/icons/32x32.png missing"

# ---- the binaries run here ------------------------------------------------------
out=$("$dir/sbin/maillog" --version 2>&1) || bad "sbin/maillog --version failed: $out"
case $out in *"$version"*) ;; *) bad "sbin/maillog --version printed '$out', not $version" ;; esac

work=$(mktemp -d /tmp/maillog-pack.XXXXXX)
printf '[maillog]\ndb = %s/maillog.db\ndomains = %s/domains.json\nlog = %s/mail.log\ngeoip = %s/none.mmdb\n' \
    "$work" "$work" "$work" "$work" >"$work/maillog.ini"
echo '[]' >"$work/domains.json"
: >"$work/mail.log"
"$dir/sbin/maillog" settings --get --config "$work/maillog.ini" >/dev/null 2>&1 || true
cgi=$(env -i PATH=/usr/bin:/bin REQUEST_METHOD=GET PATH_INFO=/v1/me QUERY_STRING= GATEWAY_INTERFACE=CGI/1.1 \
    MAILLOG_ROLE=admin MAILLOG_USER=admin MAILLOG_MAX_LINES=10000 MAILLOG_CONFIG="$work/maillog.ini" \
    "$dir/sbin/maillog.cgi" </dev/null 2>"$work/cgi.err") || true
rm -rf "$work"
status=$(printf '%s\n' "$cgi" | head -n 1 | tr -d '\r')
case $status in
"Status: 200"*)
    printf '%s' "$cgi" | grep -q "\"version\": *\"$version\"" ||
        bad "maillog.cgi GET /v1/me did not report version $version" ;;
"Status: 503"*)
    if printf '%s' "$cgi" | grep -q 'not built yet'; then
        missing "sbin/maillog.cgi is the placeholder (it runs; the API is not built yet)"
    else
        bad "maillog.cgi GET /v1/me: $status"
    fi ;;
*) bad "maillog.cgi GET /v1/me as admin answered '$status'" ;;
esac

# ---- libraries ---------------------------------------------------------------
# Static programs: no loader, no shared library, so nothing that differs from
# one Plesk platform to the next (glibc 2.28 on AlmaLinux/RHEL 8 to 2.39).
for b in maillog maillog.cgi; do
    f=$dir/sbin/$b
    if [ -n "$(objdump -p "$f" | awk '$1 == "NEEDED" || $1 == "INTERP"')" ] ||
        objdump -p "$f" | grep -q '^Dynamic Section'; then
        bad "sbin/$b is not static: $(objdump -p "$f" | awk '$1 == "NEEDED" { printf "%s ", $2 }')"
    fi
    file "$f" | grep -q 'statically linked' || bad "sbin/$b: file says $(file -b "$f")"
done
echo "check-pack: sbin/maillog and sbin/maillog.cgi are static: they run on any x86_64 Linux"
echo "check-pack: $(unzip -Z1 "$zip" | grep -vc '/$') files, $(wc -c <"$zip") bytes in $zip"

exit $fail
