/*
 * dovecot.c — Dovecot 1.x/2.x mailbox logins from the *-login processes:
 *   "imap-login: Login: user=<u>, method=PLAIN, rip=1.2.3.4, lip=…, mpid=…, TLS, session=<…>"
 *   "pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<u>, method=PLAIN, rip=…"
 *   "imap-login: Login aborted: Connection closed (auth failed, 3 attempts …) (auth_failed):
 * user=<u>, …" "pop3-login: Aborted login (1 authentication attempts): user=<u>, method=PLAIN,
 * rip=::ffff:…" Failures are counted once, from the login process; the auth and auth-worker lines
 * that repeat them are recognised and ignored.
 */
#include "parse/event.h"
#include "parse/fields.h"

static const struct {
    const char *service;
    enum access_protocol protocol;
} login_services[] = {
    {"imap-login", PROTO_IMAP},
    {"pop3-login", PROTO_POP3},
    {"submission-login", PROTO_SUBMISSION},
    {"managesieve-login", PROTO_MANAGESIEVE},
};

/* Dovecot services whose lines say nothing about logins or deliveries. */
static const struct word quiet_services[] = {WORD("auth"),
                                             WORD("auth-worker"),
                                             WORD("imap"),
                                             WORD("pop3"),
                                             WORD("lmtp"),
                                             WORD("lda"),
                                             WORD("master"),
                                             WORD("config"),
                                             WORD("log"),
                                             WORD("anvil"),
                                             WORD("ssl-params"),
                                             WORD("indexer"),
                                             WORD("indexer-worker"),
                                             WORD("doveadm"),
                                             WORD("dict"),
                                             WORD("stats"),
                                             WORD("submission"),
                                             WORD("managesieve"),
                                             WORD("quota-status"),
                                             WORD("replicator"),
                                             WORD("aggregator"),
                                             WORD("director"),
                                             WORD("IMAP"),
                                             WORD("POP3"),
                                             WORD("deliver"),
                                             WORD("imap-hibernate"),
                                             WORD("old-stats"),
                                             WORD("dovecot"),
                                             WORD("Dovecot"),
                                             WORD("ssl-build-param"),
                                             {NULL, 0}};

static bool take_level(struct slice *s)
{
    return take_prefix(s, "Info: ") || take_prefix(s, "Warning: ") || take_prefix(s, "Error: ") ||
           take_prefix(s, "Fatal: ") || take_prefix(s, "Panic: ") || take_prefix(s, "Debug: ");
}

static bool is_failure(struct slice s)
{
    if (slice_find(s, "auth failed") >= 0)
        return true;
    if (slice_find(s, " authentication attempts)") >= 0 &&
        slice_find(s, "(0 authentication attempts)") < 0)
        return true;
    /* Dovecot 1.x without a reason: "Aborted login: user=<x>, method=PLAIN, rip=…" */
    return slice_starts(s, "Aborted login: ") && slice_find(s, "method=") >= 0;
}

static void parse_login(struct event *ev, enum access_protocol protocol, struct slice s)
{
    long user_at;

    take_level(&s);
    if (take_prefix(&s, "Login: ")) {
        ev->success = 1;
    } else if (is_failure(s)) {
        ev->success = 0;
    } else {
        ev->kind = EV_IGNORED; /* no auth attempts, TLS failures, plaintext refused */
        return;
    }
    ev->kind = EV_LOGIN;
    ev->protocol = protocol;
    find_angle_field(s, "user", &ev->user);
    find_field(s, "method", &ev->method);
    find_field(s, "rip", &ev->ip);
    if (!ev->success) {
        user_at = slice_find(s, ": user=");
        if (user_at < 0)
            user_at = slice_find(s, ": method=");
        if (user_at < 0)
            user_at = slice_find(s, ": rip=");
        ev->text = user_at >= 0 ? slice_make(s.ptr, (size_t)user_at) : s;
    }
}

void parse_dovecot_service(struct event *ev, struct slice service, struct slice rest)
{
    for (size_t i = 0; i < sizeof login_services / sizeof login_services[0]; i++) {
        if (slice_eq(service, login_services[i].service)) {
            parse_login(ev, login_services[i].protocol, rest);
            return;
        }
    }
    if (slice_in_words(service, quiet_services)) {
        ev->kind = EV_IGNORED;
        return;
    }
    ev->kind = EV_UNKNOWN;
}

void parse_dovecot(struct event *ev, struct slice s)
{
    size_t n = 0;
    bool leveled;

    take_prefix(&s, "dovecot: ");
    leveled = take_level(&s);
    while (n < s.len && n < 64 && s.ptr[n] != ':' && s.ptr[n] != '(' && s.ptr[n] != ' ')
        n++;
    if (n > 0 && n < s.len && (s.ptr[n] == ':' || s.ptr[n] == '(')) {
        struct slice rest = slice_skip(s, n);
        long colon = slice_find(rest, ": ");
        parse_dovecot_service(ev, slice_make(s.ptr, n),
                              colon >= 0 ? slice_skip(rest, (size_t)colon + 2)
                                         : slice_make(s.ptr, 0));
        return;
    }
    ev->kind = leveled || slice_starts(s, "Killed with signal") || slice_starts(s, "service=") ||
                       slice_starts(s, "pam_unix") || slice_starts(s, "last message repeated") ||
                       slice_starts(s, "Dovecot v") || s.len == 0
                   ? EV_IGNORED
                   : EV_UNKNOWN;
}
