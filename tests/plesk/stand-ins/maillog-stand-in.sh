#!/bin/sh
# Stand-in for sbin/maillog in tests/plesk/test_bridge.php: records its
# arguments in calls.log beside the --config file, prints settings.json from
# there for `settings --get` (exit 1 when absent), and fails a command CMD
# with exit 4 when a file fail-CMD is there.
config=
prev=
for a in "$@"; do
    [ "$prev" = --config ] && config=$a
    prev=$a
done
[ -n "$config" ] || { echo "maillog: no --config" >&2; exit 2; }
dir=$(dirname "$config")
echo "$*" >>"$dir/calls.log"
[ -e "$dir/fail-$1" ] && { echo "maillog $1: failed on purpose" >&2; exit 4; }
if [ "$1" = settings ] && [ "$2" = --get ]; then
    [ -f "$dir/settings.json" ] || { echo "maillog settings: no database" >&2; exit 1; }
    cat "$dir/settings.json"
    exit 0
fi
echo "maillog $1: ok"
