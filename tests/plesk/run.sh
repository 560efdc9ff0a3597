#!/bin/sh
# run.sh ZIP — `make check-plesk`: everything about the Plesk extension that
# can run without Plesk.
#   1. php -l on every PHP file of the extension and of these tests;
#   2. test_bridge.php: the plib logic with pm_* doubles (and the real
#      maillog.cgi from the zip when it is built); test_controllers.php: the
#      controllers and the view on ZF1 doubles;
#   3. check-pack.sh: the zip's layout, modes, meta.xml, binaries, libraries.
# Run from the top of the repository, after `make pack`.
set -eu

zip=${1:?usage: run.sh ZIP}
fail=0

n=0
for f in htdocs/index.php $(find plib tests/plesk -name '*.php' -o -name '*.phtml' | sort); do
    n=$((n + 1))
    if ! out=$(php -l "$f" 2>&1); then
        echo "FAIL php -l $f: $out" >&2
        fail=1
    fi
done
echo "check-plesk: php -l: $n files"

tmp=$(mktemp -d /tmp/maillog-plesk.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
unzip -q "$zip" -d "$tmp/ext"

if ! MAILLOG_REAL_SBIN="$tmp/ext/sbin" php tests/plesk/test_bridge.php >"$tmp/bridge.out" 2>&1; then
    cat "$tmp/bridge.out" >&2
    fail=1
else
    grep -E '^test_bridge:' "$tmp/bridge.out"
fi

if ! php tests/plesk/test_controllers.php >"$tmp/controllers.out" 2>&1; then
    cat "$tmp/controllers.out" >&2
    fail=1
else
    grep -E '^test_controllers:' "$tmp/controllers.out"
fi

tests/plesk/check-pack.sh "$zip" "$tmp/ext" || fail=1

[ $fail -eq 0 ] && echo "check-plesk: passed"
exit $fail
