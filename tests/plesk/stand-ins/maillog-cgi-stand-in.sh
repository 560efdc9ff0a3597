#!/bin/sh
# Stand-in for maillog.cgi in tests/plesk/test_bridge.php: answers what it
# was given, so the test can see exactly what the bridge passed (CGI
# variables, identity, stdin) and how it relays an answer. QUERY_STRING
# picks the answer: crash=1 exits 3 without output; status=404 gives a JSON
# error; otherwise a CSV download with headers the bridge must drop.
case "$QUERY_STRING" in
*crash=1*) exit 3 ;;
*status=404*)
    printf 'Status: 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\n\r\n'
    printf '{"error":{"code":"not_found","message":"no such message"}}\n'
    exit 0 ;;
esac
printf 'Status: 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\n'
printf 'Content-Disposition: attachment; filename="received.csv"\r\n'
printf 'Set-Cookie: session=stolen\r\nX-Internal: 1\r\n\r\n'
printf 'variable,value\r\n'
for v in GATEWAY_INTERFACE REQUEST_METHOD PATH_INFO QUERY_STRING CONTENT_TYPE CONTENT_LENGTH \
         MAILLOG_ROLE MAILLOG_USER MAILLOG_DOMAINS MAILLOG_MAX_LINES MAILLOG_CONFIG; do
    if eval "[ -n \"\${$v+set}\" ]"; then
        eval "printf '%s,%s\r\n' $v \"\$$v\""
    fi
done
printf 'ENV_NAMES,%s\r\n' "$(env | sed 's/=.*//' | sort | tr '\n' ' ')"
printf 'STDIN,'
cat
