#!/bin/sh
# plesk-pack.sh VERSION BINDIR OUT.zip — lay out and zip the Plesk extension.
#
# Run by `make pack` (mk/plesk.mk) from the top of the repository, after the
# packaged binaries were linked into BINDIR (build/musl/out). The zip holds:
#   meta.xml                     version/release filled in
#   DESCRIPTION.md CHANGES.md
#   _meta/icons/{32x32,64x64,128x128}.png   rendered from _meta/icon.svg
#   _meta/screenshots/N.png      from tests/browser/screenshots, when present
#   htdocs/index.php             the entry point
#   htdocs/dist/                 the UI bundle, when built (no source maps)
#   htdocs/icons/32x32.png, 64x64.png  the icon the panel's buttons show
#   plib/                        controllers, views, hooks, scripts, library
#   plib/resources/country.mmdb  build/geoip/country.mmdb (make geoip), when built
#   sbin/maillog sbin/maillog.cgi  mode 0755
# Nothing else: the staging directory is made fresh each time. Whatever is
# optional and missing (UI bundle, screenshots) is said on stderr; the zip is
# still made so that the rest can be checked.
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 VERSION BINDIR OUT.zip" >&2
    exit 2
fi
version=$1 bindir=$2 out=$3
case $version in
*[!0-9A-Za-z.+-]* | "") echo "plesk-pack: bad version '$version'" >&2; exit 2 ;;
esac
for f in "$bindir/maillog" "$bindir/maillog.cgi"; do
    [ -x "$f" ] || { echo "plesk-pack: $f missing (make plesk-static)" >&2; exit 1; }
done

# Release: the commit count, so that every rebuild of one version upgrades.
release=$(git rev-list --count HEAD 2>/dev/null || echo 1)

stage=build/pack/mail-log
rm -rf build/pack
mkdir -p "$stage/_meta/icons" "$stage/htdocs/icons" "$stage/sbin"

sed -e "s/{{VERSION}}/$version/" -e "s/{{RELEASE}}/$release/" meta.xml >"$stage/meta.xml"
cp DESCRIPTION.md CHANGES.md "$stage/"

for n in 32 64 128; do
    rsvg-convert -w $n -h $n _meta/icon.svg -o "$stage/_meta/icons/${n}x${n}.png"
done
cp "$stage/_meta/icons/32x32.png" "$stage/_meta/icons/64x64.png" "$stage/htdocs/icons/"

shots=tests/browser/screenshots
if ls "$shots"/*.png >/dev/null 2>&1; then
    mkdir -p "$stage/_meta/screenshots"
    i=0
    for s in $(ls "$shots"/*.png | sort | head -n 10); do
        i=$((i + 1))
        cp "$s" "$stage/_meta/screenshots/$i.png"
    done
else
    echo "plesk-pack: no screenshots in $shots (run the browser tests); packed without" >&2
fi

cp htdocs/index.php "$stage/htdocs/index.php"
if [ -f htdocs/dist/main.js ]; then
    mkdir -p "$stage/htdocs/dist"
    (cd htdocs/dist && find . -type f ! -name '*.map' | sort) | while read -r f; do
        mkdir -p "$stage/htdocs/dist/$(dirname "$f")"
        cp "htdocs/dist/$f" "$stage/htdocs/dist/$f"
    done
else
    echo "plesk-pack: htdocs/dist/main.js missing (the UI bundle is not built); packed without" >&2
fi

cp -R plib "$stage/plib"
geoip=build/geoip/country.mmdb
if [ -f "$geoip" ]; then
    mkdir -p "$stage/plib/resources"
    cp "$geoip" "$stage/plib/resources/country.mmdb"
else
    echo "plesk-pack: $geoip missing (make geoip); packed without a country database" >&2
fi
install -m 0755 "$bindir/maillog" "$stage/sbin/maillog"
install -m 0755 "$bindir/maillog.cgi" "$stage/sbin/maillog.cgi"

# Regular files 0644, directories and the programs 0755, whatever the umask.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f ! -path "$stage/sbin/*" -exec chmod 0644 {} +

rm -f "$out"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
(cd "$stage" && find . -mindepth 1 | sed 's|^\./||' | sort | zip -q -X -@ "$abs_out")
echo "plesk-pack: $out ($(wc -c <"$out") bytes, release $release)"
