/*
 * parse.c — parse_line(): header, then which software wrote the line, then
 * that family's parser. See event.h for the contract.
 */
#include "parse/event.h"
#include "parse/fields.h"

static const char *const postfix_daemons[] = {
    "smtpd", "smtp", "lmtp", "qmgr", "oqmgr", "cleanup", "pickup", "local", "virtual", "pipe",
    "error", "retry", "discard", "bounce", "defer", "trace", "postscreen", "dnsblog", "anvil",
    "scache", "tlsmgr", "tlsproxy", "master", "trivial-rewrite", "postsuper", "postqueue",
    "postdrop", "sendmail", "showq", "flush", "proxymap", "verify", "spawn", "postfix-script",
    "postmap", "postalias", "postlog", "qmqpd", "postmulti", "postconf", "cleanup", NULL};

/* Plesk's mail handlers and helpers (PLESK.md). */
static const char *const plesk_programs[] = {
    "psa-pc-remote", "postfix-local", "check-quota", "spf", "dk_check", "dk_sign", "drweb",
    "drweb-filter", "dmarc", "plesk_saslauthd", "plesk-sendmail", "mailmng", "mailmng-core",
    "mail_handlers", "greylisting", "kav", "kas", NULL};

static const char *const courier_programs[] = {
    "imapd", "pop3d", "imapd-ssl", "pop3d-ssl", "courierpop3login", "courierimaplogin",
    "courieresmtpd", "courierpop3d", "courier-imapd", NULL};

static bool in_list(struct slice word, const char *const *list)
{
    for (; *list != NULL; list++)
        if (slice_eq(word, *list))
            return true;
    return false;
}

static enum event_family family_of(const struct syslog_header *h)
{
    struct slice program = h->program;
    struct slice daemon = h->daemon;

    if (in_list(daemon, plesk_programs))
        return FAMILY_PLESK;
    if ((h->syslog_name.len > 0 || slice_starts(program, "postfix")) &&
        in_list(daemon, postfix_daemons))
        return FAMILY_POSTFIX;
    if (slice_eq(program, "dovecot") || (daemon.len > 6 && slice_find(daemon, "-login") > 0))
        return FAMILY_DOVECOT;
    /* Dovecot's own log file: "lda(user)<pid><session>", "IMAP(user)", "Info", "auth-worker(…)" */
    if (h->host.len == 0 && h->pid < 0 &&
        (slice_eq(program, "Info") || slice_eq(program, "Warn") || slice_eq(program, "Error") ||
         slice_eq(program, "Fatal") || memchr(program.ptr, '(', program.len) != NULL))
        return FAMILY_DOVECOT;
    if (in_list(daemon, courier_programs))
        return FAMILY_COURIER;
    return FAMILY_OTHER;
}

void parser_init(struct parser *p, int64_t reference_time)
{
    syslog_clock_init(&p->clock, reference_time);
}

/* "last message repeated N times" (BSD syslog) or "message repeated N times: [ … ]" (rsyslog). */
static bool parse_repeated(struct event *ev)
{
    struct slice s = ev->header.message;
    struct slice count;
    size_t i = 0;

    if (!take_prefix(&s, "last message repeated ") && !take_prefix(&s, "message repeated "))
        return false;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
        i++;
    count = slice_make(s.ptr, i);
    if (i == 0 || !slice_starts(slice_skip(s, i), " times"))
        return false;
    ev->kind = EV_REPEATED;
    ev->count = (long)slice_to_int(count);
    return true;
}

void parse_line(struct parser *p, const char *line, size_t len, struct event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->size = -1;
    ev->nrcpt = -1;
    ev->delay = -1;
    ev->uid = -1;
    if (syslog_parse(&p->clock, line, len, &ev->header) != 0) {
        ev->family = FAMILY_NONE;
        ev->kind = EV_UNKNOWN;
        return;
    }
    ev->family = family_of(&ev->header);
    if (ev->family == FAMILY_OTHER) {
        ev->kind = EV_IGNORED;
        return;
    }
    if (parse_repeated(ev))
        return;
    switch (ev->family) {
    case FAMILY_POSTFIX:
        parse_postfix(ev);
        break;
    case FAMILY_DOVECOT:
        if (memchr(ev->header.daemon.ptr, '(', ev->header.daemon.len) == NULL &&
            slice_find(ev->header.daemon, "-login") < 0)
            /* "dovecot: imap-login: …", or Dovecot's own file: "Info: imap-login: …" */
            parse_dovecot(ev, ev->header.message);
        else {
            /* "imap-login[pid]: Login: …", "lda(user)<pid><session>: …" */
            struct slice service = ev->header.daemon;
            const char *paren = memchr(service.ptr, '(', service.len);
            if (paren != NULL)
                service.len = (size_t)(paren - service.ptr);
            parse_dovecot_service(ev, service, ev->header.message);
        }
        break;
    case FAMILY_COURIER:
        parse_courier(ev);
        break;
    case FAMILY_PLESK:
        ev->kind = EV_IGNORED; /* recognised; deliveries come from postfix/pipe relay=plesk_virtual */
        break;
    default:
        ev->kind = EV_IGNORED;
        break;
    }
}
