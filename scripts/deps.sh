#!/bin/sh
# deps.sh GROUP... — install the Debian packages a make target needs, when missing.
#
# Every target of the Makefile that needs something outside the repository
# calls this first, so that `make run` and `make check` work on a fresh Debian
# machine with nothing installed by hand. Packages already present are not
# touched; apt-get is only run (as root) when something is missing.
set -eu

pkgs_for() {
    case "$1" in
    build) echo "gcc make pkg-config libsqlite3-dev libjansson-dev libmaxminddb-dev libcurl4-openssl-dev zlib1g-dev" ;;
    test) echo "tzdata time clang-format check valgrind clang libclang-rt-14-dev pflogsumm cppcheck libmaxmind-db-writer-perl mmdb-bin iso-codes" ;;
    geoip) echo "libmaxmind-db-writer-perl mmdb-bin iso-codes" ;;
    ui) echo "nodejs" ;;
    web) echo "lighttpd apache2-utils nodejs" ;;
    browser) echo "chromium nodejs" ;;
    servers) echo "postfix dovecot-imapd dovecot-pop3d dovecot-lmtpd rsyslog swaks logrotate python3" ;;
    alerts) echo "openssl ca-certificates" ;;
    php) echo "php-cli zip unzip libxml2-utils librsvg2-bin" ;;
    musl) echo "musl-tools cmake tcl dpkg-dev make perl pkg-config debian-archive-keyring file" ;;
    store) echo "sqlite3 jq gzip util-linux time pflogsumm" ;;
    robust) echo "python3 valgrind jq sqlite3 util-linux perl libmaxmind-db-writer-perl lighttpd nodejs" ;;
    *) echo "deps.sh: unknown group '$1'" >&2; exit 2 ;;
    esac
}

missing=""
for group in "$@"; do
    for p in $(pkgs_for "$group"); do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
            missing="$missing $p"
        fi
    done
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing packages:$missing — run as root or install them" >&2
    exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix asks questions on install; answer them before it does.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
