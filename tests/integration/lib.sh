# shellcheck shell=bash
# lib.sh — real Postfix, Dovecot and rsyslog on loopback, for tests (bash, sourced).
#
# Starts unmodified Debian daemons with configurations written into one
# temporary directory, on 127.0.0.1 ports chosen here, and stops exactly the
# processes it started (by pid). Nothing outside that directory is touched:
# the daemons log through syslog(3) to /dev/log, and itest_enter_ns runs the
# calling script in a private mount namespace whose /dev/log is the socket of
# our own rsyslogd, so the host's syslog never sees test traffic and the
# host's /dev is unchanged.
#
# Usage (as root; see run.sh for the full scenario):
#
#   . tests/integration/lib.sh
#   itest_deps                      # apt-get what is missing (no daemon is started)
#   itest_enter_ns "$0" "$@"        # re-exec the script in a mount namespace (returns inside it)
#   itest_init "$dir"               # choose ports, write every config under $dir
#   trap itest_stop_all EXIT        # stops what was started, by pid, even on failure
#   itest_start_all                 # rsyslogd, smtp-sinks, dovecot, postfix; waits until they listen
#   ... traffic ...
#   itest_wait_queue                # until Postfix has nothing in flight (deferred mail may stay)
#   itest_sync_logs                 # until rsyslogd has written everything logged so far
#   itest_wait_log REGEX [SECONDS]  # until a line matches (Dovecot's lines come through its log process)
#   itest_rotate_logs [rhel|debian] # logrotate (rename + HUP rsyslogd) with the configs written here
#   itest_set_password USER PASS    # change a mailbox password in Dovecot's passwd-file (live)
#   itest_passwd_settle             # after a passwd-file change: wait until Dovecot sees it
#   itest_maildir USER              # prints USER's Maildir (new mail is in $(itest_maildir u)/new)
#
# Between itest_init and itest_start_all a test may change the servers'
# configs (`postconf -c "$ITEST_POSTFIX_DIR" -e …`, edit $ITEST_DOVECOT_CONF).
# rsyslogd listens on $ITEST_SYSLOG_SOCKET (`logger -u` it to add lines).
#
# Sending mail from a test: any SMTP client on 127.0.0.1:$ITEST_SMTP_PORT is in
# mynetworks (may relay, logged as a local client); mail to the hosted domains
# is delivered by LMTP into the Maildirs.
#
# What it sets up (variables exported by itest_init):
#   ITEST_DIR               the directory everything lives in
#   ITEST_LOG_RHEL          mail log in the RHEL/Plesk format ("Nov 25 14:38:27 host prog[pid]: msg")
#   ITEST_LOG_DEBIAN        mail log in Debian's format (RFC3339 with microseconds and offset)
#   ITEST_TZ                (set by the caller, optional) the time zone rsyslogd writes in, e.g.
#                           a POSIX TZ string; the product must read the logs with the same TZ
#   ITEST_SMTP_PORT         Postfix smtpd (port-25 role): XCLIENT from loopback, SASL, relay for
#                           mynetworks (127.0.0.0/8) and SASL users only
#   ITEST_FILTERED_NET      mail from clients in this network (203.0.113.0/24) passes a content
#                           filter hop: smtp to 127.0.0.1:ITEST_REINJECT_PORT, where a second
#                           smtpd ("postfix/PORT/smtpd") queues it again under a new queue id
#   ITEST_SUBMISSION_PORT   Postfix smtpd as "postfix/submission": SASL required, XCLIENT allowed
#   ITEST_IMAP_PORT, ITEST_POP3_PORT  Dovecot; login_trusted_networks = 127.0.0.0/8, so IMAP
#                           ID ("x-originating-ip" …) and POP3 XCLIENT set the logged rip
#   ITEST_DOMAINS           the two hosted (virtual mailbox) domains: hosted-a.example hosted-b.example
#   ITEST_USERS_FILE        Dovecot passwd-file ("user@domain:{PLAIN}password:8:8::home")
#   ITEST_USERS             "mailbox:password" pairs of the mailboxes that exist (set it before
#                           itest_init to choose them; mailboxes must be in the hosted domains)
#   ITEST_GHOST             a mailbox Postfix accepts but Dovecot does not know (LMTP bounces it)
#   Remote domains, routed by transport_maps (no DNS is ever used):
#     accept.example   → smtp-sink that accepts everything
#     reject.example   → smtp-sink that answers RCPT with 5xx (hard bounce)
#     tempfail.example → smtp-sink that answers RCPT with 4xx (deferred)
#     closed.example   → a closed port on 127.0.0.1 (deferred, connection refused)
#   ITEST_POSTFIX_DIR (postfix -c), ITEST_DOVECOT_CONF (dovecot -c), ITEST_RSYSLOG_CONF
#
# Mail for the hosted domains goes to Dovecot over LMTP and is stored as
# Maildir under $ITEST_DIR/mail/DOMAIN/USER; a test can read it (or log in
# over IMAP/POP3) to see what arrived.
#
# Requirements: root, Debian packages of scripts/deps.sh group `servers`,
# unshare(1) (util-linux). Without mount namespaces (some containers) it falls
# back to owning /dev/log directly, only when nothing else does.

ITEST_SRCDIR=${ITEST_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

itest_log() { printf 'itest: %s\n' "$*" >&2; }
itest_die() {
    printf 'itest: FATAL: %s\n' "$*" >&2
    exit 1
}

# itest_deps — installs the `servers` and `geoip` (make-mmdb.pl) groups when
# something is missing. Debian starts daemons from maintainer scripts; a
# temporary policy-rc.d (only when the machine has none) keeps a system
# Postfix/Dovecot/rsyslog from starting.
itest_deps() {
    local policy=/usr/sbin/policy-rc.d made=0 rc=0
    if [ "$(id -u)" = 0 ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# itest: no daemons started during package installation\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made=1
    fi
    "$ITEST_SRCDIR/scripts/deps.sh" servers geoip || rc=$?
    [ "$made" = 1 ] && rm -f "$policy"
    return $rc
}

# itest_enter_ns SCRIPT ARGS… — re-executes SCRIPT in a private mount
# namespace (unless already inside one) and exits with its status; inside, it
# returns after giving the namespace its own /dev (symlinks to the host's
# device nodes) in which /dev/log is ours. Outside a namespace (unshare
# unavailable) it returns without doing anything; itest_start_rsyslog then
# decides whether /dev/log can be used.
itest_enter_ns() {
    local script=$1
    shift
    if [ -z "${ITEST_NS:-}" ]; then
        if unshare -m --propagation private true 2>/dev/null; then
            local rc=0
            export ITEST_HOSTDEV=/run/itest-hostdev.$$
            ITEST_NS=1 unshare -m --propagation private bash "$script" "$@" || rc=$?
            # Only the namespace saw the mount; here it is an empty directory.
            rmdir "$ITEST_HOSTDEV" 2>/dev/null
            exit $rc
        fi
        itest_log "no mount namespace available; using the host's /dev/log if it is free"
        ITEST_NS=none
        export ITEST_NS
        return 0
    fi
    [ "$ITEST_NS" = 1 ] || return 0
    # The host's /dev stays reachable under a private mount point; the
    # namespace's /dev is a tmpfs of symlinks to it, plus our /dev/log.
    local hostdev=${ITEST_HOSTDEV:-/run/itest-hostdev.$$}
    mkdir -p "$hostdev"
    mount --rbind /dev "$hostdev" || itest_die "cannot bind /dev"
    mount -t tmpfs -o mode=755,size=64k itest-dev /dev || itest_die "cannot mount a private /dev"
    local e name
    for e in "$hostdev"/* "$hostdev"/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        name=${e##*/}
        [ "$name" = log ] && continue
        ln -s "$e" "/dev/$name"
    done
    export ITEST_NS
}

# itest_port_free PORT — true when nothing accepts connections on 127.0.0.1:PORT.
itest_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# itest_pick_ports — ten consecutive free ports from a random base, below
# the kernel's range for outgoing connections (a probe or a client there
# could take one of them between the check and the daemon's bind).
itest_pick_ports() {
    local _ base p ok low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$low" -gt 12100 ] 2>/dev/null || low=32768
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        base=$((10000 + (RANDOM % ((low - 10100) / 100)) * 100))
        ok=1
        for p in $(seq "$base" $((base + 9))); do
            itest_port_free "$p" || { ok=0; break; }
        done
        if [ "$ok" = 1 ]; then
            echo "$base"
            return 0
        fi
    done
    return 1
}

# itest_init DIR — chooses ports and writes every configuration under DIR
# (which must exist and be empty). Exports the ITEST_* variables above.
itest_init() {
    [ "$(id -u)" = 0 ] || itest_die "must run as root (starts Postfix and Dovecot)"
    local d
    d=$(cd "$1" && pwd) || itest_die "no directory $1"
    chmod 755 "$d"
    export ITEST_DIR=$d
    local base
    base=$(itest_pick_ports) || itest_die "no free ports on 127.0.0.1"
    export ITEST_SMTP_PORT=$base
    export ITEST_SUBMISSION_PORT=$((base + 1))
    export ITEST_IMAP_PORT=$((base + 2))
    export ITEST_POP3_PORT=$((base + 3))
    export ITEST_SINK_ACCEPT_PORT=$((base + 4))
    export ITEST_SINK_REJECT_PORT=$((base + 5))
    export ITEST_SINK_TEMPFAIL_PORT=$((base + 6))
    export ITEST_CLOSED_PORT=$((base + 7))
    export ITEST_REINJECT_PORT=$((base + 8))
    export ITEST_FILTERED_NET=203.0.113.0/24
    export ITEST_DOMAINS="hosted-a.example hosted-b.example"
    export ITEST_USERS="${ITEST_USERS:-alice@hosted-a.example:Alice-pw1 bob@hosted-a.example:Bob-pw2 carol@hosted-b.example:Carol-pw3 dave@hosted-b.example:Dave-pw4}"
    export ITEST_GHOST=ghost@hosted-a.example
    export ITEST_LOG_RHEL=$d/log/maillog
    export ITEST_LOG_DEBIAN=$d/log/mail.log
    export ITEST_SYSLOG_SOCKET=$d/run/syslog.sock
    export ITEST_RSYSLOG_CONF=$d/rsyslog/rsyslog.conf
    export ITEST_POSTFIX_DIR=$d/postfix
    export ITEST_DOVECOT_CONF=$d/dovecot/dovecot.conf
    export ITEST_USERS_FILE=$d/dovecot/users
    export ITEST_PIDS_DIR=$d/pids
    mkdir -p "$d/log" "$d/run" "$d/rsyslog" "$d/postfix" "$d/spool" "$d/pfdata" \
        "$d/dovecot/run" "$d/dovecot/state" "$d/mail" "$d/pids"
    itest_write_rsyslog
    itest_write_dovecot
    itest_write_postfix
}

itest_write_rsyslog() {
    local d=$ITEST_DIR
    cat >"$ITEST_RSYSLOG_CONF" <<EOF
# rsyslogd -f for the integration tests: our socket only, mail facility to two files.
global(workDirectory="$d/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$ITEST_SYSLOG_SOCKET" CreatePath="on"
      RateLimit.Interval="0" UseSysTimeStamp="on")
# RHEL / Plesk default: traditional timestamps.
mail.* action(type="omfile" file="$ITEST_LOG_RHEL" template="RSYSLOG_TraditionalFileFormat")
# Debian default: RFC3339 high precision.
mail.* action(type="omfile" file="$ITEST_LOG_DEBIAN" template="RSYSLOG_FileFormat")
EOF
    cat >"$d/rsyslog/logrotate-rhel.conf" <<EOF
# RHEL style: dated names, not compressed.
$ITEST_LOG_RHEL {
    dateext
    dateformat -%Y%m%d
    rotate 5
    missingok
    sharedscripts
    postrotate
        kill -HUP \$(cat $ITEST_PIDS_DIR/rsyslogd.pid)
    endscript
}
EOF
    cat >"$d/rsyslog/logrotate-debian.conf" <<EOF
# Debian style: numbered, compressed from the second rotation on.
$ITEST_LOG_DEBIAN {
    rotate 5
    compress
    delaycompress
    missingok
    sharedscripts
    postrotate
        kill -HUP \$(cat $ITEST_PIDS_DIR/rsyslogd.pid)
    endscript
}
EOF
}

itest_write_dovecot() {
    local d=$ITEST_DIR pair user pass
    : >"$ITEST_USERS_FILE"
    for pair in $ITEST_USERS; do
        user=${pair%%:*}
        pass=${pair#*:}
        printf '%s:{PLAIN}%s:8:8::%s/mail/%s/%s\n' "$user" "$pass" "$d" "${user#*@}" "${user%@*}" >>"$ITEST_USERS_FILE"
    done
    chown root:dovecot "$ITEST_USERS_FILE"
    chmod 640 "$ITEST_USERS_FILE"
    chown mail:mail "$d/mail"
    chown postfix:postfix "$d/pfdata"
    cat >"$ITEST_DOVECOT_CONF" <<EOF
# dovecot -c for the integration tests (Dovecot 2.3).
base_dir = $d/dovecot/run
state_dir = $d/dovecot/state
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
log_path = syslog
syslog_facility = mail
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
first_valid_uid = 8
first_valid_gid = 8
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $ITEST_USERS_FILE
}
userdb {
  driver = passwd-file
  args = username_format=%u $ITEST_USERS_FILE
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $ITEST_IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $ITEST_POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    user = postfix
    group = postfix
    mode = 0600
  }
}
service auth {
  unix_listener auth-postfix {
    user = postfix
    group = postfix
    mode = 0600
  }
}
protocol lmtp {
  postmaster_address = postmaster@hosted-a.example
}
EOF
}

itest_write_postfix() {
    local d=$ITEST_DIR pf=$ITEST_POSTFIX_DIR pair
    {
        for pair in $ITEST_USERS; do printf '%s OK\n' "${pair%%:*}"; done
        printf '%s OK\n' "$ITEST_GHOST"
    } >"$pf/vmailbox"
    printf '%s FILTER smtp:[127.0.0.1]:%s\n' "$ITEST_FILTERED_NET" "$ITEST_REINJECT_PORT" >"$pf/filter.cidr"
    cat >"$pf/transport" <<EOF
accept.example    smtp:[127.0.0.1]:$ITEST_SINK_ACCEPT_PORT
reject.example    smtp:[127.0.0.1]:$ITEST_SINK_REJECT_PORT
tempfail.example  smtp:[127.0.0.1]:$ITEST_SINK_TEMPFAIL_PORT
closed.example    smtp:[127.0.0.1]:$ITEST_CLOSED_PORT
EOF
    cat >"$pf/main.cf" <<EOF
# postfix -c for the integration tests: loopback only, no DNS, no local delivery.
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/pfdata
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.hosted-a.example
mydomain = hosted-a.example
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = all
mynetworks = 127.0.0.0/8
smtpd_authorized_xclient_hosts = 127.0.0.0/8
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtp_connect_timeout = 5s
virtual_mailbox_domains = hosted-a.example, hosted-b.example
virtual_mailbox_maps = texthash:$pf/vmailbox
virtual_transport = lmtp:unix:$d/dovecot/run/lmtp
transport_maps = texthash:$pf/transport
relay_domains =
smtpd_sasl_type = dovecot
smtpd_sasl_path = $d/dovecot/run/auth-postfix
smtpd_sasl_auth_enable = yes
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_client_event_limit_exceptions = 127.0.0.0/8
# Mail from $ITEST_FILTERED_NET goes through a "content filter" the way
# amavis is wired (smtp to 127.0.0.1, re-injected on a second smtpd as a new
# queue id); here the filter is left out: Postfix hands the mail straight
# to the re-injection smtpd.
smtpd_data_restrictions = check_client_access cidr:$pf/filter.cidr
delay_warning_time = 0
biff = no
append_dot_mydomain = no
readme_directory = no
smtputf8_enable = no
maximal_backoff_time = 4000s
minimal_backoff_time = 3000s
queue_run_delay = 3000s
EOF
    cat >"$pf/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$ITEST_SMTP_PORT inet n - n - - smtpd
127.0.0.1:$ITEST_SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$ITEST_REINJECT_PORT inet n - n - - smtpd
  -o syslog_name=postfix/$ITEST_REINJECT_PORT
  -o myhostname=reinject.hosted-a.example
  -o content_filter=
  -o smtpd_data_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o smtpd_sasl_auth_enable=no
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# Waits below return as soon as their condition holds; their limits (60 s)
# are for a loaded 2-core machine, not for a normal run.
# itest_wait_listen PORT WHAT — waits (60 s at most) for a listener.
itest_wait_listen() {
    local _
    for _ in $(seq 1 600); do
        itest_port_free "$1" || return 0
        sleep 0.1
    done
    itest_die "$2 does not listen on 127.0.0.1:$1"
}

# itest_start_rsyslog — rsyslogd -f with our socket; /dev/log points at it.
itest_start_rsyslog() {
    if [ "${ITEST_NS:-}" = 1 ]; then
        ln -sfn "$ITEST_SYSLOG_SOCKET" /dev/log
    elif [ -e /dev/log ] || [ -L /dev/log ]; then
        itest_die "/dev/log belongs to the host's syslog and no mount namespace is available"
    else
        ln -s "$ITEST_SYSLOG_SOCKET" /dev/log
        echo 1 >"$ITEST_PIDS_DIR/devlog-ours"
    fi
    # rsyslogd stamps lines with its reception time in its local time zone.
    (
        [ -n "${ITEST_TZ:-}" ] && export TZ=$ITEST_TZ
        exec rsyslogd -f "$ITEST_RSYSLOG_CONF" -i "$ITEST_PIDS_DIR/rsyslogd.pid"
    ) || itest_die "rsyslogd did not start"
    local _
    for _ in $(seq 1 600); do
        [ -S "$ITEST_SYSLOG_SOCKET" ] && [ -s "$ITEST_PIDS_DIR/rsyslogd.pid" ] && return 0
        sleep 0.1
    done
    itest_die "rsyslogd socket $ITEST_SYSLOG_SOCKET did not appear"
}

# itest_start_sinks — the smtp-sink instances standing in for remote servers.
itest_start_sinks() {
    local name port args
    for name in accept reject tempfail; do
        case $name in
        accept) port=$ITEST_SINK_ACCEPT_PORT args="" ;;
        reject) port=$ITEST_SINK_REJECT_PORT args="-f RCPT" ;;
        tempfail) port=$ITEST_SINK_TEMPFAIL_PORT args="-r RCPT" ;;
        esac
        # shellcheck disable=SC2086
        smtp-sink -u nobody -h "mx.$name.example" $args "127.0.0.1:$port" 50 \
            </dev/null >"$ITEST_DIR/log/sink-$name.out" 2>&1 &
        echo $! >"$ITEST_PIDS_DIR/sink-$name.pid"
    done
    itest_wait_listen "$ITEST_SINK_ACCEPT_PORT" "smtp-sink accept"
    itest_wait_listen "$ITEST_SINK_REJECT_PORT" "smtp-sink reject"
    itest_wait_listen "$ITEST_SINK_TEMPFAIL_PORT" "smtp-sink tempfail"
}

itest_start_dovecot() {
    dovecot -c "$ITEST_DOVECOT_CONF" || itest_die "dovecot did not start"
    itest_wait_listen "$ITEST_IMAP_PORT" "dovecot imap"
    itest_wait_listen "$ITEST_POP3_PORT" "dovecot pop3"
    local _
    for _ in $(seq 1 600); do
        [ -S "$ITEST_DIR/dovecot/run/lmtp" ] && [ -S "$ITEST_DIR/dovecot/run/auth-postfix" ] &&
            [ -s "$ITEST_DIR/dovecot/run/master.pid" ] && break
        sleep 0.1
    done
    [ -S "$ITEST_DIR/dovecot/run/lmtp" ] && [ -S "$ITEST_DIR/dovecot/run/auth-postfix" ] ||
        itest_die "dovecot made no lmtp or auth-postfix socket"
    cp "$ITEST_DIR/dovecot/run/master.pid" "$ITEST_PIDS_DIR/dovecot.pid" ||
        itest_die "dovecot wrote no master.pid"
}

itest_start_postfix() {
    postfix -c "$ITEST_POSTFIX_DIR" check >"$ITEST_DIR/log/postfix-check.out" 2>&1 || {
        cat "$ITEST_DIR/log/postfix-check.out" >&2
        itest_die "postfix check failed"
    }
    postfix -c "$ITEST_POSTFIX_DIR" start >"$ITEST_DIR/log/postfix-start.out" 2>&1 || {
        cat "$ITEST_DIR/log/postfix-start.out" >&2
        itest_die "postfix did not start"
    }
    itest_wait_listen "$ITEST_SMTP_PORT" "postfix smtpd"
    itest_wait_listen "$ITEST_SUBMISSION_PORT" "postfix submission"
    cp "$ITEST_DIR/spool/pid/master.pid" "$ITEST_PIDS_DIR/postfix.pid"
}

# itest_start_all — everything, in dependency order.
itest_start_all() {
    itest_start_rsyslog
    itest_start_sinks
    itest_start_dovecot
    itest_start_postfix
    itest_log "up: smtp $ITEST_SMTP_PORT, submission $ITEST_SUBMISSION_PORT, imap $ITEST_IMAP_PORT, pop3 $ITEST_POP3_PORT, logs in $ITEST_DIR/log"
}

# itest_stop_pid NAME — SIGTERM the pid in pids/NAME.pid, wait 5 s, then SIGKILL.
itest_stop_pid() {
    local f=$ITEST_PIDS_DIR/$1.pid pid _
    [ -s "$f" ] || return 0
    pid=$(tr -dc 0-9 <"$f")
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
        sleep 0.1
    done
    itest_log "$1 ($pid) did not stop; killing it"
    kill -KILL "$pid" 2>/dev/null
    rm -f "$f"
}

# itest_stop_all — stops everything itest_start_* started, in reverse order.
# Safe to call twice and from an EXIT trap.
itest_stop_all() {
    [ -n "${ITEST_PIDS_DIR:-}" ] && [ -d "$ITEST_PIDS_DIR" ] || return 0
    # Postfix's master stops its children itself on SIGTERM; `postfix stop`
    # is the documented way and waits for it.
    # A daemon that failed half-way may have written its own pid file only.
    [ -s "$ITEST_PIDS_DIR/postfix.pid" ] || cp "$ITEST_DIR/spool/pid/master.pid" "$ITEST_PIDS_DIR/postfix.pid" 2>/dev/null
    [ -s "$ITEST_PIDS_DIR/dovecot.pid" ] || cp "$ITEST_DIR/dovecot/run/master.pid" "$ITEST_PIDS_DIR/dovecot.pid" 2>/dev/null
    if [ -s "$ITEST_PIDS_DIR/postfix.pid" ]; then
        postfix -c "$ITEST_POSTFIX_DIR" stop >/dev/null 2>&1
        itest_stop_pid postfix
    fi
    if [ -s "$ITEST_PIDS_DIR/dovecot.pid" ]; then
        doveadm -c "$ITEST_DOVECOT_CONF" stop >/dev/null 2>&1
        itest_stop_pid dovecot
    fi
    itest_stop_pid sink-accept
    itest_stop_pid sink-reject
    itest_stop_pid sink-tempfail
    itest_stop_pid rsyslogd
    if [ -e "$ITEST_PIDS_DIR/devlog-ours" ]; then
        [ "$(readlink /dev/log)" = "$ITEST_SYSLOG_SOCKET" ] && rm -f /dev/log
        rm -f "$ITEST_PIDS_DIR/devlog-ours"
    fi
}

# itest_queue_busy — true while Postfix has mail in incoming/active/maildrop
# (deferred mail waits in deferred/ and does not count).
itest_queue_busy() {
    local q
    for q in incoming active maildrop hold; do
        [ -n "$(find "$ITEST_DIR/spool/$q" -type f 2>/dev/null | head -1)" ] && return 0
    done
    return 1
}

# itest_wait_queue [SECONDS] — until the queue is idle three polls in a row.
itest_wait_queue() {
    local max=${1:-60} _ idle=0
    for _ in $(seq 1 $((max * 5))); do
        if itest_queue_busy; then idle=0; else idle=$((idle + 1)); fi
        [ "$idle" -ge 3 ] && return 0
        sleep 0.2
    done
    itest_die "Postfix queue still busy after ${max}s"
}

# itest_wait_log REGEX [SECONDS] — until the RHEL-format log has a line
# matching REGEX (grep -E). Dovecot logs through its own log process, so its
# lines can reach rsyslogd after a marker sent straight to it: a test that
# needs a Dovecot line waits for that line.
itest_wait_log() {
    local _
    for _ in $(seq 1 $((${2:-30} * 10))); do
        grep -Eq "$1" "$ITEST_LOG_RHEL" 2>/dev/null && return 0
        sleep 0.1
    done
    itest_die "no line matching '$1' in $ITEST_LOG_RHEL after ${2:-30}s"
}

# itest_sync_logs — logs a marker and waits until both files contain it, so
# everything logged before is on disk.
itest_sync_logs() {
    local marker _
    marker="itest-sync-$$-$RANDOM-$(date +%s%N)"
    logger -u "$ITEST_SYSLOG_SOCKET" -p mail.info -t itest "$marker"
    for _ in $(seq 1 600); do
        if grep -q "$marker" "$ITEST_LOG_RHEL" 2>/dev/null && grep -q "$marker" "$ITEST_LOG_DEBIAN" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    itest_die "rsyslogd did not write the sync marker"
}

# itest_rotate_logs [rhel|debian] — rotates both logs (or one) as the
# distributions do: logrotate renames them and HUPs rsyslogd, which reopens
# the original names. RHEL: maillog-YYYYMMDD (so once a day at most);
# Debian: mail.log.1, then mail.log.2.gz (compress + delaycompress).
itest_rotate_logs() {
    local which=${1:-rhel debian} w
    for w in $which; do
        logrotate -f -s "$ITEST_DIR/rsyslog/logrotate-$w.state" "$ITEST_DIR/rsyslog/logrotate-$w.conf" ||
            itest_die "logrotate ($w) failed"
    done
}

# itest_set_password USER PASSWORD — replaces USER's password in the
# passwd-file (Dovecot re-reads the file when it changes). Used by the alert
# tests to check a forced password change.
itest_set_password() {
    local user=$1 pass=$2 tmp=$ITEST_USERS_FILE.tmp
    grep -q "^$user:" "$ITEST_USERS_FILE" || itest_die "no such user $user"
    awk -F: -v OFS=: -v u="$user" -v p="{PLAIN}$pass" '$1 == u { $2 = p } { print }' \
        "$ITEST_USERS_FILE" >"$tmp"
    chown root:dovecot "$tmp"
    chmod 640 "$tmp"
    mv "$tmp" "$ITEST_USERS_FILE"
    itest_passwd_settle
}

# itest_passwd_settle — call after changing Dovecot's passwd-file. Dovecot
# stats that file at most once per second of its clock and serves its cached
# copy in between (passwd_file_sync in db-passwd-file.c), so a login in the
# second of the change may still see the old password. Waits for the next
# second.
itest_passwd_settle() {
    local changed
    changed=$(date +%s)
    while [ "$(date +%s)" = "$changed" ]; do sleep 0.05; done
}

# itest_maildir USER — the Maildir Dovecot delivers USER's mail to.
itest_maildir() {
    printf '%s/mail/%s/%s/Maildir\n' "$ITEST_DIR" "${1#*@}" "${1%@*}"
}
