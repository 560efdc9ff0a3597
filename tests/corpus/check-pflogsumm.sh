#!/bin/sh
# check-pflogsumm.sh MAILLOG CORPUS — compares `maillog parse` with Debian's
# pflogsumm (an independent counter) on the logs the issue names. The rules
# (explained in tests/README.md):
#   pflogsumm delivered + forwarded = our sent + discarded + hops
#     (pflogsumm counts every status=sent line, including hand-overs to a
#      content filter, which we show as one mail, not two)
#   pflogsumm deferrals = our deferred attempts
#   pflogsumm bounced   = our bounced
#   pflogsumm rejected  = our rejected
set -eu
maillog=$1
corpus=$2
if [ ! -d "$corpus" ]; then
    echo "check-pflogsumm: $corpus not found: SKIPPED"
    exit 0
fi
failures=0
checks=0
for f in pixelpark-postfix-logsums/mail.log kdent-postfix_log_analysis/mail.log \
         kdent-postfix_log_analysis/mail2.log kdent-postfix_log_analysis/mail3.log; do
    report=$(pflogsumm --zero_fill "$corpus/$f" 2>/dev/null | sed -n '/Grand Totals/,/senders/p')
    pf() { printf '%s\n' "$report" | awk -v k="$1" '$2 == k { print $1; exit }'; }
    delivered=$(pf delivered)
    forwarded=$(pf forwarded)
    bounced=$(pf bounced)
    rejected=$(pf rejected)
    deferrals=$(printf '%s\n' "$report" | sed -n 's/.*(\([0-9]*\) *deferrals).*/\1/p')
    [ -n "$deferrals" ] || deferrals=$(pf deferred)
    summary=$("$maillog" parse --log "$corpus/$f")
    ours() { printf '%s\n' "$summary" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
    compare() {
        checks=$((checks + 1))
        if [ "$2" = "$3" ]; then
            echo "ok   $f $1: pflogsumm $2 = maillog $3"
        else
            echo "FAIL $f $1: pflogsumm $2 != maillog $3"
            failures=$((failures + 1))
        fi
    }
    compare "delivered+forwarded vs sent+discarded+hops" $((delivered + forwarded)) \
        "$(ours "d['deliveries']['sent'] + d['deliveries']['discarded'] + d['hops']")"
    compare deferrals "$deferrals" "$(ours "d['deliveries']['deferred']")"
    compare bounced "$bounced" "$(ours "d['deliveries']['bounced']")"
    compare rejected "$rejected" "$(ours "d['deliveries']['rejected']")"
done
echo "pflogsumm: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
