/*
 * parse.c — parse_line(): header, then which software wrote the line, then
 * that family's parser. See event.h for the contract.
 */
#include "parse/event.h"
#include "parse/fields.h"

/* Postfix daemons, most frequent first; the index is enum postfix_daemon. */
static const struct word postfix_daemons[] = {
    [PD_SMTPD] = WORD("smtpd"),     [PD_POSTSCREEN] = WORD("postscreen"),
    [PD_CLEANUP] = WORD("cleanup"), [PD_QMGR] = WORD("qmgr"),
    [PD_SMTP] = WORD("smtp"),       [PD_LMTP] = WORD("lmtp"),
    [PD_LOCAL] = WORD("local"),     [PD_VIRTUAL] = WORD("virtual"),
    [PD_PIPE] = WORD("pipe"),       [PD_PICKUP] = WORD("pickup"),
    [PD_BOUNCE] = WORD("bounce"),   [PD_ERROR] = WORD("error"),
    [PD_RETRY] = WORD("retry"),     [PD_DISCARD] = WORD("discard"),
    [PD_DEFER] = WORD("defer"),     [PD_TRACE] = WORD("trace"),
    [PD_OQMGR] = WORD("oqmgr"),     [PD_POSTSUPER] = WORD("postsuper"),
    [PD_QUIET] = {NULL, 0}};

/* Postfix programs whose lines we recognise and ignore. */
static const struct word postfix_quiet_daemons[] = {
    WORD("anvil"),           WORD("scache"),    WORD("dnsblog"),
    WORD("tlsmgr"),          WORD("tlsproxy"),  WORD("master"),
    WORD("trivial-rewrite"), WORD("postqueue"), WORD("postdrop"),
    WORD("sendmail"),        WORD("showq"),     WORD("flush"),
    WORD("proxymap"),        WORD("verify"),    WORD("spawn"),
    WORD("postfix-script"),  WORD("postmap"),   WORD("postalias"),
    WORD("postlog"),         WORD("qmqpd"),     WORD("postmulti"),
    WORD("postconf"),        {NULL, 0}};

static enum postfix_daemon postfix_daemon_of(struct slice daemon)
{
    for (int i = PD_SMTPD; i < PD_QUIET; i++)
        if (slice_eq_word(daemon, &postfix_daemons[i]))
            return (enum postfix_daemon)i;
    if (slice_in_words(daemon, postfix_quiet_daemons))
        return PD_QUIET;
    return PD_NONE;
}

/* Plesk's mail handlers and helpers (PLESK.md). */
static const struct word plesk_programs[] = {WORD("psa-pc-remote"),
                                             WORD("postfix-local"),
                                             WORD("check-quota"),
                                             WORD("spf"),
                                             WORD("dk_check"),
                                             WORD("dk_sign"),
                                             WORD("drweb"),
                                             WORD("drweb-filter"),
                                             WORD("dmarc"),
                                             WORD("plesk_saslauthd"),
                                             WORD("plesk-sendmail"),
                                             WORD("mailmng"),
                                             WORD("mailmng-core"),
                                             WORD("mail_handlers"),
                                             WORD("greylisting"),
                                             WORD("kav"),
                                             WORD("kas"),
                                             {NULL, 0}};

static const struct word courier_programs[] = {WORD("imapd"),
                                               WORD("pop3d"),
                                               WORD("imapd-ssl"),
                                               WORD("pop3d-ssl"),
                                               WORD("courierpop3login"),
                                               WORD("courierimaplogin"),
                                               WORD("courieresmtpd"),
                                               WORD("courierpop3d"),
                                               WORD("courier-imapd"),
                                               {NULL, 0}};

static enum event_family family_of(const struct syslog_header *h, enum postfix_daemon *pd)
{
    struct slice program = h->program;
    struct slice daemon = h->daemon;

    *pd = PD_NONE;
    if (h->syslog_name.len > 0 && (*pd = postfix_daemon_of(daemon)) != PD_NONE)
        return FAMILY_POSTFIX;
    if (slice_in_words(daemon, plesk_programs))
        return FAMILY_PLESK;
    if (slice_starts(program, "postfix") && (*pd = postfix_daemon_of(daemon)) != PD_NONE)
        return FAMILY_POSTFIX;
    if (slice_eq(program, "dovecot") || (daemon.len > 6 && slice_find(daemon, "-login") > 0))
        return FAMILY_DOVECOT;
    /* Dovecot's own log file: "lda(user)<pid><session>", "IMAP(user)", "Info", "auth-worker(…)" */
    if (h->host.len == 0 && h->pid < 0 &&
        (slice_eq(program, "Info") || slice_eq(program, "Warn") || slice_eq(program, "Error") ||
         slice_eq(program, "Fatal") || memchr(program.ptr, '(', program.len) != NULL))
        return FAMILY_DOVECOT;
    if (slice_in_words(daemon, courier_programs))
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
    ev->family = family_of(&ev->header, &ev->postfix_daemon);
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
        ev->kind =
            EV_IGNORED; /* recognised; deliveries come from postfix/pipe relay=plesk_virtual */
        break;
    default:
        ev->kind = EV_IGNORED;
        break;
    }
}
